/**
 * The `limit` / `pause` / `clearLimit` helpers for OCPP 2.0.1 chargers:
 * the same friendly input and the same result as for 1.6, built as the
 * 2.0.1 SetChargingProfile (schedule array with an id, evseId,
 * ChargingStationMaxProfile / TxDefaultProfile), with the rate unit, stack
 * level and phase switching read from the device model (GetVariables when
 * not cached), and read back with GetCompositeSchedule.
 */
import type { ChargerDirectory, ChargerLink } from "../core/contract";
import { CommandError, classifyCallError } from "../core/command-error";
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
  type RateUnit,
} from "../v16/smart-charging";
import type { GetVariableResult } from "./messages";

export const PURPOSES_201 = ["ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"] as const;
export type Purpose201 = (typeof PURPOSES_201)[number];

const KEYS = {
  rateUnit: "SmartChargingCtrlr/RateUnit",
  stackLevel: "SmartChargingCtrlr/ProfileStackLevel",
  phaseSwitching: "SmartChargingCtrlr/ACPhaseSwitchingSupported",
} as const;

const DEFAULT_PROFILE_ID_BASE = 7310;

export interface SmartCharging201 {
  units: RateUnit[];
  maxStackLevel?: number;
  phaseSwitching: boolean;
  known: boolean;
}

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
  sent: { limit: number; unit: RateUnit; numberPhases?: number };
  profile: Record<string, unknown>;
  applied?: { limit: number; unit: RateUnit; amps: number; watts: number };
  confirmed: boolean;
  warning?: string;
  voltage: number;
  phases: number;
  attempts: Limit201Attempt[];
}

function fromConfiguration(cfg: Record<string, string> | undefined): SmartCharging201 | undefined {
  if (!cfg || cfg[KEYS.rateUnit] === undefined) return undefined;
  const units = parseRateUnits(cfg[KEYS.rateUnit]);
  const level = Number.parseInt(cfg[KEYS.stackLevel] ?? "", 10);
  return {
    units: units.length > 0 ? units : ["A"],
    maxStackLevel: Number.isFinite(level) ? level : undefined,
    phaseSwitching: cfg[KEYS.phaseSwitching]?.toLowerCase() === "true",
    known: true,
  };
}

/** RateUnit, ProfileStackLevel and ACPhaseSwitchingSupported from the device model, else read with GetVariables (and cached). */
export async function readSmartCharging201(link: ChargerLink, options: Pick<LimitOptions, "directory" | "timeoutMs" | "refreshConfiguration"> = {}): Promise<SmartCharging201> {
  if (!options.refreshConfiguration) {
    const cached = fromConfiguration(options.directory?.snapshot(link.identity)?.configuration);
    if (cached) return cached;
  }
  const names = ["RateUnit", "ProfileStackLevel", "ACPhaseSwitchingSupported"];
  let answer: { getVariableResult?: GetVariableResult[] };
  try {
    answer = await link.call(
      "GetVariables",
      { getVariableData: names.map((name) => ({ component: { name: "SmartChargingCtrlr" }, variable: { name } })) },
      { timeoutMs: options.timeoutMs },
    );
  } catch (err) {
    const error = classifyCallError(err, link.identity, "GetVariables");
    if (error.kind !== "call_error") throw error;
    return { units: ["A"], phaseSwitching: false, known: false };
  }
  const values: Record<string, string> = {};
  for (const r of answer?.getVariableResult ?? []) {
    if (r?.attributeStatus === "Accepted" && typeof r.attributeValue === "string" && r.variable?.name) values[`SmartChargingCtrlr/${r.variable.name}`] = r.attributeValue;
  }
  if (Object.keys(values).length > 0) options.directory?.recordConfiguration(link.identity, values);
  return fromConfiguration(values) ?? { units: ["A"], phaseSwitching: false, known: false };
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
  relative?: boolean;
  now: Date;
}): Record<string, unknown> {
  const period: Record<string, unknown> = { startPeriod: 0, limit: spec.limit };
  if (spec.numberPhases !== undefined) period.numberPhases = spec.numberPhases;
  const schedule: Record<string, unknown> = { id: 1, chargingRateUnit: spec.unit, chargingSchedulePeriod: [period] };
  // A start a minute in the past keeps the limit in force on a charger whose clock runs a little behind.
  if (!spec.relative) schedule.startSchedule = new Date(Math.floor(spec.now.getTime() / 1000) * 1000 - 60_000).toISOString();
  return {
    id: spec.id,
    stackLevel: spec.stackLevel,
    chargingProfilePurpose: spec.purpose,
    chargingProfileKind: spec.relative ? "Relative" : "Absolute",
    chargingSchedule: [schedule],
  };
}

