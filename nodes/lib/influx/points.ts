/**
 * Turns message payloads into InfluxDB points. The client library's Point
 * does the line-protocol escaping; this module decides measurement, tags,
 * field types and timestamp.
 *
 * Accepted payloads (one, or an array of them):
 *  - a point: `{measurement?, tags?, fields, timestamp?}`;
 *  - an AvailabilityRecord (site, available, total, time, ...): written in
 *    the seed's layout, measurement `charger_availability`, tags site /
 *    weekday / hour_of_day, integer fields available and total;
 *  - a reading as the change detector publishes it, `{samplingTime, value}`
 *    (or `{SamplingTime, Value}`) with topic `<prefix>/<charger>/<reading>`:
 *    tag `charger`, one field named after the reading, time = samplingTime;
 *  - any other plain object: its keys are the fields;
 *  - an ev-ocpp-in event (status, session start/end, meter values): the
 *    points of ./ocpp.ts (measurements ocpp_status, ocpp_session, ocpp_meter);
 *  - a number / boolean / string: one field named `value`.
 * Field values: number, string, boolean, or `{int: n}` / `{uint: n}` /
 * `{float: n}` to force a type. Whole JS numbers are floats unless the
 * "whole numbers as integers" option is on, because InfluxDB refuses a field
 * that changes type (3 then 3.5) and a float field never hits that.
 */
import { dateToProtocolTimestamp, Point, type WritePrecisionType } from "@influxdata/influxdb-client";
import { localTimeParts } from "../time";
import { ocppPoints } from "./ocpp";

export type FieldValue = number | string | boolean | { int: number } | { uint: number } | { float: number };

export interface PointInput {
  measurement?: string;
  tags?: Record<string, string | number | boolean>;
  fields: Record<string, FieldValue>;
  /** Date, ISO 8601 string or epoch milliseconds. */
  timestamp?: Date | string | number;
}

export interface PointDefaults {
  measurement?: string;
  tags?: Record<string, string>;
  /** Used when a point has no timestamp of its own (e.g. msg.timestamp). */
  timestamp?: Date | string | number;
  integers: "float" | "integer";
  /** Adds `weekday` and `hour_of_day` tags computed in this zone ("" = machine zone). */
  timeTags?: { timeZone?: string };
  precision: WritePrecisionType;
  now?: () => Date;
  /** msg.topic, for readings published per field (`<prefix>/<charger>/<reading>`). */
  topic?: string;
}

export const AVAILABILITY_MEASUREMENT = "charger_availability";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

export function toDate(value: Date | string | number, what = "timestamp"): Date {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`The ${what} ${JSON.stringify(value)} is not a date (use ISO 8601 text, epoch milliseconds or a Date)`);
  return date;
}

function looksLikeAvailability(value: Record<string, unknown>): boolean {
  return typeof value.site === "string" && typeof value.available === "number" && typeof value.total === "number" && !("fields" in value);
}

function fromAvailability(record: Record<string, unknown>): PointInput {
  const tags: Record<string, string | number> = { site: String(record.site) };
  if (typeof record.weekday === "string") tags.weekday = record.weekday;
  if (typeof record.hourOfDay === "number") tags.hour_of_day = record.hourOfDay;
  return {
    measurement: AVAILABILITY_MEASUREMENT,
    tags,
    fields: { available: { int: record.available as number }, total: { int: record.total as number } },
    timestamp: typeof record.time === "string" || typeof record.time === "number" ? record.time : undefined,
  };
}

function fromReading(value: Record<string, unknown>, topic: string | undefined): PointInput | undefined {
  const keys = Object.keys(value);
  if (keys.length !== 2) return undefined;
  const time = value.samplingTime ?? value.SamplingTime;
  const reading = value.value ?? value.Value;
  if (time === undefined || reading === undefined || typeof time !== "string") return undefined;
  const parts = (topic ?? "").split("/").filter(Boolean);
  if (parts.length < 2) return undefined;
  if (typeof reading !== "number" && typeof reading !== "string" && typeof reading !== "boolean") return undefined;
  return { tags: { charger: parts[parts.length - 2] }, fields: { [parts[parts.length - 1]]: reading }, timestamp: time };
}

/** Normalises one payload element into the point shape. */
export function toPointInput(value: unknown, topic?: string): PointInput {
  if (isPlainObject(value)) {
    // The explicit point shape first: the common case at high rates, and neither other shape has `fields`.
    if ("fields" in value) {
      if (!isPlainObject(value.fields)) throw new Error("`fields` must be an object of field names to values");
      if (value.tags !== undefined && !isPlainObject(value.tags)) throw new Error("`tags` must be an object of tag names to values");
      if (value.measurement !== undefined && typeof value.measurement !== "string") throw new Error("`measurement` must be text");
      return value as unknown as PointInput;
    }
    if (looksLikeAvailability(value)) return fromAvailability(value);
    const reading = fromReading(value, topic);
    if (reading) return reading;
    return { fields: value as Record<string, FieldValue> };
  }
  if (typeof value === "number" || typeof value === "string" || typeof value === "boolean") return { fields: { value } };
  throw new Error(`Cannot write ${value === null ? "null" : typeof value} as a point: send {fields: {...}}, an object of fields or a number`);
}

