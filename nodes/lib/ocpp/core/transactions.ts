/**
 * Transactions of every OCPP version: ids, open sessions and their energy,
 * kept across restarts through a pluggable persistence (Node-RED context in
 * the node). OCPP 1.6 sessions get numeric ids from us (start/stop); OCPP
 * 2.0.1 sessions are keyed by the charger's own text id (openExternal /
 * endExternal, driven by the 2.0.1 adapter's TransactionEvent handling).
 *
 * Chargers queue StartTransaction / MeterValues / StopTransaction while
 * offline and resend them when the reply was lost, so every entry point here
 * is idempotent: a repeated Start gets the same id, a repeated Stop ends
 * nothing twice, and old meter values never overwrite newer ones.
 *
 * Energy rule (one rule, everywhere): Energy.Active.Import.Register is the
 * meter's lifetime counter. The energy of a session is always
 * `register − meterStart` in Wh, where meterStart comes from
 * StartTransaction and the register from meterStop (at the end) or from the
 * newest Energy.Active.Import.Register sample (while charging). Interval
 * measurands and Transaction.Begin samples are never summed or mixed in:
 * mixing them is what made session energy wrong or 0 in other integrations.
 * A register below meterStart (meter reset, or firmware that sends session
 * energy as the register) gives no energy plus an `energyNote` rather than a
 * negative or invented figure.
 */
import { toError } from "../../errors";
import type { SessionEndedEvent, SessionStartedEvent, SessionUpdatedEvent, MeterEvent } from "./events";
import { normalizeMeterValues, pickConnectorReadings, type ConnectorReadings, type NormalizedMeterSample } from "./meter-values";
import { isoTime, parseTime } from "./timestamps";
import { isIncremental, type RecordChanges } from "./session-persistence";
import type { IdTagInfo, StartTransactionRequest, StopTransactionRequest } from "../v16/messages";
import type { TransactionId } from "./contract";
import { MAX_CONNECTORS_PER_CHARGER } from "./registry";

export interface TransactionPersistence {
  /** Resolves with what the last save() stored, or undefined/null when nothing was stored yet. */
  load(): Promise<unknown>;
  save(data: unknown): Promise<void>;
}

export type SessionEndKind = "stop" | "replaced" | "closed";

export interface SessionEnd {
  /** Charger timestamp of the stop (or of the replacing start). */
  stopTime: string;
  meterStopWh?: number;
  energyWh?: number;
  energyNote?: string;
  reason: string;
  stopIdTag?: string;
  /** Central-system time it ended. */
  endedAt: string;
  /** How it ended: the charger's StopTransaction, a newer Start on the connector, or closed by a flow. */
  by: SessionEndKind;
}

export interface Session {
  /** Ours (a number) for OCPP 1.6, the charger's text for 2.0.1. */
  transactionId: TransactionId;
  identity: string;
  /** Undefined only for the record of a Stop for an unknown transaction. */
  connectorId?: number;
  idTag?: string;
  meterStartWh?: number;
  /** Charger timestamp of StartTransaction. */
  startTime?: string;
  reservationId?: number;
  /** The answer given to StartTransaction, repeated for a retransmitted Start. */
  idTagInfo?: IdTagInfo;
  /** Central-system time the Start arrived. */
  startedAt: string;
  /** Newest register reading seen (Wh) and the charger time of the newest sample applied. */
  registerWh?: number;
  powerW?: number;
  lastSampleTime?: string;
  /** Present once the session has ended. */
  end?: SessionEnd;
  /** Record of a Stop for a transaction this store never started. */
  unknownTransaction?: boolean;
  /** OCPP 2.0.1: the connector on the EVSE (connectorId holds the EVSE id). */
  evseConnectorId?: number;
  /** OCPP 2.0.1: the RequestStartTransaction that started it. */
  remoteStartId?: number;
  /** OCPP 2.0.1: highest TransactionEvent seqNo seen. */
  seqNo?: number;
}

/** OCPP 2.0.1: the start of a transaction whose id the charger chose. */
export interface ExternalStart {
  transactionId: string;
  /** The EVSE id (the 1.6 connector vocabulary flows already use). */
  connectorId: number;
  evseConnectorId?: number;
  idTag?: string;
  meterStartWh?: number;
  /** Charger timestamp of the first event. */
  startTime: string;
  remoteStartId?: number;
  seqNo?: number;
}

/** OCPP 2.0.1: the end of a transaction, from TransactionEvent Ended or GetTransactionStatus. */
export interface ExternalEnd {
  stopTime: string;
  meterStopWh?: number;
  reason: string;
  stopIdTag?: string;
}

export interface StartResult {
  transactionId: number;
  /** True when this Start was a retransmission of one already recorded (no new event). */
  duplicate: boolean;
  /** For a duplicate: the idTagInfo answered the first time, so the reply is identical. */
  idTagInfo?: IdTagInfo;
  session: Session;
  event?: SessionStartedEvent;
  /** A session that was still open on this connector and is now ended as "Replaced". */
  replaced?: SessionEndedEvent;
  /** Resolves after the new state is persisted: true when saved, false when the save failed (reported via onError). Never rejects. */
  saved: Promise<boolean>;
}

/** openExternal's result: the charger's own text id. */
export type ExternalStartResult = Omit<StartResult, "transactionId" | "replaced"> & { transactionId: string };

export interface StopResult {
  /** False when the transaction id is unknown for this charger; the Stop must still be answered. */
  known: boolean;
  /** True when this Stop was already processed (no second session.ended). */
  duplicate: boolean;
  session: Session;
  event?: SessionEndedEvent;
  /** StopTransaction.transactionData, normalised (for a meter event). */
  samples: NormalizedMeterSample[];
  saved: Promise<boolean>;
}

export interface MeterResult {
  /** The session the samples belong to, if any: a copy, made when this is read (so it shows the session as it is then). */
  session?: Session;
  /** The transactionId was given but is not known for this charger. */
  unknownTransaction: boolean;
  /**
   * Every sample, oldest first, with `late` set on the ones older than what
   * the session had. Absent only when the caller said it wants none.
   */
  meterEvent?: MeterEvent;
  /** session.updated, when the newest values of the session changed (and the caller did not say it wants none). */
  event?: SessionUpdatedEvent;
  /** What the samples that are not late say about the connector (undefined when all are late). */
  readings?: ConnectorReadings;
  saved: Promise<boolean>;
}

export interface TransactionStoreOptions {
  persistence?: TransactionPersistence;
  /** Save and load failures; the store keeps working in memory. */
  onError?: (error: Error) => void;
  /**
   * The first id when nothing was persisted. Default: seconds since
   * 2020-01-01, so that even a store whose persistence was lost (memory
   * context after a restart) never hands out an id it used before, as long
   * as it started fewer than one transaction per second on average.
   */
  firstTransactionId?: number;
  /** How many ended sessions to remember for duplicate detection. Default 1000. */
  keepEnded?: number;
  /**
   * The save window for meter-only changes (ms): they are saved at most this
   * long after the first unsaved one, together with whatever else changed by
   * then (a MeterValues that arrives while a save runs waits for the window
   * too); starts and stops are saved at once. What a `kill -9` can lose is
   * the meter readings of this window plus one save. Default 5000.
   */
  meterSaveDelayMs?: number;
  /** Clock, for tests. */
  clock?: () => Date;
  /**
   * Picks the next transaction id above `last` (default last + 1). A cluster
   * of central systems gives each instance its own stripe of ids this way.
   */
  allocateId?: (last: number) => number;
}

