/**
 * What a charger can do, in one shape for every OCPP version, so a flow
 * reads the number of connectors, smart-charging support or the rate unit
 * the same way from a 1.6 and a 2.0.1 charger. Each adapter derives it from
 * what it learnt (1.6: GetConfiguration keys, ../v16/discovery.ts; 2.0.1:
 * the device model from NotifyReport / GetVariables, ../v201/device-model.ts).
 * A field is left out when the charger has not said.
 */

export type CapabilityRateUnit = "A" | "W";

export interface ConnectorCapability {
  connectorId: number;
  /** OCPP 2.0.1 ConnectorType, e.g. "cType2", "sType2", "cCCS2". */
  type?: string;
  /** AC phases wired to this connector (0 = DC). */
  supplyPhases?: number;
}

/** OCPP 2.0.1: an EVSE is what flows address as `connector` (one session at a time); it may have several plugs. */
export interface EvseCapability {
  evseId: number;
  /** The most this EVSE can deliver, in W (EVSE.Power maxLimit). */
  maxPowerW?: number;
  supplyPhases?: number;
  /** This EVSE can charge on one selected phase (ACPhaseSwitchingSupported). */
  phaseSwitching?: boolean;
  connectors: ConnectorCapability[];
}

export interface ChargerCapabilities {
  /** What flows address as `connector`: connectors on 1.6 (NumberOfConnectors), EVSEs on 2.0.1. */
  numberOfConnectors?: number;
  /** 1.6 feature-profile names; on 2.0.1 derived from the device model (Core, FirmwareManagement, RemoteTrigger, and SmartCharging, LocalAuthListManagement, Reservation when enabled). */
  featureProfiles: string[];
  /** Measurands sampled during a session (1.6 MeterValuesSampledData, 2.0.1 TxUpdatedMeasurands). */
  measurands: string[];
  /** Measurands in the end-of-session data (1.6 StopTxnSampledData, 2.0.1 TxEndedMeasurands). */
  measurandsEnded?: string[];
  heartbeatIntervalS?: number;
  smartCharging?: {
    units: CapabilityRateUnit[];
    maxStackLevel?: number;
    /** Periods one schedule may have. */
    maxPeriods?: number;
    /** Charging profiles the charger can hold at once. */
    maxProfiles?: number;
    /** 2.0.1: SmartChargingCtrlr Enabled (false = present but switched off). */
    enabled?: boolean;
    /** 2.0.1: numberPhases / phaseToUse may be sent (ACPhaseSwitchingSupported). */
    phaseSwitching?: boolean;
    /** 2.0.1: can switch from 3 to 1 phase during a transaction (Phases3to1). */
    phases3to1?: boolean;
  };
  localList?: { enabled: boolean; maxLength?: number; maxPerMessage?: number; maxBytesPerMessage?: number };
  reservation?: { enabled: boolean };
  authorization?: { enabled?: boolean; authorizeRemoteStart?: boolean; localAuthorizeOffline?: boolean; localPreAuthorize?: boolean; offlineTxForUnknownId?: boolean };
  /** OCPP 2.0.1 only: EVSEs and their connectors as the device model reports them. */
  evses?: EvseCapability[];
}

export const int = (value: string | undefined): number | undefined => {
  const n = Number.parseInt(value ?? "", 10);
  return Number.isFinite(n) ? n : undefined;
};

export const bool = (value: string | undefined): boolean | undefined => {
  const v = value?.trim().toLowerCase();
  return v === "true" ? true : v === "false" ? false : undefined;
};

/** A comma-separated list (OCPP's CSL), empty entries dropped. */
export const csl = (value: string | undefined): string[] =>
  (value ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "");

/** The object without its undefined fields (so answers and snapshots show only what is known). */
export function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
