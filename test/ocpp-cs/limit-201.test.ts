/**
 * The OCPP 2.0.1 limit over real websockets against a charge point written
 * on `ws` (no ocpp-rpc) that keeps the profiles it accepts and answers
 * GetCompositeSchedule from them: phases only where the device model says
 * the charger can switch, the purpose fallback to a TxProfile with the
 * running transaction's id, and the failsafe lease of the site manager.
 * Every frame we send is asserted exactly and validated against ocpp-rpc's
 * 2.0.1 schemas.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { createValidator } from "ocpp-rpc";
import { startCentral, type Running } from "./support/central";
import { RawCharger201 } from "./support/raw-201-charger";
import { STATION_REQUESTS_201 } from "./support/messages-201";
import { profileStation, type ProfileStation } from "./support/profiles-201";
import { CommandRunner } from "../../nodes/lib/ocpp/core/command-runner";
import { CommandError } from "../../nodes/lib/ocpp/core/command-error";
import type { Limit201Result } from "../../nodes/lib/ocpp/v201/smart-charging";

const validator = createValidator("ocpp2.0.1", createRequire(__filename)("ocpp-rpc/lib/schemas/ocpp2_0_1.json") as never);
const running: Running[] = [];
const closers: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)));
  await Promise.all(running.splice(0).map((r) => r.close()));
});

interface Rig {
  r: Running;
  c: RawCharger201;
  station: ProfileStation;
  run: CommandRunner;
  limit(input: Record<string, unknown>): Promise<Limit201Result>;
  /** SetChargingProfile and ClearChargingProfile frames since the last call, startSchedule and validTo replaced by "-". */
  frames(): Array<[string, Record<string, unknown>]>;
}

