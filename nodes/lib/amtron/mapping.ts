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
export function controlPilotHint(hccp: string | null | undefined): ControlPilotHint | undefined {
  if (!present(hccp)) return undefined;
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
  if (present(devInfo?.Err) && devInfo.Err !== 0) return "fault";
  return CHARGE_STATE_MAP[chargeData.ChgState] ?? "unknown";
}

export interface MapOptions {
  chargerId: string;
  /** Sampling time; defaults to now. */
  now?: Date;
  /**
   * Also set `totalEnergyWh` (to the session energy, which resets every session), as
   * versions before 0.2 did. Nodes saved before the option existed keep it; new nodes do not.
   */
  legacyTotalEnergy?: boolean;
}

/** A field the wallbox sent with a value: `null` (sent by some firmware for "not measured") counts as absent. */
function present<T>(value: T | null | undefined): value is T {
  return value !== undefined && value !== null;
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
  // ChgNrg is the energy of the session (it resets when a new one starts); the MHCP API has no meter register.
  if (present(chargeData.ChgNrg)) {
    state.sessionEnergyWh = chargeData.ChgNrg;
    if (options.legacyTotalEnergy) state.totalEnergyWh = chargeData.ChgNrg;
  }
  if (present(chargeData.ActPwr)) state.powerW = chargeData.ActPwr;
  if (present(chargeData.ActCurr)) state.maxCurrentA = chargeData.ActCurr;
  if (present(chargeData.RemoteCurr)) state.remoteCurrentA = chargeData.RemoteCurr;
  if (present(chargeData.Tariff)) state.tariff = chargeData.Tariff;
  if (present(chargeData.HCCP)) {
    state.controlPilot = chargeData.HCCP;
    state.controlPilotHint = hint;
  }
  const connected = vehicleConnected(chargeData.ChgState, hint);
  if (connected !== undefined) state.vehicleConnected = connected;
  if (present(devInfo?.DevMode)) state.devMode = devInfo.DevMode;
  if (present(devInfo?.Err)) state.errorCode = devInfo.Err;
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
