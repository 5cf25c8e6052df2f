import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import helper from "node-red-node-test-helper";
import accountNode from "../../nodes/ev-chargeamps-account";
import chargeAmpsNode from "../../nodes/ev-chargeamps";
import { AURA_ID, startChargeAmpsSimulator, type ChargeAmpsSimulator } from "../servers/chargeamps-simulator";

helper.init(require.resolve("node-red"));
// Core nodes are resolved from node-red's own dependencies, as the runtime would.
const fromNodeRed = createRequire(require.resolve("node-red"));
const core = (p: string): typeof accountNode => fromNodeRed(`@node-red/nodes/core/${p}`) as typeof accountNode;
const FLOW = path.join(__dirname, "../../flows/Charge Amps/Poll and control.json");

type FlowNode = Record<string, unknown> & { id: string; type: string; wires?: string[][] };

describe("example flow: Charge Amps / Poll and control", () => {
  let sim: ChargeAmpsSimulator | undefined;
  afterEach(async () => {
    await helper.unload();
    await sim?.close();
  });

  it("holds no secrets and uses only our and core node types", () => {
    const nodes = JSON.parse(fs.readFileSync(FLOW, "utf8")) as FlowNode[];
    assert.equal(nodes[0].type, "comment");
    const text = JSON.stringify(nodes);
    assert.ok(!/"(password|apiKey|email|credentials)"/.test(text));
    const account = nodes.find((n) => n.type === "ev-chargeamps-account")!;
    assert.equal(account.baseUrl, "http://127.0.0.1:18081");
    const allowed = new Set(["comment", "inject", "debug", "change", "catch", "link in", "link out", "ev-chargeamps", "ev-chargeamps-account"]);
    assert.deepEqual(nodes.filter((n) => !allowed.has(n.type)), []);
  });

  it("polls the simulator and a control inject changes the Aura", async () => {
    sim = await startChargeAmpsSimulator(); // dev mode: any non-empty credentials
    const nodes = JSON.parse(fs.readFileSync(FLOW, "utf8")) as FlowNode[];
    const tab = { id: "tab1", type: "tab" };
    const flow: FlowNode[] = [tab as FlowNode];
    for (const n of nodes) {
      const copy = { ...n };
      if (copy.type === "ev-chargeamps-account") copy.baseUrl = sim.url;
      else copy.z = "tab1";
      flow.push(copy);
    }
    // Listen where the debug nodes sit, through helper nodes wired in parallel.
    const poll = flow.find((n) => n.name === "Poll every 30 s")!;
    poll.wires = [[...poll.wires![0], "states"], [...poll.wires![1], "rows"]];
    const control = flow.find((n) => n.name === "Set connector 1")!;
    control.wires = [[...control.wires![0], "readback"], []];
    flow.push({ id: "states", type: "helper", z: "tab1" }, { id: "rows", type: "helper", z: "tab1" }, { id: "readback", type: "helper", z: "tab1" });
    const account = flow.find((n) => n.type === "ev-chargeamps-account")!;

    const got: Record<string, Array<Record<string, unknown>>> = { states: [], rows: [], readback: [] };
    await helper.load(
      [accountNode, chargeAmpsNode, core("common/20-inject.js"), core("common/21-debug.js"), core("function/15-change.js"), core("common/60-link.js"), core("common/90-comment.js")],
      flow as never,
      { [account.id]: { email: "me@example.com", password: "x", apiKey: "y" } } as never,
    );
    for (const id of Object.keys(got)) (helper.getNode(id) as unknown as { on(e: string, f: (m: Record<string, unknown>) => void): void }).on("input", (m) => got[id].push(m));
    const waitFor = async (cond: () => boolean, what: string) => {
      for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(cond(), what);
    };
    await waitFor(() => got.states.length >= 4 && got.rows.length >= 3, "first poll");
    assert.deepEqual(got.rows.slice(0, 3).map((m) => m.table), ["charge_point_status", "connector_status", "measurements"]);

    const inject = flow.find((n) => n.name === "max 10 A")!;
    (helper.getNode(inject.id) as unknown as { receive(m: object): void }).receive({});
    await waitFor(() => got.readback.length === 1, "settings read back");
    assert.equal((got.readback[0].payload as { maxCurrent: number }).maxCurrent, 10);
    assert.equal(sim.chargePoint(AURA_ID).connectors[0].maxCurrent, 10);
    // The link back to the poll shows the new current at once, not 30 s later.
    await waitFor(() => got.states.some((m) => JSON.stringify((m.payload as { currentA?: unknown }).currentA) === '{"l1":10,"l2":10,"l3":10}'), "re-poll after the change");
  });
});
