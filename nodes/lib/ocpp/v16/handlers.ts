/**
 * OCPP 1.6J adapter: one small handler per action a 1.6 charger may send,
 * each answering with the default an empty flow needs and reporting what
 * happened as the core's normalised events.
 */
import { errorMessage } from "../../errors";
import type { ActionHandler, ProtocolAdapter } from "../core/adapter";
import {
  authorizeEvent,
  bootEvent,
  compact,
  dataTransferEvent,
  diagnosticsStatusEvent,
  firmwareStatusEvent,
  securityEvent,
  statusEvent,
  type MeterEvent,
} from "../core/events";
import { normalizeMeterValues } from "../core/meter-values";
import { capabilities16 } from "./discovery";
import type { StartAuthorizeEvent } from "../core/server";
import type {
  AuthorizeRequest,
  BootNotificationRequest,
  DataTransferRequest,
  DiagnosticsStatusNotificationRequest,
  FirmwareStatusNotificationRequest,
  MeterValuesRequest,
  SecurityEventNotificationRequest,
  StartTransactionRequest,
  StatusNotificationRequest,
  StopTransactionRequest,
} from "./messages";

const bootNotification: ActionHandler = (core, charger, params, now) => {
  const req = params as BootNotificationRequest;
  const { identity } = charger;
  const event = bootEvent(identity, req, now);
  core.directory.setBoot(identity, compact({ vendor: event.vendor, model: event.model, serialNumber: event.serialNumber, firmwareVersion: event.firmwareVersion }));
  core.emit(compact(event));
  // After the answer is on the wire: discovery must not race the boot reply.
  setImmediate(() => charger.announce());
  return { status: "Accepted", currentTime: now.toISOString(), interval: core.heartbeatIntervalS };
};

const heartbeat: ActionHandler = (_core, _charger, _params, now) => ({ currentTime: now.toISOString() });

const statusNotification: ActionHandler = (core, { identity }, params, now) => {
  const req = params as StatusNotificationRequest;
  const applied = core.directory.applyStatus(identity, req.connectorId, req, now);
  core.emit(compact({ ...statusEvent(identity, req, now), stale: applied ? undefined : true }));
  return {};
};

const authorize: ActionHandler = async (core, { identity }, params, now) => {
  const req = params as AuthorizeRequest;
  const idTagInfo = await core.decideIdTag("authorize", identity, authorizeEvent(identity, req, now), req.idTag);
  return { idTagInfo };
};

const startTransaction: ActionHandler = async (core, { identity }, params, now) => {
  const req = params as StartTransactionRequest;
  const store = core.transactions;
  const seen = store.findStart(identity, req);
  if (seen) {
    // A retransmitted Start (its answer was lost): same id, same answer, no new session.
    return { transactionId: seen.transactionId, idTagInfo: seen.idTagInfo ?? core.checkIdTag(req.idTag, now) };
  }
  const question: StartAuthorizeEvent = { ...authorizeEvent(identity, { idTag: req.idTag }, now), source: "StartTransaction", connectorId: req.connectorId };
  const idTagInfo = await core.decideIdTag("start", identity, question, req.idTag);
  const result = store.start(identity, req, new Date(), idTagInfo);
  // The id must be on disk before the charger learns it, or a restart could hand it out again.
  await result.saved;
  if (result.replaced) core.emit(result.replaced);
  core.directory.setSession(identity, req.connectorId, { transactionId: result.transactionId, idTag: req.idTag });
  if (result.event) core.emit(result.event);
  return { transactionId: result.transactionId, idTagInfo: result.idTagInfo ?? idTagInfo };
};