export interface PersistedState {
  format: "evkit-ocpp-transactions";
  version: 1;
  lastTransactionId: number;
  sessions: Session[];
}

const FORMAT = "evkit-ocpp-transactions";
const EPOCH_2020 = Date.UTC(2020, 0, 1);
/** Changed sessions handed to an incremental persistence per write (the event loop gets a turn between writes). */
const WRITE_SLICE = 500;
/** Meter calls that change nothing worth saving share one settled promise. */
const RESOLVED_TRUE: Promise<boolean> = Promise.resolve(true);

function timeSeed(now: Date): number {
  return Math.max(1, Math.floor((now.getTime() - EPOCH_2020) / 1000));
}

function finite(v: unknown): number | undefined {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === "string" ? v : v === undefined || v === null ? undefined : String(v);
}

/**
 * Sample times further ahead than this are a wrong charger clock: they are
 * applied as if sent now and never become the session's "newest" time, or
 * every correct sample after a clock fix would count as late.
 */
const FUTURE_TOLERANCE_MS = 10 * 60_000;

/** Charger time of a sample (ms), or NaN when unreadable or further ahead than a wrong clock explains. */
function trustedMs(timestamp: string, nowMs: number): number {
  const t = parseTime(timestamp);
  return t > nowMs + FUTURE_TOLERANCE_MS ? Number.NaN : t;
}

function ms(timestamp: string | undefined): number {
  const t = timestamp === undefined ? NaN : parseTime(timestamp);
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

function key(identity: string, transactionId: TransactionId): string {
  return `${identity}\u0000${transactionId}`;
}

/**
 * The key a persistence stores a session record under (the same key the store uses). A string transaction id
 * (OCPP 2.0.1) keys the same way, so the journal reads such records without a change.
 */
export function sessionRecordKey(record: { identity?: unknown; transactionId?: unknown }): string | undefined {
  const id = record.transactionId;
  if (typeof record.identity !== "string") return undefined;
  if (typeof id === "number" && Number.isFinite(id)) return key(record.identity, id);
  return typeof id === "string" && id !== "" ? `${record.identity}\u0000${id}` : undefined;
}

/** What makes a retransmitted Start the same Start (normalised the way the session stores it). */
function startKey(identity: string, req: StartTransactionRequest): string {
  return JSON.stringify([identity, finite(req.connectorId), text(req.idTag), text(req.timestamp), finite(req.meterStart)]);
}

function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Callers get copies, so they cannot change the store by editing a result (cheaper than a JSON round trip on the hot path). */
function copySession(s: Session): Session {
  const out: Session = { ...s };
  if (s.idTagInfo) out.idTagInfo = { ...s.idTagInfo };
  if (s.end) out.end = { ...s.end };
  return out;
}

/**
 * What MeterValues keeps on a session between calls, so that the most frequent call reads the session it
 * already holds instead of looking things up elsewhere. A non-enumerable symbol property: never saved or copied.
 */
interface MeterMemo {
  /**
   * The session's key is already in the change set (toPut or toPatch) until the next write: MeterValues then
   * changes nothing there. Cleared whenever the key leaves the change set (takeChanges); a session whose key
   * markRemove takes out has left the store for good (adopt and load make new objects).
   */
  pending: boolean;
  /** ms(lastSampleTime), valid while lastSampleTime is still `parsedText`. */
  parsedText: string | undefined;
  parsedMs: number;
  /** The newest-sample cell of connector `cellConnector` of the session's charger (see connectorLatest). */
  cellConnector: number;
  cell: { ms: number } | undefined;
  /** The store that holds the session open (undefined once it ended or was forgotten): a MeterHint to it is valid. */
  openIn: TransactionStore | undefined;
}

/**
 * A connection's last open session, so that MeterValues finds it without looking it up by charger and transaction id
 * again. The store checks it is still open in that store before it uses it.
 */
export class MeterHint {
  /** @internal */ session: Session | undefined = undefined;
}

const MEMO = Symbol("meter memo");

type Memoized = Session & { [MEMO]?: MeterMemo };

function memoOf(session: Session): MeterMemo {
  let memo = (session as Memoized)[MEMO];
  if (!memo) {
    memo = { pending: false, parsedText: undefined, parsedMs: Number.NEGATIVE_INFINITY, cellConnector: -1, cell: undefined, openIn: undefined };
    Object.defineProperty(session, MEMO, { value: memo, writable: false, enumerable: false, configurable: true });
  }
  return memo;
}

function setPending(session: Session, pending: boolean): void {
  const memo = (session as Memoized)[MEMO];
  if (memo) memo.pending = pending;
  else if (pending) memoOf(session).pending = true;
}

/** ms(session.lastSampleTime), parsed once per new value. */
function lastSampleMs(session: Session, memo: MeterMemo): number {
  const text = session.lastSampleTime;
  if (text !== memo.parsedText) {
    memo.parsedText = text;
    memo.parsedMs = ms(text);
  }
  return memo.parsedMs;
}

/** Order keys of one meter() call (see there), and whether each sample's own time was readable and believable. */
const meterScratch = new Float64Array(64);
const trustedScratch = new Uint8Array(64);

function copySample(s: NormalizedMeterSample): NormalizedMeterSample {
  return { ...s };
}

/** A MeterResult whose session copy is made only when someone reads it (the server does not, on every MeterValues). */
class MeterOutcome implements MeterResult {
  constructor(
    private readonly stored: Session | undefined,
    readonly unknownTransaction: boolean,
    readonly meterEvent: MeterEvent | undefined,
    readonly event: SessionUpdatedEvent | undefined,
    readonly readings: ConnectorReadings | undefined,
    readonly saved: Promise<boolean>,
  ) {}

  get session(): Session | undefined {
    return this.stored ? copySession(this.stored) : undefined;
  }
}

/** Removes undefined fields so events compare and serialise cleanly (for-in: no entry arrays on the hot path). */
function clean<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const k in value) {
    const v = value[k];
    if (v !== undefined) out[k] = v;
  }
  return out as T;
}

/** Session energy by the one rule above; a note instead of a negative figure. */
function sessionEnergy(
  meterStartWh: number | undefined,
  registerWh: number | undefined,
): { energyWh?: number; energyNote?: string } {
  if (meterStartWh === undefined || registerWh === undefined) return { energyWh: undefined };
  if (registerWh < meterStartWh) {
    return {
      energyWh: undefined,
      energyNote: `register ${registerWh} Wh is below meterStart ${meterStartWh} Wh (meter reset, or the charger reports session energy as the register)`,
    };
  }
  return { energyWh: Math.round((registerWh - meterStartWh) * 1000) / 1000 };
}

