import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { WriteBuffer, type WriteBufferStats } from "../../nodes/lib/write-buffer";

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fastRetry = { initialMs: 20, maxMs: 40, factor: 2, jitter: 0 };

async function until(predicate: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await wait(5);
  }
}

describe("WriteBuffer", () => {
  it("writes full batches at once and the rest after the flush interval", async () => {
    const batches: number[][] = [];
    const buffer = new WriteBuffer<number>(async (b) => void batches.push([...b]), { batchSize: 3, flushIntervalMs: 50, maxBuffered: 100 });
    buffer.push(1, 2, 3, 4);
    await until(() => batches.length === 1);
    assert.deepEqual(batches, [[1, 2, 3]]);
    await until(() => batches.length === 2);
    assert.deepEqual(batches[1], [4]);
    assert.equal(buffer.getStats().written, 4);
    await buffer.close();
  });

  it("keeps everything, in order, while the database is down, and writes it exactly once when back", async () => {
    let down = true;
    const written: number[] = [];
    const retries: number[] = [];
    const buffer = new WriteBuffer<number>(
      async (b) => {
        if (down) throw new Error("connection refused");
        written.push(...b);
      },
      { batchSize: 2, flushIntervalMs: 10, maxBuffered: 100, backoff: fastRetry },
      { onRetry: (_e, ms) => retries.push(ms) },
    );
    for (let i = 1; i <= 7; i++) buffer.push(i);
    await until(() => retries.length >= 2);
    assert.equal(buffer.getStats().buffered, 7);
    assert.equal(buffer.getStats().lastError, "connection refused");
    down = false;
    await until(() => written.length === 7);
    assert.deepEqual(written, [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(retries.slice(0, 2), [20, 40]);
    assert.equal(buffer.getStats().failures, 0);
    await buffer.close();
  });

  it("drops the oldest beyond the bound and counts them", async () => {
    const dropped: number[] = [];
    const written: number[] = [];
    let down = true;
    const buffer = new WriteBuffer<number>(
      async (b) => {
        if (down) throw new Error("down");
        written.push(...b);
      },
      { batchSize: 2, flushIntervalMs: 10, maxBuffered: 4, backoff: fastRetry },
      { onDropped: (n) => dropped.push(n) },
    );
    for (let i = 1; i <= 6; i++) buffer.push(i);
    assert.equal(buffer.getStats().dropped, 2);
    assert.equal(buffer.getStats().buffered, 4);
    down = false;
    await until(() => written.length === 4);
    // The in-flight head is never dropped; the oldest of the rest go.
    assert.equal(written.length, 4);
    assert.equal(dropped.reduce((a, b) => a + b, 0), 2);
    await buffer.close();
  });

  it("isolates a row the database rejects and writes the rest", async () => {
    const written: string[] = [];
    const rejected: Array<[string, string]> = [];
    const buffer = new WriteBuffer<string>(
      async (b) => {
        if (b.includes("bad")) throw new Error('invalid input syntax for type double precision: "bad"');
        written.push(...b);
      },
      { batchSize: 5, flushIntervalMs: 10, maxBuffered: 50, isPermanent: (e) => /invalid input/.test(e.message) },
      { onRejected: (item, e) => rejected.push([item, e.message]) },
    );
    buffer.push("a", "b", "bad", "c", "d");
    await until(() => written.length === 4);
    assert.deepEqual(written, ["a", "b", "c", "d"]);
    assert.deepEqual(rejected, [["bad", 'invalid input syntax for type double precision: "bad"']]);
    const stats: WriteBufferStats = buffer.getStats();
    assert.equal(stats.rejected, 1);
    assert.equal(stats.written, 4);
    await buffer.close();
  });

  it("close() flushes what is left and reports what could not be written", async () => {
    const written: number[] = [];
    const ok = new WriteBuffer<number>(async (b) => void written.push(...b), { batchSize: 10, flushIntervalMs: 60_000, maxBuffered: 100 });
    ok.push(1, 2, 3);
    assert.equal(await ok.close(), 0);
    assert.deepEqual(written, [1, 2, 3]);

    const stuck = new WriteBuffer<number>(() => new Promise(() => undefined), { batchSize: 10, flushIntervalMs: 60_000, maxBuffered: 100 });
    stuck.push(1, 2);
    const started = Date.now();
    assert.equal(await stuck.close(100), 2);
    assert.ok(Date.now() - started < 1000, "close is bounded");
  });

  it("takes a list of any length (a 300,000-row message does not overflow the stack)", async () => {
    let written = 0;
    const buffer = new WriteBuffer<number>(async (b) => void (written += b.length), { batchSize: 50_000, flushIntervalMs: 10, maxBuffered: 400_000 });
    buffer.pushAll(Array.from({ length: 300_000 }, (_, i) => i));
    await until(() => written === 300_000);
    await buffer.close();
  });
});
