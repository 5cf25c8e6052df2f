/**
 * Turns a message into rows. `msg.payload` is a row object or an array of
 * rows; keys are column names. For the `ev_readings` layout it may also be
 * one reading as the change detector / seed publishes it
 * (`{samplingTime, value}` or `{SamplingTime, Value}` with the topic
 * `<prefix>/<charger>/<reading>`), or a whole ChargerState (one row per value).
 */
import { isOperationState } from "../types";
import { checkIdentifier } from "./sql";

export type Row = Record<string, unknown>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

export interface RowDefaults {
  /** Column filled with `timestamp` (or now) when a row lacks it; "" for none. */
  timeColumn: string;
  timestamp?: Date | string | number;
  now?: () => Date;
}

function toTime(value: Date | string | number): Date {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`The timestamp ${JSON.stringify(value)} is not a date (use ISO 8601 text, epoch milliseconds or a Date)`);
  return date;
}

/** Checks every key and fills the time column; returns new row objects. */
export function toRows(payload: unknown, defaults: RowDefaults): Row[] {
  const items = Array.isArray(payload) ? payload : [payload];
  if (items.length === 0) throw new Error("msg.payload is an empty list: nothing to write");
  return items.map((item, index) => {
    const where = items.length > 1 ? `Row ${index + 1} of ${items.length}: ` : "";
    if (!isPlainObject(item)) throw new Error(`${where}a row must be an object of column names to values, not ${item === null ? "null" : typeof item}`);
    const row: Row = {};
    for (const [key, value] of Object.entries(item)) {
      try {
        checkIdentifier(key, "Column");
      } catch (err) {
        throw new Error(`${where}${(err as Error).message}`, { cause: err });
      }
      if (value !== undefined) row[key] = value;
    }
    if (Object.keys(row).length === 0) throw new Error(`${where}the row has no columns`);
    if (defaults.timeColumn && (row[defaults.timeColumn] === undefined || row[defaults.timeColumn] === null)) {
      row[defaults.timeColumn] = defaults.timestamp !== undefined ? toTime(defaults.timestamp) : (defaults.now ?? (() => new Date()))();
    }
    return row;
  });
}

/** A value as a query parameter: objects become JSON text, so jsonb columns take them. */
export function toParameter(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof Date || value === null) return value;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "object") return JSON.stringify(value);
  return value;
}

// ------------------------------------------------------------ ev_readings

function pick(obj: Record<string, unknown>, ...keys: string[]): unknown {
  for (const key of keys) if (obj[key] !== undefined) return obj[key];
  return undefined;
}

function readingRow(time: unknown, charger: string, reading: string, value: unknown): Row {
  const row: Row = { time, charger, reading, value: null, value_text: null, state: null };
  if (typeof value === "number") row.value = value;
  else if (typeof value === "boolean") row.value = value ? 1 : 0;
  else if (isOperationState(value)) row.state = value;
  else if (value !== null && value !== undefined) row.value_text = typeof value === "string" ? value : JSON.stringify(value);
  return row;
}

/** Flattens a ChargerState into one reading per value (phases as currentA.l1 ...). */
function chargerStateRows(state: Record<string, unknown>): Row[] {
  const charger = String(state.chargerId);
  const time = state.samplingTime;
  const rows: Row[] = [];
  const skip = new Set(["chargerId", "samplingTime", "raw", "source"]);
  for (const [key, value] of Object.entries(state)) {
    if (skip.has(key) || value === undefined) continue;
    if (isPlainObject(value)) {
      for (const [sub, subValue] of Object.entries(value)) rows.push(readingRow(time, charger, `${key}.${sub}`, subValue));
    } else rows.push(readingRow(time, charger, key, value));
  }
  return rows;
}

export interface ReadingContext {
  topic?: unknown;
  charger?: unknown;
  reading?: unknown;
}

/**
 * Rows for the ev_readings layout, or undefined when the payload is already
 * in row form (then toRows handles it).
 */
export function evReadingRows(payload: unknown, ctx: ReadingContext): Row[] | undefined {
  if (!isPlainObject(payload)) return undefined;
  if (typeof payload.chargerId === "string" && typeof payload.samplingTime === "string" && "operationState" in payload) {
    return chargerStateRows(payload);
  }
  const value = pick(payload, "value", "Value");
  const time = pick(payload, "samplingTime", "SamplingTime");
  if (value === undefined || time === undefined || "charger" in payload) return undefined;
  const parts = typeof ctx.topic === "string" ? ctx.topic.split("/").filter(Boolean) : [];
  const charger = typeof ctx.charger === "string" ? ctx.charger : parts.at(-2);
  const reading = typeof ctx.reading === "string" ? ctx.reading : parts.at(-1);
  if (!charger || !reading) {
    throw new Error("A reading needs a charger and a reading name: send topic <prefix>/<charger>/<reading>, or msg.charger and msg.reading");
  }
  return [readingRow(time, charger, reading, value)];
}
