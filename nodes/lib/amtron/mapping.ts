/**
 * AMTRON documents -> the generic ChargerState, plus a few flat AMTRON
 * extras (tariff, control pilot) that the change detector can publish as
 * they are.
 */
import type { ChargerState, OperationState } from "../types";
import type { ChargeData, DevInfo } from "./types";

/** What the control-pilot letter says in plain words. */
export type ControlPilotHint = "no_vehicle" | "connected" | "charging" | "fault" | "unknown";

export interface AmtronChargerState extends ChargerState {
  /** ChgState as the wallbox reports it, e.g. "StandbyConnect". */
  chargeState: string;
  /** Active tariff: T1, T2 or T3 (solar). */
  tariff?: string;
  /** HCCP untouched, e.g. "A11". */
  controlPilot?: string;
  controlPilotHint?: ControlPilotHint;
  /** The app-control current, A. */
  remoteCurrentA?: number;
  /** From DevInfo, when it has been read. */
  devMode?: string;
  errorCode?: number;
  raw: ChargeData;
}

const CHARGE_STATE_MAP: Record<string, OperationState> = {
  Idle: "idle",
  Charging: "charging",
  Paused: "suspended",
  StandbyConnect: "connected",
  StandbyAuthorize: "connected",
  // The session is over but the car is still plugged in.
  Terminated: "connected",
  Error: "fault",
};

/** IEC 61851 letter at the start of HCCP: A no car, B connected, C/D charging, E/F fault. */
export function controlPilotHint(hccp: string | undefined): ControlPilotHint | undefined {
  if (hccp === undefined) return undefined;
  switch (hccp.trim().charAt(0).toUpperCase()) {
    case "A":
      return "no_vehicle";
    case "B":
      return "connected";
    case "C":
    case "D":
      return "charging";
    case "E":
    case "F":
      return "fault";
    default:
      return "unknown";
  }
}

export function operationState(chargeData: ChargeData, devInfo?: DevInfo): OperationState {
  if (devInfo?.Err !== undefined && devInfo.Err !== 0) return "fault";
  return CHARGE_STATE_MAP[chargeData.ChgState] ?? "unknown";
}

export interface MapOptions {
  chargerId: string;
  /** Sampling time; defaults to now. */
  now?: Date;
}

export function toChargerState(chargeData: ChargeData, devInfo: DevInfo | undefined, options: MapOptions): AmtronChargerState {
  const hint = controlPilotHint(chargeData.HCCP);
  const state: AmtronChargerState = {
    source: "amtron",
    chargerId: options.chargerId,
    operationState: operationState(chargeData, devInfo),
    chargeState: chargeData.ChgState,
    samplingTime: (options.now ?? new Date()).toISOString(),
    raw: chargeData,
  };
  // The MHCP API has no meter register, so the total falls back to the session energy (see ChargerState).
  if (chargeData.ChgNrg !== undefined) {
    state.totalEnergyWh = chargeData.ChgNrg;
    state.sessionEnergyWh = chargeData.ChgNrg;
  }
  if (chargeData.ActPwr !== undefined) state.powerW = chargeData.ActPwr;
  if (chargeData.ActCurr !== undefined) state.maxCurrentA = chargeData.ActCurr;
  if (chargeData.RemoteCurr !== undefined) state.remoteCurrentA = chargeData.RemoteCurr;
  if (chargeData.Tariff !== undefined) state.tariff = chargeData.Tariff;
  if (chargeData.HCCP !== undefined) {
    state.controlPilot = chargeData.HCCP;
    state.controlPilotHint = hint;
  }
  const connected = vehicleConnected(chargeData.ChgState, hint);
  if (connected !== undefined) state.vehicleConnected = connected;
  if (devInfo?.DevMode !== undefined) state.devMode = devInfo.DevMode;
  if (devInfo?.Err !== undefined) state.errorCode = devInfo.Err;
  return state;
}

function vehicleConnected(chgState: string, hint: ControlPilotHint | undefined): boolean | undefined {
  // The pilot is the physical truth; ChgState is the fallback for units without HCCP.
  if (hint === "no_vehicle") return false;
  if (hint === "connected" || hint === "charging") return true;
  if (chgState === "Idle") return false;
  if (chgState in CHARGE_STATE_MAP && chgState !== "Error") return true;
  return undefined;
}

/** A default charger name: the configured one, else the wallbox's own name or serial. */
export function chargerIdFrom(configured: string | undefined, devInfo: DevInfo | undefined, fallback: string): string {
  const name = configured?.trim();
  if (name) return name;
  if (typeof devInfo?.DevName === "string" && devInfo.DevName.trim()) return devInfo.DevName.trim();
  if (devInfo?.Sn !== undefined && devInfo.Sn !== null) return String(devInfo.Sn);
  return fallback;
}
