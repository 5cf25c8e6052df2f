/**
 * MeterValues → one flat, converted sample per sampled value.
 *
 * Chargers disagree on units (Wh or kWh, W or kW) and often leave out the
 * optional fields, so every sample carries the spec defaults filled in and a
 * value in base units. A value that is not a number never throws: the sample
 * keeps `rawValue`, gets no `value`, and says why in `error`, so nothing is
 * lost silently and one bad field does not hide the good ones.
 */
import type { ConnectorSnapshot, TransactionId } from "./contract";
import type { MeterValue, SampledValue } from "../v16/messages";
import { parseTime } from "./timestamps";

/** Units after conversion: kWh→Wh, kW→W, kvarh→varh, kvar→var, kVA→VA, K/°F→Celsius. */
export type BaseUnit = "Wh" | "varh" | "W" | "var" | "VA" | "A" | "V" | "Hz" | "Celsius" | "Percent" | "rpm" | "";

export interface NormalizedMeterSample {
  connectorId: number;
  transactionId?: TransactionId;
  /** The charger's timestamp of the meterValue this sample belongs to. */
  timestamp: string;
  /** Default per spec: Energy.Active.Import.Register. */
  measurand: string;
  phase?: string;
  /** Default per spec: Outlet. */
  location: string;
  /** Default per spec: Sample.Periodic. */
  context: string;
  /** Default per spec: Raw. */
  format: string;
  /** A BaseUnit for known units; an unknown unit is passed through as sent (see `note`). */
  unit: BaseUnit | string;
  /** Converted number in `unit`; absent for SignedData and for values that are not numbers. */
  value?: number;
  /** The value exactly as sent (for SignedData, the signed blob). */
  rawValue: string;
  /** The unit as sent, when the charger sent one. */
  rawUnit?: string;
  /** Why `value` is missing. */
  error?: string;
  /** Something odd that did not stop conversion (e.g. an unknown unit). */
  note?: string;
  /**
   * Set by the transaction store: older than the newest sample the session
   * already had (queued while offline), so it did not change current values.
   */
  late?: boolean;
}

const DEFAULT_MEASURAND = "Energy.Active.Import.Register";

interface Conversion {
  unit: BaseUnit;
  convert: (v: number) => number;
}

const times = (f: number) => (v: number) => v * f;
const same = (v: number) => v;

/** Keys are lower case: some firmware sends "kwh" or "KW". */
const UNITS: Record<string, Conversion> = {
  wh: { unit: "Wh", convert: same },
  kwh: { unit: "Wh", convert: times(1000) },
  varh: { unit: "varh", convert: same },
  kvarh: { unit: "varh", convert: times(1000) },
  w: { unit: "W", convert: same },
  kw: { unit: "W", convert: times(1000) },
  va: { unit: "VA", convert: same },
  kva: { unit: "VA", convert: times(1000) },
  var: { unit: "var", convert: same },
  kvar: { unit: "var", convert: times(1000) },
  a: { unit: "A", convert: same },
  v: { unit: "V", convert: same },
  hz: { unit: "Hz", convert: same },
  k: { unit: "Celsius", convert: (v) => v - 273.15 },
  celsius: { unit: "Celsius", convert: same },
  // The 1.6 schema carries this misspelling; firmware uses both.
  celcius: { unit: "Celsius", convert: same },
  fahrenheit: { unit: "Celsius", convert: (v) => ((v - 32) * 5) / 9 },
  percent: { unit: "Percent", convert: same },
  rpm: { unit: "rpm", convert: same },
};

/** The units as the spec spells them and as sent in other cases, looked up without lower-casing each time. */
const UNITS_AS_SENT = new Map<string, Conversion>([
  ...Object.entries(UNITS),
  ["Wh", UNITS.wh], ["kWh", UNITS.kwh], ["varh", UNITS.varh], ["kvarh", UNITS.kvarh], ["W", UNITS.w], ["kW", UNITS.kw],
  ["VA", UNITS.va], ["kVA", UNITS.kva], ["var", UNITS.var], ["kvar", UNITS.kvar], ["A", UNITS.a], ["V", UNITS.v],
  ["Hz", UNITS.hz], ["K", UNITS.k], ["Celsius", UNITS.celsius], ["Celcius", UNITS.celcius], ["Fahrenheit", UNITS.fahrenheit],
  ["Percent", UNITS.percent], ["RPM", UNITS.rpm],
]);

function unitConversion(unit: string): Conversion | undefined {
  return UNITS_AS_SENT.get(unit) ?? (Object.hasOwn(UNITS, unit.toLowerCase()) ? UNITS[unit.toLowerCase()] : undefined);
}

