/**
 * A bounded, ordered write buffer shared by the database writers.
 * Items are written in batches (by size or after an interval). While the
 * database is unreachable the items stay queued, in order, and are retried
 * with backoff; when the bound is hit the oldest items are dropped and
 * counted. An item the database rejects for good is isolated by splitting
 * the batch and reported, so it never blocks the items behind it.
 *
 * With a spool, from the first failed write (or a close with items left)
 * until the queue is empty again, every queued item is also on disk, with a
 * sequence number in queue order; items written are marked done there, so a
 * restart loads exactly the ones not yet written. While the database is
 * reachable nothing touches the disk.
 */
import { AbortedError, backoffDelay, type BackoffOptions, sleep, timerDelay } from "./backoff";
import { errorMessage, toError } from "./errors";
import type { SpoolEntry, SpoolStore } from "./spool";

export interface WriteBufferOptions<T = unknown> {
  batchSize: number;
  flushIntervalMs: number;
  /** The most items kept while the database is away. */
  maxBuffered: number;
  backoff?: BackoffOptions;
  /**
   * True when an error means "this data will never be accepted" (bad type,
   * constraint) rather than "try again later" (connection lost, 5xx).
   */
  isPermanent?: (error: Error) => boolean;
  /** Keeps the queue on disk while the database is away (see the file comment). */
  spool?: SpoolStore<T>;
}

export interface WriteBufferStats {
  written: number;
  buffered: number;
  dropped: number;
  rejected: number;
  /** Failed attempts in a row; 0 when the last write went through. */
  failures: number;
  lastError?: string;
  state: "idle" | "writing" | "retrying" | "closed";
}

export interface WriteBufferEvents<T> {
  /** The stats changed (read them with getStats(); not copied here, as this runs for every push). */
  onStats?: () => void;
  onRejected?: (item: T, error: Error) => void;
  onDropped?: (count: number, totalDropped: number) => void;
  /** A transient failure; the items stay queued and are retried after `retryInMs`. */
  onRetry?: (error: Error, retryInMs: number) => void;
  /** The spool failed (disk full, no permission); it is switched off and the buffer goes on in memory. */
  onSpoolError?: (error: Error) => void;
}

export type BatchWriter<T> = (batch: T[], signal: AbortSignal) => Promise<void>;

/**
 * A writer may say how long the server asked it to wait (HTTP Retry-After)
 * by setting `retryAfterMs` on the error; honoured up to 5 minutes.
 */
export interface RetryHint {
  retryAfterMs?: number;
}

function retryHint(error: Error): number {
  const hint = (error as Error & RetryHint).retryAfterMs;
  return typeof hint === "number" && Number.isFinite(hint) && hint > 0 ? Math.min(hint, 300_000) : 0;
}

const DEFAULT_WRITE_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 };

export class WriteBuffer<T> {
  private readonly writer: BatchWriter<T>;
  private readonly options: WriteBufferOptions<T>;
  private readonly events: WriteBufferEvents<T>;
  /** Queued items are queue[head..]; the written head is cut off lazily, so taking a batch never moves the rest. */
  private queue: T[] = [];
  private head = 0;
  private readonly stats: WriteBufferStats = { written: 0, buffered: 0, dropped: 0, rejected: 0, failures: 0, state: "idle" };
  private flushTimer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private readonly lifetime = new AbortController();
  private retryAbort: AbortController | undefined;
  private closed = false;
  /** Items at the head of the queue that a write is working on; never dropped. */
  private inFlight = 0;
  private spool: SpoolStore<T> | undefined;
  /** True while every queued item is also in the spool; `seqs[i]` is the sequence number of `queue[i]`. */
  private spooling = false;
  private seqs: number[] = [];
  private nextSeq = 1;
  /** Lines in the spool file, for compaction once most of them are done or dropped. */
  private spoolLines = 0;
  /** Items loaded from the spool at start. */
  readonly restored: number;

  constructor(writer: BatchWriter<T>, options: WriteBufferOptions<T>, events: WriteBufferEvents<T> = {}) {
    if (!(options.batchSize >= 1)) throw new Error("Batch size must be at least 1");
    if (!(options.maxBuffered >= options.batchSize)) throw new Error("The buffer bound must be at least the batch size");
    this.writer = writer;
    this.options = options;
    this.events = events;
    this.spool = options.spool;
    this.restored = this.restore();
  }

  /** Where the spool keeps items, when there is one. */
  get spoolLocation(): string | undefined {
    return this.spool?.location;
  }

