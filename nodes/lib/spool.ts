/**
 * An on-disk copy of what a WriteBuffer holds while the database cannot be
 * reached, so a crash, a restart or a redeploy loses nothing. Two files per
 * writer: `<name>.jsonl` (one line per item, each with a sequence number,
 * plus lines naming items dropped to stay within the bound) and
 * `<name>.done` (the highest sequence number written or rejected, replaced
 * atomically by rename). On start the items above the done mark that were
 * not dropped are loaded again, in order; so an item is written once even if
 * the process is killed with it on disk. Plain synchronous file I/O: it only
 * runs while the database is away, and a crash right after a call must find
 * the data in the file.
 */
import fs from "node:fs";
import path from "node:path";

export interface SpoolEntry<T> {
  seq: number;
  item: T;
}

/** What the WriteBuffer needs from a spool; FileSpool is the one on disk. */
export interface SpoolStore<T> {
  /** Items an earlier run left, in order (call once, before anything else). */
  load(): Array<SpoolEntry<T>>;
  /** After load(): the highest sequence number the files have seen (new items go above it). */
  readonly lastSeq: number;
  /** Adds items at the end. */
  append(entries: ReadonlyArray<SpoolEntry<T>>): void;
  /** Items dropped to stay within the bound: never to be loaded again. */
  dropped(seqs: readonly number[]): void;
  /** Every item up to `seq` is written (or rejected for good). */
  done(seq: number): void;
  /** Replaces the file's content with exactly these items (compaction, or the start of an outage). */
  rewrite(entries: ReadonlyArray<SpoolEntry<T>>): void;
  /** Nothing left: removes the files. */
  clear(): void;
  /** After close nothing is written any more (a newer instance owns the files). */
  close(): void;
  /** Where the items are kept, for messages. */
  readonly location: string;
}

/** How an item becomes JSON and back; Dates, Buffers and bigints survive on their own. */
export interface SpoolCodec<T> {
  encode(item: T): unknown;
  decode(value: unknown): T;
}

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (original instanceof Date) return { $date: original.getTime() };
  if (Buffer.isBuffer(original)) return { $base64: original.toString("base64") };
  if (typeof value === "bigint") return { $bigint: value.toString() };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1) {
      if (typeof record.$date === "number") return new Date(record.$date);
      if (typeof record.$base64 === "string") return Buffer.from(record.$base64, "base64");
      if (typeof record.$bigint === "string") return BigInt(record.$bigint);
    }
  }
  return value;
}

/** seqs as [from, to] runs: drops are mostly one run of neighbours. */
function runs(seqs: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const seq of seqs) {
    const last = out[out.length - 1];
    if (last && seq === last[1] + 1) last[1] = seq;
    else out.push([seq, seq]);
  }
  return out;
}

/** A safe file name from a node id ("a1b2.c3" stays, anything else becomes _). */
export function spoolName(prefix: string, id: string): string {
  return `${prefix}-${id.replace(/[^\w.-]/g, "_")}`;
}

export class FileSpool<T> implements SpoolStore<T> {
  private readonly file: string;
  private readonly doneFile: string;
  private readonly codec: SpoolCodec<T>;
  private closed = false;
  /** Lines that could not be read back on load (a line cut by a crash, an item that is not JSON). */
  unreadable = 0;
  lastSeq = 0;

  constructor(dir: string, name: string, codec: SpoolCodec<T>) {
    this.file = path.join(dir, `${name}.jsonl`);
    this.doneFile = path.join(dir, `${name}.done`);
    this.codec = codec;
  }

  get location(): string {
    return this.file;
  }

  load(): Array<SpoolEntry<T>> {
    let done = 0;
    try {
      done = Number(fs.readFileSync(this.doneFile, "utf8").trim()) || 0;
    } catch {
      // no done mark: nothing was written yet
    }
    this.lastSeq = done;
    let text: string;
    try {
      text = fs.readFileSync(this.file, "utf8");
    } catch {
      return [];
    }
    const items = new Map<number, T>();
    for (const line of text.split("\n")) {
      if (line === "") continue;
      let record: { s?: unknown; v?: unknown; d?: unknown };
      try {
        record = JSON.parse(line, reviver) as typeof record;
      } catch {
        this.unreadable++;
        continue;
      }
      if (Array.isArray(record.d)) {
        for (const run of record.d as Array<[number, number]>) for (let seq = run[0]; seq <= run[1]; seq++) items.delete(seq);
        continue;
      }
      if (typeof record.s !== "number") continue;
      this.lastSeq = Math.max(this.lastSeq, record.s);
      if (record.s <= done) continue;
      if (record.v === null) {
        this.unreadable++;
        continue;
      }
      try {
        items.set(record.s, this.codec.decode(record.v));
      } catch {
        this.unreadable++;
      }
    }
    return [...items.entries()].sort((a, b) => a[0] - b[0]).map(([seq, item]) => ({ seq, item }));
  }

  private encode(entries: ReadonlyArray<SpoolEntry<T>>): string {
    let out = "";
    for (const { seq, item } of entries) {
      let line: string;
      try {
        line = JSON.stringify({ s: seq, v: this.codec.encode(item) }, replacer);
      } catch {
        // A value JSON cannot hold (a circular object): the line says so, and load() counts it.
        line = JSON.stringify({ s: seq, v: null });
      }
      out += `${line}\n`;
    }
    return out;
  }

  append(entries: ReadonlyArray<SpoolEntry<T>>): void {
    if (this.closed || entries.length === 0) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.appendFileSync(this.file, this.encode(entries));
  }

  dropped(seqs: readonly number[]): void {
    if (this.closed || seqs.length === 0) return;
    fs.appendFileSync(this.file, `${JSON.stringify({ d: runs(seqs) })}\n`);
  }

  done(seq: number): void {
    if (this.closed) return;
    const tmp = `${this.doneFile}.tmp`;
    fs.writeFileSync(tmp, String(seq));
    fs.renameSync(tmp, this.doneFile);
  }

  rewrite(entries: ReadonlyArray<SpoolEntry<T>>): void {
    if (this.closed) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, this.encode(entries));
    fs.renameSync(tmp, this.file);
  }

  clear(): void {
    if (this.closed) return;
    fs.rmSync(this.file, { force: true });
    fs.rmSync(this.doneFile, { force: true });
  }

  close(): void {
    this.closed = true;
  }

  /** Deletes the files even after close: for a node that was deleted from the flows. */
  remove(): void {
    fs.rmSync(this.file, { force: true });
    fs.rmSync(this.doneFile, { force: true });
  }
}
