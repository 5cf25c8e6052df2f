/**
 * Node-RED glue shared by the database writer nodes: feeds a WriteBuffer,
 * shows written / buffered / dropped and the last error as the node status
 * (throttled, so tens of thousands of points a second do not flood the
 * editor), reports rejected items with their original msg (so Catch nodes
 * see them), and flushes on close within a bounded time.
 */
import fs from "node:fs";
import path from "node:path";
import type { Node, NodeMessage } from "node-red";
import { WriteBuffer, type BatchWriter, type WriteBufferOptions, type WriteBufferStats } from "../write-buffer";
import { FileSpool, spoolName, type SpoolCodec } from "../spool";
import type { Lifecycle } from "./lifecycle";
import { Status } from "./status";
import { formatDelay } from "../backoff";

/** What the buffer holds: an item that remembers the message it came from, for error reports. */
export interface FromMessage {
  msg?: NodeMessage;
}

export interface BufferedWriterOptions<T> extends Omit<WriteBufferOptions<T>, "spool"> {
  /** A short description of an item for error messages (a line, a row). */
  describe: (value: T) => string;
  /** Longest a final flush on close/redeploy may take. */
  closeTimeoutMs?: number;
  /** Shortest gap between two status updates. */
  statusIntervalMs?: number;
  /** Extra words for the status while all is well (e.g. "no hypertable"). */
  note?: () => string | undefined;
  /** Told (synchronously, when closing starts) of the last flush, e.g. to keep a shared pool open until it ends. */
  onClosing?: (lastFlush: Promise<number>) => void;
  /** Keeps what waits for the database on disk (spoolDir() gives the folder); undefined keeps it in memory only. */
  disk?: { dir: string; codec: SpoolCodec<T> };
}

/** The folder in the Node-RED user directory where the writers keep rows while the database is away. */
export const SPOOL_FOLDER = "evkit-spool";

/**
 * `<userDir>/evkit-spool` when the node's option is on (absent counts as on) and
 * Node-RED has a user directory we may write to; otherwise undefined (memory only).
 */
export function spoolDir(userDir: string | undefined, enabled: boolean | undefined): string | undefined {
  if (enabled === false || !userDir) return undefined;
  const dir = path.join(userDir, SPOOL_FOLDER);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return dir;
  } catch {
    return undefined;
  }
}

