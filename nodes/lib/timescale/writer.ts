/**
 * Writes rows to PostgreSQL / TimescaleDB: one transaction per batch, rows
 * grouped by table and column set, each group sent with COPY ... FROM STDIN
 * (the fastest way in), or with INSERTs whose values are all parameters
 * where COPY is not available (embedded PGlite). Creates tables on first use when asked and turns them into
 * hypertables when TimescaleDB is there. Retrying and batching belong to
 * the shared WriteBuffer; this module only says whether an error is the
 * data's fault (permanent) or the connection's (transient).
 */
import type { Pool, PoolClient } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { redact } from "../errors";
import { copyData, copySql } from "./copy";
import { columnSql, inferColumns, operationStateSql, OPERATION_STATE_TYPE, PRESET_TABLES, type ColumnDef, type CreateMode } from "./schema";
import { MAX_PARAMETERS, multiRowInsert, quoteIdent, quoteTable, tableKey, unnestInsert, type TableName } from "./sql";
import { sameKeys, toParameter, type Row } from "./rows";
import { maintenanceSql, OCPP_AGGREGATES, plainAggregateSql, timescaleAggregateSql, type AggregateSettings } from "./ocpp-aggregates";
import { mergeUpsertRows, OCPP_TABLES as OCPP_TABLE_NAMES, ocppHypertableSql, ocppTableSql, upsertSql, UPSERTS, type UpsertSpec } from "./ocpp";

export interface RowItem {
  table: TableName;
  row: Row;
}

/** "auto": COPY unless the server cannot take it (then INSERT, remembered for the pool). */
export type WriteMethod = "auto" | "copy" | "insert";
export const WRITE_METHODS: readonly WriteMethod[] = ["auto", "copy", "insert"];

/**
 * What "auto" found out per pool, shared by every writer on it. PGlite's
 * socket server loses the connection on COPY FROM STDIN and then serves no
 * one, so it is recognised by its version text and COPY is never tried there.
 */
const poolMethods = new WeakMap<Pool, "copy" | "insert">();

/** The method a server supports, from its version() text. */
export function methodForServer(version: string): "copy" | "insert" {
  return /PGlite|emscripten/i.test(version) ? "insert" : "copy";
}

/** Errors that mean "this server does not do COPY FROM STDIN" rather than "this data is bad". */
function copyUnsupported(err: unknown): boolean {
  const code = (err as PgLikeError | undefined)?.code;
  return code === "0A000" || code === "08P01";
}

export interface TimescaleWriterOptions {
  create: CreateMode;
  /** Default "auto". */
  method?: WriteMethod;
  timeColumn: string;
  /** For messages: where we write, without secrets. */
  target: string;
  password?: string;
  /** The ocpp preset's daily figures and retention (defaults: UTC, keep forever). */
  ocpp?: AggregateSettings;
}

export class PgWriteError extends Error {
  readonly permanent: boolean;
  readonly code?: string;
  constructor(message: string, permanent: boolean, code?: string) {
    super(message);
    this.name = "PgWriteError";
    this.permanent = permanent;
    this.code = code;
  }
}

export function isPermanentPgError(error: Error): boolean {
  return error instanceof PgWriteError && error.permanent;
}

interface PgLikeError {
  code?: string;
  message?: string;
  table?: string;
  column?: string;
}

