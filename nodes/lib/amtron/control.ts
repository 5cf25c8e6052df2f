/**
 * Control of an AMTRON wallbox. Every write is confirmed by reading the
 * wallbox back: it answers 200 to many requests it then ignores (a pause
 * with no car, a current in the wrong mode), and a flow must know.
 */
import { sleep } from "../backoff";
import type { AmtronClient } from "./client";
import type { ChargeCommand, ChargeData, DevInfo, DevMode } from "./types";

/** AMTRON units go up to 32 A (22 kW); used when the wallbox reports no limit (0). */
export const FALLBACK_MAX_CURRENT_A = 32;
/** Three-phase units cannot set RemoteCurr below this (IEC 61851 minimum). */
export const THREE_PHASE_MIN_CURRENT_A = 6;

export class ControlError extends Error {
  /** "invalid": the request was refused before sending; "not_applied": the wallbox did not take it. */
  readonly kind: "invalid" | "not_applied";

  constructor(kind: "invalid" | "not_applied", message: string) {
    super(message);
    this.name = "ControlError";
    this.kind = kind;
  }
}

export interface ReadBackOptions {
  /** Reads after a write before giving up (default 3). */
  readBackAttempts?: number;
  /** Pause between those reads (default 1 s): a real wallbox takes a moment to switch states. */
  readBackDelayMs?: number;
  signal?: AbortSignal;
}

export interface ControlResult {
  action: "current" | "pause" | "continue" | "start" | "terminate" | "demand" | "mode";
  requested: unknown;
  applied: unknown;
  /** True when the wallbox had to be switched to app control (Remote) first. */
  modeSwitched?: boolean;
  /** Set when the requested current was clamped into the allowed range. */
  clamped?: boolean;
  chargeData?: ChargeData;
  devInfo?: DevInfo;
}

export interface CurrentLimits {
  min: number;
  max: number;
  phases?: number;
  /** Where max came from, for error messages. */
  maxSource: string;
}

export function currentLimits(devInfo: DevInfo): CurrentLimits {
  const candidates: Array<[number, string]> = [];
  if (typeof devInfo.MaxCurrWb === "number" && devInfo.MaxCurrWb > 0) candidates.push([devInfo.MaxCurrWb, "its hardware maximum, MaxCurrWb"]);
  if (typeof devInfo.MaxCurr === "number" && devInfo.MaxCurr > 0) candidates.push([devInfo.MaxCurr, "the installation maximum, MaxCurr"]);
  candidates.sort((a, b) => a[0] - b[0]);
  const [max, maxSource] = candidates[0] ?? [FALLBACK_MAX_CURRENT_A, "the AMTRON maximum; the wallbox reports no limit of its own"];
  const threePhase = typeof devInfo.Phases === "number" && devInfo.Phases >= 3;
  return { min: threePhase ? THREE_PHASE_MIN_CURRENT_A : 0, max, phases: devInfo.Phases, maxSource };
}

/** Checks a requested current; with `clamp` a value out of range is moved into it instead. */
export function checkCurrent(requested: unknown, limits: CurrentLimits, clamp = false): { amps: number; clamped: boolean } {
  const value = typeof requested === "string" && requested.trim() !== "" ? Number(requested) : requested;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ControlError("invalid", `The charging current must be a number of amps, e.g. 10 (got ${JSON.stringify(requested) ?? String(requested)})`);
  }
  if (value < 0) throw new ControlError("invalid", `The charging current cannot be negative (got ${value} A). To stop charging, send topic "pause".`);
  // The wallbox takes whole amps; rounding down never exceeds what was asked for.
  const amps = Math.floor(value);
  if (amps < limits.min) {
    if (clamp) return { amps: limits.min, clamped: true };
    throw new ControlError(
      "invalid",
      `This wallbox runs on ${limits.phases} phases and cannot charge below ${limits.min} A (asked for ${value} A). To stop charging, send topic "pause".`,
    );
  }
  if (amps > limits.max) {
    if (clamp) return { amps: limits.max, clamped: true };
    throw new ControlError("invalid", `The most this wallbox allows is ${limits.max} A (${limits.maxSource}); asked for ${value} A.`);
  }
  return { amps, clamped: amps !== value };
}

async function readBack<T>(read: () => Promise<T>, applied: (value: T) => boolean, options: ReadBackOptions): Promise<{ value: T; ok: boolean }> {
  const attempts = Math.max(1, options.readBackAttempts ?? 3);
  let value = await read();
  for (let attempt = 1; attempt < attempts && !applied(value); attempt++) {
    await sleep(options.readBackDelayMs ?? 1000, options.signal);
    value = await read();
  }
  return { value, ok: applied(value) };
}

