/**
 * Documents of the Charge Amps external API v5, typed from the vendor's
 * OpenAPI description (eapi.charge.space, swagger v5). Nullable fields are
 * nullable here too; the API sends `null` rather than leaving fields out.
 */

export const API_PREFIX = "/api/v5";
export const DEFAULT_BASE_URL = "https://eapi.charge.space";

export const DIMMER_VALUES = ["Off", "Low", "Medium", "High"] as const;
export type DimmerValue = (typeof DIMMER_VALUES)[number];

export const CONNECTOR_MODES = ["Off", "On", "Schedule"] as const;
/** `OnOffMode`: whether a connector may charge, or follows the schedules. */
export type OnOffMode = (typeof CONNECTOR_MODES)[number];

export const RFID_FORMATS = ["Hex", "Dec", "ReverseDec"] as const;
export type RfidFormat = (typeof RFID_FORMATS)[number];

export type SessionType = "OnePhase" | "ThreePhase" | "Schuko";
export type Phase = "L1" | "L2" | "L3";
export type ChargePointStatusType = "Online" | "Offline";

export interface UserCredentials {
  email: string;
  password: string;
}

export interface RfidTag {
  active: boolean;
  rfid: string | null;
  rfidDec: string | null;
  rfidDecReverse: string | null;
}

export interface UserView {
  id: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  mobile: string | null;
  rfidTags: RfidTag[] | null;
  userStatus: string;
}

export interface LoginResponse {
  message: string | null;
  token: string | null;
  refreshToken: string | null;
  user: UserView | null;
}

/** `TokenRefresh`: both the request and the response of /auth/refreshtoken. */
export interface TokenRefresh {
  token: string | null;
  refreshToken: string | null;
}

export interface HttpErrorResponse {
  error: string | null;
  messageCode: string | null;
}

export interface Measurement {
  phase: Phase;
  /** A */
  current: number;
  /** V */
  voltage: number;
}

export interface ConnectorStatus {
  chargePointId: string | null;
  connectorId: number;
  /** Energy of the current session (drops to 0 between sessions). */
  totalConsumptionKwh: number;
  /** New in v5; older answers may leave it out. */
  chargingPowerKw?: number | null;
  sessionType: SessionType | null;
  /** A free string (OCPP or CAPI status name), sometimes a numeric code. */
  status: string | number | null;
  measurements: Measurement[] | null;
  startTime: string | null;
  endTime: string | null;
  sessionId: number | null;
}

export interface ChargePointStatus {
  id: string | null;
  status: ChargePointStatusType;
  connectorStatuses: ConnectorStatus[] | null;
}

export interface ChargePointSettings {
  id: string | null;
  dimmer: DimmerValue;
  downLight: boolean | null;
  maxCurrent: number | null;
}

/** GET /chargepoints/{cp}/settings adds the installation's fuse limit. */
export interface ViewChargePointSettings extends ChargePointSettings {
  installationCurrent: number | null;
}

export interface ConnectorSettings {
  chargePointId: string | null;
  connectorId: number;
  maxCurrent: number | null;
  rfidLock: boolean;
  mode: OnOffMode;
  cableLock: boolean;
}

export interface ViewConnectorSettings extends ConnectorSettings {
  installationCurrent: number;
}

export interface Connector {
  chargePointId: string | null;
  connectorId: number;
  type: "Charger" | "Schuko";
  settings: ConnectorSettings | null;
  connectorUserId: string | null;
}

export interface ChargePoint {
  id: string | null;
  name: string | null;
  /** The charger's own OCPP password, which we never pass on. */
  password: string | null;
  type: string | null;
  isLoadbalanced: boolean;
  firmwareVersion: string | null;
  hardwareVersion: string | null;
  ownerReadOnly: boolean;
  /** null: Charge Amps' own CAPI protocol; "1.6": OCPP. Decides how numeric statuses read. */
  ocppVersion: string | null;
  settings: ChargePointSettings | null;
  connectors: Connector[] | null;
}

export interface StartAuth {
  rfidLength: number;
  rfidFormat: RfidFormat;
  rfid: string | null;
  externalTransactionId?: string | null;
}

export interface ChargingSession {
  id: number;
  chargePointId: string | null;
  connectorId: number;
  userId: string;
  rfid: string | null;
  rfidDec: string | null;
  rfidDecReverse: string | null;
  organisationId: string | null;
  sessionType: SessionType;
  startTime: string;
  endTime: string | null;
  externalTransactionId: string | null;
  totalConsumptionKwh: number;
  externalId: string | null;
}

export interface SessionQuery {
  startTime?: string;
  endTime?: string;
  maxCount?: number;
}

/** A charge point without its OCPP password, the shape we hand to flows. */
export type PublicChargePoint = Omit<ChargePoint, "password">;

export function withoutPassword(cp: ChargePoint): PublicChargePoint {
  // The charger's OCPP password is a secret that must not travel in msg.
  const { password: _password, ...rest } = cp;
  return rest;
}
