import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import siteManagerNode from "../../nodes/ev-site-manager";
import { collect, editorFlow, type FlowNode } from "../support/node-red";

helper.init(require.resolve("node-red"));

function flow(extra: Partial<FlowNode> = {}): FlowNode[] {
  return editorFlow([
    { id: "tab", type: "tab", label: "test" },
    {
      id: "site",
      z: "tab",
      type: "ev-site-manager",
      fuseA: 25,
      phases: 3,
      voltageV: 230,
      chargers: JSON.stringify([{ id: "garage", mode: "now" }, { id: "drive", phases: 1 }]),
      circuits: "[]",
      outputs: 3,
      wires: [["summary"], ["garage"], ["drive"]],
      ...extra,
    },
    { id: "summary", z: "tab", type: "helper" },
    { id: "garage", z: "tab", type: "helper" },
    { id: "drive", z: "tab", type: "helper" },
    { id: "catch", z: "tab", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "tab", type: "helper" },
  ]);
}

describe("ev-site-manager node", () => {
  afterEach(async () => {
    await helper.unload();
  });

  it("turns a grid sample into one limit message per charger output and a site summary with a status in words", async () => {
    await helper.load(siteManagerNode, flow());
    const site = helper.getNode("site");
    const summary = collect(helper.getNode("summary"));
    const garage = collect(helper.getNode("garage"));
    const drive = collect(helper.getNode("drive"));

    site.receive({ topic: "charger/drive", payload: { chargerId: "drive", operationState: "idle", vehicleConnected: false, samplingTime: new Date().toISOString() } });
    site.receive({ topic: "grid", payload: { powerW: 1400, currentsA: [2, 2, 2] } });
    const [limit] = await garage.take(1);
    assert.equal(limit.topic, "limit");
    assert.equal(limit.chargerId, "garage");
    assert.equal(limit.command, "limit");
    assert.deepEqual(limit.payload, { amps: 6, phases: 3, leaseS: 180, safeA: 6 }, "starts at the minimum, then ramps");
    const [report] = await summary.take(1);
    const payload = report.payload as { gridW: number; headroomA: number[]; chargers: Record<string, { state: string; reason: string }> };
    assert.equal(payload.gridW, 1400);
    assert.deepEqual(payload.headroomA, [23, 23, 23]);
    assert.equal(payload.chargers.drive.reason, "no car");
    const [pause] = await drive.take(1);
    assert.deepEqual(pause.payload, { amps: 0, phases: 1, leaseS: 180, safeA: 6 }, "a charger without a car is paused");
    const status = (site as unknown as { status: { lastCall: { args: Array<{ text: string; fill: string }> } } }).status.lastCall.args[0];
    assert.equal(status.fill, "green");
    assert.match(status.text, /^1 car, surplus -1\.4 kW, L1 headroom 23 A$/);
  });

  it("a mode change and a bad input: the mode applies at once, the bad input is a catchable error in words", async () => {
    await helper.load(siteManagerNode, flow());
    const site = helper.getNode("site");
    const garage = collect(helper.getNode("garage"));
    const caught = collect(helper.getNode("caught"));
    site.receive({ topic: "grid", payload: { powerW: 1400, currentsA: [2, 2, 2] } });
    await garage.take(1);
    site.receive({ topic: "mode/garage", payload: "off" });
    const [off] = await garage.take(1);
    assert.deepEqual(off.payload, { amps: 0, phases: 3, leaseS: 180, safeA: 6 });
    site.receive({ topic: "grid", payload: { powerW: "lots" } });
    const [error] = await caught.take(1);
    assert.match((error.error as { message: string }).message, /grid: payload.powerW must be the grid power in W/);
    site.receive({ topic: "mode/nobody", payload: "now" });
    const [unknown] = await caught.take(1);
    assert.match((unknown.error as { message: string }).message, /"nobody" is not in the site manager's list/);
  });

  it("bad settings: a red status and every input fails with the reason", async () => {
    await helper.load(siteManagerNode, flow({ chargers: "[{\"id\": \"a\", \"circuit\": \"nowhere\"}]" }));
    const site = helper.getNode("site");
    const caught = collect(helper.getNode("caught"));
    site.receive({ topic: "grid", payload: { powerW: 0 } });
    const [error] = await caught.take(1);
    assert.match((error.error as { message: string }).message, /circuit "nowhere", which is not defined/);
  });

  it("plans, prices and protection from the node's settings: the site message says the plan in words with ISO times", async () => {
    await helper.load(siteManagerNode, flow({ protection: "tolerant", toleranceS: "15", recoverS: "60", priceLimit: "0.1", planMarginPct: "20" }));
    const site = helper.getNode("site");
    const summary = collect(helper.getNode("summary"));
    const caught = collect(helper.getNode("caught"));
    const by = new Date(Date.now() + 3 * 3_600_000).toISOString();
    site.receive({ topic: "plan/drive", payload: { energyKWh: 5, by } });
    const [first] = await summary.take(1);
    type Summary = { protection: { mode: string }; cheap: boolean; chargers: Record<string, { reason: string; plan?: { text: string; by: string; startsAt?: string } }> };
    const payload = first.payload as Summary;
    assert.equal(payload.protection, undefined, "no grid sample yet");
    site.receive({ topic: "grid", payload: { powerW: 1400, currentsA: [2, 2, 2] } });
    const [report] = await summary.take(1);
    const withGrid = report.payload as Summary;
    assert.equal(withGrid.protection.mode, "tolerant");
    const plan = withGrid.chargers.drive.plan;
    assert.match(plan?.text ?? "", /^plan: 5 kWh by \d\d:\d\d, starts \d\d:\d\d$/);
    assert.equal(plan?.by, by);
    assert.match(plan?.startsAt ?? "", /^\d{4}-\d\d-\d\dT/);
    assert.match(withGrid.chargers.drive.reason, /plan: 5 kWh by/);
    site.receive({ topic: "price", payload: [{ start: new Date(Date.now() - 60_000).toISOString(), price: 0.05 }] });
    const [cheap] = await summary.take(1);
    assert.equal((cheap.payload as Summary).cheap, true, "0.05 is under the 0.1 price limit");
    site.receive({ topic: "plan/drive", payload: { soc: 80 } });
    const [error] = await caught.take(1);
    assert.match((error.error as { message: string }).message, /plan\/drive: by must be the departure/);
  });

  it("a flow saved before fuse protection existed keeps cutting at once", async () => {
    await helper.load(siteManagerNode, flow());
    const site = helper.getNode("site");
    const summary = collect(helper.getNode("summary"));
    site.receive({ topic: "grid", payload: { powerW: 1400, currentsA: [2, 2, 2] } });
    const [report] = await summary.take(1);
    assert.equal((report.payload as { protection: { mode: string } }).protection.mode, "immediate");
  });
});
