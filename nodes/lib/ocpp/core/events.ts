/**
 * The normalised events the OCPP events node emits. Flows switch on `kind`
 * and never see raw OCPP frames (a separate raw-frame option is for
 * debugging). Energy is always Wh, power W, current A, voltage V.
 */
import type { ChargerState } from "../../types";
import type { NormalizedMeterSample } from "./meter-values";
import type { TransactionId } from "./contract";
import type {
  AuthorizeRequest,
  BootNotificationRequest,
  DataTransferRequest,
  DiagnosticsStatusNotificationRequest,
  FirmwareStatusNotificationRequest,
  SecurityEventNotificationRequest,
  StatusNotificationRequest,
} from "../v16/messages";

interface EventBase<K extends string> {
  kind: K;
  /** Charger identity (last path segment of its websocket URL). */
  identity: string;
  /** When the central system saw it (ISO 8601); charger clocks are in the payload fields. */
  time: string;
}

export interface ConnectedEvent extends EventBase<"connected"> {
  remoteAddress?: string;
  /** Negotiated subprotocol, undefined when the charger offered none. */
  protocol?: string;
  /** True when this connection replaced an older socket with the same identity. */
  replacedOld?: boolean;
}

export interface DisconnectedEvent extends EventBase<"disconnected"> {
  code?: number;
  reason?: string;
  /** This socket was replaced by a newer one of the same charger id; the charger itself is still connected. */
  replaced?: true;
}

export interface RttEvent extends EventBase<"rtt"> {
  /** Websocket ping round trip in milliseconds. */
  rttMs: number;
}

export interface BootEvent extends EventBase<"boot"> {
  vendor: string;
  model: string;
  /** chargePointSerialNumber, or the deprecated chargeBoxSerialNumber. */
  serialNumber?: string;
  firmwareVersion?: string;
  raw: BootNotificationRequest;
}

export interface StatusEvent extends EventBase<"status"> {
  connectorId: number;
  status: string;
  errorCode: string;
  info?: string;
  vendorId?: string;
  vendorErrorCode?: string;
  /** The charger's timestamp for this status, when it sent one. */
  timestamp?: string;
  /** True when an older status arrived after a newer one and was not applied to the state. */
  stale?: boolean;
  /** OCPP 2.0.1: `status` is merged into the 1.6 words from these (connectorId is the EVSE id, 0 the station). */
  evseConnectorId?: number;
  connectorStatus?: string;
  chargingState?: string;
}

export interface MeterEvent extends EventBase<"meter"> {
  connectorId: number;
  transactionId?: TransactionId;
  /** Sorted by timestamp, oldest first. */
  samples: NormalizedMeterSample[];
  /** True when every sample is older than what the session already had (queued while offline). */
  late?: boolean;
  /** OCPP 2.0.1: from an event the charger queued while offline. */
  replayed?: boolean;
}

/** Fields shared by session.started / session.updated / session.ended. */
export interface SessionFields {
  /** A number for OCPP 1.6 chargers, the charger's own text for 2.0.1. */
  transactionId: TransactionId;
  /** The tag that started the session; undefined only for a stop of an unknown transaction. */
  idTag?: string;
  connectorId?: number;
  /** Register reading at start, Wh (StartTransaction.meterStart). */
  meterStartWh?: number;
  /** Register reading at stop (ended) or the latest one (updated), Wh. */
  meterStopWh?: number;
  /** Energy of this session in Wh: register now/at stop minus register at start. */
  energyWh?: number;
  /** Why energyWh is missing, or that it is an estimate. */
  energyNote?: string;
  /** Latest active import power, W (updated only). */
  powerW?: number;
  /** Charger timestamps, ISO 8601. */
  startTime?: string;
  stopTime?: string;
  /** OCPP 2.0.1: the EVSE (connectorId is the EVSE id) and the connector on it. */
  evseId?: number;
  evseConnectorId?: number;
  /** OCPP 2.0.1: the RequestStartTransaction (its remoteStartId) that started this session. */
  remoteStartId?: number;
  /** OCPP 2.0.1: this event replays history the charger queued while offline (never moves live state backwards). */
  replayed?: boolean;
}

