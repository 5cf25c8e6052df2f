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

/**
 * A Date as node-postgres sends it: local wall time with its UTC offset, so
 * `timestamp` (without time zone) columns get the same value either way.
 */
export function dateText(date: Date): string {
  let year = date.getFullYear();
  const bc = year < 1;
  if (bc) year = Math.abs(year) + 1;
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return (
    `${pad(year, 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `.${pad(date.getMilliseconds(), 3)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}${bc ? " BC" : ""}`
  );
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
  const v = toParameter(value);
  if (v === null || v === undefined) return "\\N";
  if (typeof v === "string") return escapeCopyText(v);
  if (v instanceof Date) return dateText(v);
  // Numbers (NaN, Infinity included: double precision accepts them), booleans ("true"/"false").
  return escapeCopyText(String(v));
}

/** The COPY data for `rows`, one line per row, fields in the order of `columns`. */
export function copyData(columns: readonly string[], rows: readonly Row[]): string {
  const lines: string[] = new Array<string>(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    let line = "";
    for (let c = 0; c < columns.length; c++) {
      if (c > 0) line += "\t";
      line += copyField(row[columns[c]]);
    }
    lines[r] = line;
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}
