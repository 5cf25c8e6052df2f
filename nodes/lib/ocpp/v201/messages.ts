/**
 * OCPP 2.0.1 payloads the central system reads, typed after the official
 * JSON schemas (the ones ocpp-rpc ships). Only the fields we use; every
 * field read from a charger is still treated as possibly missing, because
 * lenient mode lets non-conformant firmware through.
 */

export interface IdToken {
  idToken: string;
  /** Central, eMAID, ISO14443, ISO15693, KeyCode, Local, MacAddress, NoAuthorization. */
  type: string;
}

export type AuthorizationStatus =
  | "Accepted"
  | "Blocked"
  | "ConcurrentTx"
  | "Expired"
  | "Invalid"
  | "NoCredit"
  | "NotAllowedTypeEVSE"
  | "NotAtThisLocation"
  | "NotAtThisTime"
  | "Unknown";

export interface IdTokenInfo {
  status: AuthorizationStatus;
  cacheExpiryDateTime?: string;
  groupIdToken?: IdToken;
}

export interface Evse {
  id: number;
  connectorId?: number;
}

export interface UnitOfMeasure {
  unit?: string;
  multiplier?: number;
}

export interface SampledValue201 {
  value: number;
  context?: string;
  measurand?: string;
  phase?: string;
  location?: string;
  unitOfMeasure?: UnitOfMeasure;
}

export interface MeterValue201 {
  timestamp: string;
  sampledValue: SampledValue201[];
}

export interface BootNotificationRequest201 {
  reason: string;
  chargingStation: { model: string; vendorName: string; serialNumber?: string; firmwareVersion?: string };
}

export interface StatusNotificationRequest201 {
  timestamp: string;
  connectorStatus: "Available" | "Occupied" | "Reserved" | "Unavailable" | "Faulted";
  evseId: number;
  connectorId: number;
}

export interface AuthorizeRequest201 {
  idToken: IdToken;
}

export interface MeterValuesRequest201 {
  evseId: number;
  meterValue: MeterValue201[];
}

export type ChargingState = "Charging" | "EVConnected" | "SuspendedEV" | "SuspendedEVSE" | "Idle";

export interface TransactionEventRequest {
  eventType: "Started" | "Updated" | "Ended";
  timestamp: string;
  triggerReason: string;
  seqNo: number;
  offline?: boolean;
  numberOfPhasesUsed?: number;
  reservationId?: number;
  transactionInfo: {
    transactionId: string;
    chargingState?: ChargingState;
    timeSpentCharging?: number;
    stoppedReason?: string;
    remoteStartId?: number;
  };
  idToken?: IdToken;
  evse?: Evse;
  meterValue?: MeterValue201[];
}

export interface ComponentRef {
  name: string;
  instance?: string;
  evse?: Evse;
}

export interface VariableRef {
  name: string;
  instance?: string;
}

export interface ReportDatum {
  component: ComponentRef;
  variable: VariableRef;
  variableAttribute: Array<{ type?: string; value?: string; mutability?: string }>;
  variableCharacteristics?: { unit?: string; dataType?: string; valuesList?: string; maxLimit?: number };
}

export interface NotifyReportRequest {
  requestId: number;
  generatedAt: string;
  tbc?: boolean;
  seqNo: number;
  reportData?: ReportDatum[];
}

export interface NotifyEVChargingNeedsRequest {
  evseId: number;
  maxScheduleTuples?: number;
  chargingNeeds: {
    requestedEnergyTransfer: string;
    departureTime?: string;
    acChargingParameters?: { energyAmount: number; evMinCurrent: number; evMaxCurrent: number; evMaxVoltage: number };
    dcChargingParameters?: { evMaxCurrent: number; evMaxVoltage: number; energyAmount?: number; evMaxPower?: number; stateOfCharge?: number };
  };
}

export interface GetVariableResult {
  attributeStatus: string;
  attributeType?: string;
  attributeValue?: string;
  component: ComponentRef;
  variable: VariableRef;
}

export interface SetVariableResult {
  attributeType?: string;
  attributeStatus: string;
  component: ComponentRef;
  variable: VariableRef;
}
