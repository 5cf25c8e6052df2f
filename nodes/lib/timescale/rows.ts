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

/** Column names already checked, so a stream of rows of one shape checks each name once. */
const checkedColumns = new Set<string>();

function checkColumn(key: string): void {
  if (checkedColumns.has(key)) return;
  checkIdentifier(key, "Column");
  if (checkedColumns.size < 10_000) checkedColumns.add(key);
}

/**
 * Checks every key and fills the time column. A row that needs no change
 * (every value set, time present) is kept as it is, not copied: a message
 * belongs to the node it was sent to, and at bulk rates a copy of every
 * row is work for the garbage collector. Other rows are copied, so the
 * caller's object is never changed.
 */
export function toRows(payload: unknown, defaults: RowDefaults): Row[] {
  const items = Array.isArray(payload) ? payload : [payload];
  if (items.length === 0) throw new Error("msg.payload is an empty list: nothing to write");
  const timeColumn = defaults.timeColumn;
  let time: Date | undefined;
  // Rows of a message mostly share their keys: those are checked once.
  let checkedKeys: string[] = [];
  const rows: Row[] = new Array<Row>(items.length);
  for (let index = 0; index < items.length; index++) {
    const item: unknown = items[index];
    if (!isPlainObject(item)) throw new Error(`${rowWhere(index, items.length)}a row must be an object of column names to values, not ${item === null ? "null" : typeof item}`);
    const keys = Object.keys(item);
    if (!sameKeys(keys, checkedKeys)) {
      for (const key of keys) {
        try {
          checkColumn(key);
        } catch (err) {
          throw new Error(`${rowWhere(index, items.length)}${(err as Error).message}`, { cause: err });
        }
      }
      checkedKeys = keys;
    }
    let columns = 0;
    for (let k = 0; k < keys.length; k++) if (item[keys[k]] !== undefined) columns++;
    if (columns === 0) throw new Error(`${rowWhere(index, items.length)}the row has no columns`);
    const needsTime = timeColumn !== "" && (item[timeColumn] === undefined || item[timeColumn] === null);
    if (columns === keys.length && !needsTime) {
      rows[index] = item;
      continue;
    }
    const row: Row = {};
    for (const key of keys) if (item[key] !== undefined) row[key] = item[key];
    if (needsTime) {
      // One instant for the whole message: its rows were sampled together.
      time ??= defaults.timestamp !== undefined ? toTime(defaults.timestamp) : (defaults.now ?? (() => new Date()))();
      row[timeColumn] = time;
    }
    rows[index] = row;
  }
  return rows;
}

function rowWhere(index: number, count: number): string {
  return count > 1 ? `Row ${index + 1} of ${count}: ` : "";
}

/** Same names in the same order. */
export function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
