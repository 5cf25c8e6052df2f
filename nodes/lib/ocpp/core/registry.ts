/**
 * What the central system knows about each charger, keyed by identity. The
 * registry outlives connections: a reconnect keeps boot info, connector
 * state and discovered configuration. Only the newest socket of an identity
 * is live; the server closes older ones.
 */
import type { ChargerDirectory, ChargerLink, ChargerSnapshot, ConnectorSnapshot, TransactionId } from "./contract";
import { withoutSecrets } from "./secret-keys";
import type { ChargerCapabilities } from "./capabilities";

interface ChargerEntry {
  identity: string;
  link?: ChargerLink;
  /** Which connection is current, so a late close of a replaced socket is ignored. */
  connectionId: number;
  remoteAddress?: string;
  protocol?: string;
  /** Epoch ms; turned into ISO text only for snapshots (this is touched on every call). */
  lastSeenMs?: number;
  boot?: ChargerSnapshot["boot"];
  connectors: Map<number, ConnectorSnapshot>;
  configuration?: Record<string, string>;
  /** Derived from configuration by the charger's version (describe), again whenever either changes. */
  capabilities?: ChargerCapabilities;
  rttMs?: number;
  badMessages: number;
}

/** The snapshot plus what only this central system tracks. */
export interface ChargerState extends ChargerSnapshot {
  rttMs?: number;
  badMessages: number;
}

/** Connectors kept per charger: real ones have a handful; one that makes up connector ids gets no more than this. */
export const MAX_CONNECTORS_PER_CHARGER = 64;

/**
 * A connection's last connector snapshot, so that MeterValues writes its readings without looking the charger and
 * the connector up again. Valid while no charger has been forgotten since (the registry's epoch).
 */
export class ConnectorHint {
  /** @internal */ identity: string | undefined = undefined;
  /** @internal */ connector: ConnectorSnapshot | undefined = undefined;
  /** @internal */ epoch = -1;
}

type Phases = NonNullable<ConnectorSnapshot["currentA"]>;

/**
 * The phases of `update` written over `current`, in place: a new object per MeterValues would be kept by the
 * long-lived snapshot until the next one, so it would outlive the young generation on a busy server. Safe because
 * snapshots leave this registry only as deep copies (toSnapshot).
 */
function mergePhases(current: Phases | undefined, update: Phases): Phases {
  if (!current) return { ...update };
  for (const phase in update) current[phase as keyof Phases] = update[phase as keyof Phases];
  return current;
}

function toTime(value: string | undefined): number {
  if (!value) return Number.NaN;
  return Date.parse(value);
}

export class ChargerRegistry implements ChargerDirectory {
  private readonly chargers = new Map<string, ChargerEntry>();
  private readonly connectedListeners = new Set<(link: ChargerLink) => void>();
  private readonly reportListeners = new Set<(identity: string, requestId: number) => void>();
  private nextConnectionId = 1;
  private connectedCount = 0;
  /** Counts forgotten chargers: a ConnectorHint from before is stale (its connector may belong to a dropped entry). */
  private epoch = 0;
  /**
   * At most this many chargers are remembered. A new identity beyond it makes room by forgetting a
   * disconnected one, first one that never booted (a typo, a scan, an attack), so many unique ids
   * cannot grow memory without end (issue 13 item 11). Connected chargers are never forgotten.
   */
  maxEntries = 1000;
  /** The capabilities of a charger of this version with this configuration (the server asks the version's adapter). */
  describe: (protocol: string | undefined, configuration: Readonly<Record<string, string>>) => ChargerCapabilities | undefined = () => undefined;
  /** Listener failures are not the directory's business, but must be seen. */
  onListenerError: (err: unknown) => void = () => undefined;

  private entry(identity: string): ChargerEntry {
    let entry = this.chargers.get(identity);
    if (!entry) {
      if (this.chargers.size >= this.maxEntries) this.makeRoom();
      entry = { identity, connectionId: 0, connectors: new Map(), badMessages: 0 };
      this.chargers.set(identity, entry);
    }
    return entry;
  }

