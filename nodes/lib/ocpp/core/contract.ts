/**
 * The seam between the OCPP central system (connections, state, sessions)
 * and everything that sends commands to chargers (command node, smart
 * charging, local-list sync, offline queue). The central-system config node
 * implements ChargerDirectory; command code depends only on this file.
 */

import type { ChargerCapabilities } from "./capabilities";

/** A transaction id: a number in OCPP 1.6 (we hand it out), the charger's own text in 2.0.1. */
export type TransactionId = number | string;

/** A live connection to one charger. */
export interface ChargerLink {
  readonly identity: string;
  /** Negotiated subprotocol, e.g. "ocpp1.6". */
  readonly protocol: string | undefined;
  /**
   * Sends a CALL and resolves with the CALLRESULT payload. Rejects with an
   * Error whose message says what happened (timeout, CALLERROR code and
   * description, connection closed); `rpcErrorCode` is set for CALLERRORs.
   */
  call<T = unknown>(action: string, payload: object, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<T>;
}

/** What the central system knows about one connector. */
export interface ConnectorSnapshot {
  connectorId: number;
  status?: string;
  errorCode?: string;
  /** Timestamp of the status that is kept (the newest seen). */
  statusTime?: string;
  /** The open session on this connector, if any. */
  transactionId?: TransactionId;
  idTag?: string;
  /** Latest measured values, converted: V, A per phase, W, Wh. */
  voltageV?: { l1?: number; l2?: number; l3?: number };
  currentA?: { l1?: number; l2?: number; l3?: number };
  powerW?: number;
  energyWh?: number;
  /** OCPP 2.0.1: the raw connector status and the transaction's charging state that `status` is merged from. */
  connectorStatus?: string;
  chargingState?: string;
}

/** What the central system knows about one charger. */
export interface ChargerSnapshot {
  identity: string;
  connected: boolean;
  protocol?: string;
  remoteAddress?: string;
  lastSeen?: string;
  boot?: { vendor?: string; model?: string; serialNumber?: string; firmwareVersion?: string };
  connectors: ConnectorSnapshot[];
  /** Result of GetConfiguration discovery (issue 4): key → value. OCPP 2.0.1: the device model, "Component/Variable" → value. */
  configuration?: Record<string, string>;
  /** What the charger can do, derived from `configuration` in one shape for every version (see capabilities.ts). */
  capabilities?: ChargerCapabilities;
}

export interface ChargerDirectory {
  /** The live link for `identity`, or undefined when that charger is not connected. */
  link(identity: string): ChargerLink | undefined;
  snapshot(identity: string): ChargerSnapshot | undefined;
  list(): ChargerSnapshot[];
  /** Called each time a charger (re)connects and its link is usable; returns an unsubscribe function. */
  onConnected(listener: (link: ChargerLink) => void): () => void;
  /**
   * Like onConnected, and also when the charger becomes reachable through
   * another instance of a cluster (for commands waiting for it). Without a
   * cluster it is onConnected.
   */
  onReachable?(listener: (link: ChargerLink) => void): () => void;
  /** Merges discovered configuration into the charger's state (kept across reconnects). */
  recordConfiguration(identity: string, configuration: Record<string, string>): void;
  /** A limit command was applied (A per phase; connector 0 or undefined: the whole charger): the offered current of its charger.state. */
  recordLimit?(identity: string, connectorId: number | undefined, amps: number): void;
  /** OCPP 2.0.1: called when the last part of a device-model report (NotifyReport) arrived. */
  onReportDone?(listener: (identity: string, requestId: number) => void): () => void;
}

/** One entry of the central system's id-tag list (OCPP 1.6 IdTagInfo semantics). */
export interface IdTagEntry {
  idTag: string;
  status: "Accepted" | "Blocked" | "Expired" | "Invalid";
  /** ISO 8601; after it the tag answers Expired. */
  expiryDate?: string;
  parentIdTag?: string;
}

/** The id-tag list owned by the central system, synced to chargers by SendLocalList. */
export interface IdTagDirectory {
  entries(): IdTagEntry[];
  /** Increases on every change; used as the local-list version. */
  readonly version: number;
  onChange(listener: () => void): () => void;
}
