/**
 * "Limit this charger to N amps (or watts)" without knowing OCPP smart
 * charging: reads what the charger supports (rate unit, stack level), builds
 * the profile in the charger's unit, tries the profile purposes the charger
 * may accept, and reads GetCompositeSchedule back to report what is really
 * in force. The usual reasons chargers refuse limits (stack level, purpose,
 * unit, numberPhases, Absolute profiles) are handled or switchable as quirks.
 *
 * Pause = a limit of 0 on the same profile, not RemoteStop (which would end
 * the session and its billing) and not ChangeAvailability (which some
 * chargers only apply after the session). Because some firmware accepts a 0
 * limit and keeps charging, a pause is only reported as done when the
 * composite schedule read back says 0; otherwise the next purpose is tried
 * and in the end it fails with an error.
 */
import type { ChargerDirectory, ChargerLink, ChargerSnapshot } from "../core/contract";
import { CommandError, classifyCallError } from "../core/command-error";
import { leaseOverBase, type LeaseInfo } from "../core/lease-base";
import { PROFILE_PURPOSES, type ProfilePurpose } from "./commands";

export type RateUnit = "A" | "W";

export interface LimitRequest {
  /** Current per phase, in A. */
  amps?: number;
  /** Total power, in W. */
  watts?: number;
  /** Phases the car charges on (for A↔W and numberPhases). */
  phases?: number;
  /** Connector to limit; leave out (or 0) for the whole charger. */
  connector?: number;
  /** Stop charging without ending the session (limit 0). */
  pause?: boolean;
  /**
   * Failsafe lease: the limit is valid for this many seconds only (validTo and duration), so a dead
   * controller leaves the charger at `safeA`, installed once as a base profile at stack level 0.
   */
  leaseS?: number;
  /** Safe current per phase for the base profile (with leaseS). */
  safeA?: number;
}

export interface SmartChargingQuirks {
  /** Always use stack level 0 (firmware that rejects anything else, evcc `stacklevelzero`). */
  stackLevelZero?: boolean;
  /** Send Relative profiles without startSchedule (evcc `profilekindrelative`). */
  relativeProfile?: boolean;
  /** Never send numberPhases (firmware that rejects it). */
  numberPhasesUnsupported?: boolean;
}

export interface LimitOptions {
  /** For the measured voltage, open sessions and the per-charger configuration cache. */
  directory?: ChargerDirectory;
  quirks?: SmartChargingQuirks;
  /** Phases assumed when the request gives none (default 3). */
  defaultPhases?: number;
  /** Voltage assumed when none is measured (default 230 V). */
  defaultVoltage?: number;
  /** Purposes to try, in order (default: see purposeOrder()). */
  purposes?: ProfilePurpose[];
  /**
   * Profile ids are base + 10 × connector + 0 (ChargePointMax), 1 (TxDefault), 2 (Tx); default base 7310.
   * One id per scope (whole charger, each connector) and purpose, so a new limit replaces the old one
   * and a per-connector limit never replaces the whole-charger one.
   */
  profileIdBase?: number;
  timeoutMs?: number;
  /** Read GetCompositeSchedule back (default true). */
  confirm?: boolean;
  /** Re-read the configuration even when it is cached. */
  refreshConfiguration?: boolean;
  now?: () => Date;
}

export interface SmartChargingConfig {
  units: RateUnit[];
  maxStackLevel?: number;
  /** False when the charger would not tell (defaults were assumed). */
  known: boolean;
}

export interface LimitAttempt {
  purpose: ProfilePurpose;
  connectorId: number;
  outcome: string;
}