export interface SessionStartedEvent extends EventBase<"session.started">, SessionFields {
  reservationId?: number;
}

export interface SessionUpdatedEvent extends EventBase<"session.updated">, SessionFields {
  /** Charger timestamp of the newest meter value applied. */
  sampleTime?: string;
}

export interface SessionEndedEvent extends EventBase<"session.ended">, SessionFields {
  /**
   * StopTransaction.reason ("Local" when the charger sent none, as the spec
   * says), or "Replaced" when a new StartTransaction arrived on the same
   * connector before this session was stopped, or "Closed" when a flow
   * ended a zombie session by hand.
   */
  reason: string;
  /** The tag presented to stop, when it differs from the start tag or is known. */
  stopIdTag?: string;
  /** StopTransaction named a transaction id this central system does not know. */
  unknownTransaction?: boolean;
  /**
   * The real StopTransaction of a session that was earlier ended as "Replaced":
   * these figures supersede the first session.ended.
   */
  correction?: boolean;
  /** OCPP 2.0.1: the charger's stoppedReason as sent (`reason` holds the 1.6 word). */
  stoppedReason?: string;
}

export interface AuthorizeEvent extends EventBase<"authorize"> {
  idTag: string;
  /** The central system asked this charger to start with this tag (RemoteStartTransaction): accepted, no flow question. */
  remoteStart?: true;
  /** OCPP 2.0.1: the id token's type (ISO14443, Central, …). */
  idTokenType?: string;
}

/** OCPP 2.0.1 (ISO 15118): what the car asked for. SoC is not in it (15118-2 AC does not carry it). */
export interface EvChargingNeedsEvent extends EventBase<"evChargingNeeds"> {
  connectorId: number;
  requestedEnergyTransfer?: string;
  departureTime?: string;
  energyAmountWh?: number;
  evMaxCurrentA?: number;
  evMinCurrentA?: number;
  evMaxVoltageV?: number;
  raw: unknown;
}

/** OCPP 2.0.1 notifications answered with a default and passed on as they came (NotifyEvent, NotifyChargingLimit, …). */
export interface NotificationEvent extends EventBase<"notification"> {
  action: string;
  payload: unknown;
}

/** OCPP 2.0.1: the last part of a device-model report (GetBaseReport) arrived; `configuration` of the charger is complete. */
export interface DeviceModelEvent extends EventBase<"deviceModel"> {
  requestId: number;
  /** How many variables the report carried, over all parts. */
  variables: number;
}

export interface DataTransferEvent extends EventBase<"dataTransfer"> {
  vendorId: string;
  messageId?: string;
  data?: string;
}

export interface FirmwareStatusEvent extends EventBase<"firmwareStatus"> {
  status: string;
}

export interface DiagnosticsStatusEvent extends EventBase<"diagnosticsStatus"> {
  status: string;
}

export interface SecurityEvent extends EventBase<"securityEvent"> {
  /** The security event type, e.g. "InvalidCentralSystemCertificate" (2.0.1: "InvalidCsmsCertificate"). */
  eventType: string;
  timestamp: string;
  techInfo?: string;
}

/**
 * The package's common ChargerState of one connector (2.0.1: EVSE), built by
 * charger-state.ts; sent only when it changed. Opt-in: only an events node
 * that ticks it gets it (not "all events").
 */
export interface ChargerStateEvent extends EventBase<"charger.state">, ChargerState {
  source: "ocpp";
  connectorId: number;
  online: boolean;
}

export type OcppEvent =
  | ConnectedEvent
  | DisconnectedEvent
  | RttEvent
  | BootEvent
  | StatusEvent
  | MeterEvent
  | SessionStartedEvent
  | SessionUpdatedEvent
  | SessionEndedEvent
  | AuthorizeEvent
  | DataTransferEvent
  | FirmwareStatusEvent
  | DiagnosticsStatusEvent
  | SecurityEvent
  | EvChargingNeedsEvent
  | NotificationEvent
  | DeviceModelEvent
  | ChargerStateEvent;

export type OcppEventKind = OcppEvent["kind"];

