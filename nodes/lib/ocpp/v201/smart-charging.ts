/**
 * The `limit` / `pause` / `clearLimit` helpers for OCPP 2.0.1 chargers: the
 * same friendly input, the same fallback chain and the same answer as the
 * 1.6 limit (../v16/smart-charging.ts), built as 2.0.1 SetChargingProfile
 * (schedule array with an id, evseId, ChargingStationMaxProfile /
 * TxDefaultProfile / TxProfile with the charger's transaction id), with the
 * rate unit, stack level and phase switching read from the device model
 * (GetVariables when not cached), and read back with GetCompositeSchedule.
 *
 * Phases: numberPhases (and phaseToUse for one phase) are sent only when the
 * device model says the charger can switch (ACPhaseSwitchingSupported, or
 * Phases3to1 while a transaction runs; for one EVSE, that EVSE's own value
 * when it has one); otherwise they are left out, because
 * the spec lets a charger reject the whole profile for them, and the answer
 * says the phases were not applied (`phasesIgnored`).
 *
 * A failsafe lease (leaseS / safeA, the site manager) works as on 1.6: a
 * ChargingStationMaxProfile at stack level 0 with the safe current (for a
 * limit on one EVSE: a TxDefaultProfile on EVSE 0), and the leased limit
 * above it with validTo.
 */
import type { ChargerDirectory, ChargerLink, ChargerSnapshot } from "../core/contract";
import { CommandError, classifyCallError } from "../core/command-error";
import { leaseOverBase, type LeaseInfo } from "../core/lease-base";
import {
  MIN_CHARGING_AMPS,
  measuredVoltage,
  parseRateUnits,
  roundLimit,
  toAmps,
  toWatts,
  validateRequest,
  type LimitOptions,
  type LimitRequest,
  type LimitState,
  type RateUnit,
} from "../v16/smart-charging";
import type { GetVariableResult } from "./messages";
import { bool } from "../core/capabilities";
import { variableKey } from "./device-model";

export const PURPOSES_201 = ["ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"] as const;
export type Purpose201 = (typeof PURPOSES_201)[number];

const SC = "SmartChargingCtrlr";
const VARIABLES = ["RateUnit", "ProfileStackLevel", "ACPhaseSwitchingSupported", "Phases3to1"] as const;

const DEFAULT_PROFILE_ID_BASE = 7310;
/** Id of the failsafe base profile: base + 9, a slot no purpose of the whole-station scope uses (as on 1.6). */
const BASE_PROFILE_OFFSET = 9;
/** Id of the failsafe base for one-EVSE limits (TxDefaultProfile on EVSE 0): base + 8, as on 1.6. */
const EVSE_BASE_PROFILE_OFFSET = 8;

export interface SmartCharging201 {
  units: RateUnit[];
  maxStackLevel?: number;
  /** ACPhaseSwitchingSupported: numberPhases and phaseToUse may be sent. */
  phaseSwitching: boolean;
  /** Phases3to1: can go from 3 to 1 phase during a transaction. */
  phases3to1: boolean;
  /** The EVSE's own ACPhaseSwitchingSupported (SmartChargingCtrlr at that EVSE), when the limit is for one EVSE and the charger has one. */
  evsePhaseSwitching?: boolean;
  known: boolean;
}

/** The 2.0.1 limit takes `phaseToUse` (1–3) beside the common request, for one-phase charging on a charger that can pick the phase. */
export type Limit201Request = LimitRequest & { phaseToUse?: number };

export interface Limit201Attempt {
  purpose: Purpose201;
  evseId: number;
  outcome: string;
}

export interface Limit201Result {
  chargerId: string;
  purpose: Purpose201;
  /** EVSE the profile was installed on (0 = whole station), the 1.6 result's connectorId. */
  connectorId: number;
  stackLevel: number;
  sent: { limit: number; unit: RateUnit; numberPhases?: number; phaseToUse?: number };
  profile: Record<string, unknown>;
  applied?: { limit: number; unit: RateUnit; amps: number; watts: number };
  confirmed: boolean;
  state: LimitState;
  lease?: LeaseInfo;
  /** Phases were asked for but not sent: the charger does not say it can switch phases. */
  phasesIgnored?: true;
  warning?: string;
  voltage: number;
  phases: number;
  attempts: Limit201Attempt[];
}

