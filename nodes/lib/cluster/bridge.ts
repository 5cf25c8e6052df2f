/**
 * Joins one central system to its cluster: claims the chargers that connect
 * here, closes a charger's socket when it connects to another instance,
 * runs CALLs that other instances ask for, publishes this instance's events,
 * charger states and session records, adopts the open sessions of a charger
 * that moved here, and lends the command side links to chargers held
 * elsewhere. Works with any OCPP version: it only sees normalised events
 * and opaque CALLs.
 */
import { errorMessage } from "../errors";
import type { ChargerDirectory, ChargerSnapshot } from "../ocpp/core/contract";
import type { CentralEvent } from "../ocpp/core/server";
import type { Session, TransactionStore } from "../ocpp/core/transactions";
import type { ClusterBackplane, ClusterEvent, SessionRecord } from "./backplane";
import { RemoteChargerLink } from "./remote-link";

/** What the bridge needs of the central system (CentralSystem has it). */
export interface BridgedCentral {
  readonly directory: Pick<ChargerDirectory, "link" | "snapshot" | "list">;
  readonly transactions: TransactionStore;
  onEvent(listener: (event: CentralEvent) => void): () => void;
  closeCharger(identity: string, code?: number, reason?: string): boolean;
}

export interface BridgeOptions {
  /** Publish this instance's events to the cluster (default true). */
  publishEvents?: boolean;
  /** Timeout of a CALL sent to a charger on another instance. */
  callTimeoutMs: number;
  /** A running session's record is refreshed at most this often (ms); starts and ends at once. Default 30 s. */
  sessionRefreshMs?: number;
  /** Charger states are published this long after the last change (ms), so a burst of statuses is one message. Default 300. */
  stateDelayMs?: number;
  now?: () => number;
  onError?: (text: string) => void;
}

/** Event kinds that are questions of this instance's upgrade, not charger events. */
const LOCAL_ONLY = new Set(["connect"]);

/** Remembers recent event ids, so a QoS 1 event that arrives twice is passed on once. */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly max: number) {}
  /** True the first time an id is seen. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return true;
  }
}

/** OCPP 1.6 ids are ours (numbers), 2.0.1 ids the charger's (text): the key keeps which, so "7" and 7 stay apart. */
function sessionKey(transactionId: number | string): string {
  return typeof transactionId === "number" ? `n${transactionId}` : `s${transactionId}`;
}

function transactionIdOf(key: string): number | string | undefined {
  if (key.startsWith("n")) {
    const id = Number(key.slice(1));
    return Number.isFinite(id) ? id : undefined;
  }
  return key.startsWith("s") ? key.slice(1) : undefined;
}

export class ClusterBridge {
  private readonly conns = new Map<string, string>();
  /** Chargers whose socket here was replaced by a newer one elsewhere: nothing more is published for them. */
  private readonly superseded = new Set<string>();
  private readonly stateTimers = new Map<string, NodeJS.Timeout>();
  private readonly sessionPublished = new Map<string, number>();
  private readonly seen = new RecentIds(20_000);
  private readonly cleanup: Array<() => void> = [];
  private readonly now: () => number;
  private readonly onError: (text: string) => void;
  private connSeq = 0;
  private closed = false;

