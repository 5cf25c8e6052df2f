/**
 * The three OCPP nodes inside a real Node-RED runtime, with real chargers
 * (ocpp-rpc RPCClient) over loopback: events, decisions answered by the
 * reply node or by the fallback, the charger list, catchable errors,
 * Node-RED's own port, restart persistence and redeploy with connected chargers.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import type { EventEmitter } from "node:events";
import os from "node:os";
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { Node, NodeMessage } from "node-red";
import centralNode from "../../nodes/ev-ocpp-central-system";
import inNode from "../../nodes/ev-ocpp-in";
import replyNode from "../../nodes/ev-ocpp-reply";
import type { CentralSystemNode } from "../../nodes/lib/ocpp/core/node-types";
import { boot, connect, refusal, waitUntil, type Client } from "./support/clients";

helper.init(require.resolve("node-red"));

type Msg = NodeMessage & { topic: string; payload: Record<string, unknown>; ocpp?: { decisionId?: string; kind: string; identity: string } };
interface SpyCall {
  thisValue: unknown;
  args: unknown[];
}
type Spied = Node & { send: { getCalls(): SpyCall[] }; status: { getCalls(): SpyCall[] } };

/** The helper spies on Node.prototype, so calls must be picked per instance. */
function callsOn(node: Node, method: "send" | "status"): SpyCall[] {
  return (node as Spied)[method].getCalls().filter((c) => c.thisValue === node);
}
function lastStatus(id: string): { fill?: string; text?: string } {
  const node = helper.getNode(id);
  const calls = callsOn(node, "status");
  return (calls[calls.length - 1]?.args[0] ?? {}) as { fill?: string; text?: string };
}

const nodes = [centralNode, inNode, replyNode];
const clients: Client[] = [];
let userDir: string;