export class TransactionStore {
  private readonly persistence: TransactionPersistence | undefined;
  private readonly onError: (error: Error) => void;
  private readonly keepEnded: number;
  private readonly meterSaveDelayMs: number;
  private readonly clock: () => Date;
  private readonly firstTransactionId: number | undefined;
  private readonly allocateId: (last: number) => number;

  private lastId = 0;
  /** key(identity, id) → session, open ones. */
  private readonly open = new Map<string, Session>();
  /** Each live session's key (see keyOf). */
  private readonly sessionKeys = new WeakMap<Session, string>();
  /** key(identity, id) → session, ended ones in the order they ended (oldest first). */
  private readonly ended = new Map<string, Session>();
  /** startKey → key, for retransmitted Starts. */
  private readonly starts = new Map<string, string>();
  /** Ids held by any record, so a new id never collides with a Stop for an id we did not issue. */
  private readonly usedIds = new Map<number, number>();
  /** identity → its open sessions, so per-charger lookups do not scan every charger's sessions. */
  private readonly openByIdentity = new Map<string, Session[]>();
  /**
   * Newest sample time (ms) per identity, then connector, for samples outside any session (memory only; nested: no
   * key string per call), in a cell changed in place: a number set into a Map is a new heap object per MeterValues.
   */
  private readonly connectorLatest = new Map<string, Map<number, { ms: number }>>();

  private loaded: boolean;
  private closed = false;
  private reportedClosed = false;
  private dirty = false;
  private saving = false;
  /** A start or stop is waiting to be saved (saved at once, and made durable). */
  private urgent = false;
  /** A save should run as soon as the one in flight is done (urgent change, flush, or the meter window ran out). */
  private due = false;
  /** For an incremental persistence: sessions to write whole, sessions whose meter fields changed, keys forgotten. */
  private readonly toPut = new Map<string, Session>();
  private readonly toPatch = new Set<string>();
  private readonly toRemove = new Set<string>();
  /** key → its startKey, so forgetting an ended session does not scan every Start. */
  private readonly startKeyOf = new Map<string, string>();
  /**
   * The outcome of the next save, shared by every change it covers: a busy
   * charger park changes sessions thousands of times between two saves, and
   * a promise each would pile up until the save.
   */
  private nextSave: { promise: Promise<boolean>; resolve: (ok: boolean) => void } | undefined;
  private lazyTimer: NodeJS.Timeout | undefined;

  constructor(options: TransactionStoreOptions = {}) {
    this.persistence = options.persistence;
    this.onError = options.onError ?? (() => undefined);
    this.keepEnded = Math.max(0, options.keepEnded ?? 1000);
    this.meterSaveDelayMs = Math.max(0, options.meterSaveDelayMs ?? 5000);
    this.clock = options.clock ?? (() => new Date());
    this.firstTransactionId = options.firstTransactionId;
    this.allocateId = options.allocateId ?? ((last) => last + 1);
    this.loaded = this.persistence === undefined;
    if (this.loaded) this.lastId = this.seed() - 1;
  }

  /** Creates a store and loads its persisted state. */
  static async open(options: TransactionStoreOptions = {}): Promise<TransactionStore> {
    const store = new TransactionStore(options);
    await store.load();
    return store;
  }

  /**
   * Reads the persisted state. Must finish before the first Start (ids would
   * otherwise repeat). A failing or unreadable load is reported via onError
   * and the store starts empty with a time-based first id. Never rejects.
   */
  async load(): Promise<void> {
    if (this.loaded) return;
    let data: unknown;
    try {
      data = this.persistence ? await this.persistence.load() : undefined;
    } catch (err) {
      this.report(new Error(`could not load OCPP transactions, starting empty: ${toError(err).message}`));
      data = undefined;
    }
    this.restore(data);
    this.loaded = true;
  }

  /** Highest transaction id handed out (or restored) so far. */
  get lastTransactionId(): number {
    return this.lastId;
  }

  /** Open sessions, oldest start first; all chargers, or one. */
  openSessions(identity?: string): Session[] {
    const found = identity === undefined ? [...this.open.values()] : [...(this.openByIdentity.get(identity) ?? [])];
    return found.map(copySession);
  }

  /** The newest open session on a connector. */
  sessionFor(identity: string, connectorId: number): Session | undefined {
    const found = this.newestOpenOn(identity, connectorId);
    return found ? copySession(found) : undefined;
  }

  /** An open or remembered ended session. */
  session(identity: string, transactionId: TransactionId): Session | undefined {
    const k = key(identity, transactionId);
    const found = this.open.get(k) ?? this.ended.get(k);
    return found ? copySession(found) : undefined;
  }

  /**
   * Takes over a session another central system of the cluster recorded (the
   * charger moved here): its Stop, MeterValues and retransmits are then
   * handled as if it had started here. A session already known is kept.
   * Returns whether it was added.
   */
  adopt(record: Session): boolean {
    this.assertLoaded();
    const id: unknown = record.transactionId;
    const validId = typeof id === "string" ? id.length > 0 : finite(id) !== undefined;
    if (!validId || typeof record.identity !== "string") return false;
    const k = key(record.identity, record.transactionId);
    if (this.open.has(k) || this.ended.has(k)) return false;
    const session = copy(record) as Session;
    if (session.end) this.ended.set(k, session);
    else this.addOpen(k, session);
    this.markPut(k, session);
    this.useId(session.transactionId);
    // Only our own (1.6, numeric) ids move the counter; 2.0.1 ids are the charger's.
    if (!session.unknownTransaction && typeof session.transactionId === "number") this.lastId = Math.max(this.lastId, session.transactionId);
    if (typeof session.transactionId === "number" && session.connectorId !== undefined && session.idTag !== undefined && session.startTime !== undefined) {
      const req = { connectorId: session.connectorId, idTag: session.idTag, timestamp: session.startTime, meterStart: session.meterStartWh } as StartTransactionRequest;
      this.rememberStart(startKey(session.identity, req), k);
    }
    if (session.end) this.trimEnded();
    void this.persist(false);
    return true;
  }

  /**
   * Drops an open session without ending it: another central system of the
   * cluster took the charger over and will end it there. No event.
   */
  forget(identity: string, transactionId: TransactionId): boolean {
    this.assertLoaded();
    const k = key(identity, transactionId);
    if (!this.open.has(k)) return false;
    this.removeOpen(k);
    this.releaseId(transactionId);
    const sk = this.startKeyOf.get(k);
    if (sk !== undefined && this.starts.get(sk) === k) this.starts.delete(sk);
    this.startKeyOf.delete(k);
    this.markRemove(k);
    void this.persist(false);
    return true;
  }

  /** The session a retransmitted Start refers to, if this Start was seen before (ask before deciding on the id tag again). */
  findStart(identity: string, req: StartTransactionRequest): Session | undefined {
    const k = this.starts.get(startKey(identity, req));
    const found = k === undefined ? undefined : (this.open.get(k) ?? this.ended.get(k));
    return found ? copySession(found) : undefined;
  }

