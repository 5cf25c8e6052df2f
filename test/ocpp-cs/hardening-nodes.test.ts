/**
 * Issue 13 in a real Node-RED runtime with real chargers (ocpp-rpc RPCClient):
 * safe defaults (item 5), a problem reported once however many events nodes
 * listen (item 13), and status texts (item 14).
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type { EventEmitter } from "node:events";
import os from "node:os";
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { Node, NodeMessage } from "node-red";
import centralNode from "../../nodes/ev-ocpp-central-system";
import inNode from "../../nodes/ev-ocpp-in";
import replyNode from "../../nodes/ev-ocpp-reply";
import type { CentralSystemNode } from "../../nodes/lib/ocpp/core/node-types";
import { connect, refusal, waitUntil, type Client } from "./support/clients";

helper.init(require.resolve("node-red"));

interface SpyCall {
  thisValue: unknown;
  args: unknown[];
}
type Spied = Node & { status: { getCalls(): SpyCall[] }; warn: { getCalls(): SpyCall[] }; error: { getCalls(): SpyCall[] } };

function callsOn(node: Node, method: "status" | "warn" | "error"): SpyCall[] {
  return (node as Spied)[method].getCalls().filter((c) => c.thisValue === node);
}
function lastStatus(id: string): { fill?: string; shape?: string; text?: string } {
  const calls = callsOn(helper.getNode(id), "status");
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
  rmSync(userDir, { recursive: true, force: true });
});

/** A central system without `acceptUnknown` in its JSON: what a hand-written or imported flow without it gets. */
function flow(extra: Record<string, unknown> = {}, inNodes = 1) {
  const cs: Record<string, unknown> = { id: "cs", type: "ev-ocpp-central-system", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0", ...extra };
  for (const [k, v] of Object.entries(cs)) if (v === undefined) delete cs[k];
  const list: Array<Record<string, unknown> & { id: string; type: string }> = [{ id: "tab", type: "tab" }, cs as { id: string; type: string }];
  for (let i = 0; i < inNodes; i++) list.push({ id: `in${i}`, type: "ev-ocpp-in", z: "tab", server: "cs", chargers: "", kinds: "", decide: false, wires: [[]] });
  list.push({ id: "catcher", type: "catch", z: "tab", scope: null, uncaught: false, wires: [["caught"]] }, { id: "caught", type: "helper", z: "tab" });
  return list;
}

function collect(id: string): NodeMessage[] {
  const got: NodeMessage[] = [];
  (helper.getNode(id) as unknown as EventEmitter).on("input", (msg: NodeMessage) => got.push(msg));
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

describe("OCPP central system in Node-RED: issue 13", () => {
  it("item 5: a password profile refuses chargers without a password unless onboarding is set; saved flows keep their value", async () => {
    await helper.load(nodes, flow({ securityProfile: "1" }), { cs: { passwords: "CP1:0123456789abcdef0123" } });
    let { url } = await ready();
    await charger(url, "CP1", { password: "0123456789abcdef0123" });
    assert.equal(await refusal(connect(url, "STRANGER")), 401, "no password, not known: refused");
    await helper.unload();

    // A flow saved with onboarding on keeps it.
    await helper.load(nodes, flow({ securityProfile: "1", acceptUnknown: true }), { cs: { passwords: "CP1:0123456789abcdef0123" } });
    ({ url } = await ready());
    await charger(url, "STRANGER");
    await helper.unload();

    // Profile 0 (no security at all) still onboards by default, so a first try works.
    await helper.load(nodes, flow({ securityProfile: "0" }));
    ({ url } = await ready());
    await charger(url, "ANY");
  });

  it("item 13: a problem is reported once however many events nodes listen", async () => {
    await helper.load(nodes, flow({ securityProfile: "1", acceptUnknown: false }, 3), { cs: { passwords: "CP1:0123456789abcdef0123" } });
    const caught = collect("caught");
    const { url } = await ready();
    assert.equal(await refusal(connect(url, "CP1", { password: "guess-guess-guess" })), 401);
    await waitUntil(() => caught.length > 0, 1000, "catch");
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(caught.length, 1, "one Catch message, not one per events node");
    const errors = ["in0", "in1", "in2"].reduce((n, id) => n + callsOn(helper.getNode(id), "error").length, 0);
    assert.equal(errors, 1, "one log line");
  });

  it("item 14: status texts put the key fact first; a healthy central system without security is not a warning", async () => {
    await helper.load(nodes, flow({ securityProfile: "0" }));
    const { url } = await ready();
    await charger(url, "CP1");
    await waitUntil(() => /^1 connected/.test(lastStatus("in0").text ?? ""), 1000, "status");
    assert.equal(lastStatus("in0").fill, "green");
    assert.match(lastStatus("in0").text ?? "", /no security/);
    assert.equal(await refusal(connect(url, "NEW", { protocols: ["ocpp2.0.1"] })), 400);
    await waitUntil(() => lastStatus("in0").fill === "yellow", 1000, "warning");
    assert.match(lastStatus("in0").text ?? "", /^NEW refused: protocol ocpp2\.0\.1 not supported/);
  });
});