/** The EVSE's own ACPhaseSwitchingSupported in the device model: at SmartChargingCtrlr of that EVSE (the spec's place), or at the EVSE component. */
function evseSwitching(cfg: Readonly<Record<string, string>>, evseId: number | undefined): boolean | undefined {
  if (!evseId) return undefined;
  return bool(cfg[`${SC}[${evseId}]/ACPhaseSwitchingSupported`] ?? cfg[`EVSE[${evseId}]/ACPhaseSwitchingSupported`]);
}

function fromConfiguration(cfg: Record<string, string> | undefined, evseId?: number): SmartCharging201 | undefined {
  if (!cfg || cfg[`${SC}/RateUnit`] === undefined) return undefined;
  const units = parseRateUnits(cfg[`${SC}/RateUnit`]);
  const level = Number.parseInt(cfg[`${SC}/ProfileStackLevel`] ?? "", 10);
  const yes = (name: string): boolean => cfg[`${SC}/${name}`]?.trim().toLowerCase() === "true";
  const config: SmartCharging201 = {
    units: units.length > 0 ? units : ["A"],
    maxStackLevel: Number.isFinite(level) ? level : undefined,
    phaseSwitching: yes("ACPhaseSwitchingSupported"),
    phases3to1: yes("Phases3to1"),
    known: true,
  };
  const evse = evseSwitching(cfg, evseId);
  if (evse !== undefined) config.evsePhaseSwitching = evse;
  return config;
}

/**
 * EVSEs whose own ACPhaseSwitchingSupported was asked with GetVariables, per
 * owner (directory, else link) and charger: one the charger does not have is
 * not asked again at every limit.
 */
const evseAskedByOwner = new WeakMap<object, Set<string>>();

function evseAsked(owner: object): Set<string> {
  let asked = evseAskedByOwner.get(owner);
  if (!asked) evseAskedByOwner.set(owner, (asked = new Set()));
  return asked;
}

/** Whether the device model already says what there is to know for a limit on `evseId` (a full report covers the EVSE). */
function evseKnown(cfg: Readonly<Record<string, string>>, identity: string, evseId: number | undefined, owner: object): boolean {
  if (!evseId || evseSwitching(cfg, evseId) !== undefined || evseAsked(owner).has(`${identity}#${evseId}`)) return true;
  const prefix = `EVSE[${evseId}]/`;
  return Object.keys(cfg).some((k) => k.startsWith(prefix));
}

const UNKNOWN: SmartCharging201 = { units: ["A"], phaseSwitching: false, phases3to1: false, known: false };

/**
 * RateUnit, ProfileStackLevel, ACPhaseSwitchingSupported and Phases3to1 from
 * the device model, else read with GetVariables (and cached). For a limit on
 * one EVSE, that EVSE's own ACPhaseSwitchingSupported (SmartChargingCtrlr at
 * the EVSE) is asked in the same request, unless the device model already
 * covers the EVSE.
 */
export async function readSmartCharging201(
  link: ChargerLink,
  options: Pick<LimitOptions, "directory" | "timeoutMs" | "refreshConfiguration"> = {},
  evseId?: number,
): Promise<SmartCharging201> {
  const owner = options.directory ?? link;
  if (!options.refreshConfiguration) {
    const cfg = options.directory?.snapshot(link.identity)?.configuration;
    const cached = fromConfiguration(cfg, evseId);
    if (cached && cfg && evseKnown(cfg, link.identity, evseId, owner)) return cached;
  }
  const getVariableData: Array<{ component: { name: string; evse?: { id: number } }; variable: { name: string } }> = VARIABLES.map((name) => ({ component: { name: SC }, variable: { name } }));
  if (evseId) getVariableData.push({ component: { name: SC, evse: { id: evseId } }, variable: { name: "ACPhaseSwitchingSupported" } });
  let answer: { getVariableResult?: GetVariableResult[] };
  try {
    answer = await link.call("GetVariables", { getVariableData }, { timeoutMs: options.timeoutMs });
  } catch (err) {
    const error = classifyCallError(err, link.identity, "GetVariables");
    if (error.kind !== "call_error") throw error;
    return UNKNOWN;
  }
  if (evseId) evseAsked(owner).add(`${link.identity}#${evseId}`);
  const values: Record<string, string> = {};
  for (const r of answer?.getVariableResult ?? []) {
    // The EVSE's value lands at "SmartChargingCtrlr[N]/…", as a report would put it; the rest is the station's, as before.
    if (r?.attributeStatus === "Accepted" && typeof r.attributeValue === "string" && r.variable?.name) {
      const at = r.component?.evse?.id;
      values[variableKey(typeof at === "number" ? { name: SC, evse: { id: at } } : { name: SC }, { name: r.variable.name })] = r.attributeValue;
    }
  }
  if (Object.keys(values).length > 0) options.directory?.recordConfiguration(link.identity, values);
  const config = fromConfiguration(values, evseId);
  if (config) return config;
  const evse = evseSwitching(values, evseId);
  return evse === undefined ? UNKNOWN : { ...UNKNOWN, evsePhaseSwitching: evse };
}

