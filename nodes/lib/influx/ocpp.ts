/**
 * ev-ocpp-in events as InfluxDB points. Tags hold only values from small
 * fixed sets (charger, connector, status, error code, measurand, phase,
 * unit, event); anything that grows without bound (transaction ids, id tags,
 * free text) is a field, so the number of series stays small.
 *
 *  ocpp_status   tags charger, connector, status, error_code
 *                fields up (1, or 0 when Faulted/Unavailable), stale (bool), info, vendor_error_code
 *                time: the charger's timestamp, else when it was received
 *  ocpp_session  tags charger, connector, event (started | ended)
 *                fields transaction_id (int), id_tag, meter_start_wh, meter_stop_wh, energy_wh, stop_reason
 *                time: start time (started) or stop time (ended)
 *  ocpp_meter    tags charger, connector, measurand, phase, location, unit
 *                fields value (Wh, W, A, V, … after conversion), transaction_id (int)
 *                time: the sample's timestamp
 */
import { ocppRecords } from "../ocpp-records/records";
import type { FieldValue, PointInput } from "./points";

export const OCPP_MEASUREMENTS = { status: "ocpp_status", session: "ocpp_session", meter: "ocpp_meter" } as const;

/** Statuses that count as "down" for uptime. */
const DOWN = new Set(["Faulted", "Unavailable"]);

function set(fields: Record<string, FieldValue>, name: string, value: FieldValue | undefined): void {
  if (value !== undefined) fields[name] = value;
}

/** The points an event makes ([] for kinds that are not stored), or undefined when it is not an ev-ocpp-in event. */
export function ocppPoints(value: unknown): PointInput[] | undefined {
  const records = ocppRecords(value);
  if (!records) return undefined;
  const points: PointInput[] = [];
  for (const s of records.statuses) {
    const fields: Record<string, FieldValue> = { up: { int: DOWN.has(s.status) ? 0 : 1 }, stale: s.stale };
    set(fields, "info", s.info);
    set(fields, "vendor_error_code", s.vendorErrorCode);
    points.push({
      measurement: OCPP_MEASUREMENTS.status,
      tags: { charger: s.charger, connector: s.connectorId, status: s.status, error_code: s.errorCode },
      fields,
      timestamp: s.time,
    });
  }
  for (const s of records.sessions) {
    const fields: Record<string, FieldValue> = { transaction_id: { int: s.transactionId } };
    set(fields, "id_tag", s.idTag);
    set(fields, "meter_start_wh", s.meterStartWh === undefined ? undefined : { float: s.meterStartWh });
    set(fields, "meter_stop_wh", s.meterStopWh === undefined ? undefined : { float: s.meterStopWh });
    set(fields, "energy_wh", s.energyWh === undefined ? undefined : { float: s.energyWh });
    set(fields, "stop_reason", s.stopReason);
    const tags: Record<string, string | number> = { charger: s.charger, event: s.event };
    if (s.connectorId !== undefined) tags.connector = s.connectorId;
    points.push({ measurement: OCPP_MEASUREMENTS.session, tags, fields, timestamp: (s.event === "ended" ? s.stopTime : s.startTime) ?? s.receivedTime });
  }
  for (const m of records.meters) {
    const tags: Record<string, string | number> = { charger: m.charger, connector: m.connectorId, measurand: m.measurand, location: m.location, unit: m.unit };
    if (m.phase) tags.phase = m.phase;
    const fields: Record<string, FieldValue> = { value: { float: m.value } };
    if (m.transactionId !== undefined) fields.transaction_id = { int: m.transactionId };
    points.push({ measurement: OCPP_MEASUREMENTS.meter, tags, fields, timestamp: m.time });
  }
  return points;
}
