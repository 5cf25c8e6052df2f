/**
 * OCPP 2.0.1 adapter: one small handler per action a 2.0.1 charger may
 * send, each answering with a schema-valid default (never NotImplemented
 * for a message the spec lets the charger send: a BMW wallbox ignores
 * limits after one) and reporting what happened as the core's normalised
 * events, in the same vocabulary as 1.6. The same adapter serves the
 * experimental ocpp2.1 (as Home Assistant's integration does).
 */
import type { ActionHandler, CentralCore, ChargerContext, ProtocolAdapter } from "../core/adapter";
import { errorMessage } from "../../errors";
import { authorizeEvent, compact, type BootEvent, type EvChargingNeedsEvent, type MeterEvent, type StatusEvent } from "../core/events";
import type { BootNotificationRequest } from "../v16/messages";
import { capabilities201, reportValues, MAX_VARIABLES } from "./device-model";
import type {
  AuthorizeRequest201,
  BootNotificationRequest201,
  MeterValuesRequest201,
  NotifyEVChargingNeedsRequest,
  NotifyReportRequest,
  StatusNotificationRequest201,
} from "./messages";
import { normalizeMeterValues201 } from "./meter-values";
import { errorCodeFor, mergedStatus } from "./status";
import { handleTransactionEvent, toIdTokenInfo } from "./transaction-events";

const bootNotification: ActionHandler = (core, charger, params, now) => {
  const req = params as BootNotificationRequest201;
  const station = req.chargingStation ?? ({} as BootNotificationRequest201["chargingStation"]);
  const event: BootEvent = compact({
    kind: "boot" as const,
    identity: charger.identity,
    time: now.toISOString(),
    vendor: station.vendorName,
    model: station.model,
    serialNumber: station.serialNumber,
    firmwareVersion: station.firmwareVersion,
    raw: req as unknown as BootNotificationRequest,
  });
  core.directory.setBoot(charger.identity, compact({ vendor: event.vendor, model: event.model, serialNumber: event.serialNumber, firmwareVersion: event.firmwareVersion }));
  core.emit(event);
  setImmediate(() => {
    charger.announce();
    void confirmOpenTransactions(core, charger);
  });
  return { status: "Accepted", currentTime: now.toISOString(), interval: core.heartbeatIntervalS };
};

const heartbeat: ActionHandler = (_core, _charger, _params, now) => ({ currentTime: now.toISOString() });

/** Connector status merged with the transaction's charging state into the 1.6 words; EVSE 0 is the station (connectorId 0). */
const statusNotification: ActionHandler = (core, { identity }, params, now) => {
  const req = params as StatusNotificationRequest201;
  const connectorId = typeof req.evseId === "number" ? req.evseId : 0;
  const connector = core.directory.connector(identity, connectorId);
  const inTransaction = connector.transactionId !== undefined;
  const status = mergedStatus(req.connectorStatus, connector.chargingState, inTransaction, connector.status);
  const applied = core.directory.applyStatus(identity, connectorId, { status, errorCode: errorCodeFor(req.connectorStatus), timestamp: req.timestamp }, now);
  if (applied) connector.connectorStatus = req.connectorStatus;
  core.emit(
    compact<StatusEvent>({
      kind: "status",
      identity,
      time: now.toISOString(),
      connectorId,
      status,
      errorCode: errorCodeFor(req.connectorStatus),
      timestamp: req.timestamp,
      stale: applied ? undefined : true,
      evseConnectorId: req.connectorId,
      connectorStatus: req.connectorStatus,
      chargingState: inTransaction ? connector.chargingState : undefined,
    }),
  );
  return {};
};

const authorize: ActionHandler = async (core, { identity }, params, now) => {
  const req = params as AuthorizeRequest201;
  const idTag = req.idToken?.idToken ?? "";
  const event = { ...authorizeEvent(identity, { idTag }, now), idTokenType: req.idToken?.type };
  const info = await core.decideIdTag("authorize", identity, event, idTag);
  return { idTokenInfo: toIdTokenInfo(info) };
};

const transactionEvent: ActionHandler = (core, charger, params, now) => handleTransactionEvent(core, charger, params, now);