/** Every kind, in the order the editor lists them for filtering. */
export const OCPP_EVENT_KINDS: readonly OcppEventKind[] = [
  "connected",
  "disconnected",
  "rtt",
  "boot",
  "status",
  "meter",
  "session.started",
  "session.updated",
  "session.ended",
  "authorize",
  "dataTransfer",
  "firmwareStatus",
  "diagnosticsStatus",
  "securityEvent",
  "evChargingNeeds",
  "notification",
  "deviceModel",
  "charger.state",
];

/** Kinds sent only to an events node that asks for them by name: an empty filter ("all") leaves them out, so flows saved before they existed see nothing new. */
export const OPT_IN_KINDS: ReadonlySet<string> = new Set(["charger.state"]);

export function isOcppEventKind(value: unknown): value is OcppEventKind {
  return typeof value === "string" && (OCPP_EVENT_KINDS as readonly string[]).includes(value);
}

/**
 * Event filter as the events node applies it: empty lists mean "all" (but
 * the opt-in kinds). A kind filter entry "session" matches every "session.*" kind.
 */
export function matchesFilter(
  event: Pick<OcppEvent, "kind" | "identity">,
  filter: { identities?: readonly string[]; kinds?: readonly string[] },
): boolean {
  const ids = filter.identities ?? [];
  if (ids.length > 0 && !ids.includes(event.identity)) return false;
  const kinds = filter.kinds ?? [];
  if (kinds.length === 0) return !OPT_IN_KINDS.has(event.kind);
  if (OPT_IN_KINDS.has(event.kind)) return kinds.includes(event.kind);
  return kinds.some((k) => k === event.kind || event.kind.startsWith(`${k}.`));
}

function iso(now: Date): string {
  return now.toISOString();
}

export function bootEvent(identity: string, req: BootNotificationRequest, now: Date): BootEvent {
  return compact({
    kind: "boot",
    identity,
    time: iso(now),
    vendor: req.chargePointVendor,
    model: req.chargePointModel,
    serialNumber: req.chargePointSerialNumber ?? req.chargeBoxSerialNumber,
    firmwareVersion: req.firmwareVersion,
    raw: req,
  });
}

export function statusEvent(identity: string, req: StatusNotificationRequest, now: Date): StatusEvent {
  return compact({
    kind: "status",
    identity,
    time: iso(now),
    connectorId: req.connectorId,
    status: req.status,
    errorCode: req.errorCode,
    info: req.info,
    vendorId: req.vendorId,
    vendorErrorCode: req.vendorErrorCode,
    timestamp: req.timestamp,
  });
}

export function authorizeEvent(identity: string, req: AuthorizeRequest, now: Date): AuthorizeEvent {
  return { kind: "authorize", identity, time: iso(now), idTag: req.idTag };
}

export function dataTransferEvent(identity: string, req: DataTransferRequest, now: Date): DataTransferEvent {
  return compact({
    kind: "dataTransfer",
    identity,
    time: iso(now),
    vendorId: req.vendorId,
    messageId: req.messageId,
    data: req.data,
  });
}

export function firmwareStatusEvent(
  identity: string,
  req: FirmwareStatusNotificationRequest,
  now: Date,
): FirmwareStatusEvent {
  return { kind: "firmwareStatus", identity, time: iso(now), status: req.status };
}

export function diagnosticsStatusEvent(
  identity: string,
  req: DiagnosticsStatusNotificationRequest,
  now: Date,
): DiagnosticsStatusEvent {
  return { kind: "diagnosticsStatus", identity, time: iso(now), status: req.status };
}

export function securityEvent(identity: string, req: SecurityEventNotificationRequest, now: Date): SecurityEvent {
  return compact({
    kind: "securityEvent",
    identity,
    time: iso(now),
    eventType: req.type,
    timestamp: req.timestamp,
    techInfo: req.techInfo,
  });
}

/** Removes undefined fields so events serialise and compare cleanly. */
export function compact<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  // for-in, not Object.entries: no array per field on the hot path.
  for (const k in value) {
    const v = value[k];
    if (v !== undefined) out[k] = v;
  }
  return out as T;
}