const stopTransaction: ActionHandler = async (core, { identity }, params, now) => {
  const req = params as StopTransactionRequest;
  let sessionAnswer: StopAnswer | undefined;
  try {
    const result = core.transactions.stop(identity, req, now);
    sessionAnswer = { idTag: result.session.idTag, idTagInfo: result.session.idTagInfo };
    await result.saved;
    const connectorId = result.session.connectorId ?? 0;
    if (result.samples.length > 0 && !result.duplicate) {
      core.emit(compact<MeterEvent>({ kind: "meter", identity, time: now.toISOString(), connectorId, transactionId: req.transactionId, samples: result.samples }));
    }
    if (result.event) core.emit(result.event);
  } catch (err) {
    // Never leave a stop unanswered: the charger would retry it forever.
    core.problem({ identity, level: "error", message: `Could not record the end of transaction ${req.transactionId}: ${errorMessage(err)}` });
  }
  for (const connectorId of core.directory.connectorsWithTransaction(identity, req.transactionId)) {
    core.directory.setSession(identity, connectorId, undefined);
  }
  if (!req.idTag) return {};
  // The card this session was accepted for (by a flow, the fallback or a remote start) is not declared
  // invalid at its end: an Invalid here would poison the charger's authorization cache (issue 13 item 2).
  const started = sessionAnswer;
  if (started?.idTagInfo?.status === "Accepted" && started.idTag !== undefined && started.idTag.toUpperCase() === req.idTag.toUpperCase()) {
    return { idTagInfo: { status: "Accepted" } };
  }
  return { idTagInfo: core.checkIdTag(req.idTag, now) };
};

interface StopAnswer {
  idTag?: string;
  idTagInfo?: { status: string };
}

/** meter()'s options by which events are wanted (bit 1: session.updated, bit 2: meter), made once rather than per call. */
const METER_OPTIONS = [0, 1, 2, 3].map((wanted) =>
  Object.freeze({ updatedEvent: (wanted & 1) !== 0, meterEvent: (wanted & 2) !== 0, ownSamples: true }),
);

/** The most frequent call: answered synchronously, no promise layers of our own on top of ocpp-rpc's. */
const meterValues: ActionHandler = (core, { identity, meterHint, connectorHint }, params, now) => {
  const req = params as MeterValuesRequest;
  const samples = normalizeMeterValues(req.connectorId, req.transactionId, req.meterValue);
  const result = core.transactions.meter(
    identity,
    req.connectorId,
    req.transactionId,
    samples,
    now,
    METER_OPTIONS[(core.wants("session.updated", identity) ? 1 : 0) + (core.wants("meter", identity) ? 2 : 0)],
    meterHint,
  );
  // setMeasurements skips fields that are absent, so no compact() copy is needed.
  if (result.readings) core.directory.setMeasurements(identity, req.connectorId, result.readings, connectorHint);
  if (result.meterEvent) core.emit(result.meterEvent);
  if (result.event) core.emit(result.event);
  return {};
};

const dataTransfer: ActionHandler = (core, { identity }, params, now) => {
  core.emit(compact(dataTransferEvent(identity, params as DataTransferRequest, now)));
  return { status: "UnknownVendorId" };
};

const firmwareStatus: ActionHandler = (core, { identity }, params, now) => {
  core.emit(firmwareStatusEvent(identity, params as FirmwareStatusNotificationRequest, now));
  return {};
};

const diagnosticsStatus: ActionHandler = (core, { identity }, params, now) => {
  core.emit(diagnosticsStatusEvent(identity, params as DiagnosticsStatusNotificationRequest, now));
  return {};
};

const securityEventNotification: ActionHandler = (core, { identity }, params, now) => {
  core.emit(compact(securityEvent(identity, params as SecurityEventNotificationRequest, now)));
  return {};
};

// We run no certificate authority for chargers.
const signCertificate: ActionHandler = () => ({ status: "Rejected" });

export const V16_HANDLERS: Readonly<Record<string, ActionHandler>> = {
  Authorize: authorize,
  BootNotification: bootNotification,
  DataTransfer: dataTransfer,
  DiagnosticsStatusNotification: diagnosticsStatus,
  FirmwareStatusNotification: firmwareStatus,
  Heartbeat: heartbeat,
  MeterValues: meterValues,
  StartTransaction: startTransaction,
  StatusNotification: statusNotification,
  StopTransaction: stopTransaction,
  // From the 1.6 security whitepaper.
  SecurityEventNotification: securityEventNotification,
  LogStatusNotification: diagnosticsStatus,
  SignedFirmwareStatusNotification: firmwareStatus,
  SignCertificate: signCertificate,
};

export const v16Adapter: ProtocolAdapter = {
  protocol: "ocpp1.6",
  handlers: V16_HANDLERS,
  describe: capabilities16,
};