type Composite = { limit: number; unit: RateUnit } | "none" | undefined;

function appliedNow(answer: unknown, unit: RateUnit, now: Date): Composite {
  const a = answer as { status?: string; schedule?: { scheduleStart?: string; chargingRateUnit?: RateUnit; chargingSchedulePeriod?: Array<{ startPeriod: number; limit: number }> } };
  if (a?.status !== "Accepted") return undefined;
  const periods = a.schedule?.chargingSchedulePeriod;
  if (!periods?.length) return "none";
  const start = Date.parse(a.schedule?.scheduleStart ?? "") || now.getTime();
  const elapsed = Math.max(0, (now.getTime() - start) / 1000);
  const current = periods.filter((p) => p.startPeriod <= elapsed).pop() ?? periods[0];
  return { limit: current.limit, unit: a.schedule?.chargingRateUnit ?? unit };
}

async function readComposite(link: ChargerLink, evseId: number, unit: RateUnit, now: Date, timeoutMs: number | undefined): Promise<Composite> {
  try {
    return appliedNow(await link.call("GetCompositeSchedule", { duration: 300, evseId, chargingRateUnit: unit }, { timeoutMs }), unit, now);
  } catch (err) {
    const error = classifyCallError(err, link.identity, "GetCompositeSchedule");
    if (error.kind === "call_error") return undefined;
    throw error;
  }
}