  /**
   * StartTransaction. A new Start on a connector that still has an open
   * session ends that one first with reason "Replaced": the charger can only
   * run one transaction per connector, so the old one was abandoned (its
   * Stop was lost, or the charger rebooted without sending one). If its real
   * Stop arrives later, it is applied as a correction.
   */
  start(identity: string, req: StartTransactionRequest, now: Date = this.clock(), idTagInfo?: IdTagInfo): StartResult {
    this.assertLoaded();
    const previous = this.findStart(identity, req);
    if (previous) {
      return {
        transactionId: previous.transactionId as number,
        duplicate: true,
        idTagInfo: previous.idTagInfo,
        session: previous,
        saved: this.persist(false),
      };
    }
    const connectorId = finite(req.connectorId) ?? 0;
    const startTime = text(req.timestamp) ?? now.toISOString();
    let replaced: SessionEndedEvent | undefined;
    const current = this.newestOpenOn(identity, connectorId);
    // An older Start arriving late must not end a newer session.
    if (current && ms(startTime) >= ms(current.startTime)) {
      const end = this.endFromRegister(current, startTime, "Replaced", "replaced", now, finite(req.meterStart));
      replaced = this.finish(current, end, now);
    }
    const transactionId = this.nextId();
    const session: Session = clean({
      transactionId,
      identity,
      connectorId,
      idTag: text(req.idTag),
      meterStartWh: finite(req.meterStart),
      startTime,
      reservationId: finite(req.reservationId),
      idTagInfo: idTagInfo ? copy(idTagInfo) : undefined,
      startedAt: now.toISOString(),
    });
    const k = key(identity, transactionId);
    this.addOpen(k, session);
    this.rememberStart(startKey(identity, req), k);
    this.markPut(k, session);
    this.useId(transactionId);
    const event: SessionStartedEvent = clean({
      kind: "session.started",
      identity,
      time: now.toISOString(),
      transactionId,
      idTag: session.idTag,
      connectorId,
      meterStartWh: session.meterStartWh,
      startTime,
      reservationId: session.reservationId,
    });
    return {
      transactionId,
      duplicate: false,
      idTagInfo: session.idTagInfo,
      session: copySession(session),
      event,
      replaced,
      saved: this.persist(false),
    };
  }

  /**
   * StopTransaction. Always gives a result the server can answer with: an
   * unknown id is recorded (so its retransmission is a duplicate too) and
   * still produces session.ended with `unknownTransaction`, because the
   * charger retries an unanswered Stop forever.
   */
  stop(identity: string, req: StopTransactionRequest, now: Date = this.clock()): StopResult {
    this.assertLoaded();
    const transactionId = finite(req.transactionId) ?? -1;
    const k = key(identity, transactionId);
    const existing = this.open.get(k) ?? this.ended.get(k);
    const samples = normalizeMeterValues(existing?.connectorId ?? 0, transactionId, req.transactionData);
    if (existing?.end?.by === "stop") {
      return { known: !existing.unknownTransaction, duplicate: true, session: copySession(existing), samples, saved: this.persist(false) };
    }
    const stopTime = text(req.timestamp) ?? now.toISOString();
    const meterStop = finite(req.meterStop);
    const stopIdTag = text(req.idTag);
    const reason = text(req.reason) ?? "Local";

    if (!existing) {
      // Figures can still be had from the charger's own Transaction.Begin sample.
      const begin = samples.filter((s) => s.context === "Transaction.Begin");
      const meterStartWh = pickConnectorReadings(begin).energyWh;
      const session: Session = clean({
        transactionId,
        identity,
        startedAt: now.toISOString(),
        meterStartWh,
        unknownTransaction: true,
      });
      const end: SessionEnd = clean({
        stopTime,
        meterStopWh: meterStop,
        ...sessionEnergy(meterStartWh, meterStop),
        reason,
        stopIdTag,
        endedAt: now.toISOString(),
        by: "stop" as const,
      });
      if (end.energyWh === undefined && end.energyNote === undefined) {
        end.energyNote = "unknown transaction: no meterStart to subtract";
      }
      this.useId(transactionId);
      const event = this.finish(session, end, now, { unknownTransaction: true });
      return { known: false, duplicate: false, session: copySession(session), event, samples, saved: this.persist(false) };
    }

    const correction = existing.end !== undefined;
    this.applySamples(existing, samples, now);
    const end = this.endFromStop(existing, stopTime, meterStop, reason, stopIdTag, now);
    const event = this.finish(existing, end, now, correction ? { correction: true } : {});
    return { known: true, duplicate: false, session: copySession(existing), event, samples, saved: this.persist(false) };
  }