  /** Makes `link` the live connection of its identity; returns the connection id to pass to detach(). */
  attach(link: ChargerLink, info: { remoteAddress?: string; protocol?: string }, now = new Date()): number {
    const entry = this.entry(link.identity);
    entry.remoteAddress = info.remoteAddress;
    const versionChanged = entry.protocol !== info.protocol;
    entry.protocol = info.protocol;
    if (versionChanged) this.redescribe(entry);
    if (!entry.link) this.connectedCount++;
    entry.link = link;
    entry.connectionId = this.nextConnectionId++;
    entry.lastSeenMs = now.getTime();
    entry.badMessages = 0;
    return entry.connectionId;
  }

  /** Forgets the link only if it is still the current one; returns whether it was. */
  detach(identity: string, connectionId: number): boolean {
    const entry = this.chargers.get(identity);
    if (!entry || entry.connectionId !== connectionId || !entry.link) return false;
    entry.link = undefined;
    this.connectedCount--;
    // An id that connected and left without a trace (no boot, status, configuration or bad frame) is forgotten
    // at once: scans and typos do not fill the charger list (issue 13 item 11).
    if (!entry.boot && entry.connectors.size === 0 && !entry.configuration && entry.badMessages === 0) this.forget(identity);
    return true;
  }

  isCurrent(identity: string, connectionId: number): boolean {
    const entry = this.chargers.get(identity);
    return !!entry && entry.connectionId === connectionId && !!entry.link;
  }