/** Switches DevMode (Remote = "App control", HomeManager = energy manager, Time = tariff times). */
export async function setMode(client: AmtronClient, mode: DevMode, options: ReadBackOptions = {}, known?: DevInfo): Promise<{ switched: boolean; devInfo: DevInfo }> {
  const before = known ?? (await client.getDevInfo(options.signal));
  if (before.DevMode === mode) return { switched: false, devInfo: before };
  await client.postDevInfo(
    { DevName: null, LocTime: null, Summer: null, Tz: null, FixedVehCosts: null, OldVehCosts: null, Battery: null, DevMode: mode },
    options.signal,
  );
  const { value, ok } = await readBack(() => client.getDevInfo(options.signal), (d) => d.DevMode === mode, options);
  if (!ok) {
    throw new ControlError("not_applied", `The wallbox did not switch to ${mode} mode: it still reports ${String(value.DevMode)}.`);
  }
  return { switched: true, devInfo: value };
}

export interface SetCurrentOptions extends ReadBackOptions {
  /** Store in flash; false (default) suits frequent changes such as PV surplus charging. */
  permanent?: boolean;
  clamp?: boolean;
}

export async function setCurrent(client: AmtronClient, requested: unknown, options: SetCurrentOptions = {}): Promise<ControlResult> {
  const devInfo = await client.getDevInfo(options.signal);
  const { amps, clamped } = checkCurrent(requested, currentLimits(devInfo), options.clamp);
  // RemoteCurr only counts in app control mode.
  const mode = await setMode(client, "Remote", options, devInfo);
  await client.postChargeData({ Permanent: options.permanent ?? false, RemoteCurr: amps, AutoChg: null, ChgState: null, Uid: null }, options.signal);
  const { value, ok } = await readBack(() => client.getChargeData(options.signal), (c) => c.RemoteCurr === amps, options);
  if (!ok) {
    throw new ControlError("not_applied", `The wallbox did not take the new current: it still reports ${String(value.RemoteCurr)} A instead of ${amps} A.`);
  }
  return { action: "current", requested, applied: amps, clamped, modeSwitched: mode.switched, chargeData: value, devInfo: mode.devInfo };
}

const COMMAND_RESULTS: Record<ChargeCommand, readonly string[]> = {
  Pause: ["Paused"],
  Continue: ["Charging", "StandbyConnect"],
  Start: ["Charging", "StandbyConnect"],
  Terminate: ["Terminated", "Idle"],
};

export async function chargeCommand(client: AmtronClient, command: ChargeCommand, options: ReadBackOptions = {}): Promise<ControlResult> {
  await client.postChargeData(
    // A start needs the "any card" Uid; otherwise the wallbox waits for an RFID tag.
    { Permanent: false, RemoteCurr: null, AutoChg: null, ChgState: command, Uid: command === "Start" ? "00000000" : null },
    options.signal,
  );
  const expected = COMMAND_RESULTS[command];
  const { value, ok } = await readBack(() => client.getChargeData(options.signal), (c) => expected.includes(c.ChgState), options);
  if (!ok) {
    const hint = value.ChgState === "Idle" ? " Is a car plugged in?" : "";
    throw new ControlError("not_applied", `The wallbox did not ${command.toLowerCase()}: it still reports ${value.ChgState}.${hint}`);
  }
  return { action: command.toLowerCase() as ControlResult["action"], requested: command, applied: value.ChgState, chargeData: value };
}

export interface DemandRequest {
  energyWh: unknown;
  minutes: unknown;
  /** Charge only from surplus (solar) energy. */
  excessEnergy?: unknown;
  permanent?: boolean;
}

function wholeNumber(value: unknown, what: string, example: string): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    throw new ControlError("invalid", `The energy demand needs ${what} as a number of at least 0, e.g. ${example} (got ${JSON.stringify(value) ?? String(value)})`);
  }
  return Math.round(n);
}

/** Energy-manager demand: how much energy the car needs and by when (minutes from plug-in). */
export async function demand(client: AmtronClient, request: DemandRequest, options: ReadBackOptions = {}): Promise<ControlResult> {
  const energyWh = wholeNumber(request.energyWh, "energyWh (Wh)", "15000");
  const minutes = wholeNumber(request.minutes, "minutes", "480");
  if (request.excessEnergy !== undefined && typeof request.excessEnergy !== "boolean") {
    throw new ControlError("invalid", "excessEnergy must be true or false");
  }
  await client.postHomeManager(
    { Permanent: request.permanent ?? false, NrgDemand: energyWh, ExcessNrg: request.excessEnergy ?? null, SolarPrice: null, RemTime: minutes },
    options.signal,
  );
  // RemTime counts down once set, so only the demand itself can be compared.
  const { value, ok } = await readBack(() => client.getChargeData(options.signal), (c) => c.NrgDemand === energyWh, options);
  if (!ok) {
    throw new ControlError("not_applied", `The wallbox did not take the energy demand: it still reports ${String(value.NrgDemand)} Wh instead of ${energyWh} Wh.`);
  }
  return { action: "demand", requested: { energyWh, minutes }, applied: { energyWh: value.NrgDemand, minutes: value.RemTime }, chargeData: value };
}