  /** Loads what an earlier run left on disk and starts writing it, oldest first. */
  private restore(): number {
    const spool = this.spool;
    if (!spool) return 0;
    let entries: Array<SpoolEntry<T>>;
    try {
      entries = spool.load();
      this.nextSeq = spool.lastSeq + 1;
    } catch (err) {
      this.spoolFailed(err);
      return 0;
    }
    if (entries.length === 0) {
      this.spoolIo(() => spool.clear());
      return 0;
    }
    this.queue = entries.map((e) => e.item);
    this.seqs = entries.map((e) => e.seq);
    this.spooling = true;
    this.spoolLines = entries.length;
    const excess = this.size - this.options.maxBuffered;
    if (excess > 0) this.dropAt(0, excess);
    this.startDrain();
    return entries.length;
  }

  getStats(): WriteBufferStats {
    return { ...this.stats, buffered: this.size };
  }

  /** Items queued (including a batch being written). */
  private get size(): number {
    return this.queue.length - this.head;
  }

  /** Queues items; returns how many were dropped to stay within the bound. */
  push(...items: T[]): number {
    return this.pushAll(items);
  }

  /** Like push, for a list of any length (spreading a huge list into push() overflows the stack). */
  pushAll(items: readonly T[]): number {
    if (this.closed) {
      this.drop(items.length);
      return items.length;
    }
    const from = this.queue.length;
    for (let i = 0; i < items.length; i++) this.queue.push(items[i]);
    if (this.spooling) this.spoolAppend(from);
    let dropped = 0;
    if (this.size > this.options.maxBuffered) {
      dropped = this.size - this.options.maxBuffered;
      // Oldest first (after any batch being written): while the database is away
      // the newest readings are the most useful.
      this.dropAt(Math.min(this.inFlight, this.size), dropped);
    }
    if (this.size >= this.options.batchSize && this.stats.state !== "retrying") this.startDrain();
    else this.armTimer();
    this.emitStats();
    return dropped;
  }

  /** Writes everything queued now; resolves (never rejects) when the queue is empty or a write failed. */
  async flush(): Promise<void> {
    this.cancelRetryWait();
    await this.startDrain();
  }

  /**
   * Stops timers and makes one last attempt (bounded by `timeoutMs`) to write
   * what is queued. Resolves with the number of items that could not be written.
   */
  async close(timeoutMs = 5000): Promise<number> {
    if (this.closed) return this.size;
    this.closed = true;
    this.clearTimer();
    this.cancelRetryWait();
    let deadline: NodeJS.Timeout | undefined;
    // A writer that ignores the abort signal must not hold up Node-RED's close.
    const expired = new Promise<void>((resolve) => {
      deadline = setTimeout(() => {
        this.lifetime.abort();
        resolve();
      }, timerDelay(timeoutMs));
    });
    const lastFlush = (async () => {
      if (this.draining) await this.draining;
      if (this.size > 0 && !this.lifetime.signal.aborted) await this.drainOnce(false);
    })().catch(() => undefined); // what is left is reported as remaining below
    try {
      await Promise.race([lastFlush, expired]);
    } finally {
      clearTimeout(deadline);
      this.lifetime.abort();
    }
    // What could not be written stays on disk for the next start (restart or redeploy).
    if (this.size > 0 && !this.spooling) this.startSpooling();
    this.spool?.close();
    this.stats.state = "closed";
    this.emitStats();
    return this.size;
  }

  /** Removes `count` queued items starting `offset` after the head, and counts them as dropped. */
  private dropAt(offset: number, count: number): void {
    const at = this.head + offset;
    this.queue.splice(at, count);
    if (this.spooling) {
      const seqs = this.seqs.splice(at, count);
      this.spoolIo(() => this.spool?.dropped(seqs));
      this.spoolLines++;
    }
    this.drop(count);
  }

  private drop(count: number): void {
    if (count <= 0) return;
    this.stats.dropped += count;
    const total = this.stats.dropped;
    this.safely(() => this.events.onDropped?.(count, total));
  }

