/**
 * COPY ... FROM STDIN in PostgreSQL's text format. The rows travel as data,
 * never as SQL: only the statement's table and column names are SQL, and
 * those are checked and quoted like everywhere else. Every value goes
 * through the same conversion as a query parameter (toParameter, then what
 * node-postgres does with a parameter), so a column receives the same text
 * whichever way a batch is written.
 */
import { quoteIdent, quoteTable, type TableName } from "./sql";
import { toParameter, type Row } from "./rows";

/** `COPY "schema"."table" ("c1", "c2") FROM STDIN` (text format: tab-separated, \N for NULL). */
export function copySql(table: TableName, columns: readonly string[]): string {
  return `COPY ${quoteTable(table)} (${columns.map(quoteIdent).join(", ")}) FROM STDIN`;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** "+01:00" for 60 minutes east of UTC; few distinct values, so kept. */
const offsetTexts = new Map<number, string>();
function offsetText(minutesEast: number): string {
  let text = offsetTexts.get(minutesEast);
  if (text === undefined) {
    const abs = Math.abs(minutesEast);
    text = `${minutesEast < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
    offsetTexts.set(minutesEast, text);
  }
  return text;
}

/**
 * Where the fast path is exact: from 1973 every zone's offset is whole
 * minutes (before, local mean times had seconds, which node-postgres drops
 * from the offset but keeps in the wall time), and up to the last day
 * toISOString prints with a four-digit year.
 */
const FAST_FROM = Date.UTC(1973, 0, 1);
const FAST_TO = Date.UTC(9999, 11, 30);

/**
 * A Date as node-postgres sends it: local wall time with its UTC offset, so
 * `timestamp` (without time zone) columns get the same value either way.
 */
export function dateText(date: Date): string {
  const ms = date.getTime();
  const offset = -date.getTimezoneOffset();
  if (ms > FAST_FROM && ms < FAST_TO) return wallTimeText(ms + offset * 60_000) + offsetText(offset);
  let year = date.getFullYear();
  const bc = year < 1;
  if (bc) year = Math.abs(year) + 1;
  return (
    `${pad(year, 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `.${pad(date.getMilliseconds(), 3)}${offsetText(offset)}${bc ? " BC" : ""}`
  );
}

/** The last minute printed, "YYYY-MM-DDTHH:mm:": readings come in time order, so mostly it is the same. */
let minuteKey = NaN;
let minuteText = "";

/** "YYYY-MM-DDTHH:mm:ss.sss" of a wall time given as milliseconds (toISOString is slow enough to matter here). */
function wallTimeText(wallMs: number): string {
  const minute = Math.floor(wallMs / 60_000);
  if (minute !== minuteKey) {
    minuteText = new Date(minute * 60_000).toISOString().slice(0, 17);
    minuteKey = minute;
  }
  const inMinute = wallMs - minute * 60_000;
  const seconds = Math.floor(inMinute / 1000);
  const millis = inMinute - seconds * 1000;
  return `${minuteText}${seconds < 10 ? "0" : ""}${seconds}.${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}`;
}

const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** Backslash, tab, newline and carriage return escaped; so `\N` and `\.` stay literal text. */
export function escapeCopyText(text: string): string {
  return SPECIAL.test(text) ? text.replace(SPECIAL_ALL, (c) => ESCAPES[c]) : text;
}

/** One field: `\N` for NULL/undefined, otherwise the value's text, escaped. */
export function copyField(value: unknown): string {
  // The common types first, without toParameter's call: this runs once per value.
  switch (typeof value) {
    case "number":
      // Digits, ".", "e", "-", "NaN", "Infinity": nothing to escape (double precision accepts them all).
      return String(value);
    case "string":
      return escapeCopyText(value);
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "\\N";
  }
  if (value === null) return "\\N";
  if (value instanceof Date) return dateText(value);
  const v = toParameter(value);
  if (v === null || v === undefined) return "\\N";
  return escapeCopyText(String(v));
}

/** The COPY data for `rows`, one line per row, fields in the order of `columns`. */
export function copyData(columns: readonly string[], rows: readonly Row[]): string {
  let data = "";
  const last = columns.length - 1;
  if (last < 0) return data;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    for (let c = 0; c < last; c++) data += copyField(row[columns[c]]) + "\t";
    data += copyField(row[columns[last]]) + "\n";
  }
  return data;
}