export function profileId201(base: number, scope: number, purpose: Purpose201): number {
  return base + 10 * scope + PURPOSES_201.indexOf(purpose);
}

/** The 2.0.1 chargingProfile for one flat limit. */
export function buildLimitProfile201(spec: {
  purpose: Purpose201;
  id: number;
  stackLevel: number;
  limit: number;
  unit: RateUnit;
  numberPhases?: number;
  phaseToUse?: number;
  transactionId?: string;
  relative?: boolean;
  now: Date;
  /** End of a lease: the profile stops counting then (validTo, and the schedule's duration). */
  validTo?: Date;
}): Record<string, unknown> {
  const period: Record<string, unknown> = { startPeriod: 0, limit: spec.limit };
  if (spec.numberPhases !== undefined) period.numberPhases = spec.numberPhases;
  if (spec.phaseToUse !== undefined) period.phaseToUse = spec.phaseToUse;
  const schedule: Record<string, unknown> = { id: 1, chargingRateUnit: spec.unit, chargingSchedulePeriod: [period] };
  // A start a minute in the past keeps the limit in force on a charger whose clock runs a little behind.
  if (!spec.relative) schedule.startSchedule = new Date(Math.floor(spec.now.getTime() / 1000) * 1000 - 60_000).toISOString();
  const profile: Record<string, unknown> = {
    id: spec.id,
    stackLevel: spec.stackLevel,
    chargingProfilePurpose: spec.purpose,
    chargingProfileKind: spec.relative ? "Relative" : "Absolute",
    chargingSchedule: [schedule],
  };
  if (spec.transactionId !== undefined) profile.transactionId = spec.transactionId;
  if (spec.validTo) {
    profile.validTo = spec.validTo.toISOString();
    // Chargers that ignore validTo still end the schedule after its duration (counted from startSchedule).
    schedule.duration = Math.ceil((spec.validTo.getTime() - spec.now.getTime()) / 1000) + 60;
  }
  return profile;
}

/** Whole station: ChargingStationMax → TxDefault → Tx. One EVSE: TxDefault → Tx (ChargingStationMax would limit every EVSE). */
export function purposeOrder201(connector: number | undefined): Purpose201[] {
  return connector ? ["TxDefaultProfile", "TxProfile"] : ["ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"];
}

/** The 1.6 purpose names a caller may pass in options.purposes, in 2.0.1 words. */
function purposesFrom(options: LimitOptions, connector: number | undefined): Purpose201[] {
  if (!options.purposes) return purposeOrder201(connector);
  return options.purposes.map((p) => (p === "ChargePointMaxProfile" ? "ChargingStationMaxProfile" : p));
}

/** "none" = the charger says no limit is in force; undefined = it would not say. */
type Composite = { limit: number; unit: RateUnit } | "none" | undefined;
type CompositeAnswer = { status?: string; schedule?: { scheduleStart?: string; chargingRateUnit?: RateUnit; chargingSchedulePeriod?: Array<{ startPeriod: number; limit: number }> } };

