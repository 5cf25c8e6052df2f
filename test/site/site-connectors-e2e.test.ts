/**
 * A charger with two connectors inside a real Node-RED: one OCPP 1.6 test
 * charger over a real websocket with a session on each connector, the OCPP in
 * node's charger.state wired straight into the site manager with one entry per
 * connector ("twin/1", "twin/2"), and the manager's outputs wired into one
 * ev-ocpp-command node. Each connector must get its own leased limit frame
 * (TxDefaultProfile on that connector with validTo), never a limit for the
 * whole charger; the lease falls back to one safe TxDefaultProfile on
 * connector 0 at stack level 0, installed once.
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
import type { SiteDecision } from "../../nodes/lib/site/types";
import { collect, editorFlow, waitFor, type FlowNode } from "../support/node-red";
import { startChargePointSimulator } from "../servers/ocpp-charge-point";

helper.init(require.resolve("node-red"));

// Different maxima, so each connector's limit is told apart from the other's.
const CHARGERS = [
  { id: "twin/1", mode: "now", minA: 6, maxA: 10, phases: 3 },
  { id: "twin/2", mode: "now", minA: 6, maxA: 16, phases: 3 },
];

function flow(): FlowNode[] {
  return editorFlow([
    { id: "tab", type: "tab" },
    { id: "cs", type: "ev-ocpp-central-system", name: "home", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0", callTimeout: "3", protocols: "ocpp1.6" },
    { id: "states", type: "ev-ocpp-in", z: "tab", server: "cs", chargers: "", kinds: "charger.state", wires: [["sm"]] },
    {
      id: "sm",
      type: "ev-site-manager",
      z: "tab",
      fuseA: "63",
      rampStepA: "16",
      commandIntervalS: "0.5",
      refreshS: "30",
      leaseS: "60",
      failsafeA: "6",
      chargers: JSON.stringify(CHARGERS),
      outputs: 3,
      wires: [["summary"], ["cmd", "limits"], ["cmd", "limits"]],
    },
    { id: "summary", type: "helper", z: "tab" },
    { id: "limits", type: "helper", z: "tab" },
    { id: "cmd", type: "ev-ocpp-command", z: "tab", server: "cs", chargerId: "", command: "limit", timeout: "3", offline: "fail", queueTtl: "60", wires: [["answers"]] },
    { id: "answers", type: "helper", z: "tab" },
  ]);
}

describe("site manager: a two-connector OCPP charger", () => {
  const closers: Array<() => Promise<unknown>> = [];
  let userDir: string | undefined;
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await helper.unload();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  it("each connector has its own entry, reads its own state and gets its own limit frame", async () => {
    userDir = mkdtempSync(path.join(os.tmpdir(), "evkit-twin-"));
    helper.settings({ userDir });
    await helper.load([centralNode, inNode, commandNode, siteManagerNode], flow() as unknown as TestFlowsItem[]);
    const cs = helper.getNode("cs") as unknown as CentralSystemNode;
    await cs.ready;
    const summary = collect(helper.getNode("summary"));
    const limits = collect(helper.getNode("limits"));
    const answers = collect(helper.getNode("answers"));
    const sm = helper.getNode("sm");

    const cp = await startChargePointSimulator({ url: `ws://127.0.0.1:${cs.central!.port}/ocpp`, identity: "twin", behaviour: { connectors: 2 } });
    closers.push(() => cp.close());
    await cp.startSession(1, "CARD1");
    await cp.startSession(2, "CARD2");
    const meter = (connectorId: number, amps: number) =>
      cp.send("MeterValues", {
        connectorId,
        transactionId: cp.state.transactions.get(connectorId),
        meterValue: [
          {
            timestamp: new Date().toISOString(),
            sampledValue: [
              { value: String(amps * 3 * 230), measurand: "Power.Active.Import", unit: "W" },
              ...["L1", "L2", "L3"].map((phase) => ({ value: String(amps), measurand: "Current.Import", phase, unit: "A" })),
            ],
          },
        ],
      });
    await meter(1, 5);
    await meter(2, 9);

    // The manager sees each connector's own current: the states no longer overwrite each other.
    await waitFor(() => {
      sm.receive({ topic: "grid", payload: { powerW: 9000, currentsA: [14, 14, 14] } } as never);
      const last = summary.pending.at(-1)?.payload as Omit<SiteDecision, "commands"> | undefined;
      return last?.chargers["twin/1"]?.measuredA === 5 && last.chargers["twin/2"]?.measuredA === 9;
    }, 10_000, "each connector's measured current");

    // Its outputs name the charger and the connector, with the lease.
    await waitFor(() => new Set(limits.pending.map((m) => (m.payload as { connector?: number }).connector)).size === 2, 10_000, "a limit for each connector");
    for (const m of limits.pending) {
      const payload = m.payload as Record<string, unknown>;
      assert.equal(m.chargerId, "twin");
      assert.ok(payload.connector === 1 || payload.connector === 2, JSON.stringify(payload));
      assert.equal(payload.leaseS, 60);
      assert.equal(payload.safeA, 6);
    }

    // Each connector got its own leased frame: a TxDefaultProfile on connector 1 at 10 A and on connector 2 at 16 A,
    // above the one safe base on connector 0; no whole-charger maximum.
    await waitFor(() => answers.pending.length >= 2, 10_000, "both limits answered");
    type Frame = {
      connectorId: number;
      csChargingProfiles: {
        chargingProfileId: number;
        stackLevel: number;
        chargingProfilePurpose: string;
        validTo?: string;
        chargingSchedule: { chargingRateUnit: string; chargingSchedulePeriod: Array<{ limit: number }> };
      };
    };
    const frames = cp.calls("SetChargingProfile") as Frame[];
    const lastOn = (connectorId: number) => frames.filter((f) => f.connectorId === connectorId).at(-1);
    const onZero = frames.filter((f) => f.connectorId === 0);
    assert.equal(onZero.length, 1, `one safe base on connector 0: ${JSON.stringify(onZero)}`);
    const base = onZero[0].csChargingProfiles;
    assert.deepEqual(
      { id: base.chargingProfileId, stackLevel: base.stackLevel, purpose: base.chargingProfilePurpose, validTo: base.validTo, unit: base.chargingSchedule.chargingRateUnit, periods: base.chargingSchedule.chargingSchedulePeriod },
      { id: 7318, stackLevel: 0, purpose: "TxDefaultProfile", validTo: undefined, unit: "A", periods: [{ startPeriod: 0, limit: 6 }] },
    );
    assert.ok(frames.indexOf(onZero[0]) < frames.findIndex((f) => f.connectorId !== 0), "the base goes in before the leased limits");
    assert.equal(frames.filter((f) => f.csChargingProfiles.chargingProfilePurpose === "ChargePointMaxProfile").length, 0, "no whole-charger maximum");
    for (const [connectorId, amps] of [[1, 10], [2, 16]] as const) {
      const leased = lastOn(connectorId)?.csChargingProfiles;
      assert.equal(leased?.chargingProfilePurpose, "TxDefaultProfile");
      assert.equal(leased?.chargingProfileId, 7310 + 10 * connectorId + 1);
      assert.ok((leased?.stackLevel ?? 0) > 0, `leased above the base: ${JSON.stringify(leased)}`);
      assert.equal(leased?.chargingSchedule.chargingSchedulePeriod[0].limit, amps);
      const left = Date.parse(leased?.validTo ?? "") - Date.now();
      assert.ok(left > 50_000 && left <= 60_000, `validTo about 60 s ahead: ${leased?.validTo}`);
      assert.equal(cp.compositeLimit(connectorId, "A"), amps);
      // When the lease runs out, the connector falls back to the safe connector-0 default.
      assert.equal(cp.compositeLimit(connectorId, "A", Date.parse(leased?.validTo ?? "") + 1), 6);
    }
    // The command node read the lease end back from the charger's composite schedule.
    for (const answer of answers.pending) {
      const lease = (answer.payload as { lease?: { verified?: boolean; safeA?: number; validTo?: string } }).lease;
      assert.equal(lease?.verified, true, JSON.stringify(answer.payload));
      assert.equal(lease?.safeA, 6);
    }
  });
});
