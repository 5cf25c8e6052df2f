import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import type { Node, NodeAPI, NodeDef } from "node-red";
import commandNode from "../../nodes/ev-ocpp-command";
import { collect, editorFlow, waitFor, type FlowNode } from "../support/node-red";
import { startTestCentral, type TestCentral } from "../servers/ocpp-test-central";
import { startChargePointSimulator, type ChargePointBehaviour, type ChargePointSimulator } from "../servers/ocpp-charge-point";

helper.init(require.resolve("node-red"));

/**
 * Test-only stand-in for ev-ocpp-central-system (not shipped): a config node
 * that exposes the directory and id-tag list of a test central system.
 */
let central: TestCentral | undefined;
function testCentralNode(RED: NodeAPI): void {
  function TestCentralNode(this: Node & { directory?: unknown; idTags?: unknown }, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    this.directory = central?.directory;
    this.idTags = central?.idTags;
  }
  RED.nodes.registerType("ev-ocpp-test-central", TestCentralNode);
}

function flow(command: Partial<FlowNode>): FlowNode[] {
  // Config nodes stay without coordinates (that is what makes them config nodes).
  return [
    { id: "cs", type: "ev-ocpp-test-central" },
    ...editorFlow([
    { id: "tab", type: "tab", label: "test" },
    { id: "cmd", z: "tab", type: "ev-ocpp-command", server: "cs", chargerId: "", command: "RemoteStartTransaction", timeout: 2, offline: "fail", queueTtl: 60, wires: [["out"]], ...command },
    { id: "out", z: "tab", type: "helper" },
    { id: "catch", z: "tab", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "tab", type: "helper" },
    ]),
  ];
}

type Status = { fill?: string; text?: string };
/** The helper spies on Node.prototype, so status calls are picked per instance. */
const lastStatus = (id: string): Status => {
  const node = helper.getNode(id);
  const spy = (node as unknown as { status: { getCalls(): Array<{ thisValue: unknown; args: [Status] }> } }).status;
  const calls = spy.getCalls().filter((c) => c.thisValue === node);
  return calls[calls.length - 1]?.args[0] ?? {};
};

