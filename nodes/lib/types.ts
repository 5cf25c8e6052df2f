/**
 * Domain types shared by every node. Vendor modules map their own documents
 * onto these so that flows, the change detector and the writers can treat
 * all chargers alike.
 */

/** Operation state of a charger, the same for every source. */
export const OPERATION_STATES = [
  "unknown",
  "off",
  "idle",
  "connected",
  "charging",
  "suspended",
  "scheduled_downtime",
  "unscheduled_downtime",
  "fault",
] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

export function isOperationState(value: unknown): value is OperationState {
  return typeof value === "string" && (OPERATION_STATES as readonly string[]).includes(value);
}

/** A value per phase; a phase the source does not report is left out. */
export interface PhaseValues {
  l1?: number;
  l2?: number;
  l3?: number;
}

/** One reading of one charger (or one connector of it), in SI-ish units. */
export interface ChargerState {
  /** Who produced this state, e.g. "amtron", "chargeamps", "ocpp". */
  source: string;
  /** Charger identity as the source names it. */
  chargerId: string;
  /** Connector number when the source reports per connector. */
  connectorId?: number;
  operationState: OperationState;
  /** Energy in Wh: the register total where known, otherwise the session energy. */
  totalEnergyWh?: number;
  /** Energy of the current session in Wh. */
  sessionEnergyWh?: number;
  /** Active power in W. */
  powerW?: number;
  currentA?: PhaseValues;
  voltageV?: PhaseValues;
  /** Current limit in effect, A per phase. */
  maxCurrentA?: number;
  /** Phases the car draws on now (from the measured currents), when the source can tell. */
  phases?: number;
  /** Whether the charger is reachable now, when the source can tell. */
  online?: boolean;
  /** Whether a vehicle is plugged in, when the source can tell. */
  vehicleConnected?: boolean;
  /** When the source sampled the values (ISO 8601). */
  samplingTime: string;
  /** The source's own fields, untouched, for anything not mapped. */
  raw?: unknown;
}

/** Common availability status model (OCPI-style), with the raw value always kept. */
export const AVAILABILITY_STATUSES = [
  "AVAILABLE",
  "CHARGING",
  "RESERVED",
  "BLOCKED",
  "OUTOFORDER",
  "INOPERATIVE",
  "UNKNOWN",
] as const;
export type AvailabilityStatus = (typeof AVAILABILITY_STATUSES)[number];

export type StatusCounts = Record<AvailabilityStatus, number>;

export function emptyStatusCounts(): StatusCounts {
  const counts = {} as StatusCounts;
  for (const status of AVAILABILITY_STATUSES) counts[status] = 0;
  return counts;
}

/** Availability of one connector (or EVSE) at a public site. */
export interface ConnectorAvailability {
  id: string;
  status: AvailabilityStatus;
  /** The feed's own status value, untouched. */
  raw: unknown;
  name?: string;
  plug?: string;
  powerKw?: number;
  /** Extra labels, e.g. Chargy's station/device. */
  labels?: Record<string, string>;
}

/** Availability of one public site at one moment. */
export interface AvailabilityRecord {
  site: string;
  siteName?: string;
  available: number;
  total: number;
  counts: StatusCounts;
  /** ISO 8601 time of the observation. */
  time: string;
  /** Monday = "Monday" ... in the configured time zone. */
  weekday: string;
  /** 0-23 in the configured time zone. */
  hourOfDay: number;
  connectors?: ConnectorAvailability[];
}
