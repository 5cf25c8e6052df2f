/**
 * Table layouts: column types inferred from the first rows, or one of two
 * presets. `ev_readings` is the seed's narrow table of readings with its
 * OperationState enum; `thesis` is the three Charge Amps tables whose rows
 * the ev-chargeamps node emits (nodes/lib/chargeamps/rows.ts on its branch).
 * The seed's enum (unknown, off, idle, charging, scheduled_downtime,
 * unscheduled_downtime) is extended with connected, suspended and fault so
 * it matches OPERATION_STATES; an existing type gets the new values added.
 */
import { OPERATION_STATES } from "../types";
import { quoteIdent } from "./sql";

export type CreateMode = "none" | "infer" | "ev_readings" | "thesis" | "ocpp";
export const CREATE_MODES: readonly CreateMode[] = ["none", "infer", "ev_readings", "thesis", "ocpp"];

export interface ColumnDef {
  name: string;
  type: string;
  notNull?: boolean;
}

export const OPERATION_STATE_TYPE = "operation_state";

export const PRESET_TABLES: Record<"ev_readings" | "thesis", Record<string, ColumnDef[]>> = {
  ev_readings: {
    ev_readings: [
      { name: "time", type: "timestamptz", notNull: true },
      { name: "charger", type: "text", notNull: true },
      { name: "reading", type: "text", notNull: true },
      { name: "value", type: "double precision" },
      { name: "value_text", type: "text" },
      { name: "state", type: OPERATION_STATE_TYPE },
    ],
  },
  thesis: {
    charge_point_status: [
      { name: "time", type: "timestamptz", notNull: true },
      { name: "charge_point_id", type: "text", notNull: true },
      { name: "charge_point_name", type: "text" },
      { name: "status", type: "text" },
    ],
    connector_status: [
      { name: "time", type: "timestamptz", notNull: true },
      { name: "charge_point_id", type: "text", notNull: true },
      { name: "connector_id", type: "integer", notNull: true },
      { name: "status", type: "text" },
      { name: "operation_state", type: OPERATION_STATE_TYPE },
      { name: "session_id", type: "bigint" },
      { name: "session_energy_kwh", type: "double precision" },
      { name: "charging_power_kw", type: "double precision" },
      { name: "phase_type", type: "text" },
      { name: "start_time", type: "timestamptz" },
      { name: "end_time", type: "timestamptz" },
    ],
    measurements: [
      { name: "time", type: "timestamptz", notNull: true },
      { name: "charge_point_id", type: "text", notNull: true },
      { name: "connector_id", type: "integer", notNull: true },
      { name: "phase", type: "text", notNull: true },
      { name: "current_a", type: "double precision" },
      { name: "voltage_v", type: "double precision" },
    ],
  },
};

const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

/** Column types for a table from sample rows (the first batch). */
export function inferColumns(rows: ReadonlyArray<Record<string, unknown>>, timeColumn: string): ColumnDef[] {
  const seen = new Map<string, unknown[]>();
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) {
      if (!seen.has(key)) seen.set(key, []);
      if (value !== null && value !== undefined) seen.get(key)!.push(value);
    }
  }
  const columns: ColumnDef[] = [];
  for (const [name, values] of seen) {
    if (name === timeColumn) {
      columns.push({ name, type: "timestamptz", notNull: true });
      continue;
    }
    columns.push({ name, type: inferType(values) });
  }
  // The time column first, as people expect when they look at the table.
  return columns.sort((a, b) => Number(b.name === timeColumn) - Number(a.name === timeColumn));
}

function inferType(values: unknown[]): string {
  if (values.length === 0) return "text";
  if (values.every((v) => typeof v === "boolean")) return "boolean";
  if (values.every((v) => typeof v === "number")) {
    return values.every((v) => Number.isSafeInteger(v)) ? "bigint" : "double precision";
  }
  if (values.every((v) => v instanceof Date || (typeof v === "string" && ISO_TIME.test(v)))) return "timestamptz";
  if (values.every((v) => typeof v === "string")) return "text";
  if (values.every((v) => typeof v === "object")) return "jsonb";
  return "text";
}

export function columnSql(columns: readonly ColumnDef[]): string {
  return columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.notNull ? " NOT NULL" : ""}`).join(", ");
}

/** Statements that create the OperationState enum or add values it lacks; each runs on its own. */
export function operationStateSql(existing: readonly string[] | undefined): string[] {
  const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;
  if (!existing) return [`CREATE TYPE ${quoteIdent(OPERATION_STATE_TYPE)} AS ENUM (${OPERATION_STATES.map(literal).join(", ")})`];
  return OPERATION_STATES.filter((s) => !existing.includes(s)).map((s) => `ALTER TYPE ${quoteIdent(OPERATION_STATE_TYPE)} ADD VALUE IF NOT EXISTS ${literal(s)}`);
}