describe("ev-ocpp-command node", () => {
  let sim: ChargePointSimulator | undefined;
  const sims: ChargePointSimulator[] = [];
  const connect = async (behaviour: Partial<ChargePointBehaviour> = {}, identity = "CP1"): Promise<ChargePointSimulator> => {
    const s = await startChargePointSimulator({ url: central!.url, identity, behaviour });
    sims.push(s);
    await waitFor(() => (central!.directory.snapshot(identity)?.connectors.length ?? 0) > 0);
    return s;
  };

  beforeEach(async () => {
    central = await startTestCentral();
  });
  afterEach(async () => {
    await helper.unload();
    for (const s of sims.splice(0)) await s.close().catch(() => undefined);
    await central?.close();
    central = undefined;
    sim = undefined;
  });

  it("starts a session from msg.payload (charger from msg.topic) and outputs the answer with msg.ocpp", async () => {
    sim = await connect();
    await helper.load([testCentralNode, commandNode], flow({}));
    const out = collect(helper.getNode("out"));
    helper.getNode("cmd").receive({ topic: "CP1", payload: { connector: 1, idTag: "ABC" } } as never);
    const [msg] = await out.take(1);
    assert.deepEqual(msg.payload, { status: "Accepted" });
    assert.deepEqual(msg.ocpp, { chargerId: "CP1", action: "RemoteStartTransaction", request: { connectorId: 1, idTag: "ABC" } });
    assert.deepEqual(sim.calls("RemoteStartTransaction"), [{ connectorId: 1, idTag: "ABC" }]);
    assert.equal(lastStatus("cmd").fill, "green");
  });

  it("uses the dialog's typed fields; msg.command switches the command (stop the session on connector 1)", async () => {
    sim = await connect();
    await helper.load([testCentralNode, commandNode], flow({ chargerId: "CP1", connector: "1", idTag: "CARD1" }));
    const out = collect(helper.getNode("out"));
    const cmd = helper.getNode("cmd");
    cmd.receive({ payload: 1732190000000 } as never); // an inject timestamp is ignored for start
    await out.take(1);
    await waitFor(() => central!.directory.snapshot("CP1")?.connectors[0].transactionId !== undefined && sim!.state.transactions.has(1));
    cmd.receive({ command: "stop", payload: "" } as never);
    const [stopped] = await out.take(1);
    assert.deepEqual(stopped.ocpp, { chargerId: "CP1", action: "RemoteStopTransaction", request: { transactionId: 100 } });
    assert.deepEqual(sim.calls("RemoteStartTransaction"), [{ connectorId: 1, idTag: "CARD1" }]);
  });

  it("limit from a bare number: 10 A on a W-only charger arrives as 6900 W and the applied limit is output", async () => {
    sim = await connect({ rateUnits: ["W"] });
    await helper.load([testCentralNode, commandNode], flow({ chargerId: "CP1", command: "limit", limitUnit: "A" }));
    const out = collect(helper.getNode("out"));
    helper.getNode("cmd").receive({ payload: 10 } as never);
    const [msg] = await out.take(1);
    const profile = sim.calls("SetChargingProfile")[0].csChargingProfiles as { chargingSchedule: { chargingRateUnit: string; chargingSchedulePeriod: unknown[] } };
    assert.equal(profile.chargingSchedule.chargingRateUnit, "W");
    assert.deepEqual(profile.chargingSchedule.chargingSchedulePeriod, [{ startPeriod: 0, limit: 6900 }]);
    const answer = msg.payload as { applied: unknown; purpose: string };
    assert.deepEqual(answer.applied, { limit: 6900, unit: "W", amps: 10, watts: 6900 });
    assert.deepEqual(msg.ocpp, { chargerId: "CP1", action: "limit", request: { amps: 10 } });
    assert.equal(lastStatus("cmd").text, "CP1: 6900 W");
  });

  it("Rejected, CALLERROR, timeout, offline and bad input reach a Catch node with msg.ocpp.error.kind", async () => {
    sim = await connect({ statusOverrides: { Reset: "Rejected" }, callErrors: { ClearCache: "NotImplemented" }, noReply: ["GetLocalListVersion"] });
    await helper.load([testCentralNode, commandNode], flow({ chargerId: "CP1", command: "Reset", timeout: 0.3 }));
    const caught = collect(helper.getNode("caught"));
    const out = collect(helper.getNode("out"));
    const cmd = helper.getNode("cmd");
    const expectKind = async (msg: Record<string, unknown>, kind: string, pattern: RegExp): Promise<void> => {
      cmd.receive(msg as never);
      const [c] = await caught.take(1);
      assert.equal((c.ocpp as { error: { kind: string } }).error.kind, kind);
      assert.match((c.error as { message: string }).message, pattern);
    };
    await expectKind({ payload: {} }, "rejected", /Charger CP1 refused Reset \(Rejected\)/);
    assert.equal(lastStatus("cmd").fill, "red");
    await expectKind({ command: "ClearCache" }, "call_error", /CALLERROR NotImplemented/);
    await expectKind({ command: "GetLocalListVersion" }, "timeout", /did not answer GetLocalListVersion in time/);
    await expectKind({ command: "Reset", chargerId: "CP9" }, "rejected", /CP1/); // config charger id wins over msg
    await expectKind({ command: "UnlockConnector", payload: { connector: "x" } }, "bad_input", /whole number/);
    await out.none(50);
  });

  it("offline charger: fails at once, or (queue mode) is sent when the charger connects", async () => {
    await helper.load([testCentralNode, commandNode], [
      ...flow({ chargerId: "CP1", command: "Reset" }),
      ...editorFlow([{ id: "q", z: "tab", type: "ev-ocpp-command", server: "cs", chargerId: "CP1", command: "Reset", resetType: "Hard", offline: "queue", queueTtl: 30, wires: [["qout"]] }, { id: "qout", z: "tab", type: "helper" }]),
    ]);
    const caught = collect(helper.getNode("caught"));
    const qout = collect(helper.getNode("qout"));
    helper.getNode("cmd").receive({ payload: {} } as never);
    const [c] = await caught.take(1);
    assert.equal((c.ocpp as { error: { kind: string } }).error.kind, "offline");
    assert.match((c.error as { message: string }).message, /Charger CP1 has never connected to this central system; Reset was not sent/);

    helper.getNode("q").receive({ payload: {} } as never);
    await waitFor(() => lastStatus("q").text?.startsWith("queued for CP1") === true);
    sim = await connect();
    const [msg] = await qout.take(1);
    assert.deepEqual(msg.payload, { status: "Accepted" });
    assert.deepEqual(sim.state.resets, ["Hard"]);
  });

  it("raw mode sends any action with msg.action + msg.payload", async () => {
    sim = await connect();
    await helper.load([testCentralNode, commandNode], flow({ chargerId: "CP1", command: "raw", action: "DataTransfer" }));
    const out = collect(helper.getNode("out"));
    helper.getNode("cmd").receive({ payload: { vendorId: "evkit", data: "hi" } } as never);
    const [msg] = await out.take(1);
    assert.deepEqual(msg.payload, { status: "Accepted", data: "echo:hi" });
    helper.getNode("cmd").receive({ action: "GetLocalListVersion", payload: {} } as never);
    const [second] = await out.take(1);
    assert.deepEqual(second.payload, { listVersion: 0 });
    assert.deepEqual(sim.calls("DataTransfer"), [{ vendorId: "evkit", data: "hi" }]);
  });

  it("a dashboard switch (true/false) enables and disables the charger", async () => {
    sim = await connect();
    await helper.load([testCentralNode, commandNode], flow({ chargerId: "CP1", command: "ChangeAvailability", availability: "Operative" }));
    const out = collect(helper.getNode("out"));
    helper.getNode("cmd").receive({ payload: false } as never);
    helper.getNode("cmd").receive({ payload: true } as never);
    await out.take(2);
    assert.deepEqual(sim.calls("ChangeAvailability"), [
      { connectorId: 0, type: "Inoperative" },
      { connectorId: 0, type: "Operative" },
    ]);
  });

  it("after a redeploy the old instance's queued command is never sent and it emits nothing", async () => {
    await helper.load([testCentralNode, commandNode], flow({ chargerId: "CP1", command: "Reset", offline: "queue", queueTtl: 30 }));
    helper.getNode("cmd").receive({ payload: {} } as never);
    await waitFor(() => lastStatus("cmd").text?.startsWith("queued") === true);
    await helper.setFlows(flow({ id: "cmd2", chargerId: "CP1", command: "ClearCache", offline: "fail" }) as never, "full");
    const out = collect(helper.getNode("out"));
    sim = await connect();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(sim.state.resets, [], "the queued Reset of the old instance was dropped with an error, not sent");
    await out.none(50);
    helper.getNode("cmd2").receive({ payload: {} } as never);
    const [msg] = await out.take(1);
    assert.deepEqual(msg.payload, { status: "Accepted" });
  });

  it("keeps the local list in sync automatically (syncLocalList + auto)", async () => {
    central!.idTags.set([{ idTag: "AAA", status: "Accepted" }]);
    await helper.load([testCentralNode, commandNode], flow({ chargerId: "", command: "syncLocalList", autoSync: true }));
    const out = collect(helper.getNode("out"));
    sim = await connect();
    const [first] = await out.take(1);
    assert.equal((first.payload as { updateType: string }).updateType, "Full");
    central!.idTags.upsert({ idTag: "BBB", status: "Blocked" });
    const [second] = await out.take(1, 3000);
    assert.equal((second.payload as { updateType: string }).updateType, "Differential");
    assert.deepEqual(sim.calls("SendLocalList")[1].localAuthorizationList, [{ idTag: "BBB", idTagInfo: { status: "Blocked" } }]);
    // A manual sync through the same node: nothing to do.
    helper.getNode("cmd").receive({ chargerId: "CP1", payload: {} } as never);
    const [manual] = await out.take(1);
    assert.equal((manual.payload as { updateType: string }).updateType, "None");
  });

  it("without a central system every message fails with a clear error", async () => {
    await helper.load([testCentralNode, commandNode], flow({ server: "" }));
    const caught = collect(helper.getNode("caught"));
    helper.getNode("cmd").receive({ payload: {} } as never);
    const [c] = await caught.take(1);
    assert.match((c.error as { message: string }).message, /Choose an OCPP central system/);
  });
});
