import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import type { Node, NodeAPI, NodeDef } from "node-red";
import { Lifecycle } from "../../nodes/lib/node-red/lifecycle";
import { collect, editorFlow } from "../support/node-red";

helper.init(require.resolve("node-red"));

/** What the probe node's close handler did, for the assertions. */
const probe = { closeStarted: 0, closeFinished: 0, intervalTicks: 0 };
let lives: Lifecycle[] = [];

/** A test-only node type whose behaviour is chosen by msg.topic. */
function probeNode(RED: NodeAPI): void {
  function ProbeNode(this: Node, def: NodeDef & { closeMs: number }): void {
    RED.nodes.createNode(this, def);
    const life = new Lifecycle(this, 300);
    lives.push(life);
    life.setInterval(() => probe.intervalTicks++, 10);
    life.onInput(async (msg, send) => {
      if (msg.topic === "reject") throw new Error("async failure");
      if (msg.topic === "throw-sync") {
        (null as unknown as { x: number }).x = 1;
      }
      if (msg.topic === "background") {
        life.run(async () => {
          throw new Error("background failure");
        }, msg);
        return;
      }
      if (msg.topic === "late") {
        setTimeout(() => send({ payload: "late" }), 100);
        return;
      }
      send(msg);
    });
    life.onClose(async () => {
      probe.closeStarted++;
      await new Promise((r) => setTimeout(r, def.closeMs));
      probe.closeFinished++;
    });
  }
  RED.nodes.registerType("test-probe", ProbeNode);
}

const flow = (closeMs = 0) =>
  editorFlow([
    { id: "tab", type: "tab", label: "t" },
    { id: "p", z: "tab", type: "test-probe", closeMs, wires: [["out"]] },
    { id: "out", z: "tab", type: "helper" },
    { id: "c", z: "tab", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "tab", type: "helper" },
  ]);

describe("Lifecycle glue inside Node-RED", () => {
  afterEach(async () => {
    await helper.unload();
    lives = [];
  });

  it("turns rejected, thrown and background failures into catchable errors", async () => {
    await helper.load(probeNode, flow());
    const caught = collect(helper.getNode("caught"));
    const p = helper.getNode("p");
    p.receive({ topic: "reject" });
    p.receive({ topic: "throw-sync" });
    p.receive({ topic: "background", payload: 7 });
    const errors = await caught.take(3);
    const messages = errors.map((m) => String((m.error as { message: string }).message)).sort();
    assert.deepEqual(messages, [
      "Error: async failure",
      "TypeError: Cannot set properties of null (setting 'x')",
      "background failure",
    ]);
    // The background failure carries the msg it belongs to, so a flow can react to it.
    assert.equal(errors.find((m) => String((m.error as { message: string }).message) === "background failure")?.payload, 7);
  });

  it("a slow close still reaches done within its bound, and timers stop", async () => {
    await helper.load(probeNode, flow(5_000));
    const started = Date.now();
    await helper.setFlows(editorFlow([{ id: "tab", type: "tab", label: "t" }]), "full").catch(() => undefined);
    await new Promise((r) => setTimeout(r, 400));
    assert.ok(probe.closeStarted >= 1);
    assert.ok(Date.now() - started < 2_000, "close gave up after its 300 ms bound");
    assert.equal(lives[0].closed, true);
    const ticks = probe.intervalTicks;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(probe.intervalTicks, ticks, "intervals are cleared on close");
  });

  it("an old instance sends nothing after a redeploy", async () => {
    await helper.load(probeNode, flow());
    const old = helper.getNode("p");
    old.receive({ topic: "late" });
    await helper.setFlows(flow(1), "full");
    const out = collect(helper.getNode("out"));
    await out.none(250);
  });
});

describe("nodes without their config node", () => {
  afterEach(async () => {
    await helper.unload();
  });

  /** Each node that needs a config node, and the words its error must use. */
  const cases: Array<[string, string, RegExp]> = [
    ["ev-ocpp-in", "ev-ocpp-in", /Choose a central system/],
    ["ev-ocpp-reply", "ev-ocpp-reply", /Choose a central system/],
    ["ev-ocpp-command", "ev-ocpp-command", /Choose an OCPP central system/],
    ["ev-influx-write", "ev-influx-write", /Choose an InfluxDB server/],
    ["ev-timescale-write", "ev-timescale-write", /Choose a PostgreSQL \/ TimescaleDB server/],
    ["ev-timescale-query", "ev-timescale-query", /Choose a PostgreSQL \/ TimescaleDB server/],
  ];
  for (const [file, type, words] of cases) {
    it(`${type} shows a red status and fails each message with a clear error`, async () => {
      const mod = (await import(`../../nodes/${file}`)) as { default: (red: NodeAPI) => void };
      await helper.load(mod.default, editorFlow([
        { id: "tab", type: "tab", label: "t" },
        { id: "n", z: "tab", type, sql: "SELECT 1", wires: [[]] },
        { id: "c", z: "tab", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
        { id: "caught", z: "tab", type: "helper" },
      ]));
      const node = helper.getNode("n") as unknown as Node & { status: { lastCall: { args: Array<{ fill?: string }> } } };
      assert.equal(node.status.lastCall.args[0].fill, "red");
      const caught = collect(helper.getNode("caught"));
      node.receive({ payload: 1 });
      const [msg] = await caught.take(1);
      assert.match(String((msg.error as { message: string }).message), words);
    });
  }
});
