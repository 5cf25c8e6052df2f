/**
 * The common charger-state message from the OCPP side, inside a real
 * Node-RED: a 1.6 and a 2.0.1 charger over real websockets, an OCPP in node
 * with only "charger.state" ticked wired straight into the site manager (no
 * change node, as a Charge Amps or AMTRON state would be), and an OCPP in
 * node as saved before the kind existed (nothing ticked) that must not see
 * it.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import helper, { type TestFlowsItem } from "node-red-node-test-helper";
import centralNode from "../../nodes/ev-ocpp-central-system";
import inNode from "../../nodes/ev-ocpp-in";
import commandNode from "../../nodes/ev-ocpp-command";
import siteManagerNode from "../../nodes/ev-site-manager";
import type { CentralSystemNode } from "../../nodes/lib/ocpp/core/node-types";
import type { ChargerStateEvent } from "../../nodes/lib/ocpp/core/events";
import type { SiteDecision } from "../../nodes/lib/site/types";
import { collect, editorFlow, waitFor, type FlowNode, type ReceivedMessage } from "../support/node-red";
import { startChargePointSimulator } from "../servers/ocpp-charge-point";
import { startOcpp201Simulator } from "../servers/ocpp201-charge-point";

helper.init(require.resolve("node-red"));

const CHARGERS = [
  { id: "cp16", mode: "now", maxA: 16, phases: 3 },
  { id: "cp201", mode: "now", maxA: 16, phases: 3 },
];

function flow(): FlowNode[] {
  return editorFlow([
    { id: "tab", type: "tab" },
    { id: "cs", type: "ev-ocpp-central-system", name: "home", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0", callTimeout: "3", protocols: "ocpp1.6,ocpp2.0.1" },
    { id: "states", type: "ev-ocpp-in", z: "tab", server: "cs", chargers: "", kinds: "charger.state", wires: [["sm", "stateOut"]] },
    { id: "stateOut", type: "helper", z: "tab" },
    // Saved before charger.state existed: every event, nothing ticked.
    { id: "old", type: "ev-ocpp-in", z: "tab", server: "cs", chargers: "", kinds: "", wires: [["oldOut"]] },
    { id: "oldOut", type: "helper", z: "tab" },
    {
      id: "sm",
      type: "ev-site-manager",
      z: "tab",
      fuseA: "63",
      commandIntervalS: "0.5",
      refreshS: "0",
      leaseS: "0",
      chargers: JSON.stringify(CHARGERS),
      outputs: 3,
      wires: [["summary"], ["cmd"], ["cmd"]],
    },
    { id: "summary", type: "helper", z: "tab" },
    { id: "cmd", type: "ev-ocpp-command", z: "tab", server: "cs", chargerId: "", command: "limit", timeout: "3", offline: "fail", queueTtl: "60", wires: [["answers"]] },
    { id: "answers", type: "helper", z: "tab" },
  ]);
}

const latest = (messages: ReceivedMessage[], chargerId: string): ChargerStateEvent | undefined =>
  messages.map((m) => m.payload as ChargerStateEvent).filter((s) => s.chargerId === chargerId).at(-1);

describe("OCPP charger.state into the site manager", () => {
  const closers: Array<() => Promise<unknown>> = [];
  let userDir: string | undefined;
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await helper.unload();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  it("a 1.6 and a 2.0.1 charger give the same ChargerState, which the manager reads like any brand's; flows without the kind ticked see nothing new", async () => {
    userDir = mkdtempSync(path.join(os.tmpdir(), "evkit-state-"));
    helper.settings({ userDir });
    await helper.load([centralNode, inNode, commandNode, siteManagerNode], flow() as unknown as TestFlowsItem[]);
    const cs = helper.getNode("cs") as unknown as CentralSystemNode;
    await cs.ready;
    const url = `ws://127.0.0.1:${cs.central!.port}/ocpp`;
    const states = collect(helper.getNode("stateOut"));
    const old = collect(helper.getNode("oldOut"));
    const summary = collect(helper.getNode("summary"));
    const answers = collect(helper.getNode("answers"));
    const sm = helper.getNode("sm");
    const grid = (): void => sm.receive({ topic: "grid", payload: { powerW: 9000, currentsA: [14, 14, 14] } } as never);

    // OCPP 1.6: a session, then meter values with per-phase currents and voltages, no Current.Offered.
    const cp16 = await startChargePointSimulator({ url, identity: "cp16" });
    closers.push(() => cp16.close());
    await cp16.startSession(1, "CARD1");
    const meter16 = (amps: number) =>
      cp16.send("MeterValues", {
        connectorId: 1,
        transactionId: cp16.state.transactions.get(1),
        meterValue: [
          {
            timestamp: new Date().toISOString(),
            sampledValue: [
              { value: String(amps * 3 * 230), measurand: "Power.Active.Import", unit: "W" },
              { value: "12500", measurand: "Energy.Active.Import.Register", unit: "Wh" },
              ...["L1", "L2", "L3"].map((phase) => ({ value: String(amps), measurand: "Current.Import", phase, unit: "A" })),
              ...["L1-N", "L2-N", "L3-N"].map((phase) => ({ value: "230", measurand: "Voltage", phase, unit: "V" })),
            ],
          },
        ],
      });
    await meter16(10);

    // OCPP 2.0.1: a remote start; the station then reports per-phase currents, voltages and Current.Offered.
    const cp201 = await startOcpp201Simulator({ url, identity: "cp201", meterIntervalMs: 300, phaseCurrents: true });
    closers.push(() => cp201.close());
    await waitFor(() => cs.directory.snapshot("cp201")?.connectors.some((c) => c.status === "Available") === true, 10_000, "cp201 available");
    helper.getNode("cmd").receive({ chargerId: "cp201", command: "start", payload: { idTag: "CARD2" } } as never);
    await answers.take(1, 10_000);

    await waitFor(() => latest(states.pending, "cp16")?.powerW === 6900 && latest(states.pending, "cp201")?.operationState === "charging" && (latest(states.pending, "cp201")?.powerW ?? 0) > 0, 10_000, "both chargers' states");
    const s16 = latest(states.pending, "cp16")!;
    assert.deepEqual(
      { ...s16, time: "-", samplingTime: "-" },
      {
        kind: "charger.state",
        identity: "cp16",
        time: "-",
        source: "ocpp",
        chargerId: "cp16",
        connectorId: 1,
        operationState: "charging",
        online: true,
        vehicleConnected: true,
        powerW: 6900,
        currentA: { l1: 10, l2: 10, l3: 10 },
        phases: 3,
        voltageV: { l1: 230, l2: 230, l3: 230 },
        totalEnergyWh: 12500,
        sessionEnergyWh: 12500,
        samplingTime: "-",
        raw: { status: "Charging", errorCode: "NoError", transactionId: cp16.state.transactions.get(1) },
      },
    );
    const s201 = latest(states.pending, "cp201")!;
    assert.equal(s201.source, "ocpp");
    assert.equal(s201.connectorId, 1, "the EVSE");
    assert.equal(s201.vehicleConnected, true);
    assert.equal(s201.phases, 3);
    assert.equal(s201.voltageV?.l3, 230);
    assert.ok(s201.currentA?.l1 !== undefined && s201.currentA.l1 > 1, `2.0.1 currents ${JSON.stringify(s201.currentA)}`);
    assert.equal(typeof s201.maxCurrentA, "number", "Current.Offered");
    assert.equal(typeof s201.sessionEnergyWh, "number", "the session's energy from TransactionEvent");
    assert.equal(states.pending.every((m) => m.topic === `${(m.payload as ChargerStateEvent).identity}/charger.state` && (m.ocpp as { kind: string }).kind === "charger.state"), true);

    // The manager read both states from the same wire, with no change node: it sees each car's measured current.
    grid();
    await waitFor(() => {
      const last = summary.pending.at(-1)?.payload as Omit<SiteDecision, "commands"> | undefined;
      return last?.chargers.cp16.measuredA === 10 && last.chargers.cp16.powerW === 6900 && (last.chargers.cp201.measuredA ?? 0) > 1;
    }, 10_000, "the manager's view of both chargers");

    // Its limits reach the chargers through the OCPP command node; the 1.6 charger (no Current.Offered) reports the limit applied as its offered current.
    await waitFor(() => answers.pending.some((m) => (m.payload as { chargerId?: string }).chargerId === "cp16"), 10_000, "a limit applied to cp16");
    const appliedA = cp16.compositeLimit(1, "A");
    await waitFor(() => appliedA !== undefined && latest(states.pending, "cp16")?.maxCurrentA === appliedA, 10_000, `cp16 offered current ${appliedA} A`);

    // The flow saved before the kind existed got the usual events and no charger.state.
    assert.ok(old.pending.some((m) => (m.payload as { kind: string }).kind === "meter"), "the old node still gets every other event");
    assert.equal(old.pending.filter((m) => (m.payload as { kind: string }).kind === "charger.state").length, 0);

    // A charger that goes away is out of reach: the manager stops counting it as a car.
    const before = states.pending.length;
    await cp16.close();
    await waitFor(() => states.pending.slice(before).some((m) => (m.payload as ChargerStateEvent).chargerId === "cp16" && (m.payload as ChargerStateEvent).online === false), 10_000, "cp16 offline state");
    assert.equal(latest(states.pending, "cp16")?.operationState, "unscheduled_downtime");
    grid();
    await waitFor(() => (summary.pending.at(-1)?.payload as Omit<SiteDecision, "commands">).chargers.cp16.reason === "no car", 5000, "cp16 no longer a car");
    assert.equal(old.pending.filter((m) => (m.payload as { kind: string }).kind === "charger.state").length, 0);
  });
});
