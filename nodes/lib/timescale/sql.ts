/**
 * Identifiers: validated against a strict pattern and always double-quoted.
 * Values never reach SQL text; they are always parameters.
 */

/** Letters, digits, _ and $, not starting with a digit or $, at most 63 bytes (PostgreSQL's limit). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

export class IdentifierError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IdentifierError";
  }
}

export function isIdentifier(name: unknown): name is string {
  return typeof name === "string" && IDENTIFIER.test(name);
}

/** Checks a column or table name; throws a plain-words IdentifierError otherwise. */
export function checkIdentifier(name: unknown, what: string): string {
  if (!isIdentifier(name)) {
    const shown = typeof name === "string" ? JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name) : String(name);
    throw new IdentifierError(`${what} ${shown} is not allowed: use letters, digits and _ (not starting with a digit), at most 63 characters`);
  }
  return name;
}

/** Double-quotes a name that passed checkIdentifier (which excludes quotes). */
export function quoteIdent(name: string): string {
  return `"${checkIdentifier(name, "Name")}"`;
}

export interface TableName {
  schema?: string;
  table: string;
}

/** "table" or "schema.table", each part a valid identifier. */
export function parseTableName(text: unknown): TableName {
  if (typeof text !== "string" || text.trim() === "") throw new IdentifierError("No table name: set one in the node or send msg.table");
  const parts = text.trim().split(".");
  if (parts.length > 2) throw new IdentifierError(`Table ${JSON.stringify(text)} is not allowed: use "table" or "schema.table"`);
  if (parts.length === 2) return { schema: checkIdentifier(parts[0], "Schema"), table: checkIdentifier(parts[1], "Table") };
  return { table: checkIdentifier(parts[0], "Table") };
}

export function tableKey(name: TableName): string {
  return name.schema ? `${name.schema}.${name.table}` : name.table;
}

export function quoteTable(name: TableName): string {
  return name.schema ? `${quoteIdent(name.schema)}.${quoteIdent(name.table)}` : quoteIdent(name.table);
}

/** PostgreSQL allows at most 65535 parameters in one statement. */
export const MAX_PARAMETERS = 65_000;

/** `INSERT INTO t (c1, c2) VALUES ($1, $2), ($3, $4)` for `rows` rows. */
export function multiRowInsert(table: TableName, columns: readonly string[], rows: number): string {
  const cols = columns.map(quoteIdent).join(", ");
  const tuples: string[] = [];
  let n = 1;
  for (let r = 0; r < rows; r++) {
    const placeholders: string[] = [];
    for (let c = 0; c < columns.length; c++) placeholders.push(`$${n++}`);
    tuples.push(`(${placeholders.join(", ")})`);
  }
  return `INSERT INTO ${quoteTable(table)} (${cols}) VALUES ${tuples.join(", ")}`;
}

/**
 * `INSERT INTO t (c1, c2) SELECT * FROM unnest($1::type1[], $2::type2[])`:
 * one array parameter per column, so the statement text and its parse cost
 * stay the same whatever the batch size. Types come from the catalogue.
 */
export function unnestInsert(table: TableName, columns: readonly string[], types: readonly string[]): string {
  const cols = columns.map(quoteIdent).join(", ");
  const arrays = types.map((type, i) => `$${i + 1}::${type}[]`).join(", ");
  return `INSERT INTO ${quoteTable(table)} (${cols}) SELECT * FROM unnest(${arrays})`;
}