export interface LimitResult {
  chargerId: string;
  purpose: ProfilePurpose;
  /** Connector the profile was installed on (0 = whole charger). */
  connectorId: number;
  stackLevel: number;
  /** What was sent, in the charger's unit. */
  sent: { limit: number; unit: RateUnit; numberPhases?: number };
  /** The profile exactly as sent. */
  profile: Record<string, unknown>;
  /** What GetCompositeSchedule says is in force now (undefined when it could not be read). */
  applied?: { limit: number; unit: RateUnit; amps: number; watts: number };
  /** True only when the read-back shows the limit (or a lower one) in force. */
  confirmed: boolean;
  /**
   * "in force": confirmed by the read-back; "accepted, not in force": the charger accepted the
   * profile (it stays installed) but the read-back shows no limit or a higher one; "accepted, not
   * read back": the charger would not report its composite schedule (or confirm was off).
   */
  state: LimitState;
  /** With a lease: until when the limit holds, and the base it falls back to. */
  lease?: LeaseInfo;
  /** Why applied differs from what was asked, in words. */
  warning?: string;
  voltage: number;
  phases: number;
  attempts: LimitAttempt[];
}

export type LimitState = "in force" | "accepted, not in force" | "accepted, not read back";

export const CONFIG_KEYS = {
  rateUnit: "ChargingScheduleAllowedChargingRateUnit",
  stackLevel: "ChargeProfileMaxStackLevel",
  /** A name some documents (and some firmware) use for the same limit. */
  stackLevelAlias: "ChargePointMaxProfileMaxStackLevel",
} as const;

const DEFAULT_PROFILE_ID_BASE = 7310;
/** Id of the failsafe base profile: base + 9, a slot no purpose of the whole-charger scope uses. */
const BASE_PROFILE_OFFSET = 9;
/** Id of the failsafe base for connector limits (a TxDefaultProfile on connector 0): base + 8, also unused by any purpose. */
const CONNECTOR_BASE_PROFILE_OFFSET = 8;
/** The lowest current per phase an EV charges with (IEC 61851-1). */
export const MIN_CHARGING_AMPS = 6;

export function toWatts(amps: number, voltage: number, phases: number): number {
  return amps * voltage * phases;
}

export function toAmps(watts: number, voltage: number, phases: number): number {
  return watts / (voltage * phases);
}

/** Rounds down to what OCPP allows (0.1 A, 1 W), so a limit is never exceeded by rounding. */
export function roundLimit(value: number, unit: RateUnit): number {
  return unit === "A" ? Math.floor(value * 10 + 1e-6) / 10 : Math.floor(value + 1e-6);
}

/** Parses "Current,Power" (the spec's CSL) and the A/W spellings some firmware uses. */
export function parseRateUnits(value: string | undefined): RateUnit[] {
  if (!value) return [];
  const units = new Set<RateUnit>();
  for (const part of value.split(/[,;\s]+/)) {
    const p = part.trim().toLowerCase();
    if (p === "current" || p === "a") units.add("A");
    if (p === "power" || p === "w") units.add("W");
  }
  return [...units];
}

function fromConfiguration(cfg: Record<string, string> | undefined): SmartChargingConfig | undefined {
  if (!cfg || cfg[CONFIG_KEYS.rateUnit] === undefined) return undefined;
  const stack = cfg[CONFIG_KEYS.stackLevel] ?? cfg[CONFIG_KEYS.stackLevelAlias];
  const units = parseRateUnits(cfg[CONFIG_KEYS.rateUnit]);
  const level = stack === undefined ? undefined : Number.parseInt(stack, 10);
  return { units: units.length > 0 ? units : ["A"], maxStackLevel: Number.isFinite(level) ? level : undefined, known: true };
}

/**
 * The charger's smart-charging limits, from the directory's cache or read
 * with GetConfiguration (and then cached with recordConfiguration).
 * If the charger will not say, A and stack level 0 are assumed.
 */