  private armTimer(): void {
    if (this.flushTimer || this.closed || this.size === 0 || this.stats.state === "retrying") return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.startDrain();
    }, timerDelay(this.options.flushIntervalMs));
  }

  private clearTimer(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private cancelRetryWait(): void {
    this.retryAbort?.abort();
    this.retryAbort = undefined;
  }

  private startDrain(): Promise<void> {
    if (!this.draining) {
      this.clearTimer();
      this.draining = this.drainOnce(!this.closed)
        // A failed drain is already in the stats (lastError, failures); callers that fire
        // and forget must never see an unhandled rejection.
        .catch(() => undefined)
        .finally(() => {
          this.draining = undefined;
          if (!this.closed && this.stats.state !== "retrying") this.armTimer();
        });
    }
    return this.draining;
  }

  /** Writes batches until the queue is empty or a transient error stops it. */
  private async drainOnce(retryLater: boolean): Promise<void> {
    while (this.size > 0 && !this.lifetime.signal.aborted) {
      const batch = this.queue.slice(this.head, this.head + this.options.batchSize);
      this.stats.state = "writing";
      try {
        await this.writeIsolating(batch);
        this.stats.failures = 0;
        this.stats.state = "idle";
        this.emitStats();
      } catch (err) {
        const error = toError(err);
        this.stats.failures++;
        this.stats.lastError = error.message;
        if (!retryLater || this.lifetime.signal.aborted) {
          this.stats.state = "idle";
          this.emitStats();
          throw error;
        }
        if (!this.spooling) this.startSpooling();
        const delay = timerDelay(Math.max(backoffDelay(this.stats.failures - 1, this.options.backoff ?? DEFAULT_WRITE_BACKOFF), retryHint(error)));
        this.stats.state = "retrying";
        this.emitStats();
        this.safely(() => this.events.onRetry?.(error, delay));
        this.scheduleRetry(delay);
        return;
      }
    }
    this.stats.state = "idle";
  }

  private scheduleRetry(delay: number): void {
    const controller = new AbortController();
    this.retryAbort = controller;
    sleep(delay, controller.signal)
      .catch((err: unknown) => {
        if (!(err instanceof AbortedError)) throw err;
      })
      .then(() => {
        if (this.retryAbort === controller) this.retryAbort = undefined;
        if (this.closed) return;
        this.stats.state = "idle";
        void this.startDrain();
      })
      .catch(() => undefined);
  }

  /**
   * Writes `items` (the head of the queue). A permanent error splits the batch
   * in halves until the bad item is alone; it is then reported and skipped.
   * Items leave the queue only once written or rejected, so a transient error
   * part-way keeps the rest, in order.
   */
  private async writeIsolating(items: T[]): Promise<void> {
    this.inFlight = items.length;
    try {
      await this.writer(items, this.lifetime.signal);
      this.inFlight = 0;
      this.removeHead(items.length);
      this.stats.written += items.length;
      return;
    } catch (err) {
      this.inFlight = 0;
      const error = toError(err);
      const permanent = this.options.isPermanent?.(error) ?? false;
      if (!permanent) throw error;
      if (items.length === 1) {
        this.removeHead(1);
        this.stats.rejected++;
        this.stats.lastError = errorMessage(error);
        this.safely(() => this.events.onRejected?.(items[0], error));
        return;
      }
      const half = Math.ceil(items.length / 2);
      await this.writeIsolating(items.slice(0, half));
      await this.writeIsolating(items.slice(half));
    }
  }

  private removeHead(count: number): void {
    if (this.spooling && count > 0) {
      const last = this.seqs[this.head + count - 1];
      this.spoolIo(() => this.spool?.done(last));
    }
    this.head += count;
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
      if (this.spooling) this.stopSpooling();
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      if (this.spooling) this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
  }

  // ------------------------------------------------------------ spool

  /** From now on every queued item is on disk too: the queue so far is written as a fresh file. */
  private startSpooling(): void {
    const spool = this.spool;
    if (!spool || this.spooling) return;
    if (this.head > 0) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.seqs = this.queue.map(() => this.nextSeq++);
    this.spooling = true;
    this.spoolLines = this.queue.length;
    this.spoolIo(() => spool.rewrite(this.entries()));
  }

  /** The queue is empty: nothing left to keep. */
  private stopSpooling(): void {
    this.spooling = false;
    this.seqs = [];
    this.spoolLines = 0;
    const spool = this.spool;
    if (spool) this.spoolIo(() => spool.clear());
  }

  private entries(): Array<SpoolEntry<T>> {
    const out: Array<SpoolEntry<T>> = new Array<SpoolEntry<T>>(this.size);
    for (let i = this.head; i < this.queue.length; i++) out[i - this.head] = { seq: this.seqs[i], item: this.queue[i] };
    return out;
  }

  /** Items queue[from..] were just pushed: numbered and added to the spool. */
  private spoolAppend(from: number): void {
    const added: Array<SpoolEntry<T>> = [];
    for (let i = from; i < this.queue.length; i++) {
      const seq = this.nextSeq++;
      this.seqs.push(seq);
      added.push({ seq, item: this.queue[i] });
    }
    this.spoolLines += added.length;
    this.spoolIo(() => this.spool?.append(added));
    // Most lines done or dropped: write the live ones afresh, so the file stays about as large as the queue.
    if (this.spooling && this.spoolLines > 2 * this.size + 1000) {
      this.spoolLines = this.size;
      this.spoolIo(() => this.spool?.rewrite(this.entries()));
    }
  }

  private spoolIo(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.spoolFailed(err);
    }
  }

  /** A disk problem must not stop the writing: the spool is switched off and the queue carries on in memory. */
  private spoolFailed(err: unknown): void {
    this.spool = undefined;
    this.spooling = false;
    this.seqs = [];
    this.safely(() => this.events.onSpoolError?.(toError(err)));
  }

  private emitStats(): void {
    const onStats = this.events.onStats;
    if (!onStats) return;
    try {
      onStats();
    } catch {
      // Event handlers must not break the buffer.
    }
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // Event handlers must not break the buffer.
    }
  }
}