function appliedNow(answer: unknown, unit: RateUnit, now: Date): Composite {
  const a = answer as CompositeAnswer;
  if (a?.status !== "Accepted") return undefined;
  const periods = a.schedule?.chargingSchedulePeriod;
  if (!periods?.length) return "none";
  const start = Date.parse(a.schedule?.scheduleStart ?? "") || now.getTime();
  const elapsed = Math.max(0, (now.getTime() - start) / 1000);
  const current = periods.filter((p) => p.startPeriod <= elapsed).pop() ?? periods[0];
  return { limit: current.limit, unit: a.schedule?.chargingRateUnit ?? unit };
}

async function composite(link: ChargerLink, evseId: number, unit: RateUnit, durationS: number, timeoutMs: number | undefined): Promise<CompositeAnswer | undefined> {
  try {
    return await link.call<CompositeAnswer>("GetCompositeSchedule", { duration: durationS, evseId, chargingRateUnit: unit }, { timeoutMs });
  } catch (err) {
    const error = classifyCallError(err, link.identity, "GetCompositeSchedule");
    if (error.kind === "call_error") return undefined;
    throw error;
  }
}

/** True when the composite schedule over the lease shows a later, different period; undefined when it will not say. */
async function leaseEnds(link: ChargerLink, evseId: number, unit: RateUnit, leaseS: number, timeoutMs: number | undefined): Promise<boolean | undefined> {
  const answer = await composite(link, evseId, unit, Math.ceil(leaseS) + 60, timeoutMs);
  if (answer?.status !== "Accepted") return undefined;
  const periods = answer.schedule?.chargingSchedulePeriod ?? [];
  return periods.some((p) => p.startPeriod > 0 && p.limit !== periods[0].limit);
}

/**
 * Purposes at which applyLimit201 left a profile, per owner (directory, else
 * link), charger and scope: accepting one purpose clears our older profile at
 * another, so our own old limit never holds a new one down.
 */
const installedByOwner = new WeakMap<object, Map<string, Set<Purpose201>>>();

function installedSet(owner: object, identity: string, scope: number): Set<Purpose201> {
  let byCharger = installedByOwner.get(owner);
  if (!byCharger) installedByOwner.set(owner, (byCharger = new Map()));
  const key = `${identity}#${scope}`;
  let set = byCharger.get(key);
  if (!set) byCharger.set(key, (set = new Set()));
  return set;
}

async function clearOtherPurposes(link: ChargerLink, owner: object, scope: number, keep: Purpose201, base: number, timeoutMs: number | undefined): Promise<void> {
  const installed = installedSet(owner, link.identity, scope);
  for (const purpose of [...installed]) {
    if (purpose === keep) continue;
    try {
      await link.call("ClearChargingProfile", { chargingProfileId: profileId201(base, scope, purpose) }, { timeoutMs });
      installed.delete(purpose);
    } catch (err) {
      const error = classifyCallError(err, link.identity, "ClearChargingProfile");
      if (error.kind !== "call_error") throw error;
    }
  }
  installed.add(keep);
}

/**
 * The failsafe base (once, or when the safe current changes): ChargingStationMaxProfile, stack level 0, no end;
 * for a limit on one EVSE a TxDefaultProfile on EVSE 0 at stack level 0 instead (K01: the EVSE-0 TxDefaultProfile
 * is the default for every EVSE, the EVSE's own leased one above it wins until its validTo). See the 1.6 leaseBase.
 */
async function leaseBase(
  link: ChargerLink,
  request: LimitRequest,
  options: LimitOptions,
  at: { stackLevel: number; unit: RateUnit; voltage: number; phases: number; base: number; now: Date },
): Promise<Limit201Result["lease"]> {
  return leaseOverBase({
    link,
    owner: options.directory ?? link,
    leaseS: request.leaseS as number,
    safeA: request.safeA,
    scoped: Boolean(request.connector),
    stackLevel: at.stackLevel,
    now: at.now,
    send: async (safeA, scoped) => {
      const limit = roundLimit(at.unit === "A" ? safeA : toWatts(safeA, at.voltage, at.phases), at.unit);
      const profile = buildLimitProfile201({
        purpose: scoped ? "TxDefaultProfile" : "ChargingStationMaxProfile",
        id: at.base + (scoped ? EVSE_BASE_PROFILE_OFFSET : BASE_PROFILE_OFFSET),
        stackLevel: 0,
        limit,
        unit: at.unit,
        now: at.now,
      });
      return (await link.call<{ status?: string }>("SetChargingProfile", { evseId: 0, chargingProfile: profile }, { timeoutMs: options.timeoutMs }))?.status;
    },
  });
}

