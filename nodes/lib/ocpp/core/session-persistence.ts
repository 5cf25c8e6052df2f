/**
 * How the transaction store hands its changes to a persistence, so that a
 * save costs in proportion to what changed rather than to the number of
 * chargers.
 *
 * Design choice (written down here because the cluster work builds on it):
 * the store is the only owner of the live sessions; a persistence sees
 * *records* under string keys, opaque JSON objects it never interprets
 * (so a 2.0.1 session with a string transaction id, or any later record
 * shape, needs no change here), plus a few named counters that only ever
 * go up (the 1.6 transaction id). A change batch says which records were
 * written whole, which got a shallow field update, which keys went away,
 * and the counters. That is exactly what each back end needs:
 * - the file journal (session-journal.ts, today): one appended line per
 *   changed record, compacted in the background;
 * - a cluster-wide store later (issue 17), without changing the store:
 *   MQTT 5 retained messages, one topic per record key
 *   (`ocpp/<cluster>/session/<key>`, an empty retained message removes it;
 *   counters striped per instance), or rows in the user's PostgreSQL
 *   (`INSERT … ON CONFLICT (key) DO UPDATE`, `jsonb` record, `DELETE` for
 *   removals), both loaded with the same `load()` on start or failover.
 * Per-record keys are what make a session reachable from every instance
 * and a save O(changes); a whole-state blob would be neither.
 */
import type { TransactionPersistence } from "./transactions";

export interface RecordChanges<R = unknown> {
  /** Records written whole (new, ended, corrected). The objects may be live: write() serialises them before it returns. */
  readonly put: ReadonlyArray<readonly [key: string, record: R]>;
  /** Shallow field updates of records already written (e.g. a session's newest meter reading). */
  readonly patch: ReadonlyArray<readonly [key: string, fields: Partial<R>]>;
  /** Keys no longer kept. */
  readonly remove: readonly string[];
  /** Counters that only go up (e.g. lastTransactionId). */
  readonly counters: Readonly<Record<string, number>>;
  /**
   * True when something in the batch must survive a power cut before the
   * caller answers (a new transaction id); false for meter values, which
   * may be lost within the documented save window.
   */
  readonly durable: boolean;
}

/** A persistence that accepts change batches (load() and save() stay for a whole-state fallback). */
export interface IncrementalPersistence<R = unknown> extends TransactionPersistence {
  write(changes: RecordChanges<R>): Promise<void>;
  /** Writes what is buffered and releases files; no write is accepted afterwards. */
  close?(): Promise<void>;
}

export function isIncremental(p: TransactionPersistence | undefined): p is IncrementalPersistence {
  return typeof (p as Partial<IncrementalPersistence> | undefined)?.write === "function";
}
