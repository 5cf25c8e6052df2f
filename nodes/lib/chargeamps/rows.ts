/**
 * Rows for the thesis's three tables, one poll at a time. Column names are
 * snake_case and every table has a `time` column (ISO 8601 string, the poll
 * time), so the Timescale writer's "thesis" preset can store them as-is.
 *
 *   charge_point_status: time, charge_point_id, charge_point_name, status
 *   connector_status:    time, charge_point_id, connector_id, status, operation_state,
 *                        session_id, session_energy_kwh, charging_power_kw, phase_type,
 *                        start_time, end_time
 *   measurements:        time, charge_point_id, connector_id, phase, current_a, voltage_v
 */
import type { OperationState } from "../types";
import type { ChargePointStatus } from "./models";
import { operationStateOf, powerW, statusName, type Protocol } from "./state";

export const TABLES = {
  chargePointStatus: "charge_point_status",
  connectorStatus: "connector_status",
  measurements: "measurements",
} as const;
export type ThesisTable = (typeof TABLES)[keyof typeof TABLES];

export interface ChargePointStatusRow {
  time: string;
  charge_point_id: string;
  charge_point_name: string | null;
  /** "Online" or "Offline". */
  status: string;
}

export interface ConnectorStatusRow {
  time: string;
  charge_point_id: string;
  connector_id: number;
  /** The cloud's status name (numeric codes resolved), e.g. "Charging". */
  status: string | null;
  operation_state: OperationState;
  session_id: number | null;
  session_energy_kwh: number | null;
  charging_power_kw: number | null;
  /** OnePhase, ThreePhase, Schuko or null when no session. */
  phase_type: string | null;
  start_time: string | null;
  end_time: string | null;
}

export interface MeasurementRow {
  time: string;
  charge_point_id: string;
  connector_id: number;
  /** L1, L2 or L3. */
  phase: string;
  current_a: number;
  voltage_v: number;
}

export interface ThesisRows {
  [TABLES.chargePointStatus]: ChargePointStatusRow[];
  [TABLES.connectorStatus]: ConnectorStatusRow[];
  [TABLES.measurements]: MeasurementRow[];
}

export function emptyRows(): ThesisRows {
  return { charge_point_status: [], connector_status: [], measurements: [] };
}

/** Adds the rows of one charge point status document to `rows`. */
export function appendRows(
  rows: ThesisRows,
  status: ChargePointStatus,
  protocol: Protocol,
  time: string,
  chargePointName: string | null = null,
): ThesisRows {
  const cpId = status.id ?? "";
  const online = status.status !== "Offline";
  rows.charge_point_status.push({ time, charge_point_id: cpId, charge_point_name: chargePointName, status: String(status.status) });
  for (const c of Array.isArray(status.connectorStatuses) ? status.connectorStatuses : []) {
    if (!c || typeof c !== "object") continue;
    const power = powerW(c);
    rows.connector_status.push({
      time,
      charge_point_id: c.chargePointId ?? cpId,
      connector_id: c.connectorId,
      status: statusName(c.status, protocol) ?? null,
      operation_state: operationStateOf(c.status, protocol, online),
      session_id: typeof c.sessionId === "number" ? c.sessionId : null,
      session_energy_kwh: typeof c.totalConsumptionKwh === "number" ? c.totalConsumptionKwh : null,
      charging_power_kw: power === undefined ? null : Math.round(power) / 1000,
      phase_type: c.sessionType ?? null,
      start_time: c.startTime ?? null,
      end_time: c.endTime ?? null,
    });
    for (const m of Array.isArray(c.measurements) ? c.measurements : []) {
      if (typeof m?.current !== "number" || typeof m?.voltage !== "number") continue;
      rows.measurements.push({
        time,
        charge_point_id: c.chargePointId ?? cpId,
        connector_id: c.connectorId,
        phase: String(m.phase),
        current_a: m.current,
        voltage_v: m.voltage,
      });
    }
  }
  return rows;
}
