/**
 * The example flow "AMTRON/Edge to MQTT to TimescaleDB" as shipped, run in
 * Node-RED against the simulator, a plain broker and PostgreSQL: only the
 * addresses are pointed at this test's engines and debug nodes become test sinks.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import helper from "node-red-node-test-helper";
import mqtt from "mqtt";
import amtronNode from "../../nodes/ev-amtron";
import changeDetectorNode from "../../nodes/ev-change-detector";
import timescaleConfigNode from "../../nodes/ev-timescale-config";
import timescaleWriteNode from "../../nodes/ev-timescale-write";
import { startMqttBroker, startOutageProxy, startPostgres, type MqttEngine, type OutageProxy, type PostgresEngine } from "../harness/engines";
import { startAmtronSimulator, type AmtronSimulator } from "../servers/amtron-simulator";

helper.init(require.resolve("node-red"));

const FLOW_FILE = path.join(__dirname, "../../flows/AMTRON/Edge to MQTT to TimescaleDB.json");
const DEVKEY = "246810";

function coreNode(dir: string, file: string): (red: unknown) => void {
  const nodesDir = path.dirname(require.resolve("@node-red/nodes/package.json", { paths: [path.dirname(require.resolve("node-red/package.json"))] }));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(nodesDir, "core", dir, file)) as (red: unknown) => void;
}

type FlowItem = { id: string; type: string } & Record<string, unknown>;

/** A real broker (TEST_MQTT_URL) may hold retained messages from an earlier run; the test expects none. */
async function clearRetained(url: string, filter: string): Promise<void> {
  const client = await mqtt.connectAsync(url);
  const topics = new Set<string>();
  client.on("message", (topic, payload, packet) => {
    if (packet.retain && payload.length > 0) topics.add(topic);
  });
  await client.subscribeAsync(filter);
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const topic of topics) await client.publishAsync(topic, "", { retain: true });
  await client.endAsync();
}

describe("example flow: AMTRON edge to MQTT to TimescaleDB", () => {
  let sim: AmtronSimulator;
  let broker: MqttEngine;
  let pg: PostgresEngine;
  // The broker outage goes through a proxy: a real broker (TEST_MQTT_URL) cannot be stopped by the test.
  let brokerLink: OutageProxy;

  before(async () => {
    [sim, broker, pg] = await Promise.all([startAmtronSimulator({ devKey: DEVKEY, charging: true }), startMqttBroker(), startPostgres()]);
    brokerLink = await startOutageProxy(broker.url);
    await clearRetained(broker.url, "chargers/#");
  });
  after(async () => {
    await helper.unload();
    await Promise.allSettled([sim?.close(), brokerLink?.close(), broker?.close(), pg?.close()]);
  });

  it("is valid, carries no credentials, and fills ev_readings, republishing everything once the broker connects", async () => {
    const original = JSON.parse(fs.readFileSync(FLOW_FILE, "utf8")) as FlowItem[];
    assert.equal(original[0].type, "comment");
    assert.ok(original.every((n) => !("credentials" in n)), "example flows never carry credentials");
    assert.doesNotMatch(JSON.stringify(original), /devKey"\s*:/);

    const brokerPort = brokerLink.port;
    let catches = 0;
    const flow = original.map((n): FlowItem => {
      switch (n.type) {
        case "catch":
          // The test helper registers its preloaded catch module once per catch node; a second one fails to load.
          return catches++ === 0 ? n : ({ id: n.id, type: "helper", z: n.z, x: n.x, y: n.y, wires: [] } as FlowItem);
        case "ev-amtron":
          return { ...n, port: sim.port, interval: 0.3 };
        case "mqtt-broker":
          return { ...n, port: brokerPort };
        case "ev-timescale-config":
          // PGlite serves one connection at a time.
          return { ...n, host: pg.host, port: pg.port, database: pg.database, user: pg.user, poolSize: 1 };
        case "ev-timescale-write":
          return { ...n, flushInterval: 100 };
        case "debug":
          return { id: n.id, type: "helper", z: n.z, x: n.x, y: n.y, wires: [] } as FlowItem;
        default:
          return n;
      }
    });
    const pgConfig = flow.find((n) => n.type === "ev-timescale-config")!;
    const amtron = flow.find((n) => n.type === "ev-amtron")!;
    helper.settings({ evAmtronMinPollInterval: 0.1 } as Parameters<typeof helper.settings>[0]);
    await helper.load(
      [
        amtronNode,
        changeDetectorNode,
        timescaleConfigNode,
        timescaleWriteNode,
        coreNode("common", "20-inject.js"),
        coreNode("common", "90-comment.js"),
        coreNode("function", "10-switch.js"),
        coreNode("function", "15-change.js"),
        coreNode("network", "05-tls.js"),
        coreNode("network", "10-mqtt.js"),
      ],
      flow as never,
      { [amtron.id]: { devKey: DEVKEY }, [pgConfig.id]: { password: pg.password } } as never,
    );

    // Every value of the sample ends up as a row, even though the first polls ran before the broker connection was up.
    const expected = ["chargeState", "chargerId", "controlPilot", "controlPilotHint", "devMode", "errorCode", "maxCurrentA", "operationState", "powerW", "remoteCurrentA", "sessionEnergyWh", "source", "tariff", "totalEnergyWh", "vehicleConnected"];
    let readings: string[] = [];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const rows = await pg.query<{ reading: string }>("SELECT DISTINCT reading FROM ev_readings ORDER BY reading").catch(() => []);
      readings = rows.map((r) => r.reading);
      if (readings.length >= expected.length) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.deepEqual(readings, expected);
    const power = await pg.query<{ charger: string; value: number }>("SELECT charger, value FROM ev_readings WHERE reading = 'powerW'");
    assert.deepEqual(power.at(-1), { charger: "garage", value: 11040 });
    const state = await pg.query<{ state: string }>("SELECT state::text AS state FROM ev_readings WHERE reading = 'operationState'");
    assert.equal(state.at(-1)?.state, "charging");

    // The inject "set 10 A" drives the wallbox through the edge flow.
    const inject = helper.getNode(flow.find((n) => n.type === "inject" && n.topic === "current")!.id) as unknown as { receive(msg: object): void };
    inject.receive({});
    const until = Date.now() + 10_000;
    let latest: number | undefined;
    while (Date.now() < until) {
      const rows = await pg.query<{ value: number }>("SELECT value FROM ev_readings WHERE reading = 'maxCurrentA' ORDER BY time DESC LIMIT 1");
      latest = rows[0]?.value;
      if (latest === 10) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(latest, 10);
    assert.equal(sim.state.chargeData.RemoteCurr, 10);

    // A change while the broker is down is dropped by mqtt out; the status -> reset
    // path republishes everything once the connection is back, so it still arrives.
    await brokerLink.down();
    sim.state.chargeData.Tariff = "T2";
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const dropped = await pg.query("SELECT 1 FROM ev_readings WHERE reading = 'tariff' AND value_text = 'T2'");
    assert.equal(dropped.length, 0);
    await brokerLink.up();
    const back = Date.now() + 20_000;
    let tariff: string[] = [];
    while (Date.now() < back) {
      tariff = (await pg.query<{ value_text: string }>("SELECT value_text FROM ev_readings WHERE reading = 'tariff' ORDER BY time")).map((r) => r.value_text);
      if (tariff.includes("T2")) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(tariff.at(-1), "T2");
  });
});