/** numberPhases / phaseToUse as the charger allows them, and whether asked-for phases had to be left out. */
function phasesToSend(request: Limit201Request, config: SmartCharging201, inTransaction: boolean, quirks: LimitOptions["quirks"]): { numberPhases?: number; phaseToUse?: number; ignored: boolean } {
  if (request.phases === undefined) return { ignored: false };
  const canSwitch = config.phaseSwitching || (config.phases3to1 && inTransaction);
  if (!canSwitch || quirks?.numberPhasesUnsupported) return { ignored: true };
  // phaseToUse only with one phase, and only where the charger says it can pick the phase.
  const phaseToUse = request.phases === 1 && config.phaseSwitching ? (request.phaseToUse ?? 1) : undefined;
  return { numberPhases: request.phases, phaseToUse, ignored: false };
}

function openSessions(snapshot: ChargerSnapshot | undefined, connector: number | undefined): Array<{ evseId: number; transactionId: string }> {
  return (snapshot?.connectors ?? [])
    .filter((c) => c.transactionId !== undefined && (!connector || c.connectorId === connector))
    .map((c) => ({ evseId: c.connectorId, transactionId: String(c.transactionId) }));
}

/** Sets a current or power limit (or pauses) on a 2.0.1 charger: whole station, or one EVSE (`connector`). */
export async function applyLimit201(link: ChargerLink, request: Limit201Request, options: LimitOptions = {}): Promise<Limit201Result> {
  validateRequest(request);
  if (request.phaseToUse !== undefined && ![1, 2, 3].includes(request.phaseToUse)) {
    throw new CommandError("bad_input", `limit: phaseToUse must be 1, 2 or 3 (L1, L2, L3), not ${JSON.stringify(request.phaseToUse)}`, { action: "limit" });
  }
  const chargerId = link.identity;
  const now = (options.now ?? (() => new Date()))();
  const quirks = options.quirks ?? {};
  const snapshot = options.directory?.snapshot(chargerId);
  const config = await readSmartCharging201(link, options, request.connector || undefined);
  const phases = request.phases ?? options.defaultPhases ?? 3;
  const voltage = measuredVoltage(snapshot, request.connector, options.defaultVoltage ?? 230);
  const wantUnit: RateUnit = request.watts !== undefined ? "W" : "A";
  const unit: RateUnit = config.units.includes(wantUnit) ? wantUnit : config.units[0];
  const inUnit = (value: number, from: RateUnit, to: RateUnit): number => (from === to ? value : to === "W" ? toWatts(value, voltage, phases) : toAmps(value, voltage, phases));
  const limit = request.pause ? 0 : roundLimit(inUnit((request.watts ?? request.amps) as number, wantUnit, unit), unit);
  const sessions = openSessions(snapshot, request.connector);
  // ACPhaseSwitchingSupported may be reported per EVSE: the EVSE's own value counts for that EVSE (else the station's), and for the whole station when every EVSE says so.
  const evses = snapshot?.capabilities?.evses ?? [];
  const canSwitch = request.connector
    ? (config.evsePhaseSwitching ?? evses.find((e) => e.evseId === request.connector)?.phaseSwitching ?? config.phaseSwitching)
    : config.phaseSwitching || (evses.length > 0 && evses.every((e) => e.phaseSwitching === true));
  const { numberPhases, phaseToUse, ignored: phasesIgnored } = phasesToSend(request, { ...config, phaseSwitching: canSwitch }, sessions.length > 0, quirks);
  const stackLevel = quirks.stackLevelZero ? 0 : (config.maxStackLevel ?? 0);
  const base = options.profileIdBase ?? DEFAULT_PROFILE_ID_BASE;
  const scope = request.connector ?? 0;
  const owner = options.directory ?? link;
  const attempts: Limit201Attempt[] = [];
  const lease = request.leaseS && request.leaseS > 0 ? await leaseBase(link, request, options, { stackLevel, unit, voltage, phases, base, now }) : undefined;
  /** The last purpose the charger accepted without the read-back showing it in force. */
  let lastAccepted: Limit201Result | undefined;

  for (const purpose of purposesFrom(options, request.connector)) {
    let evseId = purpose === "ChargingStationMaxProfile" ? 0 : scope;
    let transactionId: string | undefined;
    if (purpose === "TxProfile") {
      // A TxProfile belongs to the running transaction, by the charger's own id, on its EVSE.
      if (sessions.length !== 1) {
        attempts.push({ purpose, evseId, outcome: sessions.length === 0 ? "no session running" : "several sessions; give a connector" });
        continue;
      }
      evseId = sessions[0].evseId;
      transactionId = sessions[0].transactionId;
    }
    const profile = buildLimitProfile201({
      purpose,
      id: profileId201(base, scope, purpose),
      stackLevel,
      limit,
      unit,
      numberPhases,
      phaseToUse,
      transactionId,
      relative: quirks.relativeProfile,
      now,
      validTo: lease?.validTo ? new Date(lease.validTo) : undefined,
    });
    let status: unknown;
    try {
      status = (await link.call<{ status?: string }>("SetChargingProfile", { evseId, chargingProfile: profile }, { timeoutMs: options.timeoutMs }))?.status;
    } catch (err) {
      const error = classifyCallError(err, chargerId, "SetChargingProfile");
      if (error.kind !== "call_error") throw error;
      attempts.push({ purpose, evseId, outcome: `CALLERROR ${error.rpcErrorCode ?? ""}`.trim() });
      continue;
    }
    if (status !== "Accepted") {
      attempts.push({ purpose, evseId, outcome: String(status) });
      continue;
    }
    await clearOtherPurposes(link, owner, scope, purpose, base, options.timeoutMs);

    const sent: Limit201Result["sent"] = { limit, unit };
    if (numberPhases !== undefined) sent.numberPhases = numberPhases;
    if (phaseToUse !== undefined) sent.phaseToUse = phaseToUse;
    const result: Limit201Result = { chargerId, purpose, connectorId: evseId, stackLevel, sent, profile, confirmed: false, state: "accepted, not read back", voltage, phases, attempts };
    if (phasesIgnored) result.phasesIgnored = true;
    if (lease) result.lease = lease;
    const readAt = request.connector || evseId;
    if (options.confirm ?? true) {
      const applied = appliedNow(await composite(link, readAt, unit, 300, options.timeoutMs), unit, now);
      if (applied === "none") {
        attempts.push({ purpose, evseId, outcome: "Accepted, but no limit is in force" });
        result.state = "accepted, not in force";
        result.warning = `Charger ${chargerId} accepted the ${purpose} but reports no limit in force`;
        // Accepting the next purpose clears this one (clearOtherPurposes), so only the last accepted profile is installed.
        lastAccepted = result;
        continue;
      }
      if (applied) {
        result.applied = { ...applied, amps: roundLimit(inUnit(applied.limit, applied.unit, "A"), "A"), watts: roundLimit(inUnit(applied.limit, applied.unit, "W"), "W") };
        const appliedInSent = inUnit(applied.limit, applied.unit, unit);
        const tolerance = unit === "A" ? 0.1 : 1;
        if (appliedInSent > limit + tolerance) {
          attempts.push({ purpose, evseId, outcome: `Accepted, but ${applied.limit} ${applied.unit} is still in force` });
          result.state = "accepted, not in force";
          result.warning = `Charger ${chargerId} accepted the ${purpose} but still allows ${applied.limit} ${applied.unit}`;
          lastAccepted = result;
          continue;
        }
        result.confirmed = true;
        result.state = "in force";
        if (appliedInSent < limit - tolerance) result.warning = `Another limit on charger ${chargerId} keeps it at ${applied.limit} ${applied.unit}`;
      } else {
        result.warning = `Charger ${chargerId} accepted the limit but would not report its composite schedule`;
      }
      if (lease?.validTo && lease.safeA !== undefined && result.confirmed && inUnit(limit, unit, "A") > lease.safeA) {
        // Does the charger's own schedule show the lease ending? If not, it may ignore validTo.
        const ends = await leaseEnds(link, readAt, unit, request.leaseS as number, options.timeoutMs);
        if (ends !== undefined) lease.verified = ends;
        if (ends === false) {
          lease.warning = `Charger ${chargerId} does not show the limit ending at validTo in its composite schedule: it may ignore validity and keep this limit if Node-RED stops`;
          result.warning ??= lease.warning;
        }
      }
    }
    attempts.push({ purpose, evseId, outcome: "Accepted" });
    return finish(result, request, snapshot, inUnit(limit, unit, "A"));
  }

  // As on 1.6: a profile the charger accepted but does not show in force stays installed, and the answer describes it.
  if (lastAccepted && !request.pause) {
    const session = lastAccepted.purpose === "TxProfile" ? "; it is a TxProfile, so it ends with the current session" : "";
    lastAccepted.warning = `Charger ${chargerId} accepted the limit as ${lastAccepted.purpose} (id ${String(lastAccepted.profile.id)}), but it is not in force (${lastAccepted.attempts
      .map((a) => `${a.purpose}: ${a.outcome}`)
      .join("; ")})${session}`;
    return lastAccepted;
  }
  const tried = attempts.map((a) => `${a.purpose}: ${a.outcome}`).join("; ");
  const what = request.pause ? "pause charging" : `set a limit of ${limit} ${unit}`;
  throw new CommandError(
    "rejected",
    `Charger ${chargerId} did not let us ${what} (${tried}). If this charger is known to be picky, try the quirk options (stack level 0, relative profile, no numberPhases).`,
    { chargerId, action: "SetChargingProfile", answer: attempts },
  );
}