  /**
   * MeterValues (already normalised). Samples go to the session named by
   * transactionId, or else to the open session on the connector. Samples
   * older than the newest one the session already had (queued while offline)
   * are still returned in the meter event, flagged `late`, but do not
   * change the session's current values.
   */
  meter(
    identity: string,
    connectorId: number,
    transactionId: TransactionId | undefined,
    samples: readonly NormalizedMeterSample[],
    now: Date = this.clock(),
    /** ownSamples: the samples were made for this call and nobody else holds them, so late flags may go on them (no copies). */
    options: { updatedEvent?: boolean; meterEvent?: boolean; ownSamples?: boolean } = {},
    /** The connection's MeterHint: the session the last call went to, used when it is the one named and still open. */
    hint?: MeterHint,
  ): MeterResult {
    this.assertLoaded();
    let session: Session | undefined;
    let unknownTransaction = false;
    if (transactionId !== undefined) {
      const hinted = hint?.session;
      if (hinted !== undefined && hinted.transactionId === transactionId && hinted.identity === identity && (hinted as Memoized)[MEMO]?.openIn === this) {
        session = hinted;
      } else {
        session = this.openById(identity, transactionId) ?? this.ended.get(key(identity, transactionId));
        unknownTransaction = session === undefined;
        if (hint && session && !session.end) hint.session = session;
      }
    } else {
      session = this.newestOpenOn(identity, connectorId);
    }
    // Unreadable and far-future timestamps count as "now": late-flagging them would freeze a charger with a broken clock.
    // Each order key is worked out once; the sort is stable, so equal times keep the charger's order.
    // Copied only for the meter event (late flags go on the copies): this runs for every MeterValues.
    const wantsMeterEvent = options.meterEvent !== false;
    const nowMs = now.getTime();
    const count = samples.length;
    let ordered: NormalizedMeterSample[] = wantsMeterEvent && !options.ownSamples ? samples.map(copySample) : (samples as NormalizedMeterSample[]);
    // meter() runs to the end without yielding, so one scratch array serves every call.
    let at: Float64Array | number[] = count <= meterScratch.length ? meterScratch : new Float64Array(count);
    let trusted: Uint8Array | boolean[] = count <= trustedScratch.length ? trustedScratch : new Uint8Array(count);
    let inOrder = true;
    for (let i = 0; i < count; i++) {
      const t = trustedMs(ordered[i].timestamp, nowMs);
      trusted[i] = Number.isNaN(t) ? 0 : 1;
      at[i] = Number.isNaN(t) ? nowMs : t;
      if (i > 0 && at[i - 1] > at[i]) inOrder = false;
    }
    if (!inOrder) {
      const keyed = ordered.map((sample, i) => ({ at: at[i], trusted: trusted[i] === 1, sample })).sort((a, b) => a.at - b.at);
      ordered = keyed.map((k) => k.sample);
      at = keyed.map((k) => k.at);
      trusted = keyed.map((k) => k.trusted);
    }
    const memo = session ? memoOf(session) : undefined;
    const latestCell = memo && memo.cellConnector === connectorId ? memo.cell : this.latestCell(identity, connectorId);
    if (memo && latestCell) {
      memo.cellConnector = connectorId;
      memo.cell = latestCell;
    }
    const connectorLast = latestCell?.ms ?? Number.NEGATIVE_INFINITY;
    const lastMs = session ? lastSampleMs(session, memo!) : connectorLast;
    // An ended session's figures are final; everything for it is late.
    const allLate = session?.end !== undefined;
    let newest = lastMs;
    // The session's newest sample: like `newest`, but only samples with a time of their own count (see applyMeter).
    let newestOwnMs = lastMs;
    let newestOwn = -1;
    let late = 0;
    if (allLate) late = count;
    else for (let i = 0; i < count; i++) if (at[i] < lastMs) late++;
    // Usually nothing is late: the samples themselves are the fresh ones, no second array.
    let fresh: NormalizedMeterSample[] = ordered;
    if (late > 0) fresh = [];
    for (let i = 0; i < count; i++) {
      if (allLate || at[i] < lastMs) {
        if (wantsMeterEvent) ordered[i].late = true;
      } else {
        if (late > 0) fresh.push(ordered[i]);
        if (at[i] > newest) newest = at[i];
        if (trusted[i] && at[i] > newestOwnMs) {
          newestOwnMs = at[i];
          newestOwn = i;
        }
      }
    }
    if (latestCell && newest > connectorLast) latestCell.ms = newest;
    const readings = fresh.length > 0 ? pickConnectorReadings(fresh) : undefined;
    const time = isoTime(now);
    let event: SessionUpdatedEvent | undefined;
    let changed = false;
    if (session && !session.end) {
      const { registerWh, powerW, lastSampleTime } = session;
      if (fresh.length > 0) this.applyMeter(session, readings!, memo!, newestOwn < 0 ? undefined : ordered[newestOwn].timestamp, newestOwnMs);
      changed =
        session.registerWh !== registerWh || session.powerW !== powerW || session.lastSampleTime !== lastSampleTime;
      if (changed && options.updatedEvent !== false) event = this.updatedEvent(session, now, time);
    }
    let meterEvent: MeterEvent | undefined;
    if (wantsMeterEvent) {
      // Built field by field (same order as always) rather than cleaned: this runs for every MeterValues.
      const eventTransactionId = transactionId ?? (session && !session.end ? session.transactionId : undefined);
      if (eventTransactionId !== undefined) {
        meterEvent = { kind: "meter", identity, time, connectorId, transactionId: eventTransactionId, samples: ordered };
      } else {
        meterEvent = { kind: "meter", identity, time, connectorId } as MeterEvent;
        meterEvent.samples = ordered;
      }
      if (count > 0 && fresh.length === 0) meterEvent.late = true;
    }
    if (changed) this.markMeterChange(session!, memo!);
    return new MeterOutcome(session, unknownTransaction, meterEvent, event, readings, changed ? this.persist(true) : RESOLVED_TRUE);
  }

  /** Ends a zombie session by hand (the charger will never stop it); its energy comes from the last register reading. */
  closeSession(identity: string, transactionId: TransactionId, now: Date = this.clock(), reason = "Closed"): StopResult | undefined {
    this.assertLoaded();
    const session = this.open.get(key(identity, transactionId));
    if (!session) return undefined;
    const end = this.endFromRegister(session, now.toISOString(), reason, "closed", now);
    const event = this.finish(session, end, now);
    return { known: true, duplicate: false, session: copySession(session), event, samples: [], saved: this.persist(false) };
  }

  // --- OCPP 2.0.1: sessions keyed by the charger's own transaction id ---

  /**
   * The first TransactionEvent of a transaction (Started, or any event of a
   * transaction not seen before). A transaction already known gives a
   * duplicate result and no event.
   */
  openExternal(identity: string, start: ExternalStart, now: Date = this.clock(), idTagInfo?: IdTagInfo): ExternalStartResult {
    this.assertLoaded();
    const k = key(identity, start.transactionId);
    const existing = this.open.get(k) ?? this.ended.get(k);
    if (existing) {
      return { transactionId: start.transactionId, duplicate: true, idTagInfo: existing.idTagInfo, session: copySession(existing), saved: this.persist(false) };
    }
    const session: Session = clean({
      transactionId: start.transactionId,
      identity,
      connectorId: start.connectorId,
      evseConnectorId: start.evseConnectorId,
      idTag: start.idTag,
      meterStartWh: start.meterStartWh,
      startTime: start.startTime,
      remoteStartId: start.remoteStartId,
      seqNo: start.seqNo,
      idTagInfo: idTagInfo ? copy(idTagInfo) : undefined,
      startedAt: now.toISOString(),
    });
    this.addOpen(k, session);
    this.markPut(k, session);
    const event: SessionStartedEvent = clean({
      kind: "session.started" as const,
      identity,
      time: now.toISOString(),
      transactionId: start.transactionId,
      idTag: session.idTag,
      connectorId: start.connectorId,
      meterStartWh: session.meterStartWh,
      startTime: start.startTime,
      evseConnectorId: start.evseConnectorId,
      remoteStartId: start.remoteStartId,
    });
    return { transactionId: start.transactionId, duplicate: false, idTagInfo: session.idTagInfo, session: copySession(session), event, saved: this.persist(false) };
  }

  /** Fills in what a later TransactionEvent tells about an open 2.0.1 session (id tag, remoteStartId, the first register reading). */
  amendExternal(identity: string, transactionId: string, fields: { idTag?: string; idTagInfo?: IdTagInfo; remoteStartId?: number; meterStartWh?: number }): Session | undefined {
    const session = this.open.get(key(identity, transactionId));
    if (!session) return undefined;
    let changed = false;
    const fill = <K extends "idTag" | "idTagInfo" | "remoteStartId" | "meterStartWh">(field: K, value: Session[K] | undefined): void => {
      if (value === undefined || session[field] !== undefined) return;
      session[field] = value;
      changed = true;
    };
    fill("idTag", fields.idTag);
    fill("idTagInfo", fields.idTagInfo ? copy(fields.idTagInfo) : undefined);
    fill("remoteStartId", fields.remoteStartId);
    fill("meterStartWh", fields.meterStartWh);
    if (changed) {
      this.markPut(key(identity, transactionId), session);
      void this.persist(false);
    }
    return copySession(session);
  }

  /**
   * The seqNo guard of a 2.0.1 transaction: true when `seqNo` advances the
   * sequence (the event is new), false for a repeat or an event older than
   * one already applied. Unknown transactions and missing numbers pass.
   */
  advanceSeqNo(identity: string, transactionId: string, seqNo: number | undefined): boolean {
    const session = this.open.get(key(identity, transactionId)) ?? this.ended.get(key(identity, transactionId));
    if (!session || typeof seqNo !== "number") return true;
    if (session.seqNo !== undefined && seqNo <= session.seqNo) return false;
    session.seqNo = seqNo;
    this.markPatch(key(identity, transactionId));
    return true;
  }

