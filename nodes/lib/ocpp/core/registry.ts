/**
 * What the central system knows about each charger, keyed by identity. The
 * registry outlives connections: a reconnect keeps boot info, connector
 * state and discovered configuration. Only the newest socket of an identity
 * is live; the server closes older ones.
 */
import type { ChargerDirectory, ChargerLink, ChargerSnapshot, ConnectorSnapshot } from "./contract";

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
  rttMs?: number;
  badMessages: number;
}

/** The snapshot plus what only this central system tracks. */
export interface ChargerState extends ChargerSnapshot {
  rttMs?: number;
  badMessages: number;
}

function toTime(value: string | undefined): number {
  if (!value) return Number.NaN;
  return Date.parse(value);
}

export class ChargerRegistry implements ChargerDirectory {
  private readonly chargers = new Map<string, ChargerEntry>();
  private readonly connectedListeners = new Set<(link: ChargerLink) => void>();
  private nextConnectionId = 1;
  private connectedCount = 0;
  /** Listener failures are not the directory's business, but must be seen. */
  onListenerError: (err: unknown) => void = () => undefined;

  private entry(identity: string): ChargerEntry {
    let entry = this.chargers.get(identity);
    if (!entry) {
      entry = { identity, connectionId: 0, connectors: new Map(), badMessages: 0 };
      this.chargers.set(identity, entry);
    }
    return entry;
  }

  /** Makes `link` the live connection of its identity; returns the connection id to pass to detach(). */
  attach(link: ChargerLink, info: { remoteAddress?: string; protocol?: string }, now = new Date()): number {
    const entry = this.entry(link.identity);
    entry.remoteAddress = info.remoteAddress;
    entry.protocol = info.protocol;
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
  connectorsWithTransaction(identity: string, transactionId: number): number[] {
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
      entry.connectors.set(connectorId, connector);
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

  setSession(identity: string, connectorId: number, session: { transactionId: number; idTag?: string } | undefined): void {
    const connector = this.connector(identity, connectorId);
    connector.transactionId = session?.transactionId;
    connector.idTag = session?.idTag;
  }

  setMeasurements(identity: string, connectorId: number, values: Partial<Pick<ConnectorSnapshot, "voltageV" | "currentA" | "powerW" | "energyWh">>): void {
    const connector = this.connector(identity, connectorId);
    if (values.voltageV) connector.voltageV = { ...connector.voltageV, ...values.voltageV };
    if (values.currentA) connector.currentA = { ...connector.currentA, ...values.currentA };
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

  recordConfiguration(identity: string, configuration: Record<string, string>): void {
    const entry = this.entry(identity);
    entry.configuration = { ...entry.configuration, ...configuration };
  }

  /** Drops every listener and link (the server is closing). */
  clear(): void {
    this.connectedListeners.clear();
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
      rttMs: entry.rttMs,
      badMessages: entry.badMessages,
    };
  }
}
