/**
 * ev-ocpp-in events as database records: a status history entry, one
 * session record per start or end, one meter record per numeric sample.
 * Knows nothing of SQL or line protocol; the TimescaleDB and InfluxDB
 * writers shape these into rows and points.
 */
import { isOcppEventKind, type MeterEvent, type SessionEndedEvent, type SessionStartedEvent, type StatusEvent } from "./events";

export interface StatusRecord {
  charger: string;
  connectorId: number;
  status: string;
  errorCode: string;
  info?: string;
  vendorId?: string;
  vendorErrorCode?: string;
  /** The charger's timestamp, or when the central system received it when the charger sent none. */
  time: string;
  /** The charger's own timestamp, as sent. */
  chargerTime?: string;
  /** When the central system received it. */
  receivedTime: string;
  /** An older status that arrived after a newer one: history only, never "current". */
  stale: boolean;
}

export interface SessionRecord {
  charger: string;
  transactionId: number;
  /** "started" or "ended": which event this record comes from. */
  event: "started" | "ended";
  connectorId?: number;
  idTag?: string;
  stopIdTag?: string;
  startTime?: string;
  stopTime?: string;
  meterStartWh?: number;
  meterStopWh?: number;
  energyWh?: number;
  stopReason?: string;
  receivedTime: string;
}

export interface MeterRecord {
  /** The sample's charger timestamp. */
  time: string;
  charger: string;
  connectorId: number;
  transactionId?: number;
  measurand: string;
  phase?: string;
  location: string;
  context: string;
  /** After conversion: Wh, W, A, V, … */
  unit: string;
  value: number;
}

export interface OcppRecords {
  statuses: StatusRecord[];
  sessions: SessionRecord[];
  meters: MeterRecord[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An event as ev-ocpp-in sends it: kind, identity (the charger) and time. */
export function looksLikeOcppEvent(value: unknown): value is { kind: string; identity: string; time: string } {
  return isRecord(value) && isOcppEventKind(value.kind) && typeof value.identity === "string" && typeof value.time === "string";
}

/** Kinds that become records; the others (boot, rtt, connected, …) are not stored. */
export const STORED_OCPP_KINDS: readonly string[] = ["status", "meter", "session.started", "session.ended"];

export function statusRecord(event: StatusEvent): StatusRecord {
  return {
    charger: event.identity,
    connectorId: event.connectorId,
    status: event.status,
    errorCode: event.errorCode,
    info: event.info,
    vendorId: event.vendorId,
    vendorErrorCode: event.vendorErrorCode,
    time: event.timestamp ?? event.time,
    chargerTime: event.timestamp,
    receivedTime: event.time,
    stale: event.stale === true,
  };
}

export function sessionRecord(event: SessionStartedEvent | SessionEndedEvent): SessionRecord {
  const ended = event.kind === "session.ended";
  return {
    charger: event.identity,
    transactionId: event.transactionId,
    event: ended ? "ended" : "started",
    connectorId: event.connectorId,
    idTag: event.idTag,
    stopIdTag: ended ? event.stopIdTag : undefined,
    startTime: event.startTime,
    stopTime: ended ? event.stopTime : undefined,
    meterStartWh: event.meterStartWh,
    meterStopWh: ended ? event.meterStopWh : undefined,
    energyWh: ended ? event.energyWh : undefined,
    stopReason: ended ? event.reason : undefined,
    receivedTime: event.time,
  };
}

/** Numeric samples only: SignedData and values that are not numbers have no `value` and are left out. */
export function meterRecords(event: MeterEvent): MeterRecord[] {
  const out: MeterRecord[] = [];
  for (const sample of event.samples) {
    if (typeof sample.value !== "number" || !Number.isFinite(sample.value)) continue;
    out.push({
      time: sample.timestamp,
      charger: event.identity,
      connectorId: sample.connectorId ?? event.connectorId,
      transactionId: sample.transactionId ?? event.transactionId,
      measurand: sample.measurand,
      phase: sample.phase,
      location: sample.location,
      context: sample.context,
      unit: sample.unit,
      value: sample.value,
    });
  }
  return out;
}

/**
 * The records an event makes, or undefined when the value is not an
 * ev-ocpp-in event. Events of other kinds give empty lists.
 */
export function ocppRecords(value: unknown): OcppRecords | undefined {
  if (!looksLikeOcppEvent(value)) return undefined;
  const records: OcppRecords = { statuses: [], sessions: [], meters: [] };
  switch (value.kind) {
    case "status":
      records.statuses.push(statusRecord(value as unknown as StatusEvent));
      break;
    case "session.started":
    case "session.ended":
      records.sessions.push(sessionRecord(value as unknown as SessionStartedEvent | SessionEndedEvent));
      break;
    case "meter":
      if (Array.isArray((value as { samples?: unknown }).samples)) records.meters = meterRecords(value as unknown as MeterEvent);
      break;
  }
  return records;
}
