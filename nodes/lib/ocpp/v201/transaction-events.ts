/**
 * OCPP 2.0.1 TransactionEvent → the same session.started / updated / ended
 * events a 1.6 charger produces, keyed by the charger's text transaction id.
 *
 * - seqNo guard per transaction: an event that does not advance it (a repeat,
 *   or one older than what was applied) changes nothing; its samples still
 *   go out as a `late` meter event so no reading is lost. Nothing after
 *   Ended changes the session.
 * - `offline: true` events are history: passed on with `replayed: true`,
 *   and they never move the live connector state (status, readings).
 * - EVSE and connector come from the first event that carries them.
 * - An id token is answered by the same policy as Authorize (list, flow
 *   decision, fallback), once per transaction and token.
 */
import type { CentralCore, ChargerContext } from "../core/adapter";
import { authorizeEvent, compact, type MeterEvent, type StatusEvent } from "../core/events";
import { pickConnectorReadings, type NormalizedMeterSample } from "../core/meter-values";
import type { StartAuthorizeEvent } from "../core/server";
import type { IdTagInfo } from "../v16/messages";
import type { IdTokenInfo, TransactionEventRequest } from "./messages";
import { normalizeMeterValues201 } from "./meter-values";
import { errorCodeFor, mergedStatus } from "./status";

/** 2.0.1 stoppedReason → the 1.6 reason words flows already know; words 1.6 has are kept. */
const STOPPED_REASONS: Record<string, string> = {
  DeAuthorized: "DeAuthorized",
  EmergencyStop: "EmergencyStop",
  EVDisconnected: "EVDisconnected",
  ImmediateReset: "HardReset",
  Local: "Local",
  LocalOutOfCredit: "Local",
  MasterPass: "Local",
  Other: "Other",
  PowerLoss: "PowerLoss",
  Reboot: "Reboot",
  Remote: "Remote",
  StoppedByEV: "EVDisconnected",
};

/** When the Ended event has no stoppedReason, its triggerReason says why. */
const TRIGGER_STOP_REASONS: Record<string, string> = {
  RemoteStop: "Remote",
  StopAuthorized: "Local",
  Deauthorized: "DeAuthorized",
  EVCommunicationLost: "EVDisconnected",
  EVDeparted: "EVDisconnected",
  ResetCommand: "SoftReset",
  UnlockCommand: "UnlockCommand",
  AbnormalCondition: "Other",
  EnergyLimitReached: "Other",
  TimeLimitReached: "Other",
};

export function stopReason(stoppedReason: string | undefined, triggerReason: string | undefined): string {
  if (stoppedReason) return STOPPED_REASONS[stoppedReason] ?? "Other";
  // The spec: no stoppedReason means Local.
  return (triggerReason && TRIGGER_STOP_REASONS[triggerReason]) || "Local";
}

/** 1.6 IdTagInfo (what the id-tag policy answers) → 2.0.1 IdTokenInfo. */
export function toIdTokenInfo(info: IdTagInfo): IdTokenInfo {
  const out: IdTokenInfo = { status: info.status };
  if (info.expiryDate) out.cacheExpiryDateTime = info.expiryDate;
  if (info.parentIdTag) out.groupIdToken = { idToken: info.parentIdTag, type: "Central" };
  return out;
}

/** The register when the transaction began: its Transaction.Begin sample, else the earliest reading. */
function firstRegister(samples: readonly NormalizedMeterSample[]): number | undefined {
  const begin = samples.filter((s) => s.context === "Transaction.Begin");
  if (begin.length > 0) return pickConnectorReadings(begin).energyWh;
  if (samples.length === 0) return undefined;
  return pickConnectorReadings(samples.filter((s) => s.timestamp === samples[0].timestamp)).energyWh;
}

/** Merges the transaction's charging state into the connector's 1.6 status; emits a status event when it changes. */
export function applyChargingState(core: CentralCore, identity: string, connectorId: number, chargingState: string | undefined, inTransaction: boolean, timestamp: string, now: Date): void {
  const connector = core.directory.connector(identity, connectorId);
  connector.chargingState = inTransaction ? chargingState : undefined;
  const status = mergedStatus(connector.connectorStatus ?? "Occupied", connector.chargingState, inTransaction, connector.status);
  if (status === connector.status) return;
  if (!core.directory.applyStatus(identity, connectorId, { status, errorCode: errorCodeFor(connector.connectorStatus), timestamp }, now)) return;
  core.emit(
    compact<StatusEvent>({
      kind: "status",
      identity,
      time: now.toISOString(),
      connectorId,
      status,
      errorCode: errorCodeFor(connector.connectorStatus),
      timestamp,
      connectorStatus: connector.connectorStatus,
      chargingState: connector.chargingState,
    }),
  );
}

/** Which EVSE a transaction without `evse` runs on: the only one the charger has, else 1. */
function guessEvse(core: CentralCore, identity: string): number {
  const evses = (core.directory.snapshot(identity)?.connectors ?? []).map((c) => c.connectorId).filter((id) => id > 0);
  return evses.length === 1 ? evses[0] : 1;
}

