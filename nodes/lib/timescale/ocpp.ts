/**
 * The "ocpp" table preset: ev-ocpp-in events written as a status history,
 * a latest-status table, one row per session and meter values. Tables,
 * indexes and hypertables are created on first use; sessions and the
 * latest status are kept by upserts (see UPSERTS), never by plain inserts.
 */
import { ocppRecords, type MeterRecord, type SessionRecord, type StatusRecord } from "../ocpp-records/records";
import type { Row } from "./rows";
import { quoteIdent } from "./sql";

export const OCPP_TABLES = {
  status: "ocpp_status",
  latest: "ocpp_status_latest",
  sessions: "ocpp_sessions",
  meters: "ocpp_meter_values",
} as const;

/**
 * How rows of a table are merged with what is stored.
 *  - "coalesce": one row per key; a value that is set replaces the stored one,
 *    a missing (null) value keeps it (a session's start and end fill one row).
 *  - "newest": one row per key; a row replaces the stored one only when its
 *    `order` column is not older, so an older status never overwrites a newer one.
 */
export interface UpsertSpec {
  key: readonly string[];
  merge: "coalesce" | "newest";
  order?: string;
}

export const UPSERTS: Readonly<Record<string, UpsertSpec>> = {
  [OCPP_TABLES.latest]: { key: ["charger", "connector_id"], merge: "newest", order: "time" },
  [OCPP_TABLES.sessions]: { key: ["charger", "transaction_id"], merge: "coalesce" },
};

/** Chunk intervals: statuses are few per day, meter values many (one chunk a day keeps retention exact to the day). */
export const CHUNK_INTERVALS: Readonly<Record<string, string>> = {
  [OCPP_TABLES.status]: "7 days",
  [OCPP_TABLES.meters]: "1 day",
};

/** CREATE statements, in order; each is safe to run again. */
export function ocppTableSql(): string[] {
  const t = OCPP_TABLES;
  return [
    `CREATE TABLE IF NOT EXISTS ${t.status} (
      time timestamptz NOT NULL, charger text NOT NULL, connector_id integer NOT NULL,
      status text NOT NULL, error_code text NOT NULL, info text, vendor_id text, vendor_error_code text,
      charger_time timestamptz, received_at timestamptz NOT NULL, stale boolean NOT NULL DEFAULT false)`,
    `CREATE INDEX IF NOT EXISTS ${t.status}_charger_time ON ${t.status} (charger, connector_id, time DESC)`,
    // The fault report reads only faults: a partial index keeps that cheap on a long history.
    `CREATE INDEX IF NOT EXISTS ${t.status}_faults ON ${t.status} (time, charger) WHERE status = 'Faulted'`,
    `CREATE TABLE IF NOT EXISTS ${t.latest} (
      charger text NOT NULL, connector_id integer NOT NULL, status text NOT NULL, error_code text NOT NULL,
      info text, vendor_id text, vendor_error_code text, time timestamptz NOT NULL, charger_time timestamptz,
      received_at timestamptz NOT NULL, PRIMARY KEY (charger, connector_id))`,
    `CREATE TABLE IF NOT EXISTS ${t.sessions} (
      charger text NOT NULL, transaction_id bigint NOT NULL, connector_id integer, id_tag text, stop_id_tag text,
      start_time timestamptz, stop_time timestamptz, meter_start_wh double precision, meter_stop_wh double precision,
      energy_wh double precision, stop_reason text, updated_at timestamptz NOT NULL, PRIMARY KEY (charger, transaction_id))`,
    `CREATE INDEX IF NOT EXISTS ${t.sessions}_start ON ${t.sessions} (start_time DESC, charger)`,
    `CREATE TABLE IF NOT EXISTS ${t.meters} (
      time timestamptz NOT NULL, charger text NOT NULL, connector_id integer NOT NULL, transaction_id bigint,
      measurand text NOT NULL, phase text, location text, context text, unit text NOT NULL, value double precision NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS ${t.meters}_charger_measurand_time ON ${t.meters} (charger, measurand, time DESC)`,
  ];
}

/** Turns the history tables into hypertables (TimescaleDB only). */
export function ocppHypertableSql(): string[] {
  return Object.entries(CHUNK_INTERVALS).map(
    ([table, interval]) =>
      `SELECT create_hypertable('${table}'::regclass, 'time'::name, chunk_time_interval => INTERVAL '${interval}', if_not_exists => TRUE, migrate_data => TRUE)`,
  );
}

// ------------------------------------------------------------ rows

/** Every row of a table has every column (null when unknown), so a batch is one group per table. */
function statusRow(r: StatusRecord): Row {
  return {
    time: r.time,
    charger: r.charger,
    connector_id: r.connectorId,
    status: r.status,
    error_code: r.errorCode,
    info: r.info ?? null,
    vendor_id: r.vendorId ?? null,
    vendor_error_code: r.vendorErrorCode ?? null,
    charger_time: r.chargerTime ?? null,
    received_at: r.receivedTime,
    stale: r.stale,
  };
}