export async function readSmartChargingConfig(
  link: ChargerLink,
  options: Pick<LimitOptions, "directory" | "timeoutMs" | "refreshConfiguration"> = {},
): Promise<SmartChargingConfig> {
  if (!options.refreshConfiguration) {
    const cached = fromConfiguration(options.directory?.snapshot(link.identity)?.configuration);
    if (cached) return cached;
  }
  let answer: { configurationKey?: Array<{ key: string; value?: string }> };
  try {
    answer = await link.call("GetConfiguration", { key: [CONFIG_KEYS.rateUnit, CONFIG_KEYS.stackLevel, CONFIG_KEYS.stackLevelAlias] }, { timeoutMs: options.timeoutMs });
  } catch (err) {
    const error = classifyCallError(err, link.identity, "GetConfiguration");
    if (error.kind !== "call_error") throw error;
    return { units: ["A"], maxStackLevel: undefined, known: false };
  }
  const values: Record<string, string> = {};
  for (const entry of answer.configurationKey ?? []) if (entry.value !== undefined) values[entry.key] = entry.value;
  if (Object.keys(values).length > 0) options.directory?.recordConfiguration(link.identity, values);
  return fromConfiguration(values) ?? { units: ["A"], maxStackLevel: undefined, known: false };
}

/** Average of the measured phase voltages of the connector (or any connector), else the default. */
export function measuredVoltage(snapshot: ChargerSnapshot | undefined, connectorId: number | undefined, fallback: number): number {
  const connectors = snapshot?.connectors ?? [];
  const ordered = [...connectors.filter((c) => c.connectorId === connectorId), ...connectors.filter((c) => c.connectorId !== connectorId)];
  for (const c of ordered) {
    const values = Object.values(c.voltageV ?? {}).filter((v): v is number => typeof v === "number" && v > 50);
    if (values.length > 0) return values.reduce((a, b) => a + b, 0) / values.length;
  }
  return fallback;
}

/** Whole charger: ChargePointMax → TxDefault → Tx. One connector: TxDefault → Tx (ChargePointMax would limit every connector). */
export function purposeOrder(connector: number | undefined): ProfilePurpose[] {
  return connector ? ["TxDefaultProfile", "TxProfile"] : ["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"];
}

export interface ProfileSpec {
  purpose: ProfilePurpose;
  id: number;
  stackLevel: number;
  limit: number;
  unit: RateUnit;
  numberPhases?: number;
  transactionId?: number;
  relative?: boolean;
  now: Date;
  /** End of a lease: the profile stops counting then (validTo, and the schedule's duration). */
  validTo?: Date;
}

/** The csChargingProfiles object for one flat limit. */
export function buildLimitProfile(spec: ProfileSpec): Record<string, unknown> {
  const period: Record<string, unknown> = { startPeriod: 0, limit: spec.limit };
  if (spec.numberPhases !== undefined) period.numberPhases = spec.numberPhases;
  const schedule: Record<string, unknown> = { chargingRateUnit: spec.unit, chargingSchedulePeriod: [period] };
  // A start a minute in the past keeps the limit in force on a charger whose clock runs a little behind.
  if (!spec.relative) schedule.startSchedule = new Date(Math.floor(spec.now.getTime() / 1000) * 1000 - 60_000).toISOString();
  const profile: Record<string, unknown> = {
    chargingProfileId: spec.id,
    stackLevel: spec.stackLevel,
    chargingProfilePurpose: spec.purpose,
    chargingProfileKind: spec.relative ? "Relative" : "Absolute",
    chargingSchedule: schedule,
  };
  if (spec.transactionId !== undefined) profile.transactionId = spec.transactionId;
  if (spec.validTo) {
    profile.validTo = spec.validTo.toISOString();
    // Chargers that ignore validTo still end the schedule after its duration (counted from startSchedule).
    schedule.duration = Math.ceil((spec.validTo.getTime() - spec.now.getTime()) / 1000) + 60;
  }
  return profile;
}