/** Plain words for what PostgreSQL (or the socket) said; permanent = the row's fault. */
export function describePgError(err: unknown, target: string, secrets: ReadonlyArray<string | undefined> = []): PgWriteError {
  const e = (err ?? {}) as PgLikeError;
  const code = typeof e.code === "string" ? e.code : undefined;
  const message = redact(String(e.message ?? err), secrets);
  if (code === "ECONNREFUSED") return new PgWriteError(`Cannot reach PostgreSQL at ${target} (connection refused)`, false, code);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new PgWriteError(`Cannot find the PostgreSQL host of ${target} (DNS)`, false, code);
  if (code === "ECONNRESET" || code === "EPIPE" || /Connection terminated|connection ended|Client has encountered a connection error/i.test(message)) {
    return new PgWriteError(`The connection to PostgreSQL at ${target} was cut`, false, code);
  }
  if (/timeout/i.test(message) && !code?.match(/^\d/)) return new PgWriteError(`PostgreSQL at ${target} did not answer in time`, false, code);
  if (!code || !/^[0-9A-Z]{5}$/.test(code)) return new PgWriteError(`Writing to PostgreSQL failed: ${message}`, false, code);
  switch (code) {
    case "28P01":
    case "28000":
      return new PgWriteError(`PostgreSQL refused the login (wrong user or password?): ${message}`, false, code);
    case "3D000":
      return new PgWriteError(`Database missing: ${message}`, false, code);
    case "42501":
      return new PgWriteError(`Not allowed: ${message}`, false, code);
    case "42P01":
      return new PgWriteError(`Table missing: ${message} (create it, or choose "create table" in the node)`, true, code);
    case "42703":
      return new PgWriteError(`Table missing a column: ${message}`, true, code);
    case "42804":
      return new PgWriteError(`Wrong type for a column: ${message}`, true, code);
  }
  const cls = code.slice(0, 2);
  if (cls === "22") return new PgWriteError(`PostgreSQL refused a value: ${message}`, true, code);
  if (cls === "23") return new PgWriteError(`PostgreSQL refused the row (constraint): ${message}`, true, code);
  if (cls === "08" || cls === "57" || cls === "53" || cls === "40" || cls === "58") {
    return new PgWriteError(`PostgreSQL is unavailable (${code}): ${message}`, false, code);
  }
  if (cls === "42") return new PgWriteError(`PostgreSQL refused the statement: ${message}`, true, code);
  return new PgWriteError(`PostgreSQL error ${code}: ${message}`, false, code);
}

/** Rows encoded per piece of COPY data (measured: smaller pieces cost more per row, larger ones keep the server waiting). */
const COPY_SLICE_ROWS = 2000;

/** "auto" learnt that this server refuses COPY; the batch is written again with INSERT. */
class CopyUnsupported extends Error {
  constructor(cause: unknown) {
    super("The server does not support COPY FROM STDIN", { cause });
    this.name = "CopyUnsupported";
  }
}

interface Group {
  table: TableName;
  columns: string[];
  rows: Row[];
}

/** Rows of the same table with the same columns, in order of first appearance. */
export function groupRows(items: readonly RowItem[]): Group[] {
  const groups = new Map<string, Group>();
  // Rows mostly come in runs of one shape: a run skips the sorting and the lookup.
  let runTable: TableName | undefined;
  let runKeys: string[] = [];
  let runGroup: Group | undefined;
  for (const item of items) {
    const keys = Object.keys(item.row);
    if (runGroup && item.table === runTable && sameKeys(keys, runKeys)) {
      runGroup.rows.push(item.row);
      continue;
    }
    const columns = [...keys].sort();
    const key = `${tableKey(item.table)}\u0000${columns.join("\u0000")}`;
    let group = groups.get(key);
    if (!group) {
      group = { table: item.table, columns, rows: [] };
      groups.set(key, group);
    }
    group.rows.push(item.row);
    runTable = item.table;
    runKeys = keys;
    runGroup = group;
  }
  return [...groups.values()];
}

export class TimescaleWriter {
  private readonly pool: Pool;
  private readonly options: TimescaleWriterOptions;
  private readonly ensured = new Set<string>();
  /** Column types per table, from the catalogue, for the unnest INSERT. */
  private readonly columnTypes = new Map<string, Map<string, string>>();
  private timescale: boolean | undefined;
  private ocppReady: Promise<void> | undefined;
  /** A remark for the status, e.g. that tables are plain PostgreSQL tables. */
  note: string | undefined;

  constructor(pool: Pool, options: TimescaleWriterOptions) {
    this.pool = pool;
    this.options = options;
  }

  /** How batches go in: "copy" or "insert"; undefined until "auto" has asked the server. */
  get method(): "copy" | "insert" | undefined {
    const chosen = this.options.method ?? "auto";
    return chosen === "auto" ? poolMethods.get(this.pool) : chosen;
  }