  /**
   * TransactionEvent Ended (or a GetTransactionStatus that says it is over).
   * Idempotent like stop(): a second end gives a duplicate result and no event.
   */
  endExternal(identity: string, transactionId: string, end: ExternalEnd, now: Date = this.clock()): StopResult {
    this.assertLoaded();
    const k = key(identity, transactionId);
    const existing = this.open.get(k) ?? this.ended.get(k);
    if (existing?.end) {
      return { known: !existing.unknownTransaction, duplicate: true, session: copySession(existing), samples: [], saved: this.persist(false) };
    }
    if (!existing) {
      const session: Session = clean({ transactionId, identity, startedAt: now.toISOString(), unknownTransaction: true });
      const record: SessionEnd = clean({
        stopTime: end.stopTime,
        meterStopWh: end.meterStopWh,
        energyNote: "unknown transaction: no meter start to subtract",
        reason: end.reason,
        stopIdTag: end.stopIdTag,
        endedAt: now.toISOString(),
        by: "stop" as const,
      });
      const event = this.finish(session, record, now, { unknownTransaction: true });
      return { known: false, duplicate: false, session: copySession(session), event, samples: [], saved: this.persist(false) };
    }
    const meterStop = end.meterStopWh ?? existing.registerWh;
    const record = this.endFromStop(existing, end.stopTime, meterStop, end.reason, end.stopIdTag, now);
    const event = this.finish(existing, record, now);
    return { known: true, duplicate: false, session: copySession(existing), event, samples: [], saved: this.persist(false) };
  }

  /** Saves now (also pending meter changes). Resolves true when saved, false on failure. */
  flush(): Promise<boolean> {
    if (!this.persistence) return Promise.resolve(true);
    this.dirty = true;
    const done = this.nextSaved();
    this.kick();
    return done;
  }

  /** Final save; no timers remain afterwards, and later changes are not saved (reported once via onError). */
  async close(): Promise<void> {
    if (this.closed) return;
    const pending = this.dirty || this.lazyTimer !== undefined;
    this.closed = true;
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
    if (pending || this.saving) await this.flush();
    const persistence = this.persistence;
    if (isIncremental(persistence) && persistence.close) {
      try {
        await persistence.close();
      } catch (err) {
        this.report(new Error(`could not save OCPP transactions: ${toError(err).message}`));
      }
    }
  }

  /** The persisted form (also what save() receives). */
  toJSON(): PersistedState {
    return copy({
      format: FORMAT,
      version: 1,
      lastTransactionId: this.lastId,
      sessions: [...this.ended.values(), ...this.open.values()],
    });
  }

  // --- internals ---

  private seed(): number {
    return this.firstTransactionId ?? timeSeed(this.clock());
  }

  private assertLoaded(): void {
    if (!this.loaded) throw new Error("TransactionStore: await load() before handling transactions");
  }

  private report(error: Error): void {
    try {
      this.onError(error);
    } catch {
      // A faulty error listener must not break transaction handling.
    }
  }

  private nextId(): number {
    let id = this.allocateId(this.lastId);
    while (this.usedIds.has(id)) id = this.allocateId(id);
    this.lastId = id;
    return id;
  }

  private useId(id: TransactionId): void {
    // Text ids are the charger's (2.0.1); only our numeric ids can collide with ids we hand out.
    if (typeof id !== "number") return;
    this.usedIds.set(id, (this.usedIds.get(id) ?? 0) + 1);
  }

  private releaseId(id: TransactionId): void {
    if (typeof id !== "number") return;
    const n = (this.usedIds.get(id) ?? 0) - 1;
    if (n > 0) this.usedIds.set(id, n);
    else this.usedIds.delete(id);
  }

  private addOpen(k: string, session: Session): void {
    // A record stored twice under one key (damaged data): the later one replaces the earlier everywhere.
    if (this.open.has(k)) this.removeOpen(k);
    this.open.set(k, session);
    memoOf(session).openIn = this;
    const list = this.openByIdentity.get(session.identity);
    if (list) list.push(session);
    else this.openByIdentity.set(session.identity, [session]);
  }

  private removeOpen(k: string): void {
    const session = this.open.get(k);
    if (!session) return;
    this.open.delete(k);
    memoOf(session).openIn = undefined;
    const list = this.openByIdentity.get(session.identity);
    const at = list ? list.indexOf(session) : -1;
    if (list && at >= 0) list.splice(at, 1);
    if (list?.length === 0) this.openByIdentity.delete(session.identity);
  }

  /** The open session with this id: a charger has one or two open at most, cheaper than building a key string per call. */
  private openById(identity: string, transactionId: TransactionId): Session | undefined {
    const list = this.openByIdentity.get(identity);
    if (list) for (let i = 0; i < list.length; i++) if (list[i].transactionId === transactionId) return list[i];
    return undefined;
  }

  private newestOpenOn(identity: string, connectorId: number): Session | undefined {
    let best: Session | undefined;
    for (const s of this.openByIdentity.get(identity) ?? []) {
      if (s.connectorId !== connectorId) continue;
      if (!best || ms(s.startTime) >= ms(best.startTime)) best = s;
    }
    return best;
  }

  /**
   * applySamples for meter(), which has already read every sample's time: the newest sample with a time of its own
   * (`newestText`, at `newestMs`; none when no sample is newer than the session's) is passed in, not parsed again.
   */
  private applyMeter(session: Session, readings: ConnectorReadings, memo: MeterMemo, newestText: string | undefined, newestMs: number): void {
    if (readings.energyWh !== undefined) session.registerWh = readings.energyWh;
    if (readings.powerW !== undefined) session.powerW = readings.powerW;
    if (newestText === undefined) return;
    session.lastSampleTime = newestText;
    memo.parsedText = newestText;
    memo.parsedMs = newestMs;
  }

  /** A StopTransaction's transactionData (meter() has its own, applyMeter). */
  private applySamples(session: Session, samples: readonly NormalizedMeterSample[], now: Date): void {
    if (samples.length === 0) return;
    const readings = pickConnectorReadings(samples);
    if (readings.energyWh !== undefined) session.registerWh = readings.energyWh;
    if (readings.powerW !== undefined) session.powerW = readings.powerW;
    const nowMs = now.getTime();
    let newest = session.lastSampleTime;
    let newestMs = ms(newest);
    for (const s of samples) {
      const t = trustedMs(s.timestamp, nowMs);
      if (t > newestMs) {
        newest = s.timestamp;
        newestMs = t;
      }
    }
    if (newest !== undefined) session.lastSampleTime = newest;
  }

  /**
   * The end of a session that got no StopTransaction: the last register
   * reading is the measured lower bound. Without one, the next session's
   * meterStart on the same connector is the register when this one was
   * abandoned (nothing flows between sessions).
   */
  private endFromRegister(
    session: Session,
    stopTime: string,
    reason: string,
    by: SessionEndKind,
    now: Date,
    nextMeterStart?: number,
  ): SessionEnd {
    let meterStopWh = session.registerWh;
    let source = "last register reading used";
    if (meterStopWh === undefined && nextMeterStart !== undefined && nextMeterStart >= (session.meterStartWh ?? Infinity)) {
      meterStopWh = nextMeterStart;
      source = "register taken from the next StartTransaction";
    }
    const energy = sessionEnergy(session.meterStartWh, meterStopWh);
    const note =
      meterStopWh === undefined ? "no StopTransaction and no meter reading since the start" : `estimated: no StopTransaction came; ${source}`;
    return clean({
      stopTime,
      meterStopWh,
      ...energy,
      energyNote: energy.energyNote ?? note,
      reason,
      endedAt: now.toISOString(),
      by,
    });
  }