export function validateRequest(request: LimitRequest): void {
  const bad = (text: string): never => {
    throw new CommandError("bad_input", `limit: ${text}, e.g. {amps: 10} or {watts: 4000, phases: 3} or {pause: true}`, { action: "limit" });
  };
  if (request.pause) return;
  const given = [request.amps, request.watts].filter((v) => v !== undefined);
  if (given.length !== 1) bad("give either amps or watts");
  const value = given[0] as unknown;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) bad(`the limit must be a number of 0 or more, not ${JSON.stringify(value)}`);
  if (request.phases !== undefined && ![1, 2, 3].includes(request.phases)) bad(`phases must be 1, 2 or 3, not ${JSON.stringify(request.phases)}`);
  if (request.connector !== undefined && (!Number.isInteger(request.connector) || request.connector < 0)) bad(`connector must be a whole number, not ${JSON.stringify(request.connector)}`);
}

/** "none" = the charger says no limit is in force; undefined = it would not say. */
type Composite = { limit: number; unit: RateUnit } | "none" | undefined;

function appliedNow(answer: unknown, unit: RateUnit, now: Date): Composite {
  const a = answer as {
    status?: string;
    scheduleStart?: string;
    chargingSchedule?: { chargingRateUnit?: RateUnit; startSchedule?: string; chargingSchedulePeriod?: Array<{ startPeriod: number; limit: number }> };
  };
  if (a?.status !== "Accepted") return undefined;
  const schedule = a.chargingSchedule;
  if (!schedule?.chargingSchedulePeriod?.length) return "none";
  const start = Date.parse(schedule.startSchedule ?? a.scheduleStart ?? "") || now.getTime();
  const elapsed = Math.max(0, (now.getTime() - start) / 1000);
  const current = schedule.chargingSchedulePeriod.filter((p) => p.startPeriod <= elapsed).pop() ?? schedule.chargingSchedulePeriod[0];
  return { limit: current.limit, unit: schedule.chargingRateUnit ?? unit };
}