export async function handleTransactionEvent(core: CentralCore, charger: ChargerContext, params: unknown, now: Date): Promise<object> {
  const req = params as TransactionEventRequest;
  const { identity } = charger;
  const store = core.transactions;
  const info = req.transactionInfo ?? ({} as TransactionEventRequest["transactionInfo"]);
  const transactionId = String(info.transactionId ?? "");
  if (!transactionId) {
    core.problem({ identity, level: "warn", message: `Charger "${identity}" sent a TransactionEvent without a transaction id; ignored` });
    return {};
  }
  const replayed = req.offline === true ? true : undefined;
  const known = store.session(identity, transactionId);
  const connectorId = known?.connectorId ?? (typeof req.evse?.id === "number" ? req.evse.id : guessEvse(core, identity));
  const idTag = req.idToken && req.idToken.type !== "NoAuthorization" && req.idToken.idToken ? req.idToken.idToken : undefined;

  const fresh = !known?.end && store.advanceSeqNo(identity, transactionId, req.seqNo);
  if (!fresh) {
    core.problem({
      identity,
      level: "warn",
      message: known?.end
        ? `Charger "${identity}": TransactionEvent ${req.eventType} (seqNo ${req.seqNo}) for transaction ${transactionId}, which already ended; it changes nothing`
        : `Charger "${identity}": TransactionEvent seqNo ${req.seqNo} of transaction ${transactionId} is a repeat or out of order; it changes nothing`,
    });
    const samples = normalizeMeterValues201(connectorId, transactionId, req.meterValue);
    if (samples.length > 0 && core.wants("meter", identity)) {
      for (const s of samples) s.late = true;
      core.emit(compact<MeterEvent>({ kind: "meter", identity, time: now.toISOString(), connectorId, transactionId, samples, late: true }));
    }
    return idTag && known?.idTagInfo ? { idTokenInfo: toIdTokenInfo(known.idTagInfo) } : {};
  }

  // The id token: the same policy as Authorize, asked once per transaction and token.
  let idTagInfo: IdTagInfo | undefined;
  if (idTag) {
    if (known?.idTagInfo && known.idTag === idTag) idTagInfo = known.idTagInfo;
    else if (req.eventType === "Ended") idTagInfo = core.checkIdTag(idTag, now);
    else {
      const question: StartAuthorizeEvent = {
        ...authorizeEvent(identity, { idTag }, now),
        idTokenType: req.idToken?.type,
        source: "TransactionEvent",
        connectorId,
      };
      idTagInfo = await core.decideIdTag("start", identity, question, idTag);
    }
  }

  const samples = normalizeMeterValues201(connectorId, transactionId, req.meterValue);
  if (!known) {
    const opened = store.openExternal(
      identity,
      {
        transactionId,
        connectorId,
        evseConnectorId: req.evse?.connectorId,
        idTag,
        meterStartWh: firstRegister(samples),
        startTime: req.timestamp,
        remoteStartId: info.remoteStartId,
        seqNo: req.seqNo,
      },
      now,
      idTagInfo,
    );
    core.directory.setSession(identity, connectorId, { transactionId, idTag });
    if (opened.event) core.emit(compact({ ...opened.event, replayed }));
  } else {
    store.amendExternal(identity, transactionId, { idTag, idTagInfo, remoteStartId: info.remoteStartId, meterStartWh: firstRegister(samples) });
  }

  const ended = req.eventType === "Ended";
  if (samples.length > 0) {
    const result = store.meter(identity, connectorId, transactionId, samples, now, {
      // As in 1.6: session.started carries the start figures, session.ended the end ones; updates come in between.
      updatedEvent: known !== undefined && !ended && core.wants("session.updated", identity),
      meterEvent: core.wants("meter", identity),
    });
    if (result.readings && !replayed) core.directory.setMeasurements(identity, connectorId, result.readings);
    if (result.meterEvent) core.emit(replayed ? { ...result.meterEvent, replayed } : result.meterEvent);
    if (result.event) core.emit(replayed ? { ...result.event, replayed } : result.event);
  }

  if (!replayed && (info.chargingState !== undefined || ended)) {
    applyChargingState(core, identity, connectorId, info.chargingState, !ended, req.timestamp, now);
  }

  if (ended) {
    const result = store.endExternal(identity, transactionId, { stopTime: req.timestamp, reason: stopReason(info.stoppedReason, req.triggerReason), stopIdTag: idTag }, now);
    for (const id of core.directory.connectorsWithTransaction(identity, transactionId)) core.directory.setSession(identity, id, undefined);
    if (result.event) core.emit(compact({ ...result.event, stoppedReason: info.stoppedReason, replayed }));
    await result.saved;
  }
  return idTagInfo ? { idTokenInfo: toIdTokenInfo(idTagInfo) } : {};
}
