/**
 * Maps Charge Amps status documents to the shared ChargerState. The
 * connector `status` is a free string in the API; in practice it is an OCPP
 * or CAPI status name, and older firmware sends numeric codes whose meaning
 * depends on the protocol (ChargePoint.ocppVersion: null = CAPI).
 */
import type { ChargerState, OperationState, PhaseValues } from "../types";
import type { ChargePointStatus, ConnectorStatus, Measurement } from "./models";

export const SOURCE = "chargeamps";

export type Protocol = "ocpp" | "capi";

export function protocolOf(ocppVersion: string | null | undefined): Protocol {
  return ocppVersion ? "ocpp" : "capi";
}

const OCPP_CODES = ["Available", "Preparing", "Charging", "SuspendedEVSE", "SuspendedEV", "Finishing", "Reserved", "Unavailable", "Faulted", "Unknown"];
const CAPI_CODES = ["Available", "Charging", "Connected", "Error", "Unknown"];

const STATE_BY_NAME: Record<string, OperationState> = {
  available: "idle",
  preparing: "connected",
  connected: "connected",
  finishing: "connected",
  charging: "charging",
  suspendedev: "suspended",
  suspendedevse: "suspended",
  reserved: "idle",
  // The connector was switched off (mode Off) or taken out of service on purpose.
  unavailable: "off",
  faulted: "fault",
  error: "fault",
  unknown: "unknown",
};

const PLUGGED_IN = new Set(["preparing", "charging", "connected", "suspendedev", "suspendedevse", "finishing"]);
const NOT_PLUGGED_IN = new Set(["available", "reserved"]);

/** The status name for a raw value: numeric codes resolved through the protocol's table. */
export function statusName(raw: unknown, protocol: Protocol = "ocpp"): string | undefined {
  if (typeof raw === "number" || (typeof raw === "string" && /^\s*\d+\s*$/.test(raw))) {
    const table = protocol === "ocpp" ? OCPP_CODES : CAPI_CODES;
    return table[Number(raw)];
  }
  if (typeof raw === "string" && raw.trim() !== "") return raw.trim();
  return undefined;
}

export function operationStateOf(raw: unknown, protocol: Protocol = "ocpp", chargePointOnline = true): OperationState {
  // An offline charge point's last connector status is stale: the charger is unavailable to us.
  if (!chargePointOnline) return "unscheduled_downtime";
  const name = statusName(raw, protocol);
  return (name && STATE_BY_NAME[name.toLowerCase()]) || "unknown";
}

export function vehicleConnectedOf(raw: unknown, protocol: Protocol = "ocpp", chargePointOnline = true): boolean | undefined {
  if (!chargePointOnline) return undefined;
  const name = statusName(raw, protocol)?.toLowerCase();
  if (!name) return undefined;
  if (PLUGGED_IN.has(name)) return true;
  if (NOT_PLUGGED_IN.has(name)) return false;
  return undefined;
}

export function phaseValues(measurements: Measurement[] | null | undefined, field: "current" | "voltage"): PhaseValues | undefined {
  if (!Array.isArray(measurements) || measurements.length === 0) return undefined;
  const out: PhaseValues = {};
  for (const m of measurements) {
    const value = m?.[field];
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    const key = String(m.phase).toLowerCase();
    if (key === "l1" || key === "l2" || key === "l3") out[key] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** chargingPowerKw when the cloud sends it, otherwise Σ current × voltage (W). */
export function powerW(connector: ConnectorStatus): number | undefined {
  if (typeof connector.chargingPowerKw === "number" && Number.isFinite(connector.chargingPowerKw)) {
    return round(connector.chargingPowerKw * 1000, 1);
  }
  if (!Array.isArray(connector.measurements) || connector.measurements.length === 0) return undefined;
  let sum = 0;
  for (const m of connector.measurements) {
    if (typeof m?.current === "number" && typeof m?.voltage === "number") sum += m.current * m.voltage;
  }
  return round(sum, 1);
}

export function connectorState(
  status: ChargePointStatus,
  connector: ConnectorStatus,
  protocol: Protocol,
  samplingTime: string,
): ChargerState {
  const online = status.status !== "Offline";
  const chargerId = connector.chargePointId ?? status.id ?? "";
  const state: ChargerState = {
    source: SOURCE,
    chargerId,
    connectorId: connector.connectorId,
    operationState: operationStateOf(connector.status, protocol, online),
    samplingTime,
    raw: connector,
  };
  if (typeof connector.totalConsumptionKwh === "number" && Number.isFinite(connector.totalConsumptionKwh)) {
    // The cloud only knows the session's energy; ChargerState says to use it as the total then.
    state.sessionEnergyWh = round(connector.totalConsumptionKwh * 1000, 1);
    state.totalEnergyWh = state.sessionEnergyWh;
  }
  const power = powerW(connector);
  if (power !== undefined) state.powerW = power;
  const current = phaseValues(connector.measurements, "current");
  if (current) state.currentA = current;
  const voltage = phaseValues(connector.measurements, "voltage");
  if (voltage) state.voltageV = voltage;
  const plugged = vehicleConnectedOf(connector.status, protocol, online);
  if (plugged !== undefined) state.vehicleConnected = plugged;
  return state;
}

/** One ChargerState per connector of a charge point status document. */
export function chargerStates(status: ChargePointStatus, protocol: Protocol, samplingTime = new Date().toISOString()): ChargerState[] {
  const connectors = Array.isArray(status.connectorStatuses) ? status.connectorStatuses : [];
  return connectors.filter((c) => c && typeof c === "object").map((c) => connectorState(status, c, protocol, samplingTime));
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}