/** Sets a current or power limit (or pauses) on one charger; see the module comment. */
export async function applyLimit(link: ChargerLink, request: LimitRequest, options: LimitOptions = {}): Promise<LimitResult> {
  validateRequest(request);
  const chargerId = link.identity;
  const now = (options.now ?? (() => new Date()))();
  const quirks = options.quirks ?? {};
  const snapshot = options.directory?.snapshot(chargerId);
  const config = await readSmartChargingConfig(link, options);

  const phases = request.phases ?? options.defaultPhases ?? 3;
  const voltage = measuredVoltage(snapshot, request.connector, options.defaultVoltage ?? 230);
  const wantUnit: RateUnit = request.watts !== undefined ? "W" : "A";
  const unit: RateUnit = config.units.includes(wantUnit) ? wantUnit : config.units[0];
  let limit = 0;
  if (!request.pause) {
    const value = (request.watts ?? request.amps) as number;
    const converted = unit === wantUnit ? value : unit === "W" ? toWatts(value, voltage, phases) : toAmps(value, voltage, phases);
    limit = roundLimit(converted, unit);
  }
  const numberPhases = request.phases !== undefined && !quirks.numberPhasesUnsupported ? request.phases : undefined;
  const stackLevel = quirks.stackLevelZero ? 0 : (config.maxStackLevel ?? 0);
  const base = options.profileIdBase ?? DEFAULT_PROFILE_ID_BASE;
  const attempts: LimitAttempt[] = [];
  const inUnit = (value: number, from: RateUnit, to: RateUnit): number =>
    from === to ? value : to === "W" ? toWatts(value, voltage, phases) : toAmps(value, voltage, phases);
  const lease = request.leaseS && request.leaseS > 0 ? await leaseBase(link, request, options, { stackLevel, unit, voltage, phases, base, now }) : undefined;
  /** The last purpose the charger accepted without the read-back showing it in force. */
  let lastAccepted: LimitResult | undefined;

  for (const purpose of options.purposes ?? purposeOrder(request.connector)) {
    let connectorId = purpose === "ChargePointMaxProfile" ? 0 : (request.connector ?? 0);
    let transactionId: number | undefined;
    if (purpose === "TxProfile") {
      const open = (snapshot?.connectors ?? []).filter((c) => c.transactionId !== undefined && (!request.connector || c.connectorId === request.connector));
      if (open.length !== 1) {
        attempts.push({ purpose, connectorId, outcome: open.length === 0 ? "no session running" : "several sessions; give a connector" });
        continue;
      }
      connectorId = open[0].connectorId;
      transactionId = open[0].transactionId as number; // 1.6 ids are numbers
    }
    const profile = buildLimitProfile({
      purpose,
      id: profileId(base, request.connector ?? 0, purpose),
      stackLevel,
      limit,
      unit,
      numberPhases,
      transactionId,
      relative: quirks.relativeProfile,
      now,
      validTo: lease?.validTo ? new Date(lease.validTo) : undefined,
    });
    let status: unknown;
    try {
      const answer = await link.call<{ status?: string }>("SetChargingProfile", { connectorId, csChargingProfiles: profile }, { timeoutMs: options.timeoutMs });
      status = answer?.status;
    } catch (err) {
      const error = classifyCallError(err, chargerId, "SetChargingProfile");
      if (error.kind !== "call_error") throw error;
      attempts.push({ purpose, connectorId, outcome: `CALLERROR ${error.rpcErrorCode ?? ""}`.trim() });
      continue;
    }
    if (status !== "Accepted") {
      attempts.push({ purpose, connectorId, outcome: String(status) });
      continue;
    }
    await clearOtherPurposes(link, options.directory ?? link, request.connector ?? 0, purpose, base, options.timeoutMs);

    const result: LimitResult = {
      chargerId,
      purpose,
      connectorId,
      stackLevel,
      sent: numberPhases === undefined ? { limit, unit } : { limit, unit, numberPhases },
      profile,
      confirmed: false,
      state: "accepted, not read back",
      voltage,
      phases,
      attempts,
    };
    if (lease) result.lease = lease;
    const confirmLease = lease?.validTo && lease.safeA !== undefined && inUnit(limit, unit, "A") > lease.safeA;
    if (options.confirm ?? true) {
      const applied = await readComposite(link, request.connector ?? connectorId, unit, now, options.timeoutMs);
      if (applied === "none") {
        attempts.push({ purpose, connectorId, outcome: "Accepted, but no limit is in force" });
        result.state = "accepted, not in force";
        result.warning = `Charger ${chargerId} accepted the ${purpose} but reports no limit in force`;
        // Accepting the next purpose clears this one (clearOtherPurposes), so only the last accepted profile is installed.
        lastAccepted = result;
        continue;
      }
      if (applied) {
        const amps = roundLimit(inUnit(applied.limit, applied.unit, "A"), "A");
        const watts = roundLimit(inUnit(applied.limit, applied.unit, "W"), "W");
        result.applied = { ...applied, amps, watts };
        const appliedInSent = inUnit(applied.limit, applied.unit, unit);
        const tolerance = unit === "A" ? 0.1 : 1;
        if (appliedInSent > limit + tolerance) {
          attempts.push({ purpose, connectorId, outcome: `Accepted, but ${applied.limit} ${applied.unit} is still in force` });
          result.state = "accepted, not in force";
          result.warning = `Charger ${chargerId} accepted the ${purpose} but still allows ${applied.limit} ${applied.unit}`;
          lastAccepted = result;
          continue;
        }
        result.confirmed = true;
        result.state = "in force";
        if (appliedInSent < limit - tolerance) {
          result.warning = `Another limit on charger ${chargerId} keeps it at ${applied.limit} ${applied.unit}`;
        }
      } else {
        result.warning = `Charger ${chargerId} accepted the limit but would not report its composite schedule`;
      }
      if (confirmLease && lease && result.confirmed) {
        // Does the charger's own schedule show the lease ending? If not, it may ignore validTo.
        const ends = await leaseEnds(link, request.connector ?? connectorId, unit, request.leaseS as number, options.timeoutMs);
        if (ends !== undefined) lease.verified = ends;
        if (ends === false) {
          lease.warning = `Charger ${chargerId} does not show the limit ending at validTo in its composite schedule: it may ignore validity and keep this limit if Node-RED stops`;
          result.warning ??= lease.warning;
        }
      }
    }
    attempts.push({ purpose, connectorId, outcome: "Accepted" });
    const perPhase = inUnit(limit, unit, "A");
    if (!result.warning && perPhase > 0 && perPhase < MIN_CHARGING_AMPS) {
      result.warning = `${roundLimit(perPhase, "A")} A is below the ${MIN_CHARGING_AMPS} A minimum cars accept (IEC 61851): many chargers then charge at ${MIN_CHARGING_AMPS} A or stop on their own. Use pause to stop for sure.`;
    }
    return result;
  }

  // Deliberate choice: a profile the charger accepted but does not show in force stays installed (some
  // firmware applies a limit without reporting it in GetCompositeSchedule), and the answer describes that
  // profile, the last one accepted, because accepting each later purpose cleared the earlier ones.
  if (lastAccepted && !request.pause) {
    const session = lastAccepted.purpose === "TxProfile" ? "; it is a TxProfile, so it ends with the current session" : "";
    lastAccepted.warning = `Charger ${chargerId} accepted the limit as ${lastAccepted.purpose} (id ${String(lastAccepted.profile.chargingProfileId)}), but it is not in force (${lastAccepted.attempts
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

async function readComposite(
  link: ChargerLink,
  connectorId: number,
  unit: RateUnit,
  now: Date,
  timeoutMs: number | undefined,
): Promise<Composite> {
  try {
    const answer = await link.call("GetCompositeSchedule", { connectorId, duration: 300, chargingRateUnit: unit }, { timeoutMs });
    return appliedNow(answer, unit, now);
  } catch (err) {
    const error = classifyCallError(err, link.identity, "GetCompositeSchedule");
    if (error.kind === "call_error") return undefined;
    throw error;
  }
}

/** True when GetCompositeSchedule over the lease shows a later, different period; undefined when it will not say. */
async function leaseEnds(link: ChargerLink, connectorId: number, unit: RateUnit, leaseS: number, timeoutMs: number | undefined): Promise<boolean | undefined> {
  try {
    const answer = await link.call<{ status?: string; chargingSchedule?: { chargingSchedulePeriod?: Array<{ startPeriod: number; limit: number }> } }>(
      "GetCompositeSchedule",
      { connectorId, duration: Math.ceil(leaseS) + 60, chargingRateUnit: unit },
      { timeoutMs },
    );
    if (answer?.status !== "Accepted") return undefined;
    const periods = answer.chargingSchedule?.chargingSchedulePeriod ?? [];
    return periods.some((p) => p.startPeriod > 0 && p.limit !== periods[0].limit);
  } catch (err) {
    const error = classifyCallError(err, link.identity, "GetCompositeSchedule");
    if (error.kind === "call_error") return undefined;
    throw error;
  }
}

export function profileId(base: number, scope: number, purpose: ProfilePurpose): number {
  return base + 10 * scope + PROFILE_PURPOSES.indexOf(purpose);
}

/**
 * Purposes at which applyLimit left a profile, per charger and scope, so a
 * limit set at one purpose later is not held down by our own older limit at
 * another (after a fallback, or a pause that only one purpose honoured).
 * Kept per directory (it outlives reconnects), else per link.
 */
const installedByOwner = new WeakMap<object, Map<string, Set<ProfilePurpose>>>();

function installedSet(owner: object, identity: string, scope: number): Set<ProfilePurpose> {
  let byCharger = installedByOwner.get(owner);
  if (!byCharger) installedByOwner.set(owner, (byCharger = new Map()));
  const key = `${identity}#${scope}`;
  let set = byCharger.get(key);
  if (!set) byCharger.set(key, (set = new Set()));
  return set;
}

async function clearOtherPurposes(link: ChargerLink, owner: object, scope: number, keep: ProfilePurpose, base: number, timeoutMs: number | undefined): Promise<void> {
  const installed = installedSet(owner, link.identity, scope);
  for (const purpose of [...installed]) {
    if (purpose === keep) continue;
    try {
      await link.call("ClearChargingProfile", { id: profileId(base, scope, purpose) }, { timeoutMs });
      installed.delete(purpose);
    } catch (err) {
      const error = classifyCallError(err, link.identity, "ClearChargingProfile");
      if (error.kind !== "call_error") throw error;
    }
  }
  installed.add(keep);
}

/** Removes the limits applyLimit installed for the whole charger (or one connector), so the charger falls back to its own maximum. */
export async function clearLimit(
  link: ChargerLink,
  options: Pick<LimitOptions, "profileIdBase" | "timeoutMs" | "directory"> & { connector?: number } = {},
): Promise<{ chargerId: string; cleared: ProfilePurpose[] }> {
  const base = options.profileIdBase ?? DEFAULT_PROFILE_ID_BASE;
  const scope = options.connector ?? 0;
  const installed = installedSet(options.directory ?? link, link.identity, scope);
  const cleared: ProfilePurpose[] = [];
  for (const purpose of PROFILE_PURPOSES) {
    try {
      const answer = await link.call<{ status?: string }>("ClearChargingProfile", { id: profileId(base, scope, purpose) }, { timeoutMs: options.timeoutMs });
      if (answer?.status === "Accepted") cleared.push(purpose);
      installed.delete(purpose);
    } catch (err) {
      throw classifyCallError(err, link.identity, "ClearChargingProfile");
    }
  }
  return { chargerId: link.identity, cleared };
}

/**
 * Installs (once, or when the safe current changes) the failsafe base: for a
 * whole-charger limit a ChargePointMaxProfile at stack level 0 with the safe
 * current and no end. The leased limit goes above it and falls back to it
 * when the lease ends. A charger that only takes stack level 0 cannot have
 * both: the lease is then dropped (an expired limit there would mean no limit
 * at all).
 *
 * For a limit on one connector the base is a TxDefaultProfile on connector 0
 * at stack level 0 instead, because a ChargePointMaxProfile at the safe
 * current would cap the other connectors too. Why this falls back right
 * (OCPP 1.6 §3.13.1 / §5.16, 2.0.1 K01): a TxDefaultProfile on connector
 * (EVSE) 0 is the default for every connector, and one on a specific
 * connector applies to that connector instead of it. The connector's leased
 * TxDefaultProfile also sits at a higher stack level, so it wins whether a
 * charger picks the specific connector first or the highest stack level
 * among the TxDefault profiles that apply. Past its validTo a profile no
 * longer counts (1.6 §3.13.2, 2.0.1 ChargingProfileType.validTo), which
 * leaves the connector-0 default: the safe current. The cost: a connector
 * with no limit of its own also charges at most at the safe current, so the
 * site manager should list every connector of such a charger. The whole-
 * charger base and the connector base are cached apart (their own ids).
 */
async function leaseBase(
  link: ChargerLink,
  request: LimitRequest,
  options: LimitOptions,
  at: { stackLevel: number; unit: RateUnit; voltage: number; phases: number; base: number; now: Date },
): Promise<LimitResult["lease"]> {
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
      const profile = buildLimitProfile({
        purpose: scoped ? "TxDefaultProfile" : "ChargePointMaxProfile",
        id: at.base + (scoped ? CONNECTOR_BASE_PROFILE_OFFSET : BASE_PROFILE_OFFSET),
        stackLevel: 0,
        limit,
        unit: at.unit,
        now: at.now,
      });
      return (await link.call<{ status?: string }>("SetChargingProfile", { connectorId: 0, csChargingProfiles: profile }, { timeoutMs: options.timeoutMs }))?.status;
    },
  });
}
