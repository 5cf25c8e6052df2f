/**
 * The seam between the OCPP central system (connections, state, sessions)
 * and everything that sends commands to chargers (command node, smart
 * charging, local-list sync, offline queue). The central-system config node
 * implements ChargerDirectory; command code depends only on this file.
 */

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
  transactionId?: number;
  idTag?: string;
  /** Latest measured values, converted: V, A per phase, W, Wh. */
  voltageV?: { l1?: number; l2?: number; l3?: number };
  currentA?: { l1?: number; l2?: number; l3?: number };
  powerW?: number;
  energyWh?: number;
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
  /** Result of GetConfiguration discovery (issue 4): key → value. */
  configuration?: Record<string, string>;
}

export interface ChargerDirectory {
  /** The live link for `identity`, or undefined when that charger is not connected. */
  link(identity: string): ChargerLink | undefined;
  snapshot(identity: string): ChargerSnapshot | undefined;
  list(): ChargerSnapshot[];
  /** Called each time a charger (re)connects and its link is usable; returns an unsubscribe function. */
  onConnected(listener: (link: ChargerLink) => void): () => void;
  /** Merges discovered configuration into the charger's state (kept across reconnects). */
  recordConfiguration(identity: string, configuration: Record<string, string>): void;
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
