/**
 * Runs the OCPP command example flows against a simulated charger "garage":
 * the central-system config node is swapped for a test stand-in and debug
 * nodes for helper nodes; everything else is the flow as shipped.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { Node, NodeAPI, NodeDef } from "node-red";
import commandNode from "../../nodes/ev-ocpp-command";
import { collect, waitFor, type FlowNode } from "../support/node-red";
import { startTestCentral, type TestCentral } from "../servers/ocpp-test-central";
import { startChargePointSimulator, type ChargePointBehaviour, type ChargePointSimulator } from "../servers/ocpp-charge-point";

helper.init(require.resolve("node-red"));
// The test helper preloads only catch/status/complete; the examples also use inject and function.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const injectNode = require("@node-red/nodes/core/common/20-inject.js") as (RED: NodeAPI) => void;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const functionNode = require("@node-red/nodes/core/function/10-function.js") as (RED: NodeAPI) => void;
const NODES = [testCentralNode, commandNode, injectNode, functionNode];

let central: TestCentral | undefined;
function testCentralNode(RED: NodeAPI): void {
  function TestCentralNode(this: Node & { directory?: unknown; idTags?: unknown }, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    this.directory = central?.directory;
    this.idTags = central?.idTags;
  }
  RED.nodes.registerType("ev-ocpp-test-central", TestCentralNode);
}

const CORE = new Set(["comment", "inject", "debug", "function", "catch", "switch", "change"]);

function example(name: string): FlowNode[] {
  const nodes = JSON.parse(readFileSync(path.join(__dirname, "../../flows/OCPP", `${name}.json`), "utf8")) as FlowNode[];
  assert.equal(nodes[0].type, "comment", "an example starts with a Comment node");
  for (const n of nodes) assert.ok(CORE.has(n.type) || n.type.startsWith("ev-"), `only core and ev- types: ${n.type}`);
  const tab = { id: "tab", type: "tab", label: name };
  return [
    tab,
    ...nodes
      .filter((n) => n.type !== "comment")
      .map((n) => {
        if (n.type === "ev-ocpp-central-system") return { id: n.id, type: "ev-ocpp-test-central" };
        if (n.type === "debug") return { id: n.id, z: "tab", type: "helper", x: n.x, y: n.y };
        return { ...n, z: "tab" };
      }),
  ];
}

describe("OCPP command example flows", () => {
  const sims: ChargePointSimulator[] = [];
  const connect = async (behaviour: Partial<ChargePointBehaviour> = {}): Promise<ChargePointSimulator> => {
    const sim = await startChargePointSimulator({ url: central!.url, identity: "garage", behaviour });
    sims.push(sim);
    await waitFor(() => (central!.directory.snapshot("garage")?.connectors.length ?? 0) > 0);
    return sim;
  };
  beforeEach(async () => {
    central = await startTestCentral();
  });
  afterEach(async () => {
    await helper.unload();
    for (const s of sims.splice(0)) await s.close().catch(() => undefined);
    await central?.close();
    central = undefined;
  });

  it("Start and stop a session", async () => {
    const sim = await connect();
    await helper.load(NODES, example("Start and stop a session"));
    const answers = collect(helper.getNode("dbg0000000cmd001"));
    helper.getNode("inj0000000cmd001").receive({});
    const [started] = await answers.take(1);
    assert.deepEqual(started.payload, { status: "Accepted" });
    assert.deepEqual(sim.calls("RemoteStartTransaction"), [{ connectorId: 1, idTag: "ABC123" }]);
    await waitFor(() => central!.directory.snapshot("garage")?.connectors[0].transactionId !== undefined && sim.state.transactions.has(1));
    helper.getNode("inj0000000cmd002").receive({});
    const [stopped] = await answers.take(1);
    assert.deepEqual(stopped.payload, { status: "Accepted" });
    assert.equal(sim.calls("RemoteStopTransaction").length, 1);
    const failures = collect(helper.getNode("dbg0000000cmd002"));
    await waitFor(() => central!.directory.snapshot("garage")?.connectors[0].transactionId === undefined);
    helper.getNode("inj0000000cmd002").receive({});
    const [failed] = await failures.take(1);
    assert.equal((failed.ocpp as { error: { kind: string } }).error.kind, "bad_input");
  });

  it("Limit current from solar surplus", async () => {
    const sim = await connect({ rateUnits: ["W"] });
    await helper.load(NODES, example("Limit current from solar surplus"));
    const applied = collect(helper.getNode("dbg0000000sol001"));
    helper.getNode("inj0000000sol003").receive({}); // 11 kW → 15 A → 10350 W on this W-only charger
    const [high] = await applied.take(1);
    assert.deepEqual((high.payload as { applied: unknown }).applied, { limit: 10350, unit: "W", amps: 15, watts: 10350 });
    helper.getNode("inj0000000sol001").receive({}); // 2 kW → pause
    const [paused] = await applied.take(1);
    assert.equal((paused.payload as { applied: { watts: number } }).applied.watts, 0);
    assert.equal(sim.compositeLimit(0, "W"), 0);
    helper.getNode("inj0000000sol004").receive({});
    const [cleared] = await applied.take(1);
    assert.deepEqual(cleared.payload, { chargerId: "garage", cleared: ["ChargePointMaxProfile"] });
    assert.equal(sim.state.profiles.length, 0);
  });

  it("Keep the local id-tag list in sync", async () => {
    central!.idTags.set([{ idTag: "ABC123", status: "Accepted" }]);
    await helper.load(NODES, example("Keep the local id-tag list in sync"));
    const results = collect(helper.getNode("dbg0000000lst001"));
    const sim = await connect();
    const [first] = await results.take(1);
    assert.equal((first.payload as { updateType: string }).updateType, "Full");
    helper.getNode("inj0000000lst001").receive({});
    const [forced] = await results.take(1);
    assert.equal((forced.payload as { updateType: string }).updateType, "Full");
    helper.getNode("inj0000000lst002").receive({});
    const [version] = await results.take(1);
    assert.deepEqual(version.payload, { listVersion: 1 });
    assert.deepEqual([...sim.state.localList.entries.keys()], ["ABC123"]);
  });
});