  private endFromStop(
    session: Session,
    stopTime: string,
    meterStop: number | undefined,
    reason: string,
    stopIdTag: string | undefined,
    now: Date,
  ): SessionEnd {
    let meterStopWh = meterStop;
    let energy = sessionEnergy(session.meterStartWh, meterStop);
    // Some firmware sends meterStop 0 (or garbage); the last register reading is the better figure then.
    if (energy.energyWh === undefined && session.registerWh !== undefined) {
      const fallback = sessionEnergy(session.meterStartWh, session.registerWh);
      if (fallback.energyWh !== undefined) {
        meterStopWh = session.registerWh;
        energy = {
          energyWh: fallback.energyWh,
          energyNote: `meterStop ${meterStop ?? "missing"} is unusable; used the last register reading ${session.registerWh} Wh`,
        };
      }
    }
    return clean({
      stopTime,
      meterStopWh,
      ...energy,
      reason,
      stopIdTag,
      endedAt: now.toISOString(),
      by: "stop" as const,
    });
  }

  /** Moves a session to the ended list and builds its session.ended event. */
  private finish(
    session: Session,
    end: SessionEnd,
    now: Date,
    flags: { unknownTransaction?: boolean; correction?: boolean } = {},
  ): SessionEndedEvent {
    const k = key(session.identity, session.transactionId);
    session.end = end;
    this.removeOpen(k);
    this.ended.delete(k);
    this.ended.set(k, session);
    this.markPut(k, session);
    this.trimEnded();
    return clean({
      kind: "session.ended" as const,
      identity: session.identity,
      time: now.toISOString(),
      transactionId: session.transactionId,
      idTag: session.idTag,
      connectorId: session.connectorId,
      meterStartWh: session.meterStartWh,
      meterStopWh: end.meterStopWh,
      energyWh: end.energyWh,
      energyNote: end.energyNote,
      startTime: session.startTime,
      stopTime: end.stopTime,
      reason: end.reason,
      stopIdTag: end.stopIdTag,
      unknownTransaction: flags.unknownTransaction,
      correction: flags.correction,
      evseConnectorId: session.evseConnectorId,
      remoteStartId: session.remoteStartId,
    });
  }

  private trimEnded(): void {
    while (this.ended.size > this.keepEnded) {
      const [oldestKey, oldest] = this.ended.entries().next().value as [string, Session];
      this.ended.delete(oldestKey);
      this.releaseId(oldest.transactionId);
      const sk = this.startKeyOf.get(oldestKey);
      if (sk !== undefined && this.starts.get(sk) === oldestKey) this.starts.delete(sk);
      this.startKeyOf.delete(oldestKey);
      this.markRemove(oldestKey);
    }
  }

  private rememberStart(sk: string, k: string): void {
    this.starts.set(sk, k);
    this.startKeyOf.set(k, sk);
  }

  // --- change tracking for an incremental persistence (a journal line per changed session, not the whole store) ---

  private markPut(k: string, session: Session): void {
    if (!this.incremental) return;
    this.toPut.set(k, session);
    this.toPatch.delete(k);
    this.toRemove.delete(k);
  }

  /**
   * A session's key, made once: a key built per MeterValues is a new string that the change set must hash
   * every time, a remembered one is hashed once.
   */
  private keyOf(session: Session): string {
    let k = this.sessionKeys.get(session);
    if (k === undefined) this.sessionKeys.set(session, (k = key(session.identity, session.transactionId)));
    return k;
  }

  private markPatch(k: string): void {
    if (this.incremental && !this.toPut.has(k)) this.toPatch.add(k);
  }

  /** markPatch for MeterValues, the most frequent change: once per session and save window it touches the change set. */
  private markMeterChange(session: Session, memo: MeterMemo): void {
    if (memo.pending || !this.incremental) return;
    this.markPatch(this.keyOf(session));
    memo.pending = true;
  }

  /** The newest-sample cell of a connector, made on first use. */
  private latestCell(identity: string, connectorId: number): { ms: number } | undefined {
    let latestOf = this.connectorLatest.get(identity);
    if (!latestOf) this.connectorLatest.set(identity, (latestOf = new Map()));
    let cell = latestOf.get(connectorId);
    // A charger has a handful of connectors; a charger that makes up connector ids gets no more cells than this.
    if (!cell && latestOf.size < MAX_CONNECTORS_PER_CHARGER) latestOf.set(connectorId, (cell = { ms: Number.NEGATIVE_INFINITY }));
    return cell;
  }

  private markRemove(k: string): void {
    if (!this.incremental) return;
    this.toPut.delete(k);
    this.toPatch.delete(k);
    this.toRemove.add(k);
  }

  /** What changed since the last write, emptied; the records are the live sessions (the persistence serialises them at once). */
  private takeChanges(durable: boolean, limit: number): RecordChanges<Session> {
    let room = limit;
    const put: Array<[string, Session]> = [];
    for (const entry of this.toPut) {
      if (room-- <= 0) break;
      put.push(entry);
      this.toPut.delete(entry[0]);
      setPending(entry[1], false);
    }
    const patch: Array<[string, Partial<Session>]> = [];
    for (const k of this.toPatch) {
      if (room-- <= 0) break;
      this.toPatch.delete(k);
      const s = this.open.get(k) ?? this.ended.get(k);
      if (s) setPending(s, false);
      // Only the fields MeterValues changes: a short journal line per session and save window.
      // seqNo: the 2.0.1 guard, advanced by every TransactionEvent.
      if (s) patch.push([k, s.seqNo === undefined ? { registerWh: s.registerWh, powerW: s.powerW, lastSampleTime: s.lastSampleTime } : { registerWh: s.registerWh, powerW: s.powerW, lastSampleTime: s.lastSampleTime, seqNo: s.seqNo }]);
    }
    const remove: string[] = [];
    for (const k of this.toRemove) {
      if (room-- <= 0) break;
      remove.push(k);
      this.toRemove.delete(k);
    }
    return { put, patch, remove, counters: { lastTransactionId: this.lastId }, durable };
  }

  private get pendingChanges(): boolean {
    return this.toPut.size > 0 || this.toPatch.size > 0 || this.toRemove.size > 0;
  }

  /** A write failed: what it carried is marked again, to go with the next one. */
  private retake(changes: RecordChanges<Session>): void {
    for (const [k] of changes.put) {
      const s = this.open.get(k) ?? this.ended.get(k);
      if (s) this.markPut(k, s);
    }
    for (const [k] of changes.patch) if (this.open.has(k) || this.ended.has(k)) this.markPatch(k);
    for (const k of changes.remove) if (!this.open.has(k) && !this.ended.has(k)) this.markRemove(k);
  }