function typedNumber(name: string, kind: string, n: unknown): number {
  if (typeof n !== "number" || !Number.isFinite(n)) throw new Error(`Field "${name}": ${kind} must be a finite number`);
  return n;
}

function addField(point: Point, name: string, value: unknown, integers: "float" | "integer"): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`Field "${name}" is ${value}; InfluxDB stores finite numbers only`);
    if (integers === "integer" && Number.isInteger(value)) point.intField(name, value);
    else point.floatField(name, value);
  } else if (typeof value === "string") point.stringField(name, value);
  else if (typeof value === "boolean") point.booleanField(name, value);
  else if (isPlainObject(value) && Object.keys(value).length === 1) {
    if ("int" in value) {
      const n = typedNumber(name, "int", value.int);
      if (!Number.isSafeInteger(n)) throw new Error(`Field "${name}": ${n} is not a whole number`);
      point.intField(name, n);
    } else if ("uint" in value) {
      const n = typedNumber(name, "uint", value.uint);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`Field "${name}": ${n} is not a whole number >= 0`);
      point.uintField(name, n);
    } else if ("float" in value) point.floatField(name, typedNumber(name, "float", value.float));
    else throw new Error(`Field "${name}": unknown type "${Object.keys(value)[0]}" (use int, uint or float)`);
  } else {
    throw new Error(`Field "${name}" is ${Array.isArray(value) ? "a list" : typeof value}; fields take numbers, text or true/false`);
  }
  return true;
}

function addTag(point: Point, name: string, tagValue: unknown): void {
  if (tagValue === null || tagValue === undefined || tagValue === "") return;
  if (typeof tagValue === "object") throw new Error(`Tag "${name}" must be text, a number or true/false`);
  point.tag(name, String(tagValue));
}

/** The library's line settings per precision, made once (toLine runs for every point). */
const LINE_SETTINGS = Object.fromEntries(
  (["ns", "us", "ms", "s"] as const).map((p) => [p, { convertTime: (t: string | number | Date | undefined) => dateToProtocolTimestamp[p](t as Date) }]),
) as Record<WritePrecisionType, { convertTime: (t: string | number | Date | undefined) => string | undefined }>;

/** One line of line protocol for one payload element. */
export function toLine(value: unknown, defaults: PointDefaults): string {
  const input = toPointInput(value, defaults.topic);
  const measurement = input.measurement || defaults.measurement;
  if (!measurement) throw new Error("No measurement: set one in the node or send msg.measurement / payload.measurement");
  const point = new Point(measurement);
  const when = toDate(input.timestamp ?? defaults.timestamp ?? (defaults.now ?? (() => new Date()))());
  // A point's own tags win over the message's, and both over the time tags.
  const own = input.tags;
  if (defaults.tags) for (const name in defaults.tags) if (!own || !(name in own)) addTag(point, name, defaults.tags[name]);
  if (own) for (const name in own) addTag(point, name, own[name]);
  if (defaults.timeTags) {
    const given = (name: string): unknown => (own && name in own ? own[name] : defaults.tags?.[name]);
    const parts = localTimeParts(when, defaults.timeTags.timeZone || undefined);
    if (given("weekday") === undefined || given("weekday") === null) addTag(point, "weekday", parts.weekday);
    if (given("hour_of_day") === undefined || given("hour_of_day") === null) addTag(point, "hour_of_day", parts.hourOfDay);
  }
  let fieldCount = 0;
  const fields = input.fields;
  for (const name in fields) {
    if (addField(point, name, fields[name], defaults.integers)) fieldCount++;
  }
  if (fieldCount === 0) throw new Error("A point needs at least one field with a value");
  point.timestamp(when);
  const line = point.toLineProtocol(LINE_SETTINGS[defaults.precision]);
  if (!line) throw new Error("Could not build the point");
  return line;
}

/**
 * Lines for a payload that is one point or an array of them. An ev-ocpp-in
 * event becomes its points (see ./ocpp.ts), none for kinds not stored.
 */
export function toLines(payload: unknown, defaults: PointDefaults): string[] {
  const items = Array.isArray(payload) ? payload : [payload];
  const lines: string[] = [];
  for (let index = 0; index < items.length; index++) {
    try {
      const item: unknown = items[index];
      const points = isPlainObject(item) && "kind" in item ? ocppPoints(item) : undefined;
      if (points) for (const point of points) lines.push(toLine(point, defaults));
      else lines.push(toLine(item, defaults));
    } catch (err) {
      if (items.length === 1) throw err;
      throw new Error(`Point ${index + 1} of ${items.length}: ${(err as Error).message}`, { cause: err });
    }
  }
  return lines;
}