/**
 * The spec's default unit is Wh, but it only makes sense for energy
 * measurands; firmware routinely omits the unit for Voltage or Current, so
 * the default follows the measurand.
 */
export function defaultUnit(measurand: string): BaseUnit {
  if (measurand.startsWith("Energy.Reactive")) return "varh";
  if (measurand.startsWith("Energy.")) return "Wh";
  if (measurand.startsWith("Power.Reactive")) return "var";
  if (measurand === "Power.Factor") return "";
  if (measurand.startsWith("Power.")) return "W";
  if (measurand.startsWith("Current.")) return "A";
  if (measurand === "Voltage") return "V";
  if (measurand === "Frequency") return "Hz";
  if (measurand === "Temperature") return "Celsius";
  if (measurand === "SoC") return "Percent";
  if (measurand === "RPM") return "rpm";
  return "";
}

/**
 * Strict decimal parse: "", "12,5", "NaN", "0x10" are not numbers here.
 * Number() does the parsing (it is strict about everything else); what it
 * accepts beyond plain decimals is blank text (as 0) and the 0x/0b/0o
 * prefixes, and those are refused first.
 */
export function parseDecimal(text: string): number | undefined {
  const n = Number(text);
  if (!Number.isFinite(n)) return undefined;
  const t = text.trim();
  if (t === "") return undefined;
  const second = t.charCodeAt(1) | 0x20; // lower case of an ASCII letter
  if (t.charCodeAt(0) === 48 /* 0 */ && (second === 120 /* x */ || second === 98 /* b */ || second === 111) /* o */) return undefined;
  return n;
}