function compact(n: number): string {
  if (n >= 10_000_000) return `${Math.round(n / 1_000_000)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  return String(n);
}

/** The status for a set of buffer stats, in at most ~32 characters. */
export function writerStatusText(stats: WriteBufferStats): string {
  const parts = [`✓${compact(stats.written)}`];
  if (stats.buffered) parts.push(`buf ${compact(stats.buffered)}`);
  if (stats.dropped) parts.push(`drop ${compact(stats.dropped)}`);
  if (stats.rejected) parts.push(`rej ${compact(stats.rejected)}`);
  return parts.join(" · ");
}

/**
 * The items carry their msg themselves (one object per row or point, not a
 * wrapper around each: at hundreds of thousands of rows a second the
 * garbage collector notices every object).
 */
export class BufferedWriter<T extends FromMessage> {
  readonly buffer: WriteBuffer<T>;
  private readonly node: Node;
  private readonly life: Lifecycle;
  private readonly options: BufferedWriterOptions<T>;
  private statusTimer: NodeJS.Timeout | undefined;
  private lastStatusAt = 0;
  private lastReportedError: string | undefined;
  private lastDropWarning = 0;

  constructor(node: Node, life: Lifecycle, write: BatchWriter<T>, options: BufferedWriterOptions<T>) {
    this.node = node;
    this.life = life;
    this.options = options;
    const spool = options.disk ? new FileSpool<T>(options.disk.dir, spoolName(node.type, node.id), options.disk.codec) : undefined;
    this.buffer = new WriteBuffer<T>(write, { ...options, spool }, {
      onStats: () => this.scheduleStatus(),
      onRejected: (item, error) => {
        life.reportError(`${error.message} — ${options.describe(item)}`, item.msg);
      },
      onDropped: (count, total) => {
        // Warn at most every 10 s; the status carries the running count.
        if (Date.now() - this.lastDropWarning > 10_000) {
          this.lastDropWarning = Date.now();
          node.warn(`Buffer full (${options.maxBuffered}): dropped the ${count} oldest item(s), ${total} dropped so far`);
        }
      },
      onRetry: (error, retryInMs) => {
        if (error.message !== this.lastReportedError) {
          this.lastReportedError = error.message;
          const where = this.buffer.spoolLocation ? ` (also on disk in ${this.buffer.spoolLocation})` : "";
          node.warn(`${error.message} — keeping ${this.buffer.getStats().buffered} item(s)${where}, retrying in ${formatDelay(retryInMs)}`);
        }
      },
      onSpoolError: (error) => {
        node.warn(`Cannot keep items on disk any more (${error.message}); they are kept in memory only`);
      },
    });
    if (this.buffer.restored > 0) {
      node.log(`Writing ${this.buffer.restored} item(s) kept on disk from before the restart (${this.buffer.spoolLocation})`);
    }
    if (spool && spool.unreadable > 0) node.warn(`${spool.unreadable} item(s) kept on disk could not be read back and are skipped`);
    life.onClose(async (removed) => {
      this.clearStatusTimer();
      const lastFlush = this.buffer.close(options.closeTimeoutMs ?? 5000);
      options.onClosing?.(lastFlush);
      const left = await lastFlush;
      if (removed && spool) {
        // A deleted node's rows have nowhere to go: nothing is left behind on disk.
        try {
          spool.remove();
        } catch {
          // already gone
        }
        if (left > 0) node.warn(`Deleted with ${left} item(s) not written: ${this.buffer.getStats().lastError ?? "no time left to write them"}`);
      } else if (left > 0) {
        const where = this.buffer.spoolLocation;
        const kept = where ? `; they are kept in ${where} and written after the next start` : "";
        node.warn(`Stopped with ${left} item(s) not written: ${this.buffer.getStats().lastError ?? "no time left to write them"}${kept}`);
      }
    });
    node.status(Status.idle("✓0"));
    // Read by the benchmarks (and handy in a debugger): what the status shows, unthrottled.
    Object.defineProperty(node, "evWriteStats", { value: () => this.getStats(), configurable: true });
  }

  /** Queues the items of one message; returns how many older items had to be dropped. */
  push(items: readonly T[]): number {
    return this.buffer.pushAll(items);
  }

  getStats(): WriteBufferStats {
    return this.buffer.getStats();
  }

  private scheduleStatus(): void {
    if (this.statusTimer || this.life.closed) return;
    const wait = Math.max(0, this.lastStatusAt + (this.options.statusIntervalMs ?? 500) - Date.now());
    this.statusTimer = this.life.setTimeout(() => {
      this.statusTimer = undefined;
      this.lastStatusAt = Date.now();
      this.showStatus();
    }, wait);
  }

  private clearStatusTimer(): void {
    this.life.clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
  }

  showStatus(): void {
    const stats = this.buffer.getStats();
    const counts = writerStatusText(stats);
    if (stats.state === "retrying" && stats.lastError) {
      // Buffered (and dropped) first: they tell the user what is at stake.
      const held = stats.dropped ? `buf ${compact(stats.buffered)} · drop ${compact(stats.dropped)}` : `buf ${compact(stats.buffered)}`;
      this.node.status(Status.error(`${held} · ${stats.lastError}`));
      return;
    }
    if (stats.failures === 0) this.lastReportedError = undefined;
    const note = this.options.note?.();
    const text = note ? `${counts} · ${note}` : counts;
    if (stats.dropped || stats.rejected) this.node.status(Status.warning(text));
    else if (stats.state === "writing") this.node.status(Status.busy(text));
    else this.node.status(Status.ok(text));
  }
}