  private updatedEvent(session: Session, now: Date, time = now.toISOString()): SessionUpdatedEvent {
    const { idTag, connectorId, meterStartWh, registerWh, powerW, startTime, lastSampleTime } = session;
    if (
      idTag !== undefined && connectorId !== undefined && meterStartWh !== undefined && registerWh !== undefined && registerWh >= meterStartWh &&
      powerW !== undefined && startTime !== undefined && lastSampleTime !== undefined
    ) {
      // A session in progress: every field in one literal (same order as below), no object grown field by field.
      const energyWh = Math.round((registerWh - meterStartWh) * 1000) / 1000;
      const { identity, transactionId } = session;
      return { kind: "session.updated", identity, time, transactionId, idTag, connectorId, meterStartWh, meterStopWh: registerWh, energyWh, powerW, startTime, sampleTime: lastSampleTime };
    }
    // Field by field, in the order it always had, instead of clean(): this runs for every MeterValues in a session.
    const event = { kind: "session.updated", identity: session.identity, time, transactionId: session.transactionId } as SessionUpdatedEvent;
    if (session.idTag !== undefined) event.idTag = session.idTag;
    if (session.connectorId !== undefined) event.connectorId = session.connectorId;
    if (session.meterStartWh !== undefined) event.meterStartWh = session.meterStartWh;
    if (session.registerWh !== undefined) event.meterStopWh = session.registerWh;
    if (session.meterStartWh !== undefined && session.registerWh !== undefined && session.registerWh >= session.meterStartWh) {
      // sessionEnergy's figure, without its result object (this runs for every MeterValues in a session).
      event.energyWh = Math.round((session.registerWh - session.meterStartWh) * 1000) / 1000;
    } else if (session.meterStartWh !== undefined && session.registerWh !== undefined) {
      const energy = sessionEnergy(session.meterStartWh, session.registerWh);
      if (energy.energyWh !== undefined) event.energyWh = energy.energyWh;
      if (energy.energyNote !== undefined) event.energyNote = energy.energyNote;
    }
    if (session.powerW !== undefined) event.powerW = session.powerW;
    if (session.startTime !== undefined) event.startTime = session.startTime;
    if (session.lastSampleTime !== undefined) event.sampleTime = session.lastSampleTime;
    return event;
  }

  // --- persistence: one save in flight, later changes coalesced into the next one ---

  private get incremental(): boolean {
    return isIncremental(this.persistence);
  }

  private persist(lazy: boolean): Promise<boolean> {
    if (!this.persistence) return Promise.resolve(true);
    if (this.closed) {
      // After a redeploy the new instance owns the stored state; a late write from the old one would overwrite it.
      if (!this.reportedClosed) this.report(new Error("OCPP transaction store is closed; a late change was not saved"));
      this.reportedClosed = true;
      return Promise.resolve(false);
    }
    this.dirty = true;
    const done = this.nextSaved();
    if (!lazy || this.meterSaveDelayMs === 0) {
      if (!lazy) this.urgent = true;
      this.kick();
    } else {
      // The window starts at the first unsaved meter change, also while a save runs: that save does not cover it.
      this.armLazy();
    }
    return done;
  }

  private armLazy(): void {
    if (this.lazyTimer || this.closed) return;
    this.lazyTimer = setTimeout(() => {
      this.lazyTimer = undefined;
      this.kick();
    }, this.meterSaveDelayMs);
    this.lazyTimer.unref?.();
  }

  private nextSaved(): Promise<boolean> {
    if (!this.nextSave) {
      let resolve!: (ok: boolean) => void;
      const promise = new Promise<boolean>((r) => (resolve = r));
      this.nextSave = { promise, resolve };
    }
    return this.nextSave.promise;
  }

  private kick(): void {
    if (this.lazyTimer) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
    }
    this.due = true;
    if (this.saving) return;
    this.saving = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.due && this.dirty && this.persistence) {
        this.due = false;
        this.dirty = false;
        let durable = this.urgent;
        this.urgent = false;
        const covered = this.nextSave;
        this.nextSave = undefined;
        let ok = true;
        const persistence = this.persistence;
        if (isIncremental(persistence)) {
          // In slices, yielding between them: ten thousand chargers' meter changes of one window would
          // otherwise hold the event loop (and every charger's answer) for the whole serialisation.
          // Only what was pending when this save began: later meter changes wait for their own window.
          let left = this.toPut.size + this.toPatch.size + this.toRemove.size;
          for (let first = true; first || (left > 0 && this.pendingChanges); first = false) {
            if (!first) await new Promise((r) => setImmediate(r));
            left -= WRITE_SLICE;
            if (this.urgent) {
              // A Start or Stop that arrived meanwhile goes into this slice or a later one: all of them are fsynced from here on.
              durable = true;
              this.urgent = false;
            }
            const changes = this.takeChanges(durable, WRITE_SLICE);
            try {
              await persistence.write(changes);
            } catch (err) {
              ok = false;
              this.retake(changes);
              this.report(new Error(`could not save OCPP transactions: ${toError(err).message}`));
              break;
            }
          }
        } else {
          try {
            await persistence.save(this.toJSON());
          } catch (err) {
            ok = false;
            this.report(new Error(`could not save OCPP transactions: ${toError(err).message}`));
          }
        }
        covered?.resolve(ok);
      }
    } finally {
      this.saving = false;
      // Meter changes that came during the save wait for their window; a failed save is retried on the next change.
      if (this.dirty && !this.due) this.armLazy();
    }
  }

  private restore(data: unknown): void {
    let last = 0;
    const problems: string[] = [];
    if (data !== undefined && data !== null) {
      const state = data as Partial<PersistedState>;
      if (typeof data !== "object" || state.format !== FORMAT || !Array.isArray(state.sessions)) {
        problems.push("stored data is not an OCPP transaction store");
      } else {
        last = finite(state.lastTransactionId) ?? 0;
        for (const raw of state.sessions) {
          const s = raw as Partial<Session> | null;
          if (!s || typeof s !== "object" || (finite(s.transactionId) === undefined && typeof s.transactionId !== "string") || typeof s.identity !== "string") {
            problems.push("skipped an unreadable session");
            continue;
          }
          const session = copy(s) as Session;
          const k = key(session.identity, session.transactionId);
          if (session.end) this.ended.set(k, session);
          else this.addOpen(k, session);
          this.useId(session.transactionId);
          if (!session.unknownTransaction && typeof session.transactionId === "number") last = Math.max(last, session.transactionId);
          if (session.connectorId !== undefined && session.idTag !== undefined && session.startTime !== undefined) {
            const req = {
              connectorId: session.connectorId,
              idTag: session.idTag,
              timestamp: session.startTime,
              meterStart: session.meterStartWh,
            } as StartTransactionRequest;
            this.rememberStart(startKey(session.identity, req), k);
          }
        }
      }
    }
    if (problems.length > 0) this.report(new Error(`OCPP transaction store: ${[...new Set(problems)].join("; ")}`));
    // Never go below what was persisted; with nothing persisted, the time seed keeps ids fresh.
    this.lastId = last > 0 ? last : this.seed() - 1;
    this.trimEnded();
  }
}
