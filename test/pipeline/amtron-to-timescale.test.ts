/**
 * The seed pipeline inside one Node-RED runtime, every part real:
 * ev-amtron (MHCP simulator over HTTP) -> ev-change-detector -> core mqtt out
 * over TLS with a client certificate -> a broker that requires one (aedes, or
 * Mosquitto with TEST_MQTT_BROKER=mosquitto) -> core mqtt in -> ev-timescale-write
 * -> rows in PostgreSQL (PGlite, or TEST_PG_URL). An independent mqtt.js client
 * checks what the broker keeps as retained messages.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { MqttClient } from "mqtt";
import type { Node } from "node-red";
import amtronNode from "../../nodes/ev-amtron";
import changeDetectorNode from "../../nodes/ev-change-detector";
import timescaleConfigNode from "../../nodes/ev-timescale-config";
import timescaleWriteNode from "../../nodes/ev-timescale-write";
import { startPostgres, type PostgresEngine } from "../harness/engines";
import { connectMqtt, generateCertificates, startTlsBroker, type TestCertificates, type TlsBroker } from "../harness/mqtt-tls";
import { startAmtronSimulator, type AmtronSimulator } from "../servers/amtron-simulator";
import { collect, editorFlow, waitFor, type FlowNode } from "../support/node-red";

helper.init(require.resolve("node-red"));

/** The core mqtt and tls nodes, from the node-red that the test helper runs. */
function coreNode(file: string): (red: unknown) => void {
  const nodesDir = path.dirname(require.resolve("@node-red/nodes/package.json", { paths: [path.dirname(require.resolve("node-red/package.json"))] }));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(nodesDir, "core", "network", file)) as (red: unknown) => void;
}

const DEVKEY = "572913";
const PG_PASSWORD_FIELD = "password";

/** The helper spies on Node.prototype: one spy for all nodes, so calls are told apart by `this`. */
interface PrototypeSpy<A extends unknown[]> {
  getCalls(): Array<{ thisValue: unknown; args: A }>;
}
type Spied = Node & { status: PrototypeSpy<[{ text?: string }]>; error: PrototypeSpy<unknown[]>; receive(msg: object): void };

const callsOf = <A extends unknown[]>(spy: PrototypeSpy<A>, node: unknown): A[] => spy.getCalls().filter((c) => c.thisValue === node).map((c) => c.args);

interface RetainedMessage {
  topic: string;
  payload: { SamplingTime: string; Value: unknown };
  retain: boolean;
}

