import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import helper from "node-red-node-test-helper";
import changeDetectorNode from "../../nodes/ev-change-detector";
import { collect, editorFlow, type FlowNode } from "../support/node-red";

helper.init(require.resolve("node-red"));

function flow(extra: Partial<FlowNode> = {}): FlowNode[] {
  return editorFlow([
    { id: "tab", type: "tab", label: "test" },
    {
      id: "cd",
      z: "tab",
      type: "ev-change-detector",
      charger: "garage",
      prefix: "chargers",
      timeKey: "SamplingTime",
      valueKey: "Value",
      deadbands: "powerW=100",
      ignore: "raw, samplingTime",
      refreshAfter: 0,
      store: "",
      wires: [["fields"], ["all"]],
      ...extra,
    },
    { id: "fields", z: "tab", type: "helper" },
    { id: "all", z: "tab", type: "helper" },
    { id: "catch", z: "tab", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "tab", type: "helper" },
  ]);
}

describe("ev-change-detector node", () => {
  afterEach(async () => {
    await helper.unload();
  });

  it("publishes each changed field as a retained message with the configured keys", async () => {
    await helper.load(changeDetectorNode, flow());
    const cd = helper.getNode("cd");
    const fields = collect(helper.getNode("fields"));
    const all = collect(helper.getNode("all"));

    cd.receive({ payload: { powerW: 7000, operationState: "charging", raw: { big: true }, samplingTime: "2026-01-01T10:00:00Z" } });
    const first = await fields.take(2);
    assert.deepEqual(
      first.map((m) => [m.topic, m.payload, m.retain]).sort(),
      [
        ["chargers/garage/operationState", { SamplingTime: "2026-01-01T10:00:00.000Z", Value: "charging" }, true],
        ["chargers/garage/powerW", { SamplingTime: "2026-01-01T10:00:00.000Z", Value: 7000 }, true],
      ],
    );
    const combined = await all.take(1);
    assert.deepEqual(combined[0].payload, {
      charger: "garage",
      SamplingTime: "2026-01-01T10:00:00.000Z",
      changes: { powerW: 7000, operationState: "charging" },
    });

    // Inside the deadband: nothing. Beyond it: only that field.
    cd.receive({ payload: { powerW: 7050, operationState: "charging", samplingTime: "2026-01-01T10:00:10Z" } });
    cd.receive({ payload: { powerW: 7200, operationState: "charging", samplingTime: "2026-01-01T10:00:20Z" } });
    const next = await fields.take(1);
    assert.equal(next[0].topic, "chargers/garage/powerW");
    assert.deepEqual(next[0].payload, { SamplingTime: "2026-01-01T10:00:20.000Z", Value: 7200 });
    await fields.none(200);
  });

  it("takes the charger name from msg.charger and sends everything again after a reset", async () => {
    await helper.load(changeDetectorNode, flow({ charger: "" }));
    const cd = helper.getNode("cd");
    const fields = collect(helper.getNode("fields"));
    cd.receive({ charger: "carport/left", payload: { a: 1 } });
    assert.equal((await fields.take(1))[0].topic, "chargers/carport_left/a");
    cd.receive({ charger: "carport/left", payload: { a: 1 } });
    await fields.none(100);
    cd.receive({ charger: "carport/left", reset: true });
    cd.receive({ charger: "carport/left", payload: { a: 1 } });
    assert.equal((await fields.take(1))[0].topic, "chargers/carport_left/a");
  });

  it("forgets nothing when redeployed: the old instance sends nothing", async () => {
    await helper.load(changeDetectorNode, flow());
    const old = helper.getNode("cd");
    old.receive({ payload: { a: 1 } });
    await collect(helper.getNode("fields")).take(1);

    await helper.setFlows(flow({ prefix: "ev" }), "nodes");
    const fresh = helper.getNode("cd");
    assert.notEqual(fresh, old);
    const fields = collect(helper.getNode("fields"));
    old.receive({ payload: { a: 99 } });
    await fields.none(200);
    fresh.receive({ payload: { b: 1 } });
    assert.equal((await fields.take(1))[0].topic, "ev/garage/b");
  });

  it("keeps the last state across a Node-RED restart with a persistent context store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ev-cd-context-"));
    const runtime = helper as unknown as {
      _redNodes: {
        loadContextsPlugin(): Promise<void>;
        closeContextsPlugin(): Promise<void>;
        stopFlows(): Promise<void>;
        startFlows(): Promise<void>;
      };
      _context: { init(settings: object): void };
    };
    // Node-RED keeps node context across restarts only in a configured store, as a user would set up.
    const settings = { contextStorage: { default: { module: "localfilesystem", config: { dir, flushInterval: 1 } } } };
    const runtimeSettings = helper.settings(settings);
    try {
      await helper.load(changeDetectorNode, flow());
      await runtime._redNodes.loadContextsPlugin();
      await helper.setFlows(flow(), "full");
      helper.getNode("cd").receive({ payload: { a: 1, b: 2 } });
      await collect(helper.getNode("fields")).take(2);

      // The restart: stop the flows, flush the store to disk, start from a fresh context module.
      await runtime._redNodes.stopFlows();
      await runtime._redNodes.closeContextsPlugin();
      runtime._context.init(runtimeSettings);
      await runtime._redNodes.loadContextsPlugin();
      await runtime._redNodes.startFlows();

      const fields = collect(helper.getNode("fields"));
      helper.getNode("cd").receive({ payload: { a: 1, b: 3 } });
      const out = await fields.take(1);
      assert.equal(out[0].topic, "chargers/garage/b");
      assert.equal((out[0].payload as { Value: number }).Value, 3);
      await fields.none(200);
    } finally {
      await runtime._redNodes.stopFlows();
      await runtime._redNodes.closeContextsPlugin();
      // Back to the default in-memory context before the folder goes away.
      runtime._context.init(helper.settings({ contextStorage: undefined }));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports a payload that is not an object to a Catch node", async () => {
    await helper.load(changeDetectorNode, flow());
    const caught = collect(helper.getNode("caught"));
    helper.getNode("cd").receive({ payload: 42 });
    const [msg] = await caught.take(1);
    assert.match(String((msg.error as { message: string }).message), /Expected msg.payload to be an object/);
  });

  it("refuses unreadable settings with a status instead of crashing", async () => {
    await helper.load(changeDetectorNode, flow({ deadbands: "powerW=lots" }));
    const cd = helper.getNode("cd") as unknown as { status: { lastCall: { args: Array<{ fill: string }> } } };
    assert.equal(cd.status.lastCall.args[0].fill, "red");
  });
});