/** MeterValues outside a transaction: `meter` events keyed by the EVSE. */
const meterValues: ActionHandler = (core, { identity }, params, now) => {
  const req = params as MeterValuesRequest201;
  const evseId = typeof req.evseId === "number" ? req.evseId : 0;
  const samples = normalizeMeterValues201(evseId, undefined, req.meterValue);
  const result = core.transactions.meter(identity, evseId, undefined, samples, now, {
    updatedEvent: core.wants("session.updated", identity),
    meterEvent: core.wants("meter", identity),
  });
  if (result.readings) core.directory.setMeasurements(identity, evseId, result.readings);
  if (result.meterEvent) core.emit(result.meterEvent as MeterEvent);
  if (result.event) core.emit(result.event);
  return {};
};

/** Collected into the charger's `configuration`, part by part; the last part (no tbc) says the report is complete. */
const notifyReport: ActionHandler = (core, { identity }, params, now) => {
  const req = params as NotifyReportRequest;
  const values = reportValues(req.reportData);
  const existing = Object.keys(core.directory.snapshot(identity)?.configuration ?? {}).length;
  if (existing + Object.keys(values).length <= MAX_VARIABLES) core.directory.recordConfiguration(identity, values);
  else core.problem({ identity, level: "warn", message: `Charger "${identity}": device model larger than ${MAX_VARIABLES} variables; the rest is not kept` });
  if (!req.tbc) {
    const variables = Object.keys(core.directory.snapshot(identity)?.configuration ?? {}).length;
    core.emit({ kind: "deviceModel", identity, time: now.toISOString(), requestId: req.requestId, variables });
    core.directory.reportDone(identity, req.requestId);
  }
  return {};
};

const dataTransfer: ActionHandler = (core, { identity }, params, now) => {
  const req = params as { vendorId: string; messageId?: string; data?: unknown };
  const data = req.data === undefined || typeof req.data === "string" ? req.data : JSON.stringify(req.data);
  core.emit(compact({ kind: "dataTransfer" as const, identity, time: now.toISOString(), vendorId: req.vendorId, messageId: req.messageId, data }));
  return { status: "UnknownVendorId" };
};

const firmwareStatus: ActionHandler = (core, { identity }, params, now) => {
  core.emit({ kind: "firmwareStatus", identity, time: now.toISOString(), status: String((params as { status?: unknown }).status) });
  return {};
};

const logStatus: ActionHandler = (core, { identity }, params, now) => {
  core.emit({ kind: "diagnosticsStatus", identity, time: now.toISOString(), status: String((params as { status?: unknown }).status) });
  return {};
};

const securityEventNotification: ActionHandler = (core, { identity }, params, now) => {
  const req = params as { type: string; timestamp: string; techInfo?: string };
  core.emit(compact({ kind: "securityEvent" as const, identity, time: now.toISOString(), eventType: req.type, timestamp: req.timestamp, techInfo: req.techInfo }));
  return {};
};

const evChargingNeeds: ActionHandler = (core, { identity }, params, now) => {
  const req = params as NotifyEVChargingNeedsRequest;
  const needs = req.chargingNeeds ?? ({} as NotifyEVChargingNeedsRequest["chargingNeeds"]);
  const ac = needs.acChargingParameters;
  const dc = needs.dcChargingParameters;
  core.emit(
    compact<EvChargingNeedsEvent>({
      kind: "evChargingNeeds",
      identity,
      time: now.toISOString(),
      connectorId: req.evseId,
      requestedEnergyTransfer: needs.requestedEnergyTransfer,
      departureTime: needs.departureTime,
      energyAmountWh: ac?.energyAmount ?? dc?.energyAmount,
      evMaxCurrentA: ac?.evMaxCurrent ?? dc?.evMaxCurrent,
      evMinCurrentA: ac?.evMinCurrent,
      evMaxVoltageV: ac?.evMaxVoltage ?? dc?.evMaxVoltage,
      raw: req,
    }),
  );
  return { status: "Accepted" };
};

/** Acknowledged with `answer` and passed on as they came (a `notification` event). */
const passOn =
  (action: string, answer: object = {}): ActionHandler =>
  (core, { identity }, params, now) => {
    core.emit({ kind: "notification", identity, time: now.toISOString(), action, payload: params });
    return answer;
  };

