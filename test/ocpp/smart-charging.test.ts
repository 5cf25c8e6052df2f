import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { applyLimit, clearLimit, parseRateUnits, roundLimit } from "../../nodes/lib/ocpp/v16/smart-charging";
import { CommandError } from "../../nodes/lib/ocpp/core/command-error";
import { startRig, waitFor, type Rig } from "./harness";

const now = () => new Date("2026-11-21T12:00:30.400Z");
const START = "2026-11-21T11:59:30.000Z";

function kind(expected: string, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof CommandError, String(err));
    assert.equal(err.kind, expected);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

describe("smart charging: limit", () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it("10 A on a W-only 3-phase charger at 230 V → 6900 W ChargePointMaxProfile, confirmed by composite schedule", async () => {
    rig = await startRig({ rateUnits: ["W"], maxStackLevel: 5 });
    const { link, sim, central } = rig;
    const result = await applyLimit(link, { amps: 10 }, { directory: central.directory, now });
    assert.deepEqual(sim.calls("GetConfiguration"), [{ key: ["ChargingScheduleAllowedChargingRateUnit", "ChargeProfileMaxStackLevel", "ChargePointMaxProfileMaxStackLevel"] }]);
    assert.deepEqual(sim.calls("SetChargingProfile"), [
      {
        connectorId: 0,
        csChargingProfiles: {
          chargingProfileId: 7310,
          stackLevel: 5,
          chargingProfilePurpose: "ChargePointMaxProfile",
          chargingProfileKind: "Absolute",
          chargingSchedule: { chargingRateUnit: "W", chargingSchedulePeriod: [{ startPeriod: 0, limit: 6900 }], startSchedule: START },
        },
      },
    ]);
    assert.deepEqual(sim.calls("GetCompositeSchedule"), [{ connectorId: 0, duration: 300, chargingRateUnit: "W" }]);
    assert.deepEqual(result.applied, { limit: 6900, unit: "W", amps: 10, watts: 6900 });
    assert.equal(result.confirmed, true);
    assert.equal(result.purpose, "ChargePointMaxProfile");
    assert.equal(result.warning, undefined);
    assert.deepEqual(central.directory.snapshot("CP1")?.configuration, { ChargingScheduleAllowedChargingRateUnit: "Power", ChargeProfileMaxStackLevel: "5" });

    await applyLimit(link, { amps: 6 }, { directory: central.directory, now });
    assert.equal(sim.calls("GetConfiguration").length, 1, "configuration is cached per charger");
    assert.equal(sim.compositeLimit(0, "W"), 4140);
    assert.equal(sim.state.profiles.length, 1, "the same profile id replaces the old limit");
  });

  it("watts on an A-only charger use the measured voltage and the phases (numberPhases sent)", async () => {
    rig = await startRig({ rateUnits: ["A"], voltage: 240 });
    const { link, sim, central } = rig;
    const result = await applyLimit(link, { watts: 3680, phases: 1 }, { directory: central.directory, now });
    const profile = sim.calls("SetChargingProfile")[0].csChargingProfiles as { chargingSchedule: unknown };
    assert.deepEqual(profile.chargingSchedule, { chargingRateUnit: "A", chargingSchedulePeriod: [{ startPeriod: 0, limit: 15.3, numberPhases: 1 }], startSchedule: START });
    assert.equal(result.voltage, 240);
    assert.deepEqual(result.sent, { limit: 15.3, unit: "A", numberPhases: 1 });
    assert.deepEqual(result.applied, { limit: 15.3, unit: "A", amps: 15.3, watts: 3672 });
  });

  it("falls back ChargePointMax → TxDefault → Tx as the charger accepts; Tx uses the open transaction", async () => {
    rig = await startRig({ acceptedPurposes: ["TxProfile"] });
    const { link, sim, central } = rig;
    await assert.rejects(applyLimit(link, { amps: 8 }, { directory: central.directory, now }), kind("rejected", /ChargePointMaxProfile: Rejected; TxDefaultProfile: Rejected; TxProfile: no session running.*quirk options/));
    const transactionId = await sim.startSession(1, "ABC");
    await waitFor(() => central.directory.snapshot("CP1")?.connectors[0].transactionId === transactionId);
    const result = await applyLimit(link, { amps: 8 }, { directory: central.directory, now });
    assert.equal(result.purpose, "TxProfile");
    assert.equal(result.connectorId, 1);
    assert.deepEqual(
      result.attempts.map((a) => `${a.purpose}:${a.outcome}`),
      ["ChargePointMaxProfile:Rejected", "TxDefaultProfile:Rejected", "TxProfile:Accepted"],
    );
    const last = sim.calls("SetChargingProfile").at(-1) as { connectorId: number; csChargingProfiles: Record<string, unknown> };
    assert.equal(last.connectorId, 1);
    assert.equal(last.csChargingProfiles.transactionId, transactionId);
    assert.equal(last.csChargingProfiles.chargingProfileId, 7312);
    assert.deepEqual(sim.calls("GetCompositeSchedule").at(-1), { connectorId: 1, duration: 300, chargingRateUnit: "A" });
    assert.equal(result.applied?.amps, 8);
  });

  it("a per-connector limit starts at TxDefaultProfile on that connector", async () => {
    rig = await startRig({ connectors: 2 });
    const { link, sim, central } = rig;
    const result = await applyLimit(link, { amps: 13, connector: 2 }, { directory: central.directory, now });
    assert.equal(result.purpose, "TxDefaultProfile");
    assert.equal(sim.calls("SetChargingProfile")[0].connectorId, 2);
    assert.equal((sim.calls("SetChargingProfile")[0].csChargingProfiles as { chargingProfileId: number }).chargingProfileId, 7331, "own id per connector");
    assert.equal(sim.compositeLimit(2, "A"), 13);
    assert.equal(sim.compositeLimit(1, "A"), undefined, "the other connector is not limited");
  });

  it("quirks: stack level 0, relative profiles and no numberPhases make picky firmware accept the limit", async () => {
    rig = await startRig({ maxStackLevel: 0, relativeOnly: true, numberPhasesUnsupported: true });
    const { link, sim, central } = rig;
    // The charger reports max level 3 in a broken key, so without the quirk the level is wrong.
    central.directory.recordConfiguration("CP1", { ChargingScheduleAllowedChargingRateUnit: "Current", ChargeProfileMaxStackLevel: "3" });
    await assert.rejects(applyLimit(link, { amps: 16, phases: 3 }, { directory: central.directory, now }), kind("rejected"));
    const result = await applyLimit(link, { amps: 16, phases: 3 }, { directory: central.directory, now, quirks: { stackLevelZero: true, relativeProfile: true, numberPhasesUnsupported: true } });
    assert.deepEqual(sim.calls("SetChargingProfile").at(-1), {
      connectorId: 0,
      csChargingProfiles: {
        chargingProfileId: 7310,
        stackLevel: 0,
        chargingProfilePurpose: "ChargePointMaxProfile",
        chargingProfileKind: "Relative",
        chargingSchedule: { chargingRateUnit: "A", chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }] },
      },
    });
    assert.equal(result.applied?.amps, 16);
    assert.equal(sim.calls("GetConfiguration").length, 0, "used the recorded configuration");
  });

  it("pause sends limit 0 and only counts when the charger really applies it", async () => {
    rig = await startRig({ ignoredPurposes: ["ChargePointMaxProfile"] });
    const { link, sim, central } = rig;
    const result = await applyLimit(link, { pause: true }, { directory: central.directory, now });
    assert.deepEqual(
      result.attempts.map((a) => `${a.purpose}:${a.outcome}`),
      ["ChargePointMaxProfile:Accepted, but no limit is in force", "TxDefaultProfile:Accepted"],
    );
    assert.equal(result.purpose, "TxDefaultProfile");
    assert.deepEqual(result.applied, { limit: 0, unit: "A", amps: 0, watts: 0 });
    assert.equal(sim.compositeLimit(1, "A"), 0);
    const zero = await applyLimit(link, { amps: 0 }, { directory: central.directory, now });
    assert.equal(zero.applied?.amps, 0, "0 A behaves like pause");
    assert.equal(zero.warning, undefined);
    const low = await applyLimit(link, { amps: 4 }, { directory: central.directory, now });
    assert.match(low.warning ?? "", /4 A is below the 6 A minimum/);
    // The ignored ChargePointMaxProfile was accepted first; our own 0 A TxDefaultProfile was cleared so it could not hide that.
    assert.ok(sim.calls("ClearChargingProfile").some((c) => c.id === 7311));
    assert.equal(low.purpose, "TxDefaultProfile");
    assert.equal(sim.compositeLimit(1, "A"), 4);
  });

  it("pause fails loudly when the charger accepts but keeps charging", async () => {
    rig = await startRig({ ignoredPurposes: ["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"] });
    await assert.rejects(applyLimit(rig.link, { pause: true }, { directory: rig.central.directory, now }), kind("rejected", /did not let us pause charging/));
  });

  it("reports a lower limit held by another profile", async () => {
    rig = await startRig();
    const { link, central } = rig;
    await applyLimit(link, { amps: 6 }, { directory: central.directory, now, purposes: ["ChargePointMaxProfile"] });
    const result = await applyLimit(link, { amps: 16, connector: 1 }, { directory: central.directory, now });
    assert.equal(result.purpose, "TxDefaultProfile");
    assert.deepEqual(result.applied, { limit: 6, unit: "A", amps: 6, watts: 4140 });
    assert.match(result.warning ?? "", /Another limit on charger CP1 keeps it at 6 A/);
  });

  it("clearLimit removes our profiles", async () => {
    rig = await startRig();
    const { link, sim, central } = rig;
    await applyLimit(link, { amps: 10 }, { directory: central.directory, now });
    assert.equal(sim.state.profiles.length, 1);
    assert.deepEqual(await clearLimit(link), { chargerId: "CP1", cleared: ["ChargePointMaxProfile"] });
    assert.equal(sim.state.profiles.length, 0);
    assert.deepEqual(sim.calls("ClearChargingProfile"), [{ id: 7310 }, { id: 7311 }, { id: 7312 }]);
  });

  it("bad input, CALLERROR fallback and timeouts", async () => {
    rig = await startRig({ callErrors: { GetConfiguration: "NotImplemented" }, noReply: [] }, { callTimeoutMs: 300 });
    const { link, sim } = rig;
    await assert.rejects(applyLimit(link, {}), kind("bad_input", /either amps or watts/));
    await assert.rejects(applyLimit(link, { amps: -3 }), kind("bad_input", /0 or more/));
    await assert.rejects(applyLimit(link, { amps: 6, phases: 4 }), kind("bad_input", /phases must be 1, 2 or 3/));
    // GetConfiguration CALLERROR → defaults (A, stack level 0) are assumed.
    const result = await applyLimit(link, { amps: 6 }, { now });
    assert.equal(result.stackLevel, 0);
    assert.equal(result.sent.unit, "A");
    sim.behaviour.noReply.push("SetChargingProfile");
    await assert.rejects(applyLimit(link, { amps: 6 }, { timeoutMs: 200, now }), kind("timeout"));
    assert.equal(sim.calls("SetChargingProfile").length, 2, "no fallback after a timeout");
  });

  it("unit parsing and rounding", () => {
    assert.deepEqual(parseRateUnits("Current,Power"), ["A", "W"]);
    assert.deepEqual(parseRateUnits("W"), ["W"]);
    assert.equal(roundLimit(15.3333, "A"), 15.3);
    assert.equal(roundLimit(6899.99, "W"), 6899);
  });
});