describe("seed pipeline: AMTRON -> change detector -> MQTT over TLS -> TimescaleDB", () => {
  let sim: AmtronSimulator;
  let certs: TestCertificates;
  let broker: TlsBroker;
  let pg: PostgresEngine;

  before(async () => {
    certs = generateCertificates();
    [sim, broker, pg] = await Promise.all([startAmtronSimulator({ devKey: DEVKEY, charging: true }), startTlsBroker(certs), startPostgres()]);
  });
  after(async () => {
    await helper.unload();
    await Promise.allSettled([sim?.close(), broker?.close(), pg?.close()]);
    certs?.remove();
  });

  function flow(): FlowNode[] {
    const tls = { type: "tls-config", cert: certs.files.clientCert, key: certs.files.clientKey, ca: certs.files.ca, certname: "", keyname: "", caname: "", servername: "", verifyservercert: true, alpnprotocol: "" };
    const mqttBroker = { type: "mqtt-broker", broker: "127.0.0.1", port: String(broker.port), usetls: true, protocolVersion: "4", keepalive: "60", cleansession: true, autoConnect: true, autoUnsubscribe: true, birthTopic: "", closeTopic: "", willTopic: "", sessionExpiry: "" };
    // Config nodes have no position (that is how the runtime tells them apart); flow nodes get one.
    const config: FlowNode[] = [
      { id: "tlsEdge", ...tls, name: "edge-pi certificate" },
      { id: "tlsCloud", ...tls, name: "cloud certificate" },
      { id: "brokerEdge", ...mqttBroker, clientid: "edge-pi", tls: "tlsEdge" },
      { id: "brokerCloud", ...mqttBroker, clientid: "cloud-writer", tls: "tlsCloud" },
      { id: "pg", type: "ev-timescale-config", host: pg.host, port: pg.port, database: pg.database, user: pg.user, ssl: "disable", poolSize: 1, timeout: 10 },
    ];
    return [...config, ...editorFlow([
      { id: "edge", type: "tab", label: "Edge" },
      { id: "cloud", type: "tab", label: "Cloud" },
      // Edge: poll -> detect -> publish. Polls are triggered by the test so every sample is known.
      { id: "amtron", z: "edge", type: "ev-amtron", host: "127.0.0.1", port: sim.port, interval: 3600, charger: "garage", devInfoEvery: 0, timeout: 2, wires: [["detector"], []] },
      { id: "detector", z: "edge", type: "ev-change-detector", charger: "", prefix: "chargers", timeKey: "SamplingTime", valueKey: "Value", deadbands: "", ignore: "raw, samplingTime", refreshAfter: 0, store: "", wires: [["mqttOut", "published"], []] },
      { id: "mqttOut", z: "edge", type: "mqtt out", name: "", topic: "", qos: "1", retain: "", broker: "brokerEdge", wires: [] },
      { id: "published", z: "edge", type: "helper" },
      // Cloud: subscribe -> write.
      { id: "mqttIn", z: "cloud", type: "mqtt in", name: "", topic: "chargers/+/+", qos: "1", datatype: "json", broker: "brokerCloud", nl: false, rap: true, rh: 0, inputs: 0, wires: [["writer"]] },
      { id: "writer", z: "cloud", type: "ev-timescale-write", timescale: "pg", table: "ev_readings", create: "ev_readings", timeColumn: "time", batchSize: 100, flushInterval: 100, maxBuffered: 1000, wires: [] },
    ])];
  }

  it("publishes only changed values as retained messages over TLS and stores each one in ev_readings", async () => {
    helper.settings({ evAmtronMinPollInterval: 0.1 } as Parameters<typeof helper.settings>[0]);
    await helper.load(
      [amtronNode, changeDetectorNode, timescaleConfigNode, timescaleWriteNode, coreNode("05-tls.js"), coreNode("10-mqtt.js")],
      flow() as never,
      { amtron: { devKey: DEVKEY }, pg: { [PG_PASSWORD_FIELD]: pg.password } } as never,
    );
    const amtron = helper.getNode("amtron") as Spied;
    const detector = helper.getNode("detector") as Spied;
    const mqttOut = helper.getNode("mqttOut") as Spied;
    const mqttIn = helper.getNode("mqttIn") as Spied;
    const published = collect(helper.getNode("published"));

    const connected = (n: Spied): boolean => callsOf(n.status, n).some(([s]) => s?.text === "node-red:common.status.connected");
    await waitFor(() => connected(mqttOut) && connected(mqttIn), 10_000, "both MQTT clients to connect over TLS");
    // The first poll ran at deploy, before the broker connection was up, and the
    // core mqtt out drops what it gets while disconnected. Reset the detector so
    // the next sample is published in full (what a flow does on reconnect).
    await waitFor(() => callsOf(detector.status, detector).length > 0, 10_000, "the deploy-time sample to pass the detector");
    detector.receive({ topic: "reset" });
    published.pending.length = 0;
    amtron.receive({ topic: "poll" });

    const expected: Record<string, unknown> = {
      source: "amtron",
      chargerId: "garage",
      operationState: "charging",
      chargeState: "Charging",
      totalEnergyWh: 0,
      sessionEnergyWh: 0,
      powerW: 11040,
      maxCurrentA: 16,
      remoteCurrentA: 16,
      tariff: "T1",
      controlPilot: "C2",
      controlPilotHint: "charging",
      vehicleConnected: true,
      devMode: "Time",
      errorCode: 0,
    };
    const fields = Object.keys(expected).length;
    const first = await published.take(fields, 10_000);
    const samplingTime = (first[0].payload as { SamplingTime: string }).SamplingTime;
    assert.deepEqual(
      Object.fromEntries(first.map((m) => [m.topic, m.payload])),
      Object.fromEntries(Object.entries(expected).map(([field, value]) => [`chargers/garage/${field}`, { SamplingTime: samplingTime, Value: value }])),
    );
    assert.ok(first.every((m) => m.retain === true));

    // An independent client (own certificate, subscribing after the fact) gets them all as retained messages.
    const watcher: MqttClient = await connectMqtt(broker.url, { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key, clientId: "watcher" });
    const seen: RetainedMessage[] = [];
    let samplingTime2: string | undefined;
    watcher.on("message", (topic, payload, packet) => seen.push({ topic, payload: JSON.parse(payload.toString()), retain: packet.retain }));
    try {
      await watcher.subscribeAsync("chargers/garage/#", { qos: 1 });
      await waitFor(() => seen.length >= fields, 5000, "the retained messages");
      assert.deepEqual(
        Object.fromEntries(seen.map((m) => [m.topic, [m.retain, m.payload.Value]])),
        Object.fromEntries(Object.entries(expected).map(([field, value]) => [`chargers/garage/${field}`, [true, value]])),
      );

      // A client with a certificate from another CA is turned away.
      await assert.rejects(connectMqtt(broker.url, { ca: certs.ca.cert, cert: certs.stranger.cert, key: certs.stranger.key, clientId: "stranger" }));

      // Set the current: only what changed travels (live to the watcher, then to the database).
      seen.length = 0;
      amtron.receive({ topic: "current", payload: 10 });
      const changed = await published.take(4, 10_000);
      samplingTime2 = (changed[0].payload as { SamplingTime: string }).SamplingTime;
      assert.notEqual(samplingTime2, samplingTime);
      assert.deepEqual(
        Object.fromEntries(changed.map((m) => [m.topic, (m.payload as { Value: unknown }).Value])),
        { "chargers/garage/powerW": 6900, "chargers/garage/maxCurrentA": 10, "chargers/garage/remoteCurrentA": 10, "chargers/garage/devMode": "Remote" },
      );
      await waitFor(() => seen.length >= 4, 5000, "the live updates");
      await published.none(300);
      assert.deepEqual(seen.map((m) => m.topic).sort(), ["chargers/garage/devMode", "chargers/garage/maxCurrentA", "chargers/garage/powerW", "chargers/garage/remoteCurrentA"]);

      // A poll with nothing new publishes nothing.
      amtron.receive({ topic: "poll" });
      await published.none(500);
    } finally {
      await watcher.endAsync();
    }

    // Every published reading is one row, with the value in the column its type belongs to.
    // (Rows before the reset exist only when the broker connection won the race with the deploy-time poll.)
    const total = fields + 4;
    type Row = { time: Date | string; charger: string; reading: string; value: number | null; value_text: string | null; state: string | null };
    let rows: Row[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      rows = await pg.query<Row>("SELECT time, charger, reading, value, value_text, state::text AS state FROM ev_readings WHERE time >= $1 ORDER BY time, reading", [samplingTime]);
      if (rows.length >= total) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    rows = await pg.query<Row>("SELECT time, charger, reading, value, value_text, state::text AS state FROM ev_readings WHERE time >= $1 ORDER BY time, reading", [samplingTime]);
    assert.equal(rows.length, total, JSON.stringify(rows));
    const [{ count: earlier }] = await pg.query<{ count: string }>("SELECT count(*)::text AS count FROM ev_readings WHERE time < $1", [samplingTime]);
    assert.ok(earlier === "0" || earlier === String(fields), `unexpected rows before the reset: ${earlier}`);
    assert.ok(rows.every((r) => r.charger === "garage"));
    const byReading = (name: string): typeof rows => rows.filter((r) => r.reading === name);
    assert.deepEqual(byReading("powerW").map((r) => [new Date(r.time).toISOString(), r.value]), [
      [samplingTime, 11040],
      [samplingTime2, 6900],
    ]);
    assert.deepEqual(byReading("operationState").map((r) => [r.state, r.value, r.value_text]), [["charging", null, null]]);
    assert.deepEqual(byReading("tariff").map((r) => [r.value_text, r.value]), [["T1", null]]);
    assert.deepEqual(byReading("vehicleConnected").map((r) => r.value), [1]);
    assert.deepEqual(byReading("devMode").map((r) => r.value_text), ["Time", "Remote"]);
    assert.deepEqual(byReading("controlPilot").map((r) => r.value_text), ["C2"]);

    for (const id of ["amtron", "detector", "mqttOut", "mqttIn", "writer", "pg", "brokerEdge", "brokerCloud"]) {
      const node = helper.getNode(id) as Spied;
      assert.deepEqual(callsOf(node.error, node), [], `${id} reported errors`);
    }
    assert.equal(sim.state.maxInFlight, 1);
    assert.ok(sim.state.requests.every((r) => r.devKey === DEVKEY));
  });
});
