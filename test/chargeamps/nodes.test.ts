import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import type { Node, NodeMessage } from "node-red";
import accountNode from "../../nodes/ev-chargeamps-account";
import chargeAmpsNode from "../../nodes/ev-chargeamps";
import { AURA_ID, HALO_ID, startChargeAmpsSimulator, type ChargeAmpsSimulator } from "../servers/chargeamps-simulator";
import type { ChargerState } from "../../nodes/lib/types";

helper.init(require.resolve(process.env.EV_NODE_RED ?? "node-red"));

const CREDS = { email: "ada@example.com", password: "pa55word-x", apiKey: "key-1234567" };
type Msg = NodeMessage & Record<string, unknown>;
type SpyNode = Node & { status: { args: unknown[][] }; receive(msg: object): void };
type FlowItem = Record<string, unknown>;

/** Collects what a helper node receives, and lets a test wait for the next n messages. */
class Collector {
  readonly msgs: Msg[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  constructor(id: string) {
    const node = helper.getNode(id) as unknown as { on(e: string, f: (m: Msg) => void): void };
    node.on("input", (m) => {
      this.msgs.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (this.msgs.length >= w.n) {
          w.resolve();
          return false;
        }
        return true;
      });
    });
  }
  /** Resolves once `count` more messages than now have arrived; returns those. */
  next(count = 1, timeoutMs = 5000): Promise<Msg[]> {
    const start = this.msgs.length;
    const n = start + count;
    if (this.msgs.length >= n) return Promise.resolve(this.msgs.slice(start, n));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${count} message(s)`)), timeoutMs);
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve(this.msgs.slice(start, n))) });
    });
  }
}

function flow(sim: ChargeAmpsSimulator, ca: FlowItem = {}, account: FlowItem = {}): FlowItem[] {
  return [
    { id: "t1", type: "tab" },
    { id: "acc", type: "ev-chargeamps-account", baseUrl: sim.url, timeout: 0.5, ...account },
    { id: "ca", type: "ev-chargeamps", z: "t1", account: "acc", operation: "status", chargePointId: "", connectorId: 1, interval: 30, wires: [["out1"], ["out2"]], ...ca },
    { id: "out1", type: "helper", z: "t1" },
    { id: "out2", type: "helper", z: "t1" },
    { id: "c1", type: "catch", z: "t1", wires: [["caught"]] },
    { id: "caught", type: "helper", z: "t1" },
  ];
}

describe("Charge Amps nodes in Node-RED against the simulator", () => {
  let sim: ChargeAmpsSimulator;
  let out1: Collector;
  let out2: Collector;
  let caught: Collector;
  const everything: unknown[] = [];

  before(() => {
    helper.settings({ evChargeampsMinPollSeconds: 0.3 } as never);
  });
  after(() => {
    helper.settings({});
  });
  beforeEach(async () => {
    sim = await startChargeAmpsSimulator({ credentials: CREDS });
  });
  afterEach(async () => {
    // Everything a flow could see: messages, status texts and log lines.
    const ca = helper.getNode("ca") as unknown as SpyNode | null;
    if (ca) everything.push(...ca.status.args);
    everything.push(...(out1?.msgs ?? []), ...(out2?.msgs ?? []), ...(caught?.msgs ?? []));
    everything.push(...(helper.log()?.args ?? []));
    await helper.unload();
    await sim.close();
  });

  async function load(ca: FlowItem = {}, account: FlowItem = {}, creds = CREDS): Promise<SpyNode> {
    await helper.load([accountNode, chargeAmpsNode], flow(sim, ca, account) as never, { acc: creds } as never);
    out1 = new Collector("out1");
    out2 = new Collector("out2");
    caught = new Collector("caught");
    return helper.getNode("ca") as unknown as SpyNode;
  }

  const lastStatus = (node: SpyNode) => node.status.args[node.status.args.length - 1][0] as { fill?: string; text?: string };
  const errorOf = (m: Msg) => (m.error as { message: string }).message;

  it("gets the status of every owned charge point, as states and as rows", async () => {
    const ca = await load();
    const [r1, r2] = [out1.next(), out2.next(3)];
    ca.receive({ topic: "status" });
    const [msg] = await r1;
    const states = msg.payload as ChargerState[];
    assert.deepEqual(states.map((s) => [s.chargerId, s.connectorId, s.operationState]), [
      [AURA_ID, 1, "charging"],
      [AURA_ID, 2, "idle"],
      [HALO_ID, 1, "idle"],
      [HALO_ID, 2, "idle"],
    ]);
    assert.equal(msg.operation, "status");
    assert.equal((msg.raw as unknown[]).length, 2);
    const tables = await r2;
    assert.deepEqual(tables.map((t) => t.table), ["charge_point_status", "connector_status", "measurements"]);
    assert.deepEqual((tables[0].payload as Array<Record<string, unknown>>).map((r) => [r.charge_point_id, r.charge_point_name, r.status]), [
      [AURA_ID, "Garage Aura", "Online"],
      [HALO_ID, "Neighbour's Halo", "Online"],
    ]);
    assert.equal((tables[1].payload as unknown[]).length, 4);
    assert.deepEqual((tables[2].payload as Array<Record<string, unknown>>).map((r) => [r.phase, r.current_a]), [["L1", 16], ["L2", 16], ["L3", 16]]);
    const times = new Set(tables.flatMap((t) => (t.payload as Array<{ time: string }>).map((r) => r.time)));
    assert.equal(times.size, 1);
    // The account's login state is shown on the node.
    assert.ok(ca.status.args.some((a) => (a[0] as { fill?: string }).fill === "green" && (a[0] as { text?: string }).text === "node-red:common.status.connected"));
  });

  it("lists charge points without their OCPP passwords", async () => {
    const ca = await load({ operation: "list" });
    const r = out1.next();
    ca.receive({ payload: "" });
    const [msg] = await r;
    const list = msg.payload as Array<Record<string, unknown>>;
    assert.deepEqual(list.map((cp) => cp.id), [AURA_ID, HALO_ID]);
    assert.ok(list.every((cp) => !("password" in cp)));
  });

  it("sets maxCurrent and reads it back; toggles the connector off and on", async () => {
    const ca = await load({ operation: "setConnectorSettings", chargePointId: AURA_ID, connectorId: 1 });
    let r = out1.next();
    ca.receive({ payload: { maxCurrent: 10 } });
    let [msg] = await r;
    assert.deepEqual(msg.payload, { chargePointId: AURA_ID, connectorId: 1, maxCurrent: 10, rfidLock: false, mode: "On", cableLock: false, installationCurrent: 16 });
    assert.equal((msg.before as { maxCurrent: number }).maxCurrent, 16);
    assert.equal(sim.chargePoint(AURA_ID).connectors[0].maxCurrent, 10);

    r = out1.next();
    ca.receive({ topic: "status", chargePointId: AURA_ID });
    [msg] = await r;
    assert.deepEqual((msg.payload as ChargerState[])[0].currentA, { l1: 10, l2: 10, l3: 10 });

    r = out1.next();
    ca.receive({ payload: { mode: "toggle" } });
    [msg] = await r;
    assert.equal((msg.payload as { mode: string }).mode, "Off");
    r = out1.next();
    ca.receive({ topic: "status", chargePointId: AURA_ID });
    [msg] = await r;
    assert.equal((msg.payload as ChargerState[])[0].operationState, "off");
    r = out1.next();
    ca.receive({ payload: { mode: "toggle" } });
    [msg] = await r;
    assert.equal((msg.payload as { mode: string }).mode, "On");
  });

  it("charge point settings, remote stop/start, reboot and sessions by topic", async () => {
    const ca = await load({ operation: "getChargePointSettings", chargePointId: AURA_ID, rfid: "04A1B2C3" });
    const run = async (msg: object): Promise<Msg> => {
      const r = out1.next();
      ca.receive(msg);
      return (await r)[0];
    };
    assert.deepEqual((await run({})).payload, { id: AURA_ID, dimmer: "Low", downLight: true, maxCurrent: null, installationCurrent: 16 });
    assert.equal(((await run({ topic: "setChargePointSettings", payload: { dimmer: "High" } })).payload as { dimmer: string }).dimmer, "High");
    assert.deepEqual((await run({ topic: "remoteStop" })).payload, { operation: "remoteStop", chargePointId: AURA_ID, connectorId: 1, ok: true });
    assert.equal(sim.chargePoint(AURA_ID).connectors[0].stopped, true);
    await run({ topic: "remoteStart" });
    const start = sim.state.requests.find((q) => q.path.endsWith("/remotestart"))!;
    assert.deepEqual(start.body, { rfidLength: 4, rfidFormat: "Hex", rfid: "04A1B2C3" });
    const sessions = await run({ topic: "sessions", payload: { startTime: new Date(Date.now() - 48 * 3600_000).toISOString() } });
    assert.deepEqual((sessions.payload as Array<{ id: number }>).map((s) => s.id), [1001, 1002]);
    await run({ topic: "reboot" });
    const status = await run({ topic: "status", chargePointId: AURA_ID });
    assert.deepEqual((status.payload as ChargerState[]).map((s) => s.operationState), ["unscheduled_downtime", "unscheduled_downtime"]);
    assert.equal((status.raw as { status: string }).status, "Offline");
  });

  it("refuses an out-of-range maxCurrent before sending anything", async () => {
    const ca = await load({ operation: "setConnectorSettings", chargePointId: AURA_ID });
    for (const [payload, pattern] of [
      [{ maxCurrent: 40 }, /between 6 and 32 A, not 40 A/],
      [{ maxCurrent: 20 }, /more than the installation current of 16 A/],
    ] as const) {
      const r = caught.next();
      ca.receive({ payload });
      assert.match(errorOf((await r)[0]), pattern);
    }
    assert.equal(sim.state.requests.filter((q) => q.method === "PUT").length, 0);
    assert.deepEqual(lastStatus(ca), { fill: "red", shape: "dot", text: "invalid input" });
    assert.equal(out1.msgs.length, 0);
  });

  it("reports wrong credentials clearly", async () => {
    const ca = await load({}, {}, { ...CREDS, apiKey: "wrong-api-key" });
    const r = caught.next();
    ca.receive({ topic: "status" });
    const [m] = await r;
    assert.match(errorOf(m), /refused the login .*check the email, the password and the API key/);
    assert.equal(lastStatus(ca).text, "login refused");
  });

  it("an unreachable server reads \"unreachable\" on every node, whether the account or the node reports it", async () => {
    const ca = await load({ operation: "status" }, { baseUrl: "http://127.0.0.1:9" });
    const r = caught.next();
    ca.receive({ topic: "status" });
    await r;
    const errors = ca.status.args.map((a) => a[0] as { fill?: string; text?: string }).filter((st) => st.fill === "red");
    assert.ok(errors.length > 0, "a red status");
    assert.deepEqual([...new Set(errors.map((st) => String(st.text).split(" · ")[0]))], ["unreachable"]);
  });

  it("403 read-only, 404 unknown charger, 5xx, malformed JSON and timeouts are catchable", async () => {
    const ca = await load({ operation: "status", chargePointId: AURA_ID });
    const fail = async (msg: object, pattern: RegExp, status: string): Promise<void> => {
      const r = caught.next();
      ca.receive(msg);
      const [m] = await r;
      assert.match(errorOf(m), pattern);
      assert.equal(lastStatus(ca).text, status);
    };
    await fail({ topic: "setConnectorSettings", chargePointId: HALO_ID, payload: { maxCurrent: 8 } }, /does not allow this account to change .*read-only/, "read-only (403)");
    await fail({ topic: "status", chargePointId: "NOPE" }, /does not know charge point "NOPE"/, "unknown charger");
    sim.injectFault({ kind: "500", count: 3 });
    await fail({}, /server error \(HTTP 500\)/, "server error 500");
    sim.injectFault({ kind: "malformed" });
    await fail({}, /not valid JSON/, "bad answer");
    sim.injectFault({ kind: "slow", delayMs: 2000, count: 3 });
    await fail({}, /did not answer within 0.5 s/, "timeout");
    // And it still works afterwards.
    const r = out1.next();
    ca.receive({});
    assert.equal(((await r)[0].payload as ChargerState[]).length, 2);
  });

  it("waits for Retry-After on 429 and then answers", async () => {
    const ca = await load({ chargePointId: AURA_ID });
    let r = out1.next();
    ca.receive({});
    await r;
    sim.injectFault({ kind: "429", retryAfterSec: 1 });
    const t0 = Date.now();
    r = out1.next();
    ca.receive({});
    await r;
    assert.ok(Date.now() - t0 >= 950);
    assert.equal(caught.msgs.length, 0);
  });

  it("refreshes an expiring token and re-logs in after a server-side expiry", async () => {
    sim.state.tokenLifetimeSec = 31;
    const ca = await load({ chargePointId: AURA_ID });
    const once = async () => {
      const r = out1.next();
      ca.receive({});
      await r;
    };
    await once();
    await new Promise((res) => setTimeout(res, 1100));
    // The refreshed token lives long, so a slow machine cannot make it due again before the revoke below.
    sim.state.tokenLifetimeSec = 3600;
    await once();
    assert.deepEqual([sim.state.logins, sim.state.refreshes], [1, 1]);
    sim.revokeTokens();
    await once();
    assert.deepEqual([sim.state.logins, sim.state.refreshes], [2, 1]);
    assert.equal(caught.msgs.length, 0);
  });

  it("polls: one ChargerState per connector, rows on output 2; backs off on failures and recovers", async () => {
    const ca = await load({ operation: "poll", interval: 0.3 });
    const first = await out1.next(4);
    assert.deepEqual(first.map((m) => m.topic), [`chargeamps/${AURA_ID}/1`, `chargeamps/${AURA_ID}/2`, `chargeamps/${HALO_ID}/1`, `chargeamps/${HALO_ID}/2`]);
    assert.equal((first[0].payload as ChargerState).operationState, "charging");
    assert.deepEqual(first[0].chargePoint, { id: AURA_ID, name: "Garage Aura", status: "Online" });
    assert.equal((first[0].raw as { id: string }).id, AURA_ID);
    const rows = await out2.next(3);
    assert.deepEqual(rows.map((m) => m.table), ["charge_point_status", "connector_status", "measurements"]);

    sim.injectFault({ kind: "malformed", count: 3, pathContains: "/owned" });
    const errors = await caught.next(3, 8000);
    assert.match(errorOf(errors[0]), /Charge Amps poll failed: .*not valid JSON/);
    assert.match(lastStatus(ca).text ?? "", /bad answer · retry \d+ s/);
    const recovered = await out1.next(4, 8000);
    assert.equal((recovered[0].payload as ChargerState).chargerId, AURA_ID);
    assert.equal(lastStatus(ca).fill, "green");
    // The gaps between failing polls grow (backoff), and the poll came back by itself.
    const owned = sim.state.requests.filter((q) => q.path.endsWith("/owned"));
    const bad = owned.filter((_, i) => i >= 1 && i <= 3);
    const gap1 = bad[1].at - bad[0].at;
    const gap2 = bad[2].at - bad[1].at;
    assert.ok(gap2 > gap1 * 1.4, `gaps ${gap1} ms then ${gap2} ms`);
  });

  it("a Retry-After date a month ahead: no request storm, the status says when it retries", async () => {
    const ca = await load({ operation: "poll", interval: 0.3 });
    await out1.next(4);
    const retryAfter = new Date(Date.now() + 30 * 86_400_000).toUTCString();
    sim.injectFault({ kind: "429", count: 1000, retryAfter, pathContains: "/owned" });
    await caught.next(1, 8000);
    const owned = (): number => sim.state.requests.filter((q) => q.path.endsWith("/owned")).length;
    const before = owned();
    await new Promise((res) => setTimeout(res, 1000));
    assert.ok(owned() - before <= 1, `${owned() - before} requests in 1 s after a 30-day Retry-After`);
    assert.match(lastStatus(ca).text ?? "", /retry 24 h$/);
  });

  it("an input poll triggers at once, and a redeploy stops the old poller", async () => {
    const ca = await load({ operation: "poll", interval: 60, chargePointId: AURA_ID });
    await out1.next(2);
    const r = out1.next(2);
    ca.receive({ topic: "poll" });
    await r;
    // A write also triggers a poll, so the change shows at once.
    const r2 = out1.next(3);
    ca.receive({ topic: "setConnectorSettings", payload: { maxCurrent: 8 } });
    const [written, polled] = await r2;
    assert.equal((written.payload as { maxCurrent: number }).maxCurrent, 8);
    assert.deepEqual((polled.payload as ChargerState).currentA, { l1: 8, l2: 8, l3: 8 });

    const oldOut = out1;
    const before = oldOut.msgs.length;
    await helper.setFlows([{ id: "t1", type: "tab" }, { id: "x", type: "helper", z: "t1" }] as never, "full");
    const count = sim.state.requests.length;
    await new Promise((res) => setTimeout(res, 800));
    assert.equal(sim.state.requests.length, count);
    assert.equal(oldOut.msgs.length, before);
  });

  it("without an account it says so, in the status and to Catch nodes", async () => {
    const items = flow(sim, { account: "" }).filter((n) => n.id !== "acc");
    await helper.load([accountNode, chargeAmpsNode], items as never);
    caught = new Collector("caught");
    const ca = helper.getNode("ca") as unknown as SpyNode;
    assert.deepEqual(lastStatus(ca), { fill: "red", shape: "dot", text: "no account" });
    const r = caught.next();
    ca.receive({ topic: "status" });
    assert.match(errorOf((await r)[0]), /has no account: open it and choose or add a Charge Amps account/);
  });

  it("asks for missing credentials instead of calling the cloud", async () => {
    const ca = await load({}, {}, { email: "ada@example.com", password: "", apiKey: "" });
    const r = caught.next();
    ca.receive({ topic: "list" });
    assert.match(errorOf((await r)[0]), /missing its password, API key/);
    assert.equal(lastStatus(ca).text, "credentials missing");
    assert.equal(sim.state.requests.length, 0);
  });

  it("never lets a secret reach a message, a status or a log", () => {
    const text = JSON.stringify(everything);
    assert.ok(everything.length > 50);
    for (const secret of [CREDS.password, CREDS.apiKey, "wrong-api-key", "aura-ocpp-pw", "halo-ocpp-pw"]) {
      assert.ok(!text.includes(secret), `found ${secret}`);
    }
    assert.ok(!/eyJ[\w-]+\.eyJ[\w-]+/.test(text), "found a JWT");
  });
});