  /** Tells onConnected listeners; called after a BootNotification was accepted. */
  announce(identity: string): void {
    const link = this.chargers.get(identity)?.link;
    if (!link) return;
    for (const listener of [...this.connectedListeners]) {
      try {
        listener(link);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  touch(identity: string, nowMs = Date.now()): void {
    this.entry(identity).lastSeenMs = nowMs;
  }

  /** How many chargers have a live link (kept as a count: the status shows it on every connect). */
  get connected(): number {
    return this.connectedCount;
  }

  /** Whether a BootNotification was ever seen from this charger (kept across reconnects). */
  hasBooted(identity: string): boolean {
    return !!this.chargers.get(identity)?.boot;
  }

  /** The connectors that currently have this transaction open. */
  connectorsWithTransaction(identity: string, transactionId: TransactionId): number[] {
    const entry = this.chargers.get(identity);
    if (!entry) return [];
    return [...entry.connectors.values()].filter((c) => c.transactionId === transactionId).map((c) => c.connectorId);
  }

  setBoot(identity: string, boot: NonNullable<ChargerSnapshot["boot"]>): void {
    this.entry(identity).boot = boot;
  }

  setRtt(identity: string, rttMs: number): void {
    this.entry(identity).rttMs = rttMs;
  }

  countBadMessage(identity: string): number {
    return ++this.entry(identity).badMessages;
  }

  connector(identity: string, connectorId: number): ConnectorSnapshot {
    const entry = this.entry(identity);
    let connector = entry.connectors.get(connectorId);
    if (!connector) {
      connector = { connectorId };
      // Beyond the cap a connector is not kept: what is written to it is dropped.
      if (entry.connectors.size < MAX_CONNECTORS_PER_CHARGER) entry.connectors.set(connectorId, connector);
    }
    return connector;
  }

  /**
   * Keeps a connector status unless an equal-or-newer one is already known:
   * chargers replay queued StatusNotifications after being offline, and an
   * old "Charging" must not overwrite a newer "Available". Returns whether
   * the status was applied.
   */
  applyStatus(
    identity: string,
    connectorId: number,
    status: { status: string; errorCode?: string; timestamp?: string },
    now = new Date(),
  ): boolean {
    const connector = this.connector(identity, connectorId);
    const time = status.timestamp && !Number.isNaN(toTime(status.timestamp)) ? status.timestamp : now.toISOString();
    const known = toTime(connector.statusTime);
    if (!Number.isNaN(known) && toTime(time) < known) return false;
    connector.status = status.status;
    connector.errorCode = status.errorCode;
    connector.statusTime = time;
    return true;
  }

  setSession(identity: string, connectorId: number, session: { transactionId: TransactionId; idTag?: string } | undefined): void {
    const connector = this.connector(identity, connectorId);
    connector.transactionId = session?.transactionId;
    connector.idTag = session?.idTag;
  }

  /** `hint`: the connection's ConnectorHint (MeterValues, on every call): the connector found last time, if still valid. */
  setMeasurements(
    identity: string,
    connectorId: number,
    values: Partial<Pick<ConnectorSnapshot, "voltageV" | "currentA" | "powerW" | "energyWh">>,
    hint?: ConnectorHint,
  ): void {
    let connector = hint?.connector;
    if (!connector || connector.connectorId !== connectorId || hint!.epoch !== this.epoch || hint!.identity !== identity) {
      connector = this.connector(identity, connectorId);
      if (hint) {
        hint.identity = identity;
        hint.connector = connector;
        hint.epoch = this.epoch;
      }
    }
    if (values.voltageV) connector.voltageV = mergePhases(connector.voltageV, values.voltageV);
    if (values.currentA) connector.currentA = mergePhases(connector.currentA, values.currentA);
    if (values.powerW !== undefined) connector.powerW = values.powerW;
    if (values.energyWh !== undefined) connector.energyWh = values.energyWh;
  }

  // ChargerDirectory

  link(identity: string): ChargerLink | undefined {
    return this.chargers.get(identity)?.link;
  }

  snapshot(identity: string): ChargerState | undefined {
    const entry = this.chargers.get(identity);
    return entry ? this.toSnapshot(entry) : undefined;
  }

  list(): ChargerState[] {
    return [...this.chargers.values()].sort((a, b) => a.identity.localeCompare(b.identity)).map((e) => this.toSnapshot(e));
  }

  onConnected(listener: (link: ChargerLink) => void): () => void {
    this.connectedListeners.add(listener);
    return () => {
      this.connectedListeners.delete(listener);
    };
  }

  onReportDone(listener: (identity: string, requestId: number) => void): () => void {
    this.reportListeners.add(listener);
    return () => this.reportListeners.delete(listener);
  }

  /** OCPP 2.0.1: the last NotifyReport part of `requestId` arrived. */
  reportDone(identity: string, requestId: number): void {
    for (const listener of [...this.reportListeners]) {
      try {
        listener(identity, requestId);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  recordConfiguration(identity: string, configuration: Record<string, string>): void {
    const entry = this.entry(identity);
    entry.configuration = { ...entry.configuration, ...withoutSecrets(configuration) };
    this.redescribe(entry);
  }

  private redescribe(entry: ChargerEntry): void {
    entry.capabilities = entry.configuration ? this.describe(entry.protocol, entry.configuration) : undefined;
  }

  /** Forgets the oldest disconnected charger that never booted, else the oldest disconnected one. */
  private makeRoom(): void {
    let fallback: string | undefined;
    for (const [identity, entry] of this.chargers) {
      if (entry.link) continue;
      if (!entry.boot) {
        this.forget(identity);
        return;
      }
      fallback ??= identity;
    }
    if (fallback !== undefined) this.forget(fallback);
  }

  private forget(identity: string): void {
    this.chargers.delete(identity);
    this.epoch++;
  }

  /** Drops every listener and link (the server is closing). */
  clear(): void {
    this.connectedListeners.clear();
    this.reportListeners.clear();
    for (const entry of this.chargers.values()) entry.link = undefined;
    this.connectedCount = 0;
  }

  private toSnapshot(entry: ChargerEntry): ChargerState {
    const connectors = [...entry.connectors.values()]
      .sort((a, b) => a.connectorId - b.connectorId)
      .map((c) => structuredClone(c));
    return {
      identity: entry.identity,
      connected: !!entry.link,
      protocol: entry.protocol,
      remoteAddress: entry.remoteAddress,
      lastSeen: entry.lastSeenMs === undefined ? undefined : new Date(entry.lastSeenMs).toISOString(),
      boot: entry.boot ? { ...entry.boot } : undefined,
      connectors,
      configuration: entry.configuration ? { ...entry.configuration } : undefined,
      capabilities: entry.capabilities ? structuredClone(entry.capabilities) : undefined,
      rttMs: entry.rttMs,
      badMessages: entry.badMessages,
    };
  }
}