beforeEach(() => {
  userDir = mkdtempSync(path.join(os.tmpdir(), "evkit-nr-"));
  helper.settings({ userDir });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close({ force: true }).catch(() => undefined)));
  await helper.unload();
  try {
    await helper.stopServer();
  } catch {
    // Only some tests start Node-RED's HTTP server.
  }
  rmSync(userDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function flow(port: number | string, extra: Record<string, unknown> = {}, inExtra: Record<string, unknown> = {}) {
  return [
    { id: "tab", type: "tab" },
    { id: "cs", type: "ev-ocpp-central-system", name: "home", port: String(port), host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0", decisionTimeout: "0.3", ...extra },
    { id: "in", type: "ev-ocpp-in", z: "tab", server: "cs", chargers: "", kinds: "", decide: false, wires: [["out"]], ...inExtra },
    { id: "out", type: "helper", z: "tab" },
    { id: "reply", type: "ev-ocpp-reply", z: "tab", server: "cs", wires: [] },
    { id: "catcher", type: "catch", z: "tab", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "tab" },
  ];
}

function listen(id: string, fn: (msg: Msg) => void): void {
  (helper.getNode(id) as unknown as EventEmitter).on("input", fn);
}

function collect(id: string): Msg[] {
  const got: Msg[] = [];
  listen(id, (msg) => got.push(msg));
  return got;
}

async function ready(): Promise<{ cs: CentralSystemNode; url: string }> {
  const cs = helper.getNode("cs") as CentralSystemNode;
  await cs.ready;
  return { cs, url: `ws://127.0.0.1:${cs.central!.port}/ocpp` };
}

async function charger(url: string, identity: string, opts?: Parameters<typeof connect>[2]): Promise<Client> {
  const c = await connect(url, identity, opts);
  clients.push(c);
  return c;
}

describe("OCPP nodes in Node-RED", () => {
  it("emits normalised events and answers an empty flow with defaults", async () => {
    await helper.load(nodes, flow(0));
    const out = collect("out");
    const { cs, url } = await ready();
    assert.match(cs.chargerUrl(), /^ws:\/\/<host>:\d+\/ocpp\/<chargerId>$/);
    const c = await charger(url, "CP1");
    assert.equal(((await c.call("BootNotification", boot)) as { status: string }).status, "Accepted");
    const tx = (await c.call("StartTransaction", { connectorId: 1, idTag: "ANY", meterStart: 0, timestamp: "2026-11-21T10:00:00Z" })) as {
      transactionId: number;
      idTagInfo: { status: string };
    };
    assert.equal(tx.idTagInfo.status, "Accepted", "empty list without deny-by-default accepts");
    await c.call("StopTransaction", { transactionId: tx.transactionId, meterStop: 3300, timestamp: "2026-11-21T11:00:00Z" });
    await waitUntil(() => out.some((m) => m.payload.kind === "session.ended"), 2000, "session.ended");
    assert.deepEqual(out.map((m) => m.topic), ["CP1/connected", "CP1/boot", "CP1/authorize", "CP1/session.started", "CP1/session.ended"]);
    assert.equal(out[4].payload.energyWh, 3300);
    assert.equal(out[0].ocpp?.identity, "CP1");
    const status = lastStatus("in");
    assert.equal(status.fill, "yellow");
    assert.match(status.text ?? "", /^1 connected · :\d+ · no security$/);
    // Any input asks for the charger list.
    helper.getNode("in").receive({ payload: "" });
    await waitUntil(() => out.some((m) => m.topic === "chargers"), 1000, "charger list");
    const list = out.find((m) => m.topic === "chargers")!.payload as unknown as Array<{ identity: string; connected: boolean; boot: { model: string } }>;
    assert.deepEqual(list.map((x) => [x.identity, x.connected, x.boot.model]), [["CP1", true, "Sim-1"]]);
  });

  it("filters by charger and kind", async () => {
    await helper.load(nodes, flow(0, {}, { chargers: "CP2", kinds: "status,session" }));
    const out = collect("out");
    const { url } = await ready();
    const a = await charger(url, "CP1");
    const b = await charger(url, "CP2");
    await a.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available" });
    await b.call("BootNotification", boot);
    await b.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Charging" });
    await b.call("StartTransaction", { connectorId: 1, idTag: "X", meterStart: 0, timestamp: "2026-11-21T10:00:00Z" });
    await waitUntil(() => out.length >= 2, 1000, "events");
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(out.map((m) => m.topic), ["CP2/status", "CP2/session.started"]);
  });

  it("lets the flow decide with the reply node, and the fallback answers when it does not", async () => {
    await helper.load(nodes, flow(0, { idTags: undefined, denyUnknownTags: true }, { decide: true, kinds: "authorize" }), {
      cs: { idTags: "LISTED\nBLOCKED, Blocked" },
    });
    const out = collect("out");
    const caught = collect("caught");
    const { url } = await ready();
    listen("out", (msg) => {
      if (msg.payload.idTag === "FLOW-OK") helper.getNode("reply").receive({ ...msg, payload: "Accepted" });
      if (msg.payload.idTag === "GARBLED") helper.getNode("reply").receive({ ...msg, payload: { what: 1 } });
    });
    const c = await charger(url, "CP1");
    assert.deepEqual(await c.call("Authorize", { idTag: "FLOW-OK" }), { idTagInfo: { status: "Accepted" } });
    // Nobody answers: deny-by-default list after 0.3 s.
    assert.deepEqual(await c.call("Authorize", { idTag: "STRANGER" }), { idTagInfo: { status: "Invalid" } });
    assert.deepEqual(await c.call("Authorize", { idTag: "LISTED" }), { idTagInfo: { status: "Accepted" } });
    assert.deepEqual(await c.call("Authorize", { idTag: "BLOCKED" }), { idTagInfo: { status: "Blocked" } });
    // An unreadable answer is a catchable error, and the fallback still answers the charger.
    assert.deepEqual(await c.call("Authorize", { idTag: "GARBLED" }), { idTagInfo: { status: "Invalid" } });
    await waitUntil(() => caught.length > 0, 1000, "catch");
    assert.match(String((caught[0] as { error?: { message?: string } }).error?.message), /Cannot read the answer/);
    assert.ok(out.every((m) => typeof m.ocpp?.decisionId === "string"));
    // Answering after the fallback: a clear error, not silence.
    helper.getNode("reply").receive({ ...out[1], payload: "Accepted" });
    await waitUntil(() => caught.length > 1, 1000, "late reply error");
    assert.match(String((caught[1] as { error?: { message?: string } }).error?.message), /Answered too late/);
    // A message that did not come from an events node.
    helper.getNode("reply").receive({ payload: "Accepted" });
    await waitUntil(() => caught.length > 2, 1000, "missing decision error");
    assert.match(String((caught[2] as { error?: { message?: string } }).error?.message), /decisionId is missing/);
  });

  it("turns refused chargers into catchable errors and a status", async () => {
    await helper.load(nodes, flow(0, { securityProfile: "1", acceptUnknown: false }), { cs: { passwords: "CP1:0123456789abcdef0123" } });
    const caught = collect("caught");
    const { url } = await ready();
    await charger(url, "CP1", { password: "0123456789abcdef0123" });
    assert.equal(await refusal(connect(url, "CP1", { password: "guess-guess-guess" })), 401);
    await waitUntil(() => caught.length > 0, 1000, "catch");
    const err = caught[0] as { error?: { message?: string }; payload: Record<string, unknown> };
    assert.match(String(err.error?.message), /Refused charger "CP1" from 127\.0\.0\.1: wrong password/);
    assert.ok(!JSON.stringify(caught).includes("0123456789abcdef0123"), "no password in messages");
    const status = lastStatus("in");
    assert.equal(status.fill, "yellow");
    assert.match(status.text ?? "", /wrong password/);
  });

  it("reports a busy port in plain words", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await helper.load(nodes, flow(port));
      const cs = helper.getNode("cs") as CentralSystemNode;
      await assert.rejects(cs.ready, new RegExp(`Port ${port} is already in use`));
      const status = lastStatus("in");
      assert.equal(status.fill, "red");
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("serves chargers on a path of Node-RED's own port, and survives a redeploy there", async () => {
    await helper.startServer();
    const port = Number(new URL(helper.url()).port);
    await helper.load(nodes, flow(0, { listen: "node-red", path: "/ocpp" }));
    const out = collect("out");
    await (helper.getNode("cs") as CentralSystemNode).ready;
    const c = await charger(`ws://127.0.0.1:${port}/ocpp`, "CP1");
    assert.equal(((await c.call("BootNotification", boot)) as { status: string }).status, "Accepted");
    await waitUntil(() => out.length === 2, 1000, "events");
    // Other paths on Node-RED's port are not ours.
    assert.ok(String(await refusal(connect(`ws://127.0.0.1:${port}/elsewhere`, "CP1", { wsOpts: { handshakeTimeout: 300 } }))).length > 0);
    await helper.setFlows(flow(0, { listen: "node-red", path: "/ocpp" }), "full");
    await (helper.getNode("cs") as CentralSystemNode).ready;
    const again = await charger(`ws://127.0.0.1:${port}/ocpp`, "CP2");
    assert.ok(((await again.call("Heartbeat", {})) as { currentTime: string }).currentTime);
  });

  it("keeps transaction ids across a Node-RED restart", async () => {
    await helper.load(nodes, flow(0));
    let { url } = await ready();
    let c = await charger(url, "CP1");
    const startReq = { connectorId: 1, idTag: "T", meterStart: 100, timestamp: "2026-11-21T10:00:00Z" };
    const first = (await c.call("StartTransaction", startReq)) as { transactionId: number };
    await helper.unload();
    await helper.load(nodes, flow(0));
    ({ url } = await ready());
    c = await charger(url, "CP1");
    const again = (await c.call("StartTransaction", startReq)) as { transactionId: number };
    assert.equal(again.transactionId, first.transactionId);
    const snap = (helper.getNode("cs") as CentralSystemNode).idTags;
    assert.equal(snap.entries().length, 0);
  });

  it("redeploys with chargers connected: same port, chargers reconnect, the old instance emits nothing", async () => {
    const port = await freePort();
    await helper.load(nodes, flow(port));
    const oldIn = helper.getNode("in");
    const { url } = await ready();
    const c = (await connect(url, "CP1", { reconnect: true })) as Client;
    clients.push(c);
    c.reconfigure({ backoff: { initialDelay: 20, maxDelay: 100, factor: 2, randomisationFactor: 0 } } as never);
    await c.call("BootNotification", boot);
    await waitUntil(() => callsOn(oldIn, "send").length >= 2, 1000, "old events");
    const sentBefore = callsOn(oldIn, "send").length;

    await helper.setFlows(flow(port), "full");
    const out = collect("out");
    await (helper.getNode("cs") as CentralSystemNode).ready;
    await waitUntil(() => out.some((m) => m.topic === "CP1/connected"), 5000, "charger reconnects");
    await c.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available" });
    await waitUntil(() => out.some((m) => m.topic === "CP1/status"), 1000, "status after redeploy");
    assert.equal(callsOn(oldIn, "send").length, sentBefore, "the old instance sent nothing after the redeploy");
    assert.deepEqual(out.map((m) => m.topic), ["CP1/connected", "CP1/status"], "each event exactly once");
    assert.equal(((helper.getNode("cs") as CentralSystemNode).central!.port), port);
  });

  it("a deploy of only the events node leaves one subscription: each event arrives once", async () => {
    const port = await freePort();
    await helper.load(nodes, flow(port));
    const { url } = await ready();
    const c = await charger(url, "CP1");
    const changed = flow(port).map((n) => (n.id === "in" ? { ...n, name: "renamed" } : n));
    await helper.setFlows(changed as never, "nodes");
    const out = collect("out");
    assert.equal(helper.getNode("in").name, "renamed");
    await c.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available" });
    await c.call("Heartbeat", {});
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(out.map((m) => m.topic), ["CP1/status"]);
    assert.equal(((helper.getNode("cs") as CentralSystemNode).central!.port), port, "the central system kept running");
  });
});