export const V201_HANDLERS: Readonly<Record<string, ActionHandler>> = {
  Authorize: authorize,
  BootNotification: bootNotification,
  ClearedChargingLimit: passOn("ClearedChargingLimit"),
  DataTransfer: dataTransfer,
  FirmwareStatusNotification: firmwareStatus,
  // Plug & Charge (ISO 15118 certificates) is out of scope: a valid "Failed", never NotImplemented.
  Get15118EVCertificate: passOn("Get15118EVCertificate", { status: "Failed", exiResponse: "" }),
  GetCertificateStatus: passOn("GetCertificateStatus", { status: "Failed" }),
  Heartbeat: heartbeat,
  LogStatusNotification: logStatus,
  MeterValues: meterValues,
  NotifyChargingLimit: passOn("NotifyChargingLimit"),
  NotifyCustomerInformation: passOn("NotifyCustomerInformation"),
  NotifyDisplayMessages: passOn("NotifyDisplayMessages"),
  NotifyEVChargingNeeds: evChargingNeeds,
  NotifyEVChargingSchedule: passOn("NotifyEVChargingSchedule", { status: "Accepted" }),
  NotifyEvent: passOn("NotifyEvent"),
  NotifyMonitoringReport: passOn("NotifyMonitoringReport"),
  NotifyReport: notifyReport,
  PublishFirmwareStatusNotification: passOn("PublishFirmwareStatusNotification"),
  ReportChargingProfiles: passOn("ReportChargingProfiles"),
  ReservationStatusUpdate: passOn("ReservationStatusUpdate"),
  SecurityEventNotification: securityEventNotification,
  // We run no certificate authority for chargers.
  SignCertificate: passOn("SignCertificate", { status: "Rejected" }),
  StatusNotification: statusNotification,
  TransactionEvent: transactionEvent,
};

/**
 * After a (re)connect: asks about every session still open for this
 * charger (GetTransactionStatus). One that is over, with nothing left in the
 * charger's queue, ended while the charger was away: it is closed with the
 * last register reading (its energy is then marked estimated). One with
 * messages still queued is left to the TransactionEvents the charger is
 * about to resend.
 */
export async function confirmOpenTransactions(core: CentralCore, charger: ChargerContext): Promise<void> {
  const { identity } = charger;
  for (const session of core.transactions.openSessions(identity)) {
    if (typeof session.transactionId !== "string") continue;
    const link = core.directory.link(identity);
    if (!link) return;
    let answer: { ongoingIndicator?: boolean; messagesInQueue?: boolean };
    try {
      answer = await link.call("GetTransactionStatus", { transactionId: session.transactionId });
    } catch (err) {
      core.problem({ identity, level: "warn", message: `Charger "${identity}": could not confirm open transaction ${session.transactionId} (${errorMessage(err)})` });
      continue;
    }
    if (answer?.ongoingIndicator !== false || answer.messagesInQueue !== false) continue;
    const result = core.transactions.closeSession(identity, session.transactionId, new Date(), "Other");
    if (!result) continue;
    for (const id of core.directory.connectorsWithTransaction(identity, session.transactionId)) core.directory.setSession(identity, id, undefined);
    if (result.event) core.emit({ ...result.event, energyNote: `${result.event.energyNote ?? ""} (the charger says it ended while it was away)`.trim() });
  }
}

export const v201Adapter: ProtocolAdapter = {
  protocol: "ocpp2.0.1",
  handlers: V201_HANDLERS,
  describe: capabilities201,
  onConnected(core, charger) {
    // A charger that reconnects without booting again (also after a redeploy): confirm its open sessions now; a booting one is asked again after its boot.
    const open = core.transactions.openSessions(charger.identity).some((s) => typeof s.transactionId === "string");
    if (open) setImmediate(() => void confirmOpenTransactions(core, charger));
  },
};

/** Experimental: 2.1 is a superset of 2.0.1 for everything we handle. */
export const v21Adapter: ProtocolAdapter = { ...v201Adapter, protocol: "ocpp2.1" };