/** Removes binary floating-point noise from scaling (1.001 kWh is 1001 Wh, not 1000.9999999999999). */
function tidy(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

function asText(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** The default, one object for every call (a default `{}` would be a new object per MeterValues). */
const NO_OPTIONS: NormalizeOptions = Object.freeze({});

export interface NormalizeOptions {
  /**
   * Charger quirk: the unit to use for a measurand whatever the charger
   * says, for firmware that labels kWh values as Wh (or sends no unit), e.g.
   * `{ "Energy.Active.Import.Register": "kWh" }`.
   */
  unitOverrides?: Readonly<Record<string, string>>;
}

function normalizeOne(
  connectorId: number,
  transactionId: TransactionId | undefined,
  timestamp: string,
  sv: SampledValue,
  options: NormalizeOptions,
): NormalizedMeterSample {
  const measurand = asText(sv.measurand) ?? DEFAULT_MEASURAND;
  const format = asText(sv.format) ?? "Raw";
  const sentUnit = asText(sv.unit);
  const override = asText(options.unitOverrides?.[measurand]);
  const rawUnit = override ?? sentUnit;
  const rawValue = typeof sv.value === "string" ? sv.value : sv.value === undefined ? "" : String(sv.value);
  if (transactionId !== undefined && sentUnit !== undefined && override === undefined && format === "Raw") {
    // The common sample (a known unit, a number, in a transaction): built in one literal, every field in place, in
    // the same order as below. Objects grown field by field need a second allocation for the fields beyond the literal.
    const conversion = unitConversion(sentUnit);
    const parsed = typeof sv.value === "number" ? (Number.isFinite(sv.value) ? sv.value : undefined) : parseDecimal(rawValue);
    if (conversion && parsed !== undefined) {
      const location = asText(sv.location) ?? "Outlet";
      const context = asText(sv.context) ?? "Sample.Periodic";
      const unit = conversion.unit;
      const value = tidy(conversion.convert(parsed));
      const phase = asText(sv.phase);
      return phase
        ? { connectorId, timestamp, measurand, location, context, format, unit, rawValue, transactionId, phase, rawUnit: sentUnit, value }
        : { connectorId, timestamp, measurand, location, context, format, unit, rawValue, transactionId, rawUnit: sentUnit, value };
    }
  }
  const sample: NormalizedMeterSample = {
    connectorId,
    timestamp,
    measurand,
    location: asText(sv.location) ?? "Outlet",
    context: asText(sv.context) ?? "Sample.Periodic",
    format,
    unit: defaultUnit(measurand),
    rawValue,
  };
  if (transactionId !== undefined) sample.transactionId = transactionId;
  const phase = asText(sv.phase);
  if (phase) sample.phase = phase;
  if (sentUnit) sample.rawUnit = sentUnit;

  if (format === "SignedData") {
    // A signed blob is evidence for billing; converting it would break the signature.
    if (rawUnit) sample.unit = rawUnit;
    return sample;
  }
  // Lenient firmware sends numbers instead of strings; accept those too.
  const parsed = typeof sv.value === "number" ? (Number.isFinite(sv.value) ? sv.value : undefined) : parseDecimal(rawValue);
  const conversion = rawUnit ? unitConversion(rawUnit) : unitConversion(sample.unit);
  if (rawUnit && !conversion) {
    sample.unit = rawUnit;
    sample.note = `unknown unit "${rawUnit}", value not converted`;
  } else if (conversion) {
    sample.unit = conversion.unit;
  }
  if (override && override !== sentUnit) sample.note = `unit taken as ${override} (charger quirk setting; sent ${sentUnit ?? "none"})`;
  if (parsed === undefined) {
    sample.error = rawValue.trim() === "" ? "empty value" : `value "${rawValue}" is not a number`;
    return sample;
  }
  sample.value = conversion ? tidy(conversion.convert(parsed)) : parsed;
  return sample;
}

/**
 * normalizeMeterValues collects its samples here (it runs to the end without yielding) and returns an exact-size copy:
 * an array grown by push keeps room for 16, and the meter event holds the array until Node-RED has delivered it.
 */
const collected: Array<NormalizedMeterSample | undefined> = [];

function timeOf(timestamp: string): number {
  const t = parseTime(timestamp);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/**
 * Flattens MeterValues.meterValue (or StopTransaction.transactionData) into
 * converted samples, sorted by timestamp (oldest first; stable, so samples of
 * one meterValue keep their order). Samples with an unreadable timestamp sort
 * last and carry a note.
 */
export function normalizeMeterValues(
  connectorId: number,
  transactionId: TransactionId | undefined,
  meterValue: readonly MeterValue[] | undefined,
  options: NormalizeOptions = NO_OPTIONS,
): NormalizedMeterSample[] {
  let count = 0;
  // Usually already in order (one meterValue per call), and then no sort and no order keys are needed.
  let previous = Number.NEGATIVE_INFINITY;
  let sorted = true;
  for (const mv of Array.isArray(meterValue) ? meterValue : []) {
    if (!mv || typeof mv !== "object") continue;
    const timestamp = typeof mv.timestamp === "string" ? mv.timestamp : "";
    const t = timeOf(timestamp);
    for (const sv of Array.isArray(mv.sampledValue) ? mv.sampledValue : []) {
      if (!sv || typeof sv !== "object") continue;
      const s = normalizeOne(connectorId, transactionId, timestamp, sv, options);
      if (t === Number.POSITIVE_INFINITY && !s.note) s.note = `timestamp "${timestamp}" is not a date`;
      if (previous > t) sorted = false;
      previous = t;
      collected[count++] = s;
    }
  }
  const out = collected.slice(0, count) as NormalizedMeterSample[];
  for (let i = 0; i < count; i++) collected[i] = undefined;
  if (sorted) return out;
  const keyed = out.map((s, i) => ({ t: timeOf(s.timestamp), i, s }));
  keyed.sort((a, b) => a.t - b.t || a.i - b.i);
  return keyed.map((x) => x.s);
}

/** Latest readings for a ConnectorSnapshot, plus the charger time they are from. */
export type ConnectorReadings = Pick<ConnectorSnapshot, "energyWh" | "powerW" | "currentA" | "voltageV"> & {
  /** Newest timestamp among the samples used. */
  sampleTime?: string;
};

type PhaseKey = "l1" | "l2" | "l3";

/**
 * Phase-to-neutral (or plain Lx) only: line-to-line voltages and N are not
 * what the snapshot's per-phase fields mean. A value without a phase is
 * taken as L1, which is what single-phase chargers mean by it.
 */
function phaseKey(phase: string | undefined): PhaseKey | undefined {
  switch (phase) {
    case undefined:
    case "L1":
    case "L1-N":
      return "l1";
    case "L2":
    case "L2-N":
      return "l2";
    case "L3":
    case "L3-N":
      return "l3";
    default:
      return undefined;
  }
}

/** Outlet readings are what the car gets; EV-side values only if nothing else was sent. */
function locationRank(location: string): number {
  if (location === "Outlet") return 0;
  if (location === "Inlet" || location === "Cable") return 1;
  return 2;
}

function later(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return timeOf(b) > timeOf(a) ? b : a;
}

/** The four readings a snapshot shows: which one a sample is, or -1 (wrong measurand or unit, no value, not Raw). */
const ENERGY = 0;
const POWER = 1;
const CURRENT = 2;
const VOLTAGE = 3;

function readingOf(s: NormalizedMeterSample): number {
  if (s.value === undefined || s.format !== "Raw") return -1;
  switch (s.measurand) {
    case "Energy.Active.Import.Register":
      return s.unit === "Wh" ? ENERGY : -1;
    case "Power.Active.Import":
      return s.unit === "W" ? POWER : -1;
    case "Current.Import":
      return s.unit === "A" ? CURRENT : -1;
    case "Voltage":
      return s.unit === "V" ? VOLTAGE : -1;
    default:
      return -1;
  }
}

// Per reading, the newest time and the best location at that time (see pickConnectorReadings). Module scratch:
// the pick runs to the end without yielding, and this runs for every MeterValues, so no arrays are made per call.
const newestAt = new Float64Array(4);
const bestRank = new Float64Array(4);
const seen = [false, false, false, false];

/**
 * The values a ConnectorSnapshot shows, from one batch of samples: the
 * import register (Wh), active import power (W), and current/voltage per
 * phase, each from the newest timestamp that has it (and at that time the
 * best location: Outlet, then Inlet or Cable, then the rest). A total is the
 * phase-less sample if there is one, else the sum of the per-phase ones.
 * Signed, unconverted and erroneous samples are skipped. Fields with no
 * data are left out.
 */
export function pickConnectorReadings(samples: readonly NormalizedMeterSample[]): ConnectorReadings {
  // Pass 1: which time and location each reading comes from.
  seen[0] = seen[1] = seen[2] = seen[3] = false;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    const r = readingOf(s);
    if (r < 0) continue;
    const t = timeOf(s.timestamp);
    const rank = locationRank(s.location);
    if (!seen[r] || t > newestAt[r] || (t === newestAt[r] && rank < bestRank[r])) {
      seen[r] = true;
      newestAt[r] = t;
      bestRank[r] = rank;
    }
  }
  const out: ConnectorReadings = {};
  if (!seen[0] && !seen[1] && !seen[2] && !seen[3]) return out;
  // Pass 2: the samples from that time and location, in the order sent.
  let energyWh: number | undefined;
  let energyTime: string | undefined;
  let energySum = 0;
  let energySumTime: string | undefined;
  let powerW: number | undefined;
  let powerTime: string | undefined;
  let powerSum = 0;
  let powerSumTime: string | undefined;
  let current: { l1?: number; l2?: number; l3?: number } | undefined;
  let currentTime: string | undefined;
  let voltage: { l1?: number; l2?: number; l3?: number } | undefined;
  let voltageTime: string | undefined;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    const r = readingOf(s);
    if (r < 0 || timeOf(s.timestamp) !== newestAt[r] || locationRank(s.location) !== bestRank[r]) continue;
    const value = s.value as number;
    const key = phaseKey(s.phase);
    if (r === ENERGY) {
      if (s.phase === undefined) {
        if (energyTime === undefined) {
          energyWh = value;
          energyTime = s.timestamp;
        }
      } else if (key !== undefined) {
        energySum += value;
        energySumTime ??= s.timestamp;
      }
    } else if (r === POWER) {
      if (s.phase === undefined) {
        if (powerTime === undefined) {
          powerW = value;
          powerTime = s.timestamp;
        }
      } else if (key !== undefined) {
        powerSum += value;
        powerSumTime ??= s.timestamp;
      }
    } else if (key !== undefined) {
      // An explicit per-phase value wins over a phase-less one taken as L1.
      const phases = r === CURRENT ? (current ??= {}) : (voltage ??= {});
      if (phases[key] === undefined || s.phase !== undefined) {
        phases[key] = value;
        if (r === CURRENT) currentTime = s.timestamp;
        else voltageTime = s.timestamp;
      }
    }
  }
  if (energyTime === undefined && energySumTime !== undefined) {
          energyWh = tidy(energySum);
          energyTime = energySumTime;
        }
  if (powerTime === undefined && powerSumTime !== undefined) {
          powerW = tidy(powerSum);
          powerTime = powerSumTime;
        }
  if (energyTime !== undefined) {
    out.energyWh = energyWh;
    out.sampleTime = energyTime;
  }
  if (powerTime !== undefined) {
    out.powerW = powerW;
    out.sampleTime = later(out.sampleTime, powerTime);
  }
  if (currentTime !== undefined) {
    out.currentA = current;
    out.sampleTime = later(out.sampleTime, currentTime);
  }
  if (voltageTime !== undefined) {
    out.voltageV = voltage;
    out.sampleTime = later(out.sampleTime, voltageTime);
  }
  return out;
}