/** Sets a current or power limit (or pauses) on a 2.0.1 charger: whole station, or one EVSE (`connector`). */
export async function applyLimit201(link: ChargerLink, request: LimitRequest, options: LimitOptions = {}): Promise<Limit201Result> {
  validateRequest(request);
  const chargerId = link.identity;
  const now = (options.now ?? (() => new Date()))();
  const quirks = options.quirks ?? {};
  const config = await readSmartCharging201(link, options);
  const phases = request.phases ?? options.defaultPhases ?? 3;
  const voltage = measuredVoltage(options.directory?.snapshot(chargerId), request.connector, options.defaultVoltage ?? 230);
  const wantUnit: RateUnit = request.watts !== undefined ? "W" : "A";
  const unit: RateUnit = config.units.includes(wantUnit) ? wantUnit : config.units[0];
  const inUnit = (value: number, from: RateUnit, to: RateUnit): number => (from === to ? value : to === "W" ? toWatts(value, voltage, phases) : toAmps(value, voltage, phases));
  const limit = request.pause ? 0 : roundLimit(inUnit((request.watts ?? request.amps) as number, wantUnit, unit), unit);
  // numberPhases only where the charger says it can switch phases (a 2.0.1 charger may reject it otherwise).
  const numberPhases = request.phases !== undefined && config.phaseSwitching && !quirks.numberPhasesUnsupported ? request.phases : undefined;
  const stackLevel = quirks.stackLevelZero ? 0 : (config.maxStackLevel ?? 0);
  const base = options.profileIdBase ?? DEFAULT_PROFILE_ID_BASE;
  const scope = request.connector ?? 0;
  const purposes: Purpose201[] = scope ? ["TxDefaultProfile"] : ["ChargingStationMaxProfile", "TxDefaultProfile"];
  const attempts: Limit201Attempt[] = [];

  for (const purpose of purposes) {
    const profile = buildLimitProfile201({ purpose, id: profileId201(base, scope, purpose), stackLevel, limit, unit, numberPhases, relative: quirks.relativeProfile, now });
    let status: unknown;
    try {
      status = (await link.call<{ status?: string }>("SetChargingProfile", { evseId: scope, chargingProfile: profile }, { timeoutMs: options.timeoutMs }))?.status;
    } catch (err) {
      const error = classifyCallError(err, chargerId, "SetChargingProfile");
      if (error.kind !== "call_error") throw error;
      attempts.push({ purpose, evseId: scope, outcome: `CALLERROR ${error.rpcErrorCode ?? ""}`.trim() });
      continue;
    }
    if (status !== "Accepted") {
      attempts.push({ purpose, evseId: scope, outcome: String(status) });
      continue;
    }
    attempts.push({ purpose, evseId: scope, outcome: "Accepted" });
    const result: Limit201Result = {
      chargerId,
      purpose,
      connectorId: scope,
      stackLevel,
      sent: numberPhases === undefined ? { limit, unit } : { limit, unit, numberPhases },
      profile,
      confirmed: false,
      voltage,
      phases,
      attempts,
    };
    if (options.confirm ?? true) {
      const applied = await readComposite(link, scope, unit, now, options.timeoutMs);
      if (applied === "none") result.warning = `Charger ${chargerId} accepted the ${purpose} but reports no limit in force`;
      else if (applied) {
        result.applied = { ...applied, amps: roundLimit(inUnit(applied.limit, applied.unit, "A"), "A"), watts: roundLimit(inUnit(applied.limit, applied.unit, "W"), "W") };
        result.confirmed = true;
        const appliedInSent = inUnit(applied.limit, applied.unit, unit);
        const tolerance = unit === "A" ? 0.1 : 1;
        if (appliedInSent > limit + tolerance) result.warning = `Charger ${chargerId} accepted the ${purpose} but still allows ${applied.limit} ${applied.unit}`;
        else if (appliedInSent < limit - tolerance) result.warning = `Another limit on charger ${chargerId} keeps it at ${applied.limit} ${applied.unit}`;
      } else result.warning = `Charger ${chargerId} accepted the limit but would not report its composite schedule`;
    }
    const perPhase = inUnit(limit, unit, "A");
    if (!result.warning && perPhase > 0 && perPhase < MIN_CHARGING_AMPS) {
      result.warning = `${roundLimit(perPhase, "A")} A is below the ${MIN_CHARGING_AMPS} A minimum cars accept (IEC 61851): many chargers then charge at ${MIN_CHARGING_AMPS} A or stop on their own. Use pause to stop for sure.`;
    }
    return result;
  }
  const tried = attempts.map((a) => `${a.purpose}: ${a.outcome}`).join("; ");
  throw new CommandError("rejected", `Charger ${chargerId} did not let us ${request.pause ? "pause charging" : `set a limit of ${limit} ${unit}`} (${tried}).`, {
    chargerId,
    action: "SetChargingProfile",
    answer: attempts,
  });
}

/** Removes the limits applyLimit201 installed (whole station or one EVSE), so the charger falls back to its own maximum. */
export async function clearLimit201(link: ChargerLink, options: { connector?: number; timeoutMs?: number; profileIdBase?: number; directory?: ChargerDirectory } = {}): Promise<{ chargerId: string; cleared: Purpose201[] }> {
  const base = options.profileIdBase ?? DEFAULT_PROFILE_ID_BASE;
  const scope = options.connector ?? 0;
  const cleared: Purpose201[] = [];
  for (const purpose of PURPOSES_201) {
    try {
      const answer = await link.call<{ status?: string }>("ClearChargingProfile", { chargingProfileId: profileId201(base, scope, purpose) }, { timeoutMs: options.timeoutMs });
      if (answer?.status === "Accepted") cleared.push(purpose);
    } catch (err) {
      throw classifyCallError(err, link.identity, "ClearChargingProfile");
    }
  }
  return { chargerId: link.identity, cleared };
}