  constructor(
    private readonly central: BridgedCentral,
    private readonly backplane: ClusterBackplane,
    private readonly options: BridgeOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => undefined);
    this.cleanup.push(central.onEvent((event) => this.onLocalEvent(event)));
    backplane.setCallHandler(async (identity, action, payload, timeoutMs) => {
      const link = central.directory.link(identity);
      if (!link) throw new Error(`charger ${identity} is not connected to instance ${backplane.instance} any more`);
      return link.call(action, (payload ?? {}) as object, { timeoutMs });
    });
    this.cleanup.push(() => backplane.setCallHandler(undefined));
    this.cleanup.push(
      backplane.onSuperseded((identity, by) => {
        this.superseded.add(identity);
        this.conns.delete(identity);
        central.closeCharger(identity, 4000, `Connected to instance ${by.instance} of the cluster now`);
      }),
    );
    this.cleanup.push(backplane.onSessionRecord((identity, key, record) => this.onRemoteSession(identity, key, record)));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // This central system stops: its chargers will reconnect, here or elsewhere; stop routing to it now.
    for (const [identity, conn] of this.conns) this.backplane.release(identity, conn);
    this.conns.clear();
    for (const timer of this.stateTimers.values()) clearTimeout(timer);
    this.stateTimers.clear();
    for (const step of this.cleanup.splice(0)) step();
  }

  /**
   * The command side's view: chargers connected here first, then chargers
   * held by other instances (through the broker), then nothing (offline).
   */
  directory(local: ChargerDirectory): ChargerDirectory {
    return {
      link: (identity) => local.link(identity) ?? this.remoteLink(identity),
      snapshot: (identity) => local.snapshot(identity) ?? this.remoteSnapshot(identity),
      list: () => {
        const own = local.list();
        const known = new Set(own.map((s) => s.identity));
        for (const identity of this.backplane.clusterChargers()) {
          if (known.has(identity)) continue;
          const snapshot = this.remoteSnapshot(identity);
          if (snapshot) own.push(snapshot);
        }
        return own;
      },
      onConnected: (listener) => local.onConnected(listener),
      onReachable: (listener) => {
        const offLocal = local.onConnected(listener);
        const offOwner = this.backplane.onOwnerChange((identity) => {
          const link = local.link(identity) ? undefined : this.remoteLink(identity);
          if (link) listener(link);
        });
        return () => {
          offLocal();
          offOwner();
        };
      },
      recordConfiguration: (identity, configuration) => local.recordConfiguration(identity, configuration),
      // GetBaseReport waits for the end of the report: here for chargers held here, through the owner's state record for the others.
      onReportDone: (listener) => {
        const offLocal = local.onReportDone?.(listener);
        const offRemote = this.backplane.onChargerReport(listener);
        return () => {
          offLocal?.();
          offRemote();
        };
      },
    };
  }

  /** Events of chargers held by other instances, each passed on once. */
  onClusterEvent(listener: (event: ClusterEvent) => void): () => void {
    return this.backplane.onClusterEvent((event) => {
      if (event.eventId && !this.seen.add(event.eventId)) return;
      listener(event);
    });
  }

  private remoteLink(identity: string): RemoteChargerLink | undefined {
    const owner = this.backplane.ownerOf(identity);
    if (!owner || owner.instance === this.backplane.instance) return undefined;
    return new RemoteChargerLink(this.backplane, identity, owner.protocol, this.options.callTimeoutMs);
  }

  private remoteSnapshot(identity: string): ChargerSnapshot | undefined {
    const owner = this.backplane.ownerOf(identity);
    const state = this.backplane.chargerState(identity) as ChargerSnapshot | undefined;
    if (!state || typeof state !== "object") return undefined;
    return { ...state, identity, connected: owner !== undefined && owner.instance !== this.backplane.instance, instance: owner?.instance } as ChargerSnapshot;
  }

  private onLocalEvent(event: CentralEvent): void {
    if (this.closed) return;
    const { identity } = event;
    try {
      switch (event.kind) {
        case "connected": {
          this.superseded.delete(identity);
          const conn = `${this.backplane.instance}:${this.now().toString(36)}:${++this.connSeq}`;
          this.conns.set(identity, conn);
          this.backplane.claim(identity, conn, event.protocol);
          this.adoptSessions(identity);
          this.scheduleState(identity);
          break;
        }
        case "disconnected": {
          const conn = this.conns.get(identity);
          if (conn && !this.superseded.has(identity)) {
            this.publishState(identity);
            this.backplane.release(identity, conn);
          }
          this.conns.delete(identity);
          break;
        }
        case "boot":
        case "status":
          this.scheduleState(identity);
          break;
        case "deviceModel":
          // At once, with the report's id: an instance that asked for the report answers from this state.
          if (typeof event.requestId === "number") this.publishState(identity, event.requestId);
          break;
        case "session.started":
          this.clearEndedRecords(identity);
          this.publishSession(identity, event.transactionId);
          break;
        case "session.ended":
          this.publishSession(identity, event.transactionId);
          break;
        case "session.updated": {
          const key = `${identity}\u0000${sessionKey(event.transactionId as number | string)}`;
          const last = this.sessionPublished.get(key) ?? 0;
          if (this.now() - last >= (this.options.sessionRefreshMs ?? 30_000)) this.publishSession(identity, event.transactionId);
          break;
        }
      }
      if (this.options.publishEvents !== false && !LOCAL_ONLY.has(event.kind) && !this.superseded.has(identity)) {
        this.backplane.publishEvent(identity, event.kind, event);
      }
    } catch (err) {
      this.onError(`cluster: could not share ${event.kind} of charger ${identity}: ${errorMessage(err)}`);
    }
  }

  private scheduleState(identity: string): void {
    if (this.stateTimers.has(identity)) return;
    const timer = setTimeout(() => {
      this.stateTimers.delete(identity);
      this.publishState(identity);
    }, this.options.stateDelayMs ?? 300);
    this.stateTimers.set(identity, timer);
  }

  private publishState(identity: string, reportDone?: number): void {
    const snapshot = this.central.directory.snapshot(identity);
    if (snapshot) this.backplane.publishChargerState(identity, snapshot, reportDone);
  }

  private publishSession(identity: string, transactionId: unknown): void {
    if (typeof transactionId !== "number" && typeof transactionId !== "string") return;
    // Narrowed above: number (1.6, ours) or string (2.0.1, the charger's).
    const session = this.central.transactions.session(identity, transactionId);
    if (!session) return;
    const key = sessionKey(transactionId as number | string);
    if (session.end) this.sessionPublished.delete(`${identity}\u0000${key}`);
    else this.sessionPublished.set(`${identity}\u0000${key}`, this.now());
    // An ended session stays as a record until the charger's next session starts, so a Stop retransmitted to another instance is still a duplicate there.
    this.backplane.publishSession(identity, key, session);
  }

  private clearEndedRecords(identity: string): void {
    for (const record of this.backplane.sessionsOf(identity)) {
      const session = record.session as Partial<Session>;
      if (session.end && session.transactionId !== undefined) this.backplane.publishSession(identity, sessionKey(session.transactionId as number | string), undefined);
    }
  }

  /** A charger that moved here brings its sessions: their records, written by the instance it left. */
  private adoptSessions(identity: string): void {
    for (const record of this.backplane.sessionsOf(identity)) {
      if (record.origin === this.backplane.instance) continue;
      const session = record.session as Session;
      if (session.identity !== identity) continue;
      if (this.central.transactions.adopt(session)) {
        // Now ours: say so, so the instance it left forgets its copy.
        this.publishSession(identity, session.transactionId);
      }
    }
  }

  /** Another instance wrote a session of a charger not held here: drop the local copy, that instance ends it. */
  private onRemoteSession(identity: string, key: string, _record: SessionRecord | undefined): void {
    if (this.backplane.holds(identity)) return;
    const transactionId = transactionIdOf(key);
    if (transactionId === undefined) return;
    try {
      this.central.transactions.forget(identity, transactionId);
    } catch (err) {
      this.onError(`cluster: could not hand over session ${key} of charger ${identity}: ${errorMessage(err)}`);
    }
  }
}