function latestRow(r: StatusRecord): Row {
  return {
    charger: r.charger,
    connector_id: r.connectorId,
    status: r.status,
    error_code: r.errorCode,
    info: r.info ?? null,
    vendor_id: r.vendorId ?? null,
    vendor_error_code: r.vendorErrorCode ?? null,
    time: r.time,
    charger_time: r.chargerTime ?? null,
    received_at: r.receivedTime,
  };
}

function sessionRow(r: SessionRecord): Row {
  return {
    charger: r.charger,
    transaction_id: r.transactionId,
    connector_id: r.connectorId ?? null,
    id_tag: r.idTag ?? null,
    stop_id_tag: r.stopIdTag ?? null,
    start_time: r.startTime ?? null,
    stop_time: r.stopTime ?? null,
    meter_start_wh: r.meterStartWh ?? null,
    meter_stop_wh: r.meterStopWh ?? null,
    energy_wh: r.energyWh ?? null,
    stop_reason: r.stopReason ?? null,
    updated_at: r.receivedTime,
  };
}

function meterRow(r: MeterRecord): Row {
  return {
    time: r.time,
    charger: r.charger,
    connector_id: r.connectorId,
    transaction_id: r.transactionId ?? null,
    measurand: r.measurand,
    phase: r.phase ?? null,
    location: r.location,
    context: r.context,
    unit: r.unit,
    value: r.value,
  };
}

export interface OcppRow {
  table: string;
  row: Row;
}

/**
 * The rows an ev-ocpp-in event makes (a status: history and latest; a
 * session start or end: its session row; meter values: one row per numeric
 * sample), [] for kinds that are not stored, undefined for anything that is
 * not an ev-ocpp-in event.
 */
export function ocppRows(payload: unknown): OcppRow[] | undefined {
  const records = ocppRecords(payload);
  if (!records) return undefined;
  const rows: OcppRow[] = [];
  for (const s of records.statuses) {
    rows.push({ table: OCPP_TABLES.status, row: statusRow(s) });
    // Stale ones too: the upsert keeps the newer status, also after a restart forgot what was newer.
    rows.push({ table: OCPP_TABLES.latest, row: latestRow(s) });
  }
  for (const s of records.sessions) rows.push({ table: OCPP_TABLES.sessions, row: sessionRow(s) });
  for (const m of records.meters) rows.push({ table: OCPP_TABLES.meters, row: meterRow(m) });
  return rows;
}

// ------------------------------------------------------------ upserts

function keyOf(row: Row, key: readonly string[]): string {
  return key.map((k) => String(row[k])).join("\u0000");
}

function timeOf(value: unknown): number {
  return value instanceof Date ? value.getTime() : new Date(value as string | number).getTime();
}

/**
 * One row per key, as the statement would leave it had the rows gone in
 * one by one: PostgreSQL refuses to update a row twice in one INSERT … ON CONFLICT.
 */
export function mergeUpsertRows(rows: readonly Row[], spec: UpsertSpec): Row[] {
  const merged = new Map<string, Row>();
  for (const row of rows) {
    const key = keyOf(row, spec.key);
    const before = merged.get(key);
    if (!before) {
      merged.set(key, row);
    } else if (spec.merge === "newest") {
      const order = spec.order ?? "time";
      if (timeOf(row[order]) >= timeOf(before[order])) merged.set(key, row);
    } else {
      const next: Row = { ...before };
      for (const column in row) if (row[column] !== null && row[column] !== undefined) next[column] = row[column];
      merged.set(key, next);
    }
  }
  return [...merged.values()];
}

/**
 * `INSERT INTO t AS cur (…) SELECT * FROM unnest(…) ON CONFLICT (key) DO UPDATE …`:
 * column types from the catalogue, values as array parameters.
 */
export function upsertSql(tableSql: string, columns: readonly string[], types: readonly string[], spec: UpsertSpec): string {
  if (!spec.key.every((k) => columns.includes(k))) throw new Error(`Rows for ${tableSql} lack a key column (${spec.key.join(", ")})`);
  const cols = columns.map(quoteIdent).join(", ");
  const arrays = types.map((type, i) => `$${i + 1}::${type}[]`).join(", ");
  const rest = columns.filter((c) => !spec.key.includes(c));
  const set = rest.map((c) =>
    spec.merge === "coalesce" ? `${quoteIdent(c)} = COALESCE(EXCLUDED.${quoteIdent(c)}, cur.${quoteIdent(c)})` : `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`,
  );
  const order = spec.order ? quoteIdent(spec.order) : "";
  const where = spec.merge === "newest" && order ? ` WHERE EXCLUDED.${order} >= cur.${order}` : "";
  const action = set.length > 0 ? `DO UPDATE SET ${set.join(", ")}${where}` : "DO NOTHING";
  return `INSERT INTO ${tableSql} AS cur (${cols}) SELECT * FROM unnest(${arrays}) ON CONFLICT (${spec.key.map(quoteIdent).join(", ")}) ${action}`;
}