/** The warnings that do not depend on the purpose: below the minimum current, phases that could not be applied. */
function finish(result: Limit201Result, request: Limit201Request, snapshot: ChargerSnapshot | undefined, perPhaseA: number): Limit201Result {
  if (!result.warning && perPhaseA > 0 && perPhaseA < MIN_CHARGING_AMPS) {
    result.warning = `${roundLimit(perPhaseA, "A")} A is below the ${MIN_CHARGING_AMPS} A minimum cars accept (IEC 61851): many chargers then charge at ${MIN_CHARGING_AMPS} A or stop on their own. Use pause to stop for sure.`;
  }
  if (!result.warning && result.phasesIgnored && request.phases !== undefined) {
    // Asking for fewer phases than the EVSE has is a request the charger will not follow; asking for what it has anyway is no news.
    const evse = snapshot?.capabilities?.evses?.find((e) => e.evseId === (request.connector || result.connectorId)) ?? snapshot?.capabilities?.evses?.[0];
    const supply = evse?.supplyPhases ?? 3;
    if (request.phases < supply) {
      result.warning = `Charger ${result.chargerId} does not say it can switch phases (ACPhaseSwitchingSupported), so the request for ${request.phases} phase${request.phases === 1 ? "" : "s"} was not applied: it charges on the phases it has`;
    }
  }
  return result;
}

/** Removes the limits applyLimit201 installed (whole station or one EVSE), so the charger falls back to its own maximum. */
export async function clearLimit201(link: ChargerLink, options: { connector?: number; timeoutMs?: number; profileIdBase?: number; directory?: ChargerDirectory } = {}): Promise<{ chargerId: string; cleared: Purpose201[] }> {
  const base = options.profileIdBase ?? DEFAULT_PROFILE_ID_BASE;
  const scope = options.connector ?? 0;
  const installed = installedSet(options.directory ?? link, link.identity, scope);
  const cleared: Purpose201[] = [];
  for (const purpose of PURPOSES_201) {
    try {
      const answer = await link.call<{ status?: string }>("ClearChargingProfile", { chargingProfileId: profileId201(base, scope, purpose) }, { timeoutMs: options.timeoutMs });
      if (answer?.status === "Accepted") cleared.push(purpose);
      installed.delete(purpose);
    } catch (err) {
      throw classifyCallError(err, link.identity, "ClearChargingProfile");
    }
  }
  return { chargerId: link.identity, cleared };
}
