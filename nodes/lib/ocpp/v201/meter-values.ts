/**
 * OCPP 2.0.1 meter values → the core's normalised samples. 2.0.1 sends
 * numbers with a unit of measure and a power-of-ten multiplier; the
 * multiplier is applied here, then the 1.6 normaliser does the unit
 * conversion, so Wh / W / A / V come out the same for both versions.
 */
import type { TransactionId } from "../core/contract";
import { normalizeMeterValues, type NormalizedMeterSample } from "../core/meter-values";
import type { MeterValue, SampledValue } from "../v16/messages";
import type { MeterValue201 } from "./messages";

/** The most meter values one call may carry that we read (the rest is ignored, and said so). */
export const MAX_METER_VALUES = 200;

function toSampledValue(sv: unknown): SampledValue | undefined {
  if (!sv || typeof sv !== "object") return undefined;
  const v = sv as Record<string, unknown>;
  const unit = v.unitOfMeasure && typeof v.unitOfMeasure === "object" ? (v.unitOfMeasure as { unit?: unknown; multiplier?: unknown }) : {};
  const multiplier = typeof unit.multiplier === "number" && Number.isInteger(unit.multiplier) ? unit.multiplier : 0;
  const number = typeof v.value === "number" ? v.value : typeof v.value === "string" ? Number(v.value) : Number.NaN;
  // 10^m as a division for negative m keeps 1234 × 10^-3 at 1.234 instead of 1.2340000000000002.
  const scaled = multiplier === 0 ? number : multiplier > 0 ? number * 10 ** multiplier : number / 10 ** -multiplier;
  const out: Record<string, unknown> = { value: Number.isFinite(scaled) ? String(scaled) : String(v.value ?? "") };
  for (const field of ["context", "measurand", "phase", "location"] as const) if (typeof v[field] === "string") out[field] = v[field];
  if (typeof unit.unit === "string") out.unit = unit.unit;
  return out as unknown as SampledValue;
}

/** Flattens 2.0.1 meterValue into converted samples keyed by the EVSE (the core's connectorId). */
export function normalizeMeterValues201(evseId: number, transactionId: TransactionId | undefined, meterValue: readonly MeterValue201[] | undefined): NormalizedMeterSample[] {
  const converted: MeterValue[] = [];
  for (const mv of (Array.isArray(meterValue) ? meterValue : []).slice(0, MAX_METER_VALUES)) {
    if (!mv || typeof mv !== "object") continue;
    const sampled = ((Array.isArray(mv.sampledValue) ? mv.sampledValue : []) as unknown[]).map(toSampledValue).filter((s): s is SampledValue => s !== undefined);
    converted.push({ timestamp: mv.timestamp, sampledValue: sampled });
  }
  return normalizeMeterValues(evseId, transactionId, converted);
}
