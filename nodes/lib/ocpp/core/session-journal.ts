/**
 * The session store on disk: a snapshot plus an append-only journal, so a
 * save costs in proportion to what changed (one short line per changed
 * session), not to the number of chargers.
 *
 * Files, in `<dir>`:
 * - `<name>.json`: the snapshot, in the format deployed installs already
 *   have (`{format, version, lastTransactionId, sessions}`), plus
 *   `journalGeneration` g. Older versions of the package read it as before.
 * - `<name>.<g>.journal`, `<name>.<g+1>.journal`, …: one JSON array per
 *   line: `["p",key,record]` (record written whole), `["u",key,fields]`
 *   (shallow update: a session's newest meter reading), `["d",key]`
 *   (forgotten), `["c",{counter:value}]` (counters, only ever raised).
 *   Every line holds absolute values, so replaying a line twice is harmless.
 *
 * Load: the snapshot, then every journal from its generation on, in order;
 * a torn last line (power cut mid-write) is skipped. Each start appends to
 * a new generation, so nothing is ever written after a torn line.
 * Compaction (in the background, when the journals grow past
 * `compactFactor` × the snapshot's size, and on close): appends move to a
 * new generation at once, the whole state is written (serialised in slices
 * between other work) to a temporary file, fsynced and renamed over the
 * snapshot, and older journals are deleted. A crash at any step leaves a
 * snapshot and journals that replay to the same state.
 *
 * fsync policy: a batch marked durable (a new transaction id, a start or a
 * stop: the charger is answered after it) is fdatasync'ed before write()
 * resolves, so it survives a power cut. Meter-only batches are written
 * (they survive a crash or `kill -9` of Node-RED) but not fsynced: sparing
 * an SD card one flush per save window, at the risk of losing the last
 * seconds of meter readings on a power cut (the session's energy then
 * comes from the charger's StopTransaction anyway). Snapshots are fsynced
 * before the rename and the directory after it.
 */
import { promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import path from "node:path";
import { toError } from "../../errors";
import type { IncrementalPersistence, RecordChanges } from "./session-persistence";

type Json = Record<string, unknown>;

export interface SessionJournalOptions {
  /** The snapshot file, e.g. `<userDir>/evkit-ocpp/<nodeId>-transactions.json`; journals sit beside it. */
  file: string;
  /** Fixed fields of the snapshot format, e.g. `{ format: "evkit-ocpp-transactions", version: 1 }`. */
  header: Json;
  /** The snapshot field holding the records (an array). */
  recordsField: string;
  /** Counter fields of the snapshot (numbers that only go up). */
  counters: readonly string[];
  /** The key of a record read from the snapshot (the same key the store uses in its change batches). */
  keyOf: (record: Json) => string | undefined;
  /** Compact when the journals exceed this many times the snapshot's size. Default 4. */
  compactFactor?: number;
  /** …but not before they reach this many bytes. Default 1 MiB. */
  minCompactBytes?: number;
  /** Records serialised per slice during a background compaction. Default 500. */
  sliceRecords?: number;
  /** Problems that do not fail a write (a failed background compaction, a skipped journal line). */
  onError?: (error: Error) => void;
}

/** A journal line that could not be read; reported once per load. */
export class JournalLineError extends Error {
  constructor(file: string, count: number) {
    super(`${count} unreadable line${count === 1 ? "" : "s"} in ${file} skipped (a write cut short by a crash or power cut)`);
    this.name = "JournalLineError";
  }
}

const JOURNAL_RE = /^(.*)\.(\d+)\.journal$/;

export class SessionJournal implements IncrementalPersistence<Json> {
  private readonly dir: string;
  private readonly base: string;
  private readonly factor: number;
  private readonly minCompact: number;
  private readonly slice: number;
  private readonly onError: (error: Error) => void;

  /** Live records in snapshot order (a record moves to the end when written whole). */
  private readonly records = new Map<string, Json>();
  private readonly counterValues: Record<string, number> = {};
  private generation = 0;
  private handle: FileHandle | undefined;
  private journalBytes = 0;
  private snapshotBytes = 0;
  /** Appends and generation switches, in order. */
  private chain: Promise<void> = Promise.resolve();
  private compacting: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: SessionJournalOptions) {
    this.dir = path.dirname(options.file);
    this.base = path.basename(options.file).replace(/\.json$/, "");
    this.factor = options.compactFactor ?? 4;
    this.minCompact = options.minCompactBytes ?? 1024 * 1024;
    this.slice = Math.max(1, options.sliceRecords ?? 500);
    this.onError = options.onError ?? (() => undefined);
  }

  /** Snapshot plus journals, in the snapshot's format (undefined when nothing was stored). Opens a new journal generation. */
  async load(): Promise<unknown> {
    await fs.mkdir(this.dir, { recursive: true });
    let found = false;
    let failure: Error | undefined;
    try {
      found = await this.readSnapshot();
    } catch (err) {
      failure = toError(err);
    }
    const journals = await this.journalFiles();
    const stale = journals.filter((j) => j.generation < this.generation);
    const live = journals.filter((j) => j.generation >= this.generation);
    if (failure) {
      // The journals hold changes on top of the unreadable snapshot: keep them with it for the user, replay none.
      for (const j of journals) await fs.rename(j.file, `${j.file}.corrupt-${Date.now()}`).catch(() => undefined);
    } else {
      for (const j of stale) await fs.rm(j.file, { force: true });
      for (const j of live) found = (await this.replay(j.file)) || found;
    }
    const highest = live.length > 0 ? live[live.length - 1].generation : this.generation - 1;
    await this.openGeneration(Math.max(this.generation, highest + 1));
    if (failure) throw failure;
    return found ? this.state() : undefined;
  }

  write(changes: RecordChanges<Json>): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the session journal is closed"));
    // Serialised now, synchronously: the records may be live objects that change after this returns.
    let text = "";
    for (const [key, record] of changes.put) {
      text += `${JSON.stringify(["p", key, record])}\n`;
      this.records.delete(key);
      this.records.set(key, record);
    }
    for (const [key, fields] of changes.patch) {
      const record = this.records.get(key);
      if (!record) continue;
      text += `${JSON.stringify(["u", key, fields])}\n`;
      if (record !== fields) Object.assign(record, fields);
    }
    for (const key of changes.remove) {
      if (!this.records.delete(key)) continue;
      text += `${JSON.stringify(["d", key])}\n`;
    }
    const raised: Record<string, number> = {};
    let anyRaised = false;
    for (const name in changes.counters) {
      const value = changes.counters[name];
      if (Number.isFinite(value) && !(value <= (this.counterValues[name] ?? -Infinity))) {
        raised[name] = this.counterValues[name] = value;
        anyRaised = true;
      }
    }
    if (anyRaised) text += `${JSON.stringify(["c", raised])}\n`;
    if (text === "") return this.chain;
    const durable = changes.durable;
    const run = this.chain.then(async () => {
      const handle = this.handle!;
      await handle.write(text);
      if (durable) await handle.datasync();
    });
    this.chain = run.catch(() => undefined);
    this.journalBytes += Buffer.byteLength(text);
    if (!this.compacting && this.journalBytes > Math.max(this.minCompact, this.factor * this.snapshotBytes)) {
      this.compacting = this.compact()
        .catch((err: unknown) => this.onError(new Error(`could not compact the session journal: ${toError(err).message}`)))
        .finally(() => (this.compacting = undefined));
    }
    return run;
  }

  /** Whole-state save (the TransactionPersistence fallback): replaces every record, then compacts. */
  async save(data: unknown): Promise<void> {
    const state = (data ?? {}) as Json;
    const list = Array.isArray(state[this.options.recordsField]) ? (state[this.options.recordsField] as Json[]) : [];
    this.records.clear();
    for (const record of list) {
      const key = this.options.keyOf(record);
      if (key !== undefined) this.records.set(key, record);
    }
    for (const name of this.options.counters) {
      const value = Number(state[name]);
      if (Number.isFinite(value)) this.counterValues[name] = Math.max(this.counterValues[name] ?? value, value);
    }
    await this.compacting;
    await this.compact();
  }

  /** Finishes pending writes, writes a complete snapshot (so the .json alone is current) and closes the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.compacting;
    await this.compact();
    this.closed = true;
    await this.chain;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  /** Resolves once every write started so far has reached the file. */
  flush(): Promise<void> {
    return this.chain;
  }

  /** Resolves once every write started so far has reached the file and a running compaction has finished. */
  async settled(): Promise<void> {
    await this.compacting;
    await this.chain;
  }

  // --- internals ---

  private journalPath(generation: number): string {
    return path.join(this.dir, `${this.base}.${generation}.journal`);
  }

  private async readSnapshot(): Promise<boolean> {
    let text: string;
    try {
      text = await fs.readFile(this.options.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    let state: Json;
    try {
      state = JSON.parse(text) as Json;
    } catch {
      // Keep the unreadable file for the user to inspect rather than silently losing it.
      const aside = `${this.options.file}.corrupt-${Date.now()}`;
      await fs.rename(this.options.file, aside).catch(() => undefined);
      throw new Error(`The session file ${this.options.file} was not valid JSON; it was moved to ${aside} and sessions start empty`);
    }
    this.snapshotBytes = Buffer.byteLength(text);
    this.generation = Number.isInteger(state.journalGeneration) ? (state.journalGeneration as number) : 0;
    for (const name of this.options.counters) {
      const value = Number(state[name]);
      if (Number.isFinite(value)) this.counterValues[name] = value;
    }
    const list = state[this.options.recordsField];
    if (Array.isArray(list)) {
      for (const record of list as Json[]) {
        const key = record && typeof record === "object" ? this.options.keyOf(record) : undefined;
        if (key !== undefined) this.records.set(key, record);
      }
    }
    // Anything else in it (an unknown format) is handed to the store as it is, which reports it.
    this.foreign = Array.isArray(list) ? undefined : state;
    return true;
  }

  /** A snapshot that is not ours, passed through unchanged so the store can say so. */
  private foreign: Json | undefined;

  private async journalFiles(): Promise<Array<{ file: string; generation: number }>> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const out: Array<{ file: string; generation: number }> = [];
    for (const name of names) {
      const m = JOURNAL_RE.exec(name);
      if (m && m[1] === this.base) out.push({ file: path.join(this.dir, name), generation: Number(m[2]) });
    }
    return out.sort((a, b) => a.generation - b.generation);
  }

  private async replay(file: string): Promise<boolean> {
    const text = await fs.readFile(file, "utf8");
    this.journalBytes += Buffer.byteLength(text);
    let bad = 0;
    let any = false;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        bad++;
        continue;
      }
      if (!Array.isArray(entry)) {
        bad++;
        continue;
      }
      any = true;
      const [op, key, value] = entry as [string, string, Json];
      if (op === "p" && typeof key === "string" && value && typeof value === "object") {
        this.records.delete(key);
        this.records.set(key, value);
      } else if (op === "u" && typeof key === "string" && value && typeof value === "object") {
        const record = this.records.get(key);
        if (record) Object.assign(record, value);
      } else if (op === "d" && typeof key === "string") {
        this.records.delete(key);
      } else if (op === "c" && key && typeof key === "object") {
        for (const [name, v] of Object.entries(key as unknown as Record<string, unknown>)) {
          const n = Number(v);
          if (Number.isFinite(n)) this.counterValues[name] = Math.max(this.counterValues[name] ?? n, n);
        }
      } else {
        bad++;
      }
    }
    if (bad > 0) this.onError(new JournalLineError(file, bad));
    return any;
  }

  /** The state in the snapshot's format. */
  private state(): Json {
    if (this.foreign && this.records.size === 0) return this.foreign;
    const out: Json = { ...this.options.header };
    for (const name of this.options.counters) if (this.counterValues[name] !== undefined) out[name] = this.counterValues[name];
    out[this.options.recordsField] = [...this.records.values()];
    return out;
  }

  private async openGeneration(generation: number): Promise<void> {
    const handle = await fs.open(this.journalPath(generation), "a");
    const previous = this.handle;
    this.handle = handle;
    this.generation = generation;
    await previous?.close().catch(() => undefined);
  }

  /**
   * Moves appends to a new generation, writes the whole state as the new
   * snapshot and deletes the journals it covers. Appends go on meanwhile.
   */
  private async compact(): Promise<void> {
    // Switch generations in the append chain, so every earlier line is in the old journal.
    const next = this.generation + 1;
    const switched = this.chain.then(() => this.openGeneration(next));
    this.chain = switched.catch(() => undefined);
    await switched;
    this.journalBytes = 0;
    // The records as they are now, in slices: a change made between slices is also in the new journal, and replays the same.
    const header: Json = { ...this.options.header };
    for (const name of this.options.counters) if (this.counterValues[name] !== undefined) header[name] = this.counterValues[name];
    header.journalGeneration = next;
    const head = JSON.stringify(header);
    const parts: string[] = [`${head.slice(0, -1)},${JSON.stringify(this.options.recordsField)}:[`];
    let i = 0;
    let first = true;
    let slice = "";
    for (const record of [...this.records.values()]) {
      slice += (first ? "" : ",") + JSON.stringify(record);
      first = false;
      if (++i % this.slice === 0) {
        parts.push(slice);
        slice = "";
        await new Promise((r) => setImmediate(r));
      }
    }
    parts.push(slice, "]}");
    const text = parts.join("");
    const tmp = `${this.options.file}.tmp`;
    const handle = await fs.open(tmp, "w");
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, this.options.file);
    await this.syncDir();
    this.snapshotBytes = Buffer.byteLength(text);
    for (const j of await this.journalFiles()) if (j.generation < next) await fs.rm(j.file, { force: true });
  }

  private async syncDir(): Promise<void> {
    let dir: FileHandle | undefined;
    try {
      dir = await fs.open(this.dir, "r");
      await dir.sync();
    } catch {
      // Not every file system lets a directory be fsynced; the rename itself is atomic.
    } finally {
      await dir?.close().catch(() => undefined);
    }
  }
}