  /** Writes one batch in one transaction. */
  async write(items: readonly RowItem[]): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.writeOnce(items);
    } catch (err) {
      // Found out on this batch: write it again, at once, the other way.
      if (err instanceof CopyUnsupported) return this.writeOnce(items);
      throw err;
    }
  }

  /**
   * Opens a connection now (and finds out whether the server takes COPY), so
   * a wrong password or an unreachable server shows before the first row, and
   * the first batch does not wait for the login. Resolves with the problem, if any.
   */
  async check(): Promise<PgWriteError | undefined> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      return this.describe(err);
    }
    const onError = (): void => undefined;
    client.on("error", onError);
    let broken: Error | undefined;
    try {
      if (!this.method) await this.detectMethod(client);
      return undefined;
    } catch (err) {
      const described = this.describe(err);
      broken = described;
      return described;
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  }

  private async writeOnce(items: readonly RowItem[]): Promise<void> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.describe(err);
    }
    let broken: Error | undefined;
    // A checked-out client reports a dropped connection as an 'error' event as
    // well as by failing the query; unheard, that event would crash Node-RED.
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on("error", onError);
    try {
      await this.ensureTables(client, items);
      const method = this.method ?? (await this.detectMethod(client));
      const groups = groupRows(items);
      if (method === "copy" && groups.length === 1 && !this.upsertFor(groups[0].table)) {
        // One COPY is one transaction of its own: no BEGIN/COMMIT round trips needed.
        await this.copyGroup(client, groups[0]);
      } else {
        await client.query("BEGIN");
        try {
          for (const group of groups) {
            const upsert = this.upsertFor(group.table);
            if (upsert) await this.upsertGroup(client, group, upsert);
            else if (method === "copy") await this.copyGroup(client, group);
            else await this.insertGroup(client, group);
          }
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw err;
        }
      }
    } catch (err) {
      if (err instanceof CopyUnsupported) {
        broken = err;
        throw err;
      }
      const described = this.describe(err);
      if (!described.permanent) broken = described;
      // The table may have been changed under us; look its columns up again next time.
      else this.columnTypes.clear();
      throw described;
    } finally {
      client.off("error", onError);
      // A connection that failed mid-way is thrown away, not reused.
      client.release(broken);
    }
  }

  private async detectMethod(client: PoolClient): Promise<"copy" | "insert"> {
    const found = await client.query<{ version: string }>("SELECT version() AS version");
    const method = methodForServer(String(found.rows[0]?.version ?? ""));
    poolMethods.set(this.pool, method);
    return method;
  }

  private async copyGroup(client: PoolClient, group: Group): Promise<void> {
    const stream = client.query(copyFrom(copySql(group.table, group.columns)));
    const { columns, rows } = group;
    try {
      await new Promise<void>((resolve, reject) => {
        let failed = false;
        // on, not once: a timeout and the server's answer may both report an error.
        stream.on("error", (err) => {
          failed = true;
          reject(err);
        });
        stream.once("finish", resolve);
        // In slices, handing the event loop back between them: the server parses
        // one slice while the next is encoded, instead of waiting for the whole batch.
        let next = 0;
        const pump = (): void => {
          if (failed) return;
          if (next >= rows.length) {
            stream.end();
            return;
          }
          const slice = rows.slice(next, next + COPY_SLICE_ROWS);
          next += slice.length;
          if (stream.write(copyData(columns, slice), "utf8")) setImmediate(pump);
          else stream.once("drain", pump);
        };
        pump();
      });
    } catch (err) {
      if ((this.options.method ?? "auto") === "auto" && copyUnsupported(err)) {
        poolMethods.set(this.pool, "insert");
        throw new CopyUnsupported(err);
      }
      throw err;
    }
  }

  private async insertGroup(client: PoolClient, group: Group): Promise<void> {
    const known = await this.typesOf(client, group.table);
    const types = group.columns.map((c) => known.get(c));
    if (types.every((t): t is string => t !== undefined && !t.endsWith("]"))) {
      const params = group.columns.map((column) => group.rows.map((row) => toParameter(row[column])));
      await client.query(unnestInsert(group.table, group.columns, types), params);
      return;
    }
    // An unknown column (PostgreSQL then names it in its error) or an array column: plain VALUES.
    const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / group.columns.length));
    for (let start = 0; start < group.rows.length; start += perStatement) {
      const rows = group.rows.slice(start, start + perStatement);
      const params: unknown[] = [];
      for (const row of rows) for (const column of group.columns) params.push(toParameter(row[column]));
      await client.query(multiRowInsert(group.table, group.columns, rows.length), params);
    }
  }

  /** Tables kept by an upsert rather than appended to (the ocpp preset's sessions and latest status). */
  private upsertFor(table: TableName): UpsertSpec | undefined {
    return this.options.create === "ocpp" && !table.schema ? UPSERTS[table.table] : undefined;
  }

  private async upsertGroup(client: PoolClient, group: Group, spec: UpsertSpec): Promise<void> {
    const known = await this.typesOf(client, group.table);
    const types = group.columns.map((c) => known.get(c));
    if (!types.every((t): t is string => t !== undefined)) {
      const missing = group.columns.filter((c) => !known.has(c));
      throw new PgWriteError(`Table ${tableKey(group.table)} is missing the column(s) ${missing.join(", ")}`, true, "42703");
    }
    const rows = mergeUpsertRows(group.rows, spec);
    const params = group.columns.map((column) => rows.map((row) => toParameter(row[column])));
    await client.query(upsertSql(quoteTable(group.table), group.columns, types, spec), params);
  }

  private async typesOf(client: PoolClient, table: TableName): Promise<Map<string, string>> {
    const key = tableKey(table);
    const cached = this.columnTypes.get(key);
    if (cached) return cached;
    const found = await client.query<{ name: string; type: string }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
       WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
      [quoteTable(table)],
    );
    const types = new Map(found.rows.map((r) => [r.name, r.type]));
    // A missing table is not cached: it may be created later.
    if (types.size > 0) this.columnTypes.set(key, types);
    return types;
  }

  private describe(err: unknown): PgWriteError {
    return err instanceof PgWriteError ? err : describePgError(err, this.options.target, [this.options.password]);
  }

  private async ensureTables(client: PoolClient, items: readonly RowItem[]): Promise<void> {
    if (this.options.create === "none") return;
    if (this.options.create === "ocpp") await this.ensureOcppOnce(client);
    const pending = new Map<string, { table: TableName; rows: Row[] }>();
    for (const item of items) {
      const key = tableKey(item.table);
      if (this.ensured.has(key)) continue;
      if (!pending.has(key)) pending.set(key, { table: item.table, rows: [] });
      pending.get(key)!.rows.push(item.row);
    }
    for (const [key, { table, rows }] of pending) {
      await this.ensureTable(client, table, rows);
      this.ensured.add(key);
    }
  }

  /** One run of ensureOcppTables at a time, and none once it worked (upkeep and the first batch may both ask at deploy). */
  private ensureOcppOnce(client: PoolClient): Promise<void> {
    this.ocppReady ??= this.ensureOcppTables(client).catch((err: unknown) => {
      this.ocppReady = undefined;
      throw err;
    });
    return this.ocppReady;
  }

  /** The ocpp preset's tables, indexes, daily figures and, on TimescaleDB, hypertables and policies, all at once. */
  private async ensureOcppTables(client: PoolClient): Promise<void> {
    for (const statement of ocppTableSql()) await client.query(statement);
    for (const table of Object.values(OCPP_TABLE_NAMES)) this.ensured.add(table);
    const settings = this.ocppSettings();
    if (await this.hasTimescale(client)) {
      for (const statement of ocppHypertableSql()) await client.query(statement);
      const existing = await client.query<{ name: string }>("SELECT relname AS name FROM pg_class WHERE relname = ANY($1) AND pg_table_is_visible(oid)", [
        [OCPP_AGGREGATES.energy, OCPP_AGGREGATES.faults],
      ]);
      const created = [OCPP_AGGREGATES.energy, OCPP_AGGREGATES.faults].filter((view) => !existing.rows.some((r) => r.name === view));
      for (const statement of timescaleAggregateSql(settings, created)) await client.query(statement);
      this.note = undefined;
    } else {
      for (const statement of plainAggregateSql(settings)) await client.query(statement);
      this.note = "plain PostgreSQL";
    }
  }

  private ocppSettings(): AggregateSettings {
    return this.options.ocpp ?? { timeZone: "UTC", retentionDays: 0 };
  }

  /**
   * For the ocpp preset, at deploy and then hourly: makes the tables (so the
   * daily figures and policies exist before the first event) and, on plain
   * PostgreSQL, deletes meter values older than the retention after keeping
   * their daily energy. TimescaleDB does the same with its own policies.
   * Resolves with how many meter values were deleted.
   */
  async maintain(): Promise<number> {
    if (this.options.create !== "ocpp") return 0;
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.describe(err);
    }
    let broken: Error | undefined;
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on("error", onError);
    try {
      await this.ensureOcppOnce(client);
      if (await this.hasTimescale(client)) return 0;
      const statements = maintenanceSql(this.ocppSettings());
      if (statements.length === 0) return 0;
      await client.query("BEGIN");
      try {
        let deleted = 0;
        for (const statement of statements) deleted = (await client.query(statement)).rowCount ?? 0;
        await client.query("COMMIT");
        return deleted;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    } catch (err) {
      const described = this.describe(err);
      if (!described.permanent) broken = described;
      throw described;
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  }

  private async hasTimescale(client: PoolClient): Promise<boolean> {
    if (this.timescale === undefined) {
      // Looked up as the function we will call (visible on the search_path), not
      // through pg_extension, so whatever schema TimescaleDB lives in works.
      const found = await client.query("SELECT 1 FROM pg_proc WHERE proname = 'create_hypertable' AND pg_function_is_visible(oid) LIMIT 1");
      this.timescale = (found.rowCount ?? 0) > 0;
    }
    return this.timescale;
  }

  private presetColumns(table: TableName): ColumnDef[] | undefined {
    const mode = this.options.create;
    if (mode !== "ev_readings" && mode !== "thesis") return undefined;
    return PRESET_TABLES[mode][table.table];
  }

  private async ensureTable(client: PoolClient, table: TableName, rows: Row[]): Promise<void> {
    const preset = this.presetColumns(table);
    const columns = preset ?? inferColumns(rows, this.options.timeColumn);
    if (columns.some((c) => c.type === OPERATION_STATE_TYPE)) await this.ensureOperationState(client, table.schema);
    const typed = columns.map((c) => (c.type === OPERATION_STATE_TYPE && table.schema ? { ...c, type: `${quoteIdent(table.schema)}.${quoteIdent(c.type)}` } : c));
    await client.query(`CREATE TABLE IF NOT EXISTS ${quoteTable(table)} (${columnSql(typed)})`);
    const timeColumn = preset ? "time" : this.options.timeColumn;
    if (!timeColumn || !columns.some((c) => c.name === timeColumn)) return;
    if (await this.hasTimescale(client)) {
      await client.query("SELECT create_hypertable($1::regclass, $2::name, if_not_exists => TRUE, migrate_data => TRUE)", [quoteTable(table), timeColumn]);
      this.note = undefined;
    } else {
      this.note = "plain PostgreSQL";
    }
  }

  private async ensureOperationState(client: PoolClient, schema: string | undefined): Promise<void> {
    const found = await client.query<{ label: string }>(
      `SELECT e.enumlabel AS label FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
       JOIN pg_namespace n ON n.oid = t.typnamespace
       WHERE t.typname = $1 AND n.nspname = COALESCE($2, current_schema())`,
      [OPERATION_STATE_TYPE, schema ?? null],
    );
    const existing = found.rowCount ? found.rows.map((r) => r.label) : undefined;
    for (const statement of operationStateSql(existing)) {
      const sql = schema ? statement.replace(`TYPE ${quoteIdent(OPERATION_STATE_TYPE)}`, `TYPE ${quoteIdent(schema)}.${quoteIdent(OPERATION_STATE_TYPE)}`) : statement;
      try {
        await client.query(sql);
      } catch (err) {
        // Another writer created it in the meantime.
        if ((err as PgLikeError).code !== "42710") throw err;
      }
    }
  }
}
