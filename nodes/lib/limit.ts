/**
 * One limit contract for every charger node (OCPP command, Charge Amps,
 * AMTRON): `msg.topic = "limit"`, payload `{amps, phases?}` or `{watts,
 * phases?}` or a bare number of amps; 0 (or `{pause: true}`) pauses. Each node
 * answers with a LimitAnswer saying what the charger actually applied, read
 * back from it, so a charger that does not follow is detectable.
 */

export const LIMIT_TOPIC = "limit";

export class LimitInputError extends Error {
  override readonly name = "LimitInputError";
}

export interface LimitInput {
  /** A per phase, 0 = pause. */
  amps: number;
  /** Phases asked for, when given. */
  phases?: number;
  pause: boolean;
  /** The payload as sent, for the answer. */
  requested: unknown;
}

export interface LimitAnswer {
  chargerId?: string;
  requested: unknown;
  applied: {
    /** A per phase in force after the write, read back from the charger. */
    amps: number;
    paused: boolean;
    phases?: number;
    /** The charger cannot switch phases, so `phases` was not applied. */
    phasesIgnored?: boolean;
  };
  /** The charger reports what was asked for (within rounding). */
  followed: boolean;
  /** Why it differs, when it does. */
  warning?: string;
  /** OCPP failsafe lease: until when the limit holds before the charger falls back to safeA. */
  lease?: { validTo: string; safeA?: number; base?: string; warning?: string; verified?: boolean };
}

const HINT = 'e.g. {"amps": 10}, {"amps": 6, "phases": 1}, {"watts": 4000} or 0 to pause';

/** Reads the common limit payload; watts become amps at `voltageV` over the phases given (or `defaultPhases`). */
export function parseLimit(payload: unknown, voltageV = 230, defaultPhases = 3): LimitInput {
  const value = typeof payload === "string" && payload.trim() !== "" ? Number(payload) : payload;
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw new LimitInputError(`limit: the current must be 0 or more amps, got ${String(payload)} (${HINT})`);
    return { amps: value, pause: value === 0, requested: payload };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new LimitInputError(`limit: msg.payload must be a limit, ${HINT}; got ${JSON.stringify(payload) ?? String(payload)}`);
  const obj = value as { amps?: unknown; watts?: unknown; phases?: unknown; pause?: unknown };
  let phases: number | undefined;
  if (obj.phases !== undefined) {
    if (obj.phases !== 1 && obj.phases !== 3 && obj.phases !== 2) throw new LimitInputError(`limit: phases must be 1 or 3, got ${JSON.stringify(obj.phases)}`);
    phases = obj.phases;
  }
  if (obj.pause === true) return { amps: 0, phases, pause: true, requested: payload };
  const given = [obj.amps, obj.watts].filter((v) => v !== undefined);
  if (given.length !== 1) throw new LimitInputError(`limit: give either amps or watts, ${HINT}`);
  const number = Number(given[0]);
  if (typeof given[0] === "boolean" || !Number.isFinite(number) || number < 0) throw new LimitInputError(`limit: the limit must be a number of 0 or more, got ${JSON.stringify(given[0])}`);
  const amps = obj.watts !== undefined ? number / voltageV / (phases ?? defaultPhases) : number;
  return { amps: Math.floor(amps * 10) / 10, phases, pause: amps === 0, requested: payload };
}

/** True when `applied` is `wanted` within half an amp (chargers round to whole amps). */
export function followed(wantedA: number, appliedA: number): boolean {
  return Math.abs(wantedA - appliedA) <= 0.5 + 1e-9 || appliedA <= wantedA;
}

/** The part of the OCPP limit result (nodes/lib/ocpp/v16/smart-charging.ts) the common answer needs. */
export interface OcppLimitOutcome {
  chargerId?: string;
  sent?: { limit: number; unit: string; numberPhases?: number };
  applied?: { amps: number };
  phases?: number;
  /** OCPP 2.0.1: phases were asked for but not sent (the charger does not say it can switch). */
  phasesIgnored?: boolean;
  warning?: string;
  lease?: LimitAnswer["lease"];
}

/** The OCPP answer in the common shape; `applied` comes from GetCompositeSchedule when the charger reports it. */
export function ocppLimitAnswer(outcome: OcppLimitOutcome, requested: unknown, wantedA: number | undefined): LimitAnswer {
  const amps = outcome.applied?.amps;
  const answer: LimitAnswer = {
    chargerId: outcome.chargerId,
    requested,
    applied: { amps: amps ?? Number.NaN, paused: amps === 0, phases: outcome.sent?.numberPhases ?? outcome.phases },
    followed: amps !== undefined && (wantedA === undefined || followed(wantedA, amps)),
  };
  if (amps === undefined) answer.applied.amps = wantedA ?? 0;
  if (outcome.phasesIgnored) {
    delete answer.applied.phases;
    answer.applied.phasesIgnored = true;
  }
  if (outcome.lease) answer.lease = outcome.lease;
  if (outcome.warning ?? outcome.lease?.warning) answer.warning = outcome.warning ?? outcome.lease?.warning;
  else if (amps === undefined) answer.warning = "The charger did not report the limit in force (GetCompositeSchedule), so it is not confirmed";
  return answer;
}
