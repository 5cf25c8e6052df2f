/**
 * One central system over three Node-RED processes, for real: a broker
 * between them (Mosquitto when installed, as in CI; embedded aedes
 * otherwise) and, when Debian's haproxy is installed, HAProxy in
 * front routing chargers by the id in the URL path. Chargers are ocpp-rpc
 * RPCClients (reconnecting) and one @voltbras/ts-ocpp charge point, which
 * shares no code with ocpp-rpc. Covers: commands from every instance to
 * chargers held by another (answers and errors), kill -9 of an instance in
 * the middle of a session (its charger reconnects elsewhere, the session
 * ends with the right energy, nothing emitted twice), the broker stopped
 * (local service goes on, cross-instance commands fail fast, events arrive
 * after it returns), and two connections with one identity on two
 * instances (only the newest is served).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { RPCClient } from "ocpp-rpc";
import { ChargePoint } from "@voltbras/ts-ocpp";
import { startOcpp201Simulator } from "../servers/ocpp201-charge-point";
import { freePort } from "../harness/net";
import { command, events, startHaproxy, startInstance, stopInstance, until, type Instance, type Proxy } from "./support";
import { startClusterBroker, type ClusterBroker } from "../harness/mosquitto";

const root = path.join(__dirname, "..", "..");
const built = fs.existsSync(path.join(root, "dist", "nodes", "ev-ocpp-cluster.js"));
const skip = built ? false : "dist/ is not built (npm run build)";

type Client = InstanceType<typeof RPCClient>;

function charger(port: number, identity: string): Client {
  const client = new RPCClient({
    endpoint: `ws://127.0.0.1:${port}/ocpp`,
    identity,
    protocols: ["ocpp1.6"],
    reconnect: true,
    backoff: { initialDelay: 200, maxDelay: 1000, factor: 2, randomisationFactor: 0 },
  } as never);
  client.handle((({ method }: { method: string }) => {
    if (method === "GetConfiguration") return { configurationKey: [{ key: "HeartbeatInterval", readonly: false, value: "300" }] };
    if (method === "RemoteStartTransaction" || method === "RemoteStopTransaction" || method === "Reset") return { status: "Accepted" };
    throw new Error(`unexpected ${method}`);
  }) as never);
  return client;
}

async function boot(client: Client): Promise<void> {
  await client.call("BootNotification", { chargePointVendor: "evkit", chargePointModel: "cluster-test" });
  await client.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available", timestamp: new Date().toISOString() });
}

describe("OCPP cluster: three Node-RED processes, Mosquitto and HAProxy", { skip, timeout: 240_000 }, () => {
  let broker: ClusterBroker;
  let instances: Instance[] = [];
  let proxy: Proxy | undefined;
  const clients: Client[] = [];
  const cluster = `e2e-${process.pid}`;

  /** Where chargers connect: HAProxy, or (without it) the first instance. */
  const entryPort = (): number => proxy?.port ?? instances[0].ocppPort;
  const owner = async (identity: string): Promise<Instance> => {
    // The one instance whose own events (no origin) end with "connected" for the charger; while a
    // replaced socket's "disconnected" is still on its way, two instances claim it: wait.
    return until(async () => {
      const holders: Instance[] = [];
      for (const instance of instances) {
        if (instance.child.exitCode !== null || instance.child.signalCode !== null) continue;
        const list = await events(instance).catch(() => []);
        const mine = list.filter((e) => e.identity === identity && e.origin === null && (e.kind === "connected" || e.kind === "disconnected"));
        if (mine.at(-1)?.kind === "connected") holders.push(instance);
      }
      return holders.length === 1 ? holders[0] : undefined;
    }, `one instance holding ${identity}`);
  };

  before(async () => {
    broker = await startClusterBroker();
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    instances = await Promise.all(["n0", "n1", "n2"].map((name, i) => startInstance(name, i, broker.url, cluster, ports[i])));
    proxy = await startHaproxy(instances);
  });

  after(async () => {
    for (const client of clients) await client.close({ force: true }).catch(() => undefined);
    await proxy?.close();
    await Promise.all(instances.map((i) => stopInstance(i)));
    await broker?.close();
  });

  it("sends a command from every instance to a charger held by another, with its answer and errors", async () => {
    const ids = ["CP-A", "CP-B", "CP-C", "CP-D", "CP-E", "CP-F"];
    for (const id of ids) {
      const client = charger(entryPort(), id);
      clients.push(client);
      await client.connect();
      await boot(client);
    }
    const owners = new Map<string, Instance>();
    for (const id of ids) owners.set(id, await owner(id));
    if (proxy) assert.ok(new Set([...owners.values()].map((o) => o.name)).size >= 2, "HAProxy spreads chargers over instances");
    let remote = 0;
    for (const id of ids) {
      for (const from of instances) {
        const result = await command(from, { chargerId: id, command: "raw", action: "GetConfiguration", input: { key: ["HeartbeatInterval"] } });
        assert.equal(result.ok, true, `${from.name} -> ${id}: ${result.error}`);
        assert.deepEqual(result.answer, { configurationKey: [{ key: "HeartbeatInterval", readonly: false, value: "300" }] });
        if (from !== owners.get(id)) remote++;
      }
    }
    assert.ok(remote >= ids.length * 2);
    // The charger's CALLERROR comes back with its code.
    const held = owners.get("CP-A")!;
    const other = instances.find((i) => i !== held)!;
    const refused = await command(other, { chargerId: "CP-A", command: "raw", action: "UnlockConnector", input: { connectorId: 1 } });
    assert.equal(refused.ok, false);
    assert.equal(refused.kind, "call_error");
    // A charger nobody holds fails at once, not after the timeout.
    const t0 = Date.now();
    const nobody = await command(other, { chargerId: "NOBODY", command: "raw", action: "Reset", input: { type: "Soft" } });
    assert.equal(nobody.ok, false);
    assert.equal(nobody.kind, "offline");
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    // Every instance sees every charger's events (cluster scope), once.
    for (const instance of instances) {
      const list = await until(async () => {
        const l = await events(instance);
        return ids.every((id) => l.some((e) => e.identity === id && e.kind === "boot")) ? l : undefined;
      }, `boots on ${instance.name}`);
      for (const id of ids) assert.equal(list.filter((e) => e.identity === id && e.kind === "boot").length, 1, `${id} boot once on ${instance.name}`);
    }
  });

  it("answers a charger that shares no code with ocpp-rpc across instances", async () => {
    const received: string[] = [];
    const point = new ChargePoint(
      "TS-1",
      ((req: { action: string; ocppVersion: string }) => {
        received.push(req.action);
        return { action: req.action, ocppVersion: req.ocppVersion, status: "Accepted" };
      }) as never,
      `ws://127.0.0.1:${entryPort()}/ocpp`,
    );
    await point.connect();
    try {
      await point.sendRequest({ action: "BootNotification", ocppVersion: "v1.6-json", payload: { chargePointVendor: "voltbras", chargePointModel: "ts" } } as never).run();
      const held = await owner("TS-1");
      const other = instances.find((i) => i !== held)!;
      const result = await command(other, { chargerId: "TS-1", command: "raw", action: "RemoteStartTransaction", input: { idTag: "CARD1", connectorId: 1 } });
      assert.equal(result.ok, true, result.error);
      assert.deepEqual(result.answer, { status: "Accepted" });
      assert.deepEqual(received, ["RemoteStartTransaction"]);
    } finally {
      point.close();
    }
  });

  it("works the same for an OCPP 2.0.1 station: a remote start from another instance, its session seen cluster-wide", async () => {
    const [a, b] = instances;
    const station = await startOcpp201Simulator({ url: `ws://127.0.0.1:${a.ocppPort}/ocpp`, identity: "CARPORT", meterIntervalMs: 200 });
    try {
      assert.equal((await owner("CARPORT")).name, a.name);
      const started = await until(async () => {
        const r = await command(b, { chargerId: "CARPORT", command: "start", input: { idTag: "CARD1", connector: 1 } });
        return r.ok ? r : undefined;
      }, "a 2.0.1 remote start from another instance");
      assert.equal((started.answer as { status?: string }).status, "Accepted");
      assert.equal(station.calls("RequestStartTransaction").length, 1);
      const session = await until(
        async () => (await events(b)).find((e) => e.identity === "CARPORT" && e.kind === "session.started" && e.origin === a.name),
        "the 2.0.1 session.started on the other instance",
      );
      assert.equal(typeof session.payload.transactionId, "string", "2.0.1 transaction ids are the station's text");
      const stopped = await command(b, { chargerId: "CARPORT", command: "stop", input: { transactionId: session.payload.transactionId } });
      assert.equal(stopped.ok, true, stopped.error);
      await until(async () => (await events(b)).some((e) => e.identity === "CARPORT" && e.kind === "session.ended" && e.origin === a.name), "session.ended");
      // The device model, asked from the instance that holds the station and from another one: both wait for the last NotifyReport part.
      for (const asking of [a, b]) {
        const report = await command(asking, { chargerId: "CARPORT", command: "GetBaseReport", input: {} });
        assert.equal(report.ok, true, `GetBaseReport from ${asking.name}: ${report.error}`);
        const answer = report.answer as { status?: string; configuration?: Record<string, string>; capabilities?: { evses?: Array<{ evseId: number; maxPowerW?: number; connectors?: Array<{ type?: string }> }> } };
        assert.equal(answer.status, "Accepted");
        // The topology read from the device model travels with it to another instance.
        assert.equal(answer.capabilities?.evses?.[0]?.maxPowerW, 11000, `EVSE 1 from ${asking.name}: ${JSON.stringify(answer.capabilities)}`);
        assert.equal(answer.capabilities?.evses?.[0]?.connectors?.[0]?.type, "cType2");
        assert.equal(answer.configuration?.["SmartChargingCtrlr/RateUnit"], "A,W", `the device model from ${asking.name}: ${JSON.stringify(answer.configuration)}`);
      }
      assert.equal(station.calls("GetBaseReport").length, 2);
    } finally {
      await station.close();
    }
  });

  it("sends a queued command when its charger connects to another instance", async () => {
    const [a, b] = instances;
    const pending = command(a, { chargerId: "LATE", command: "raw", action: "Reset", input: { type: "Soft" }, queue: true });
    await new Promise((r) => setTimeout(r, 500));
    const late = charger(b.ocppPort, "LATE");
    clients.push(late);
    await late.connect();
    await boot(late);
    const result = await pending;
    assert.equal(result.ok, true, result.error);
    assert.deepEqual(result.answer, { status: "Accepted" });
  });

  it("serves only the newest of two connections with one identity on two instances", async () => {
    const [a, b] = instances;
    const first = charger(a.ocppPort, "TWIN");
    first.reconfigure({ reconnect: false } as never);
    clients.push(first);
    await first.connect();
    await boot(first);
    const closed = new Promise<{ code: number }>((resolve) => first.once("close", resolve));
    const second = charger(b.ocppPort, "TWIN");
    second.reconfigure({ reconnect: false } as never);
    clients.push(second);
    await second.connect();
    await boot(second);
    const { code } = await closed;
    assert.equal(code, 4000);
    assert.equal((await owner("TWIN")).name, b.name);
    // The third instance learns the new owner through the broker and reaches the charger there.
    const result = await until(async () => {
      const r = await command(instances[2], { chargerId: "TWIN", command: "raw", action: "Reset", input: { type: "Soft" } });
      return r.ok ? r : undefined;
    }, "a command from the third instance");
    assert.deepEqual(result.answer, { status: "Accepted" });
  });

  it("continues a session on another instance after its instance is killed, with the right energy, emitted once", async () => {
    const client = charger(entryPort(), "CP-KILL");
    clients.push(client);
    await client.connect();
    await boot(client);
    const victim = await owner("CP-KILL");
    const start = (await client.call("StartTransaction", { connectorId: 1, idTag: "CARD1", meterStart: 1000, timestamp: new Date().toISOString() })) as {
      transactionId: number;
      idTagInfo: { status: string };
    };
    assert.equal(start.idTagInfo.status, "Accepted");
    assert.equal(start.transactionId % 16, victim.index, "the transaction id is in the stripe of the instance that started it");
    // The session record reaches the broker before the kill.
    const watcher = instances.find((i) => i !== victim)!;
    await until(async () => (await events(watcher)).some((e) => e.identity === "CP-KILL" && e.kind === "session.started"), "session.started seen elsewhere");
    await new Promise((r) => setTimeout(r, 300));
    victim.child.kill("SIGKILL");
    await new Promise((r) => victim.child.once("exit", r));
    if (!proxy) {
      // Without HAProxy, the charger is pointed at a surviving instance by hand.
      client.reconfigure({ endpoint: `ws://127.0.0.1:${watcher.ocppPort}/ocpp` } as never);
    }
    const t0 = Date.now();
    const next = await until(async () => {
      const found = await owner("CP-KILL").catch(() => undefined);
      return found && found !== victim ? found : undefined;
    }, "the charger served again", 30_000);
    const servedAfterMs = Date.now() - t0;
    assert.notEqual(next.name, victim.name);
    const stop = (await client.call("StopTransaction", {
      transactionId: start.transactionId,
      meterStop: 5000,
      timestamp: new Date().toISOString(),
      reason: "Local",
    })) as { idTagInfo?: { status: string } };
    assert.ok(stop);
    const survivors = instances.filter((i) => i !== victim);
    for (const instance of survivors) {
      const ended = await until(async () => {
        const list = (await events(instance)).filter((e) => e.identity === "CP-KILL" && e.kind === "session.ended");
        return list.length > 0 ? list : undefined;
      }, `session.ended on ${instance.name}`);
      await new Promise((r) => setTimeout(r, 300));
      const again = (await events(instance)).filter((e) => e.identity === "CP-KILL" && e.kind === "session.ended");
      assert.equal(again.length, 1, `session.ended once on ${instance.name}`);
      assert.equal(ended[0].payload.transactionId, start.transactionId);
      assert.equal(ended[0].payload.energyWh, 4000);
      assert.equal(ended[0].payload.meterStartWh, 1000);
      assert.equal(ended[0].payload.unknownTransaction, undefined);
    }
    // A retransmitted Stop is still a duplicate (no second session.ended).
    await client.call("StopTransaction", { transactionId: start.transactionId, meterStop: 5000, timestamp: new Date().toISOString(), reason: "Local" });
    await new Promise((r) => setTimeout(r, 500));
    for (const instance of survivors) {
      assert.equal((await events(instance)).filter((e) => e.identity === "CP-KILL" && e.kind === "session.ended").length, 1);
    }
    assert.ok(servedAfterMs < 15_000, `served again after ${servedAfterMs} ms`);
    instances = survivors;
  });

  it("keeps serving local chargers while the broker is down, fails cross-instance commands fast, and delivers events after it returns", async () => {
    const [a, b] = instances;
    const local = charger(a.ocppPort, "CP-LOCAL");
    clients.push(local);
    await local.connect();
    await boot(local);
    await until(async () => (await events(b)).some((e) => e.identity === "CP-LOCAL" && e.kind === "boot"), "b sees CP-LOCAL");
    await broker.stop();
    await new Promise((r) => setTimeout(r, 500));
    // Local service goes on: calls answered, local commands work.
    await local.call("Heartbeat", {});
    await local.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Preparing", timestamp: new Date().toISOString() });
    const localCommand = await command(a, { chargerId: "CP-LOCAL", command: "raw", action: "Reset", input: { type: "Soft" } });
    assert.equal(localCommand.ok, true, localCommand.error);
    const t0 = Date.now();
    const remoteCommand = await command(b, { chargerId: "CP-LOCAL", command: "raw", action: "Reset", input: { type: "Soft" } });
    assert.equal(remoteCommand.ok, false);
    assert.equal(remoteCommand.kind, "offline");
    assert.match(remoteCommand.error ?? "", /broker/);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    await new Promise((r) => setTimeout(r, 2000));
    await broker.start();
    const seen = await until(
      async () => (await events(b)).find((e) => e.identity === "CP-LOCAL" && e.kind === "status" && e.payload.status === "Preparing"),
      "the status sent while the broker was down",
      20_000,
    );
    assert.equal(seen.origin, a.name);
    // Ownership is there again for commands.
    const again = await until(async () => {
      const r = await command(b, { chargerId: "CP-LOCAL", command: "raw", action: "Reset", input: { type: "Soft" } });
      return r.ok ? r : undefined;
    }, "cross-instance commands after the broker returned");
    assert.deepEqual(again.answer, { status: "Accepted" });
  });
});
