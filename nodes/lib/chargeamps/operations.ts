/**
 * The operations of the Charge Amps node, free of Node-RED: each takes the
 * client and its parameters and returns what goes out (payload, raw body,
 * thesis rows). The node only picks the operation and sends the result.
 */
import type { ChargerState } from "../types";
import type { ChargeAmpsClient } from "./client";
import {
  RFID_FORMATS,
  withoutPassword,
  type ChargePointStatus,
  type RfidFormat,
  type SessionQuery,
  type StartAuth,
} from "./models";
import { parseLimit } from "../limit";
import { applyChargeAmpsLimit } from "./limit";
import { appendRows, emptyRows, type ThesisRows } from "./rows";
import { parseChargePointChange, parseConnectorChange, SettingsError } from "./settings";
import { chargerStates, protocolOf } from "./state";

export const OPERATIONS = [
  "list",
  "status",
  "getConnectorSettings",
  "setConnectorSettings",
  "getChargePointSettings",
  "setChargePointSettings",
  "remoteStart",
  "remoteStop",
  "reboot",
  "sessions",
  "poll",
  "limit",
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The operation a msg.topic names (case-insensitive), if any. */
export function operationOf(topic: unknown): Operation | undefined {
  if (typeof topic !== "string") return undefined;
  const t = topic.trim().toLowerCase();
  return OPERATIONS.find((op) => op.toLowerCase() === t);
}

export interface OperationParams {
  chargePointId?: string;
  /** A number, or text from a message; checked before use. */
  connectorId?: unknown;
  payload?: unknown;
  /** Default RFID tag for remote start. */
  rfid?: string;
  /** Default look-back for sessions when msg.payload gives no range. */
  sessionsHours?: number;
  now?: Date;
}

export interface OperationResult {
  payload: unknown;
  /** The cloud's body (bodies for several charge points), untouched. */
  raw?: unknown;
  /** For status and poll: one state per connector. */
  states?: StatusSample[];
  rows?: ThesisRows;
  /** Extra msg properties (before/sent for settings writes). */
  extra?: Record<string, unknown>;
}

export interface StatusSample {
  chargePointId: string;
  chargePointName: string | null;
  chargePointStatus: string;
  state: ChargerState;
  raw: ChargePointStatus;
}

export async function runOperation(
  client: ChargeAmpsClient,
  op: Exclude<Operation, "poll">,
  params: OperationParams,
  signal?: AbortSignal,
): Promise<OperationResult> {
  switch (op) {
    case "list": {
      const list = await client.listOwned(signal);
      return { payload: list.map(withoutPassword) };
    }
    case "status":
      return readStatus(client, params.chargePointId || undefined, params.now ?? new Date(), signal);
    case "getConnectorSettings":
      return { payload: await client.getConnectorSettings(requireCp(params), requireConnector(params), signal) };
    case "setConnectorSettings": {
      const change = parseConnectorChange(params.payload);
      const r = await client.setConnectorSettings(requireCp(params), requireConnector(params), change, signal);
      return { payload: r.after, extra: { before: r.before, sent: r.sent } };
    }
    case "getChargePointSettings":
      return { payload: await client.getChargePointSettings(requireCp(params), signal) };
    case "setChargePointSettings": {
      const change = parseChargePointChange(params.payload);
      const r = await client.setChargePointSettings(requireCp(params), change, signal);
      return { payload: r.after, extra: { before: r.before, sent: r.sent } };
    }
    case "remoteStart": {
      const cp = requireCp(params);
      const connectorId = requireConnector(params);
      await client.remoteStart(cp, connectorId, startAuth(params), signal);
      return { payload: { operation: op, chargePointId: cp, connectorId, ok: true } };
    }
    case "remoteStop": {
      const cp = requireCp(params);
      const connectorId = requireConnector(params);
      await client.remoteStop(cp, connectorId, signal);
      return { payload: { operation: op, chargePointId: cp, connectorId, ok: true } };
    }
    case "reboot": {
      const cp = requireCp(params);
      await client.reboot(cp, signal);
      return { payload: { operation: op, chargePointId: cp, ok: true } };
    }
    case "limit": {
      // The common limit contract, the same on every charger node.
      const r = await applyChargeAmpsLimit(client, requireCp(params), requireConnector(params), parseLimit(params.payload), signal);
      return { payload: r.answer, extra: { before: r.before } };
    }
    case "sessions": {
      const cp = requireCp(params);
      const query = sessionQuery(params);
      const connectorId = (params.payload as { connectorId?: unknown } | undefined)?.connectorId;
      const list = await client.getSessions(cp, query, typeof connectorId === "number" ? connectorId : undefined, signal);
      return { payload: list, extra: { query } };
    }
  }
}

/**
 * Status of one charge point, or of every owned one: states per connector,
 * the raw bodies and the thesis rows, all stamped with the same time.
 */
export async function readStatus(
  client: ChargeAmpsClient,
  chargePointId: string | undefined,
  now: Date,
  signal?: AbortSignal,
): Promise<OperationResult> {
  const time = now.toISOString();
  const targets: Array<{ id: string; name: string | null; ocppVersion: string | null }> = [];
  if (chargePointId) {
    targets.push({ id: chargePointId, name: null, ocppVersion: await client.protocolOf(chargePointId, signal) });
  } else {
    for (const cp of await client.listOwned(signal)) {
      if (cp?.id) targets.push({ id: cp.id, name: cp.name ?? null, ocppVersion: cp.ocppVersion ?? null });
    }
  }
  const rows = emptyRows();
  const samples: StatusSample[] = [];
  const raws: ChargePointStatus[] = [];
  // One after the other: the cloud has undocumented rate limits and a garage has few chargers.
  for (const target of targets) {
    const status = await client.getStatus(target.id, signal);
    const protocol = protocolOf(target.ocppVersion);
    raws.push(status);
    appendRows(rows, status, protocol, time, target.name);
    for (const state of chargerStates(status, protocol, time)) {
      samples.push({ chargePointId: target.id, chargePointName: target.name, chargePointStatus: String(status.status), state, raw: status });
    }
  }
  return {
    payload: samples.map((s) => s.state),
    raw: chargePointId ? raws[0] : raws,
    states: samples,
    rows,
  };
}

function requireCp(params: OperationParams): string {
  const id = (params.chargePointId ?? "").trim();
  if (!id) throw new SettingsError('No charge point ID: set it in the node or send msg.chargePointId (the "list" operation shows yours)');
  return id;
}

function requireConnector(params: OperationParams): number {
  const n = Number(params.connectorId);
  if (!Number.isInteger(n) || n < 1) {
    throw new SettingsError(`Connector must be a whole number from 1 (the Halo's Schuko outlet is 2), not "${String(params.connectorId)}"`);
  }
  return n;
}

function startAuth(params: OperationParams): StartAuth {
  const p = (typeof params.payload === "object" && params.payload !== null ? params.payload : {}) as Record<string, unknown>;
  const rfid = typeof p.rfid === "string" && p.rfid.trim() !== "" ? p.rfid.trim() : (params.rfid ?? "").trim();
  if (!rfid) throw new SettingsError('Remote start needs an RFID tag: set it in the node or send msg.payload = {"rfid": "04A1B2C3"}');
  const formatIn = typeof p.rfidFormat === "string" ? p.rfidFormat : "Hex";
  const format = RFID_FORMATS.find((f) => f.toLowerCase() === formatIn.toLowerCase());
  if (!format) throw new SettingsError(`rfidFormat must be Hex, Dec or ReverseDec, not "${formatIn}"`);
  const auth: StartAuth = { rfidLength: rfidLength(p.rfidLength, rfid, format), rfidFormat: format, rfid };
  if (typeof p.externalTransactionId === "string") auth.externalTransactionId = p.externalTransactionId;
  return auth;
}

function rfidLength(value: unknown, rfid: string, format: RfidFormat): number {
  if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  // The length is in bytes; a hex tag spells two characters per byte.
  return format === "Hex" ? Math.ceil(rfid.length / 2) : 4;
}

function sessionQuery(params: OperationParams): SessionQuery {
  const p = (typeof params.payload === "object" && params.payload !== null ? params.payload : {}) as Record<string, unknown>;
  const now = params.now ?? new Date();
  const query: SessionQuery = {};
  const start = p.startTime ?? p.start;
  const end = p.endTime ?? p.end;
  query.startTime = start !== undefined ? isoTime(start, "startTime") : new Date(now.getTime() - (params.sessionsHours ?? 24) * 3600_000).toISOString();
  if (end !== undefined) query.endTime = isoTime(end, "endTime");
  if (p.maxCount !== undefined) {
    const n = Number(p.maxCount);
    if (!Number.isInteger(n) || n < 1) throw new SettingsError(`maxCount must be a whole number from 1, not "${String(p.maxCount)}"`);
    query.maxCount = n;
  }
  if (query.endTime && query.startTime && query.endTime < query.startTime) {
    throw new SettingsError(`The session range ends (${query.endTime}) before it starts (${query.startTime})`);
  }
  return query;
}

function isoTime(value: unknown, name: string): string {
  const ms = value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(String(value));
  if (!Number.isFinite(ms)) throw new SettingsError(`${name} must be a date (ISO 8601 text, a Date or epoch ms), not "${String(value)}"`);
  return new Date(ms).toISOString();
}
