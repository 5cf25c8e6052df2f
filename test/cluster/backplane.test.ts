/**
 * The cluster backplane between instances, over a real Mosquitto (MQTT 5):
 * ownership, newest connection wins, commands across instances with their
 * answers and errors, fail-fast paths, events with a bounded queue while the
 * broker is away, an instance that dies (last will) during a call.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import mqtt from "mqtt";
import { ClusterBackplane, type ClusterEvent } from "../../nodes/lib/cluster/backplane";
import { ClusterTopics, fromTopicLevel, topicLevel } from "../../nodes/lib/cluster/topics";
import { StripedIds } from "../../nodes/lib/cluster/striped-ids";
import { readClusterSettings } from "../../nodes/lib/cluster/settings";
import { clusterBrokerKinds, startClusterBroker, type ClusterBroker } from "../harness/mosquitto";

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("cluster settings", () => {
  it("reads the instance name and number, treating an unset ${VAR} as not set", () => {
    assert.deepEqual(
      readClusterSettings({ broker: "mqtt://b:1883", cluster: "", instance: "${EVKIT_INSTANCE}", index: "${EVKIT_INSTANCE_INDEX}" }, "host-1"),
      { brokerUrl: "mqtt://b:1883", cluster: "evkit", instance: "host-1", index: 0, indexDefaulted: true, prefix: "ocpp", publishEvents: true },
    );
    assert.equal(readClusterSettings({ broker: "mqtts://b:8883", instance: "nr-2", index: "2" }).index, 2);
    assert.throws(() => readClusterSettings({ broker: "mqtt://b", index: "16" }), /0 to 15/);
    assert.throws(() => readClusterSettings({ broker: "mqtt://user:pw@b:1883", index: "1" }), /not in the URL/);
    assert.throws(() => readClusterSettings({ broker: "http://b", index: "1" }), /not an MQTT URL/);
  });
});

describe("cluster topics", () => {
  it("escapes levels so ids cannot add levels or wildcards, and reads them back", () => {
    for (const id of ["CP-1", "a/b", "x+y", "#", "100%", "$SYS", "", "Ünïcødé"]) {
      const level = topicLevel(id);
      assert.ok(!/[/+#]/.test(level), `${id} -> ${level}`);
      assert.ok(!level.startsWith("$"));
      assert.equal(fromTopicLevel(level), id);
    }
    const topics = new ClusterTopics("site a");
    assert.deepEqual(topics.parse(topics.owner("a/b", "n1")), ["cp", "a/b", "owner", "n1"]);
    assert.equal(topics.parse("other/prefix/cp/x/cmd"), undefined);
  });

  it("stripes 1.6 transaction ids by instance index", () => {
    const a = new StripedIds(0, 16);
    const b = new StripedIds(3, 16);
    assert.equal(a.next(0), 16);
    assert.equal(b.next(0), 3);
    assert.equal(b.next(3), 19);
    assert.equal(a.next(19), 32);
    const seen = new Set<number>();
    let last = 0;
    for (let i = 0; i < 100; i++) {
      const id = (i % 2 ? a : b).next(last);
      assert.ok(id > last && !seen.has(id));
      assert.ok((i % 2 ? a : b).owns(id));
      seen.add(id);
      last = id;
    }
    assert.throws(() => new StripedIds(16, 16), /0 to 15/);
  });
});

for (const brokerKind of clusterBrokerKinds()) describe(`cluster backplane over ${brokerKind === "mosquitto" ? "Mosquitto (MQTT 5)" : "aedes (MQTT 3.1.1)"}`, () => {
  let broker: ClusterBroker;
  const open: ClusterBackplane[] = [];
  let cluster = 0;

  before(async () => {
    broker = await startClusterBroker(brokerKind);
  });
  after(async () => {
    await broker?.close();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.stop()));
    await broker.start();
  });

  function instance(name: string, clusterName: string, extra: Partial<ConstructorParameters<typeof ClusterBackplane>[0]> = {}): ClusterBackplane {
    const backplane = new ClusterBackplane({
      cluster: clusterName,
      instance: name,
      reconnectPeriodMs: 200,
      connect: (options) => mqtt.connect(broker.url, options),
      ...extra,
    });
    backplane.start();
    open.push(backplane);
    return backplane;
  }

  async function pair(): Promise<[ClusterBackplane, ClusterBackplane, string]> {
    const name = `c${++cluster}-${process.pid}`;
    const a = instance("a", name);
    const b = instance("b", name);
    await until(() => a.isConnected && b.isConnected, "both instances connected");
    await until(() => a.status().instances === 2 && b.status().instances === 2, "both instances seen online");
    return [a, b, name];
  }

  it("routes a CALL to the instance that holds the charger and brings its answer back", async () => {
    const [a, b] = await pair();
    const calls: unknown[] = [];
    a.setCallHandler(async (identity, action, payload) => {
      calls.push({ identity, action, payload });
      return { status: "Accepted", echo: identity };
    });
    a.claim("CP/1", "conn-1", "ocpp1.6");
    await until(() => b.ownerOf("CP/1")?.instance === "a", "b sees a as owner");
    assert.equal(b.ownerOf("CP/1")?.protocol, "ocpp1.6");
    const answer = await b.request("CP/1", "RemoteStartTransaction", { idTag: "T1", connectorId: 1 }, 5000);
    assert.deepEqual(answer, { status: "Accepted", echo: "CP/1" });
    assert.deepEqual(calls, [{ identity: "CP/1", action: "RemoteStartTransaction", payload: { idTag: "T1", connectorId: 1 } }]);
  });

  it("keeps the charger's OCPP-J error code when the owner's call fails", async () => {
    const [a, b] = await pair();
    a.setCallHandler(async () => {
      const err = new Error("NotSupported: the charger does not know this action") as Error & { rpcErrorCode?: string };
      err.name = "RPCNotSupportedError";
      err.rpcErrorCode = "NotSupported";
      throw err;
    });
    a.claim("CP2", "conn-1");
    await until(() => b.ownerOf("CP2")?.instance === "a", "owner seen");
    await assert.rejects(b.request("CP2", "Foo", {}, 5000), (err: Error & { rpcErrorCode?: string }) => {
      assert.equal(err.rpcErrorCode, "NotSupported");
      assert.match(err.message, /does not know this action/);
      return true;
    });
  });

  it("fails at once for a charger no instance holds, and after the owner released it", async () => {
    const [a, b] = await pair();
    const t0 = Date.now();
    await assert.rejects(b.request("nobody", "Reset", {}, 30_000), { name: "ChargerNotInClusterError", message: /not connected to any instance/ });
    assert.ok(Date.now() - t0 < 1000);
    a.setCallHandler(async () => ({}));
    a.claim("CP3", "conn-1");
    await until(() => b.ownerOf("CP3") !== undefined, "owner seen");
    a.release("CP3", "conn-1");
    await until(() => b.ownerOf("CP3") === undefined, "owner gone");
    await assert.rejects(b.request("CP3", "Reset", {}, 30_000), { name: "ChargerNotInClusterError" });
  });

  it("lets the newest connection win: the older owner is told to close its socket", async () => {
    const [a, b] = await pair();
    const superseded: string[] = [];
    a.onSuperseded((identity, by) => superseded.push(`${identity}->${by.instance}`));
    a.claim("CP4", "conn-a");
    await until(() => b.ownerOf("CP4")?.instance === "a", "b sees a");
    b.claim("CP4", "conn-b");
    await until(() => superseded.length === 1, "a superseded");
    assert.deepEqual(superseded, ["CP4->b"]);
    assert.equal(a.holds("CP4"), false);
    assert.equal(b.holds("CP4"), true);
    await until(() => a.ownerOf("CP4")?.instance === "b", "a sees b");
    // A late release of a's old socket does not take b's record away.
    a.release("CP4", "conn-a");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(a.ownerOf("CP4")?.instance, "b");
    assert.equal(b.ownerOf("CP4")?.instance, "b");
  });

  it("fails a call with a clear error when the owner dies during it (last will), not a hang", async () => {
    const name = `c${++cluster}-${process.pid}`;
    const b = instance("b", name);
    // The victim's client is made by hand so the test can cut its socket without a goodbye.
    let victimClient: mqtt.MqttClient | undefined;
    const a = new ClusterBackplane({
      cluster: name,
      instance: "a",
      connect: (options) => (victimClient = mqtt.connect(broker.url, { ...options, reconnectPeriod: 0, keepalive: 2 })),
    });
    a.start();
    await until(() => a.isConnected && b.isConnected && b.status().instances === 2, "connected");
    a.setCallHandler(() => new Promise(() => undefined)); // the charger never answers
    a.claim("CP5", "conn-a");
    await until(() => b.ownerOf("CP5")?.instance === "a", "owner seen");
    const call = b.request("CP5", "GetConfiguration", {}, 60_000);
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    victimClient!.stream.destroy();
    await assert.rejects(call, { name: "OwnerLostError", message: /went offline during the call/ });
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    assert.equal(b.ownerOf("CP5"), undefined, "a dead instance's chargers are not routed to");
    await a.stop();
  });

  it("fails fast while the broker is away, queues events (bounded) and sends them when it is back", async () => {
    const name = `c${++cluster}-${process.pid}`;
    const a = instance("a", name, { maxQueuedEvents: 3 });
    const b = instance("b", name);
    await until(() => a.isConnected && b.isConnected && b.status().instances === 2, "connected");
    const received: ClusterEvent[] = [];
    b.onClusterEvent((event) => received.push(event));
    a.claim("CP6", "conn-a");
    await until(() => b.ownerOf("CP6") !== undefined, "owner seen");
    a.publishEvent("CP6", "status", { n: 0 });
    await until(() => received.length === 1, "live event");
    await broker.stop();
    await until(() => !a.isConnected && !b.isConnected, "both see the broker gone");
    const t0 = Date.now();
    await assert.rejects(b.request("CP6", "Reset", {}, 30_000), { name: "BackplaneUnavailableError", message: /MQTT broker is not connected/ });
    assert.ok(Date.now() - t0 < 500);
    for (let n = 1; n <= 5; n++) a.publishEvent("CP6", "meter", { n });
    assert.equal(a.status().queuedEvents, 3);
    assert.equal(a.status().droppedEvents, 2);
    await broker.start();
    await until(() => a.isConnected && b.isConnected, "reconnected");
    // Ownership is asserted again on reconnect (the broker lost its retained records).
    await until(() => b.ownerOf("CP6")?.instance === "a", "owner re-asserted");
    // QoS 1 is at least once: a repeat keeps its event id, which consumers (the bridge) use to drop it.
    const unique = (): ClusterEvent[] => [...new Map(received.map((e) => [e.eventId, e])).values()];
    await until(() => unique().length === 4, "queued events delivered");
    assert.deepEqual(
      unique().slice(1).map((e) => (e.event as { n: number }).n),
      [3, 4, 5],
    );
    assert.ok(received.every((e) => e.origin === "a" && e.identity === "CP6"));
  });

  it("shares the latest charger state and open sessions as retained records with late joiners", async () => {
    const name = `c${++cluster}-${process.pid}`;
    const a = instance("a", name);
    await until(() => a.isConnected, "a connected");
    a.claim("CP7", "conn-a", "ocpp2.0.1");
    a.publishChargerState("CP7", { connectors: [{ connectorId: 1, status: "Charging" }] });
    a.publishSession("CP7", "tx-1", { transactionId: "tx-1", meterStartWh: 1000 });
    await new Promise((r) => setTimeout(r, 200));
    const late = instance("late", name);
    await until(() => late.chargerState("CP7") !== undefined && late.session("CP7", "tx-1") !== undefined, "late joiner has the records");
    assert.deepEqual(late.chargerState("CP7"), { connectors: [{ connectorId: 1, status: "Charging" }] });
    assert.deepEqual(late.session("CP7", "tx-1"), { transactionId: "tx-1", meterStartWh: 1000 });
    assert.deepEqual(late.sessionsOf("CP7"), [{ origin: "a", session: { transactionId: "tx-1", meterStartWh: 1000 } }]);
    a.publishSession("CP7", "tx-1", undefined);
    await until(() => late.session("CP7", "tx-1") === undefined, "ended session cleared");
  });

  it("warns when two online instances use the same number (their 1.6 transaction ids would collide)", async () => {
    const name = `c${++cluster}-${process.pid}`;
    const warnings: string[] = [];
    const a = instance("a", name, { index: 3, warn: (t) => warnings.push(t) });
    const b = instance("b", name, { index: 3 });
    const c = instance("c", name, { index: 4 });
    await until(() => a.status().instances === 3 && b.isConnected && c.isConnected, "three instances");
    await until(() => warnings.some((w) => /"a" and "b" both use number 3/.test(w)), "the duplicate-number warning");
    assert.equal(warnings.filter((w) => /both use number/.test(w)).length, 1);
  });

  it("ignores oversized and malformed messages from the broker", async () => {
    const name = `c${++cluster}-${process.pid}`;
    const warnings: string[] = [];
    const a = instance("a", name, { maxPayloadBytes: 1024, warn: (t) => warnings.push(t) });
    await until(() => a.isConnected, "connected");
    const stranger = mqtt.connect(broker.url, { protocolVersion: broker.kind === "mosquitto" ? 5 : 4 });
    await new Promise<void>((resolve) => stranger.once("connect", () => resolve()));
    const topics = new ClusterTopics(name);
    stranger.publish(topics.owner("CPX", "evil"), "not json", { retain: true });
    stranger.publish(topics.owner("CPY", "evil"), JSON.stringify({ instance: "someone-else", conn: "c", gen: 1 }), { retain: true });
    stranger.publish(topics.nodeState("evil"), "x".repeat(5000), { retain: true });
    stranger.publish(topics.owner("CPX", "evil"), "", { retain: true });
    stranger.publish(topics.owner("CPY", "evil"), "", { retain: true });
    stranger.publish(topics.nodeState("evil"), "", { retain: true });
    await new Promise((r) => setTimeout(r, 300));
    await new Promise<void>((resolve) => stranger.end(false, () => resolve()));
    assert.equal(a.ownerOf("CPX"), undefined);
    assert.equal(a.ownerOf("CPY"), undefined);
    assert.ok(warnings.some((w) => /ignored a 5000-byte message/.test(w)));
  });
});