async function rig(identity: string, station: ProfileStation): Promise<Rig> {
  const r = await startCentral({ protocols: ["ocpp2.0.1", "ocpp1.6"] });
  running.push(r);
  const c = await RawCharger201.connect(r.url, identity, ["ocpp2.0.1"], station.handlers);
  closers.push(() => c.close());
  await c.call("BootNotification", STATION_REQUESTS_201.BootNotification);
  const run = new CommandRunner({ directory: r.central.directory, offline: { mode: "fail" }, timeoutMs: 3000 });
  closers.push(async () => run.close());
  let seen = 0;
  return {
    r,
    c,
    station,
    run,
    limit: async (input) => (await run.run({ chargerId: identity, command: "limit", input })).answer as Limit201Result,
    frames: () => {
      for (const [action, payload] of c.received) assert.doesNotThrow(() => validator.validate(`urn:${action}.req`, payload), `${action} ${JSON.stringify(payload)}`);
      const out = c.received.slice(seen).filter(([a]) => a !== "GetVariables");
      seen = c.received.length;
      return out.map(([a, p]) => [a, JSON.parse(JSON.stringify(p).replace(/"(startSchedule|validTo)":"[^"]+"/g, '"$1":"-"')) as Record<string, unknown>]);
    },
  };
}

const profile = (id: number, stackLevel: number, purpose: string, period: Record<string, unknown>, extra: Record<string, unknown> = {}, schedule: Record<string, unknown> = {}) => ({
  id,
  stackLevel,
  chargingProfilePurpose: purpose,
  chargingProfileKind: "Absolute",
  chargingSchedule: [{ id: 1, chargingRateUnit: "A", chargingSchedulePeriod: [{ startPeriod: 0, ...period }], startSchedule: "-", ...schedule }],
  ...extra,
});
const composite = (evseId: number, duration = 300) => ["GetCompositeSchedule", { duration, evseId, chargingRateUnit: "A" }];

async function startTransaction(c: RawCharger201, station: ProfileStation, evseId: number, transactionId: string): Promise<void> {
  station.transactions.set(evseId, transactionId);
  await c.call("TransactionEvent", {
    eventType: "Started",
    timestamp: new Date().toISOString(),
    triggerReason: "Authorized",
    seqNo: 0,
    transactionInfo: { transactionId, chargingState: "Charging" },
    evse: { id: evseId, connectorId: 1 },
    idToken: { idToken: "CARD1", type: "ISO14443" },
  });
}

describe("OCPP 2.0.1 limit: phases, purposes and lease", () => {
  it("a phase-switching charger gets numberPhases, and phaseToUse with one phase", async () => {
    const r = await rig("SWITCH", profileStation({ variables: { RateUnit: "A", ProfileStackLevel: "4", ACPhaseSwitchingSupported: "true" } }));
    const one = await r.limit({ amps: 16, phases: 1 });
    assert.deepEqual(r.frames(), [["SetChargingProfile", { evseId: 0, chargingProfile: profile(7310, 4, "ChargingStationMaxProfile", { limit: 16, numberPhases: 1, phaseToUse: 1 }) }], composite(0)]);
    assert.deepEqual(one.sent, { limit: 16, unit: "A", numberPhases: 1, phaseToUse: 1 });
    assert.equal(one.state, "in force");
    assert.equal(one.phasesIgnored, undefined);

    await r.limit({ amps: 10, phases: 1, phaseToUse: 3 });
    assert.deepEqual(r.frames(), [["SetChargingProfile", { evseId: 0, chargingProfile: profile(7310, 4, "ChargingStationMaxProfile", { limit: 10, numberPhases: 1, phaseToUse: 3 }) }], composite(0)]);
    const three = await r.limit({ amps: 12, phases: 3 });
    assert.deepEqual(r.frames(), [["SetChargingProfile", { evseId: 0, chargingProfile: profile(7310, 4, "ChargingStationMaxProfile", { limit: 12, numberPhases: 3 }) }], composite(0)]);
    assert.equal(three.warning, undefined);
    await assert.rejects(r.limit({ amps: 10, phases: 1, phaseToUse: 4 }), (err: CommandError) => err.kind === "bad_input" && /phaseToUse must be 1, 2 or 3/.test(err.message));
  });

  it("a charger without phase switching gets no numberPhases and the answer says so; Phases3to1 allows it during a transaction", async () => {
    const r = await rig("NOSWITCH", profileStation({ variables: { RateUnit: "A", ProfileStackLevel: "2", ACPhaseSwitchingSupported: "false", Phases3to1: "true" } }));
    const out = await r.limit({ amps: 16, phases: 1 });
    assert.deepEqual(r.frames(), [["SetChargingProfile", { evseId: 0, chargingProfile: profile(7310, 2, "ChargingStationMaxProfile", { limit: 16 }) }], composite(0)]);
    assert.deepEqual(out.sent, { limit: 16, unit: "A" });
    assert.equal(out.phasesIgnored, true);
    assert.equal(out.state, "in force");
    assert.match(out.warning ?? "", /does not say it can switch phases .*request for 1 phase was not applied/);
    // Three phases asked of a charger that has three: not applied either, but nothing to warn about.
    const same = await r.limit({ amps: 16, phases: 3 });
    assert.equal(same.phasesIgnored, true);
    assert.equal(same.warning, undefined);
    r.frames();

    // During a transaction, Phases3to1 lets it go down to one phase (but not pick the phase: that is ACPhaseSwitchingSupported).
    await startTransaction(r.c, r.station, 1, "TX-31");
    const during = await r.limit({ amps: 16, phases: 1 });
    assert.deepEqual(r.frames(), [["SetChargingProfile", { evseId: 0, chargingProfile: profile(7310, 2, "ChargingStationMaxProfile", { limit: 16, numberPhases: 1 }) }], composite(0)]);
    assert.equal(during.phasesIgnored, undefined);
  });

  it("phase switching reported per EVSE counts for that EVSE only", async () => {
    const r = await rig("PEREVSE", profileStation({ variables: {} }));
    r.r.central.directory.recordConfiguration("PEREVSE", {
      "SmartChargingCtrlr/RateUnit": "A",
      "SmartChargingCtrlr/ProfileStackLevel": "2",
      "EVSE[1]/SupplyPhases": "3",
      "EVSE[2]/SupplyPhases": "3",
      "SmartChargingCtrlr[2]/ACPhaseSwitchingSupported": "true",
    });
    await r.limit({ amps: 16, phases: 1, connector: 2 });
    assert.deepEqual(r.frames()[0], ["SetChargingProfile", { evseId: 2, chargingProfile: profile(7331, 2, "TxDefaultProfile", { limit: 16, numberPhases: 1, phaseToUse: 1 }) }]);
    const one = await r.limit({ amps: 16, phases: 1, connector: 1 });
    assert.deepEqual(r.frames()[0], ["SetChargingProfile", { evseId: 1, chargingProfile: profile(7321, 2, "TxDefaultProfile", { limit: 16 }) }]);
    assert.equal(one.phasesIgnored, true);
    const station = await r.limit({ amps: 16, phases: 1 });
    assert.deepEqual(r.frames()[0], ["SetChargingProfile", { evseId: 0, chargingProfile: profile(7310, 2, "ChargingStationMaxProfile", { limit: 16 }) }]);
    assert.equal(station.phasesIgnored, true, "not every EVSE can switch");
  });

  it("without a collected device model, a limit on one EVSE asks that EVSE's own ACPhaseSwitchingSupported in the same GetVariables and follows it", async () => {
    // Station-wide it cannot switch; EVSE 2 can; EVSE 1 says nothing of its own.
    const own: Record<number, string> = { 2: "true" };
    const station = profileStation({ variables: {} });
    station.handlers.GetVariables = (p) => ({
      getVariableResult: (p.getVariableData as Array<{ component: { name: string; evse?: { id: number } }; variable: { name: string } }>).map((d) => {
        const value = d.component.evse ? own[d.component.evse.id] : { RateUnit: "A", ProfileStackLevel: "2", ACPhaseSwitchingSupported: "false", Phases3to1: "false" }[d.variable.name];
        return value === undefined ? { attributeStatus: "UnknownVariable", component: d.component, variable: d.variable } : { attributeStatus: "Accepted", component: d.component, variable: d.variable, attributeValue: value };
      }),
    });
    const r = await rig("OWNEVSE", station);
    const asked = (): unknown[] => r.c.received.filter(([a]) => a === "GetVariables").map(([, p]) => p);
    const stationWide = ["RateUnit", "ProfileStackLevel", "ACPhaseSwitchingSupported", "Phases3to1"].map((name) => ({ component: { name: "SmartChargingCtrlr" }, variable: { name } }));
    const ofEvse = (id: number) => ({ getVariableData: [...stationWide, { component: { name: "SmartChargingCtrlr", evse: { id } }, variable: { name: "ACPhaseSwitchingSupported" } }] });

    const two = await r.limit({ amps: 16, phases: 1, connector: 2 });
    assert.deepEqual(asked(), [ofEvse(2)]);
    assert.deepEqual(r.frames(), [["SetChargingProfile", { evseId: 2, chargingProfile: profile(7331, 2, "TxDefaultProfile", { limit: 16, numberPhases: 1, phaseToUse: 1 }) }], composite(2)]);
    assert.equal(two.phasesIgnored, undefined);
    // Cached: the next limit on EVSE 2 asks nothing.
    await r.limit({ amps: 12, phases: 1, connector: 2 });
    assert.equal(asked().length, 1);
    assert.deepEqual(r.frames()[0], ["SetChargingProfile", { evseId: 2, chargingProfile: profile(7331, 2, "TxDefaultProfile", { limit: 12, numberPhases: 1, phaseToUse: 1 }) }]);

    // EVSE 1 has no value of its own: asked once, then the station's (cannot switch) counts.
    const one = await r.limit({ amps: 16, phases: 1, connector: 1 });
    assert.deepEqual(r.frames()[0], ["SetChargingProfile", { evseId: 1, chargingProfile: profile(7321, 2, "TxDefaultProfile", { limit: 16 }) }]);
    assert.equal(one.phasesIgnored, true);
    await r.limit({ amps: 16, phases: 1, connector: 1 });
    r.frames();
    assert.deepEqual(asked(), [ofEvse(2), ofEvse(1)], "an EVSE without its own value is not asked again");

    // The whole station: only the station-wide variables were ever needed; it cannot switch.
    const all = await r.limit({ amps: 16, phases: 1 });
    assert.equal(all.phasesIgnored, true);
    assert.equal(asked().length, 2);
    r.frames();

    // The EVSE's own value wins over the station's, also when it says no.
    const stationYes = profileStation({ variables: {} });
    stationYes.handlers.GetVariables = (p) => ({
      getVariableResult: (p.getVariableData as Array<{ component: { name: string; evse?: { id: number } }; variable: { name: string } }>).map((d) => ({
        attributeStatus: "Accepted",
        component: d.component,
        variable: d.variable,
        attributeValue: d.component.evse ? "false" : { RateUnit: "A", ProfileStackLevel: "2", ACPhaseSwitchingSupported: "true", Phases3to1: "false" }[d.variable.name],
      })),
    });
    const r2 = await rig("EVSENO", stationYes);
    const three = await r2.limit({ amps: 16, phases: 1, connector: 3 });
    assert.deepEqual(
      r2.c.received.filter(([a]) => a === "GetVariables").map(([, p]) => p),
      [ofEvse(3)],
    );
    assert.deepEqual(r2.frames()[0], ["SetChargingProfile", { evseId: 3, chargingProfile: profile(7341, 2, "TxDefaultProfile", { limit: 16 }) }]);
    assert.equal(three.phasesIgnored, true);
    const whole = await r2.limit({ amps: 16, phases: 1 });
    assert.deepEqual(r2.frames()[0], ["SetChargingProfile", { evseId: 0, chargingProfile: profile(7310, 2, "ChargingStationMaxProfile", { limit: 16, numberPhases: 1, phaseToUse: 1 }) }]);
    assert.equal(whole.phasesIgnored, undefined);
  });

  it("a charger that rejects ChargingStationMaxProfile and ignores TxDefaultProfile gets a TxProfile with the running transaction's id", async () => {
    const station = profileStation({ variables: { RateUnit: "A,W", ProfileStackLevel: "3" }, reject: ["ChargingStationMaxProfile"], ignore: ["TxDefaultProfile"] });
    const r = await rig("PICKY", station);

    // No transaction: the TxDefaultProfile it accepted stays installed, and the answer says it is not in force.
    const idle = await r.limit({ amps: 10 });
    assert.deepEqual(r.frames(), [
      ["SetChargingProfile", { evseId: 0, chargingProfile: profile(7310, 3, "ChargingStationMaxProfile", { limit: 10 }) }],
      ["SetChargingProfile", { evseId: 0, chargingProfile: profile(7311, 3, "TxDefaultProfile", { limit: 10 }) }],
      composite(0),
    ]);
    assert.equal(idle.purpose, "TxDefaultProfile");
    assert.equal(idle.state, "accepted, not in force");
    assert.equal(idle.confirmed, false);
    assert.deepEqual(idle.attempts.map((a) => a.outcome), ["Rejected", "Accepted, but no limit is in force", "no session running"]);
    assert.match(idle.warning ?? "", /accepted the limit as TxDefaultProfile \(id 7311\), but it is not in force/);

    // A transaction runs on EVSE 2: the TxProfile carries its id, goes on its EVSE, and the TxDefaultProfile is cleared.
    await startTransaction(r.c, station, 2, "b7c2-tx-9");
    const charging = await r.limit({ amps: 8 });
    assert.deepEqual(r.frames(), [
      ["SetChargingProfile", { evseId: 0, chargingProfile: profile(7310, 3, "ChargingStationMaxProfile", { limit: 8 }) }],
      ["SetChargingProfile", { evseId: 0, chargingProfile: profile(7311, 3, "TxDefaultProfile", { limit: 8 }) }],
      composite(0),
      ["SetChargingProfile", { evseId: 2, chargingProfile: profile(7312, 3, "TxProfile", { limit: 8 }, { transactionId: "b7c2-tx-9" }) }],
      ["ClearChargingProfile", { chargingProfileId: 7311 }],
      composite(2),
    ]);
    assert.equal(charging.purpose, "TxProfile");
    assert.equal(charging.connectorId, 2);
    assert.equal(charging.state, "in force");
    assert.equal(charging.confirmed, true);
    assert.equal(charging.applied?.amps, 8);
    assert.deepEqual([...station.installed.keys()], [7312], "only the TxProfile is left");

    // clearLimit removes what we installed.
    await r.run.run({ chargerId: "PICKY", command: "clearLimit", input: {} });
    assert.deepEqual(r.frames(), [7310, 7311, 7312].map((id) => ["ClearChargingProfile", { chargingProfileId: id }]));
    assert.equal(station.installed.size, 0);
  });

  it("a charger that refuses every purpose: a rejected error that lists each attempt", async () => {
    const r = await rig("NOPE", profileStation({ variables: { RateUnit: "A", ProfileStackLevel: "1" }, reject: ["ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"] }));
    await assert.rejects(r.limit({ amps: 10 }), (err: CommandError) => {
      assert.equal(err.kind, "rejected");
      assert.match(err.message, /ChargingStationMaxProfile: Rejected; TxDefaultProfile: Rejected; TxProfile: no session running/);
      return true;
    });
  });

  it("the site manager's lease: a safe base at stack level 0 once, the leased limit above it ending at validTo", async () => {
    const station = profileStation({ variables: { RateUnit: "A", ProfileStackLevel: "5", ACPhaseSwitchingSupported: "false" } });
    const r = await rig("LEASE", station);
    const before = Date.now();
    const out = await r.limit({ amps: 14, phases: 3, leaseS: 60, safeA: 6 });
    assert.deepEqual(r.frames(), [
      ["SetChargingProfile", { evseId: 0, chargingProfile: profile(7319, 0, "ChargingStationMaxProfile", { limit: 6 }) }],
      ["SetChargingProfile", { evseId: 0, chargingProfile: profile(7310, 5, "ChargingStationMaxProfile", { limit: 14 }, { validTo: "-" }, { duration: 120 }) }],
      composite(0),
      composite(0, 120),
    ]);
    const leased = station.installed.get(7310)!.profile;
    const leftS = (Date.parse(leased.validTo!) - before) / 1000;
    assert.ok(leftS >= 59 && leftS <= 61, `validTo is the lease away (${leftS} s)`);
    assert.equal(out.state, "in force");
    assert.deepEqual({ ...out.lease, validTo: "-" }, { validTo: "-", safeA: 6, base: "installed", verified: true });
    assert.equal(out.warning, undefined);

    // Renewed: the base is kept, only the leased profile is sent again.
    const renewed = await r.limit({ amps: 12, phases: 3, leaseS: 60, safeA: 6 });
    assert.deepEqual(r.frames(), [
      ["SetChargingProfile", { evseId: 0, chargingProfile: profile(7310, 5, "ChargingStationMaxProfile", { limit: 12 }, { validTo: "-" }, { duration: 120 }) }],
      composite(0),
      composite(0, 120),
    ]);
    assert.equal(renewed.lease?.base, "kept");
    // When the lease ends, the charger is back at the safe base.
    assert.equal((station.handlers.GetCompositeSchedule({ evseId: 0, duration: 120 }) as { schedule: { chargingSchedulePeriod: Array<{ limit: number }> } }).schedule.chargingSchedulePeriod.at(-1)?.limit, 6);
  });

  it("a lease on one EVSE: the safe base is a TxDefaultProfile on EVSE 0, installed once, apart from the station's", async () => {
    const station = profileStation({ variables: { RateUnit: "A", ProfileStackLevel: "5", ACPhaseSwitchingSupported: "false" } });
    const r = await rig("LEASE-EVSE", station);
    const lastLimit = (evseId: number) =>
      (station.handlers.GetCompositeSchedule({ evseId, duration: 120 }) as { schedule: { chargingSchedulePeriod: Array<{ limit: number }> } }).schedule.chargingSchedulePeriod.at(-1)?.limit;
    const one = await r.limit({ amps: 14, phases: 3, connector: 1, leaseS: 60, safeA: 6 });
    assert.deepEqual(r.frames(), [
      ["SetChargingProfile", { evseId: 0, chargingProfile: profile(7318, 0, "TxDefaultProfile", { limit: 6 }) }],
      ["SetChargingProfile", { evseId: 1, chargingProfile: profile(7321, 5, "TxDefaultProfile", { limit: 14 }, { validTo: "-" }, { duration: 120 }) }],
      composite(1),
      composite(1, 120),
    ]);
    assert.deepEqual({ ...one.lease, validTo: "-" }, { validTo: "-", safeA: 6, base: "installed", verified: true });
    // The other EVSE: the same base is kept, only its own leased TxDefaultProfile goes out.
    const two = await r.limit({ amps: 10, phases: 3, connector: 2, leaseS: 60, safeA: 6 });
    assert.deepEqual(r.frames(), [
      ["SetChargingProfile", { evseId: 2, chargingProfile: profile(7331, 5, "TxDefaultProfile", { limit: 10 }, { validTo: "-" }, { duration: 120 }) }],
      composite(2),
      composite(2, 120),
    ]);
    assert.equal(two.lease?.base, "kept");
    assert.equal(two.lease?.verified, true);
    // When a lease ends, that EVSE falls back to the EVSE-0 default at the safe current.
    assert.equal(lastLimit(1), 6);
    assert.equal(lastLimit(2), 6);
    // A whole-station lease has its own base (ChargingStationMaxProfile), cached apart from the EVSE one.
    await r.limit({ amps: 20, phases: 3, leaseS: 60, safeA: 6 });
    const frames = r.frames();
    assert.deepEqual(frames[0], ["SetChargingProfile", { evseId: 0, chargingProfile: profile(7319, 0, "ChargingStationMaxProfile", { limit: 6 }) }]);
    assert.equal(frames.filter(([a, p]) => a === "SetChargingProfile" && (p.chargingProfile as { id: number }).id === 7318).length, 0);
  });

  it("two EVSEs leased at the same moment install the EVSE-0 base once", async () => {
    const station = profileStation({ variables: { RateUnit: "A", ProfileStackLevel: "5", ACPhaseSwitchingSupported: "false" } });
    const r = await rig("LEASE-TWIN", station);
    const [one, two] = await Promise.all([1, 2].map((connector) => r.limit({ amps: 12, phases: 3, connector, leaseS: 60, safeA: 6 })));
    const bases = r.frames().filter(([a, p]) => a === "SetChargingProfile" && (p.chargingProfile as { id: number }).id === 7318);
    assert.equal(bases.length, 1, JSON.stringify(bases));
    assert.deepEqual([one.lease?.base, two.lease?.base].sort(), ["installed", "kept"]);
  });
});
