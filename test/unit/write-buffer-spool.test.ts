/**
 * The write buffer's on-disk spool with real files: what is held while the
 * database is away survives the end of the buffer (a restart), comes back
 * in order, and is written once.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { WriteBuffer } from "../../nodes/lib/write-buffer";
import { FileSpool, type SpoolCodec } from "../../nodes/lib/spool";

interface Item {
  n: number;
  at?: Date;
}

const codec: SpoolCodec<Item> = { encode: (i) => i, decode: (v) => v as Item };
const fastRetry = { initialMs: 20, maxMs: 40, factor: 2, jitter: 0 };
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(predicate: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await wait(5);
  }
}

describe("WriteBuffer with an on-disk spool", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-spool-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const files = (): string[] => fs.readdirSync(dir).sort();
  const items = (from: number, to: number): Item[] => Array.from({ length: to - from + 1 }, (_, i) => ({ n: from + i }));

  it("touches no disk while the database answers", async () => {
    const written: number[] = [];
    const buffer = new WriteBuffer<Item>(async (b) => void written.push(...b.map((i) => i.n)), {
      batchSize: 2,
      flushIntervalMs: 10,
      maxBuffered: 100,
      spool: new FileSpool(dir, "w", codec),
    });
    buffer.pushAll(items(1, 5));
    await until(() => written.length === 5);
    assert.deepEqual(files(), []);
    await buffer.close();
    assert.deepEqual(files(), []);
  });

  it("what was held during an outage comes back after a crash, in order, each once", async () => {
    let down = true;
    const first: number[] = [];
    const spool1 = new FileSpool(dir, "w", codec);
    const buffer1 = new WriteBuffer<Item>(
      async (b) => {
        if (down) throw new Error("connection refused");
        first.push(...b.map((i) => i.n));
      },
      { batchSize: 3, flushIntervalMs: 10, maxBuffered: 100, backoff: fastRetry, spool: spool1 },
    );
    // Written before the outage: never on disk.
    down = false;
    buffer1.pushAll(items(1, 3));
    await until(() => first.length === 3);
    down = true;
    buffer1.pushAll([{ n: 4, at: new Date("2026-01-02T03:04:05.678Z") }, ...items(5, 9)]);
    await until(() => buffer1.getStats().failures >= 1);
    buffer1.pushAll(items(10, 12));
    // The database comes back for one batch, then goes away again.
    down = false;
    await until(() => first.length >= 6);
    down = true;
    await wait(30);
    // kill -9: the process ends without close(); its spool writes nothing more.
    spool1.close();
    const writtenBefore = [...first];

    const second: Item[] = [];
    const buffer2 = new WriteBuffer<Item>(async (b) => void second.push(...b), {
      batchSize: 3,
      flushIntervalMs: 10,
      maxBuffered: 100,
      spool: new FileSpool(dir, "w", codec),
    });
    assert.equal(buffer2.restored, 12 - writtenBefore.length);
    await until(() => second.length + writtenBefore.length >= 12);
    await wait(30);
    const all = [...writtenBefore, ...second.map((i) => i.n)];
    assert.deepEqual(all, items(1, 12).map((i) => i.n), "every item once, in order");
    assert.deepEqual(files(), [], "the files go once the queue is empty");
    await buffer2.close();
    await buffer1.close(10);
  });

  it("a redeploy while the database is down: close() leaves the items on disk for the next instance", async () => {
    const buffer1 = new WriteBuffer<Item>(
      async () => {
        throw new Error("connection refused");
      },
      { batchSize: 100, flushIntervalMs: 1000, maxBuffered: 100, backoff: fastRetry, spool: new FileSpool(dir, "w", codec) },
    );
    buffer1.pushAll([{ n: 1, at: new Date("2026-01-02T03:04:05.678Z") }, ...items(2, 7)]);
    assert.deepEqual(files(), [], "not yet failed: nothing on disk");
    assert.equal(await buffer1.close(200), 7);
    const written: number[] = [];
    let firstAt: unknown;
    const buffer2 = new WriteBuffer<Item>(async (b) => {
      firstAt ??= b[0].at;
      written.push(...b.map((i) => i.n));
    }, {
      batchSize: 100,
      flushIntervalMs: 10,
      maxBuffered: 100,
      spool: new FileSpool(dir, "w", codec),
    });
    buffer2.pushAll(items(8, 9));
    await until(() => written.length === 9);
    assert.deepEqual(written, items(1, 9).map((i) => i.n));
    assert.ok(firstAt instanceof Date && firstAt.toISOString() === "2026-01-02T03:04:05.678Z", "a Date comes back as a Date");
    await buffer2.close();
  });

  it("stays within the bound: dropped items do not come back, and the file is compacted", async () => {
    const spool = new FileSpool(dir, "w", codec);
    const buffer1 = new WriteBuffer<Item>(
      async () => {
        throw new Error("connection refused");
      },
      { batchSize: 5, flushIntervalMs: 5, maxBuffered: 5, backoff: { initialMs: 10_000, maxMs: 10_000, jitter: 0 }, spool },
    );
    buffer1.pushAll(items(1, 5));
    await until(() => buffer1.getStats().failures >= 1);
    for (let n = 6; n <= 3000; n++) buffer1.push({ n });
    spool.close();
    const size = fs.statSync(path.join(dir, "w.jsonl")).size;
    assert.ok(size < 200_000, `spool file of ${size} bytes for 5 items held`);
    const written: number[] = [];
    const buffer2 = new WriteBuffer<Item>(async (b) => void written.push(...b.map((i) => i.n)), {
      batchSize: 5,
      flushIntervalMs: 5,
      maxBuffered: 5,
      spool: new FileSpool(dir, "w", codec),
    });
    await until(() => written.length === 5);
    assert.deepEqual(written, [2996, 2997, 2998, 2999, 3000]);
    await buffer2.close();
    await buffer1.close(10);
  });

  it("a line cut short by a crash is skipped, the rest is read", () => {
    fs.writeFileSync(path.join(dir, "w.jsonl"), `${JSON.stringify({ s: 1, v: { n: 1 } })}\n${JSON.stringify({ s: 2, v: { n: 2 } })}\n{"s":3,"v":{"n`);
    fs.writeFileSync(path.join(dir, "w.done"), "1");
    const spool = new FileSpool(dir, "w", codec);
    assert.deepEqual(spool.load(), [{ seq: 2, item: { n: 2 } }]);
    assert.equal(spool.unreadable, 1);
    assert.equal(spool.lastSeq, 2);
  });
});
