/**
 * A wait longer than setTimeout accepts (2^31-1 ms, about 24.8 days) makes
 * Node fire after 1 ms: a far-future Retry-After then becomes a tight loop.
 * Every computed delay is capped; these tests fail without the caps.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Poller } from "../../nodes/lib/poller";
import { HttpError } from "../../nodes/lib/http-client";
import { backoffDelay, formatDelay, MAX_TIMER_MS, parseRetryAfter, sleep, timerDelay } from "../../nodes/lib/backoff";
import { WriteBuffer } from "../../nodes/lib/write-buffer";
import { CommandQueue } from "../../nodes/lib/ocpp/core/offline-queue";
import type { ChargerDirectory } from "../../nodes/lib/ocpp/core/contract";

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const THIRTY_DAYS_MS = 30 * 86_400_000;

describe("delays are capped below setTimeout's limit", () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.name);
  beforeEach(() => {
    warnings.length = 0;
    process.on("warning", onWarning);
  });
  afterEach(() => {
    process.off("warning", onWarning);
    assert.deepEqual(warnings.filter((w) => w === "TimeoutOverflowWarning"), [], "no timer overflowed");
  });

  it("timerDelay and formatDelay", () => {
    assert.equal(timerDelay(THIRTY_DAYS_MS), MAX_TIMER_MS);
    assert.equal(timerDelay(-5), 0);
    assert.equal(timerDelay(Number.NaN), 0);
    assert.equal(timerDelay(1500), 1500);
    assert.equal(formatDelay(45_000), "45 s");
    assert.equal(formatDelay(12 * 60_000), "12 min");
    assert.equal(formatDelay(24 * 3600_000), "24 h");
    assert.equal(formatDelay(THIRTY_DAYS_MS), "30 d");
    assert.ok(backoffDelay(40, { initialMs: 1000, maxMs: Number.MAX_SAFE_INTEGER, jitter: 0 }) <= MAX_TIMER_MS);
  });

  it("a far-future HTTP-date Retry-After does not make the poller loop, and the wait is capped at a day", async () => {
    const header = new Date(Date.now() + THIRTY_DAYS_MS).toUTCString();
    const retryAfterMs = parseRetryAfter(header);
    assert.ok(retryAfterMs !== undefined && retryAfterMs > MAX_TIMER_MS, "the date is parsed as a wait of about 30 days");
    let runs = 0;
    const delays: number[] = [];
    const poller = new Poller<number>(
      async () => {
        runs++;
        throw new HttpError("rate_limited", "slow down", { status: 429, method: "GET", url: "/", retryAfterMs });
      },
      { intervalMs: 50, backoff: { initialMs: 50, maxMs: 100, factor: 2, jitter: 0 } },
      { onError: (_e, _n, next) => delays.push(next) },
    );
    poller.start();
    await wait(300);
    await poller.stop();
    assert.equal(runs, 1, `${runs} runs in 300 ms`);
    assert.deepEqual(delays, [24 * 3600_000]);
  });

  it("a poller whose interval is longer than 24.8 days does not loop", async () => {
    let runs = 0;
    const poller = new Poller<number>(async () => ++runs, { intervalMs: THIRTY_DAYS_MS });
    poller.start();
    await wait(200);
    await poller.stop();
    assert.equal(runs, 1);
  });

  it("sleep() of more than 24.8 days does not end at once", async () => {
    const controller = new AbortController();
    let ended = false;
    const slept = sleep(THIRTY_DAYS_MS, controller.signal).then(
      () => (ended = true),
      () => undefined,
    );
    await wait(100);
    assert.equal(ended, false);
    controller.abort();
    await slept;
  });

  it("a write buffer with a huge backoff or flush interval does not loop", async () => {
    let attempts = 0;
    const buffer = new WriteBuffer<number>(
      async () => {
        attempts++;
        throw new Error("connection refused");
      },
      { batchSize: 1, flushIntervalMs: THIRTY_DAYS_MS, maxBuffered: 10, backoff: { initialMs: THIRTY_DAYS_MS, maxMs: THIRTY_DAYS_MS * 2, jitter: 0 } },
    );
    buffer.push(1);
    await wait(200);
    assert.equal(attempts, 1);
    const idle = new WriteBuffer<number>(async () => void attempts++, { batchSize: 5, flushIntervalMs: THIRTY_DAYS_MS, maxBuffered: 10 });
    idle.push(1);
    await wait(100);
    assert.equal(attempts, 1, "a flush interval of 30 days is not a flush after 1 ms");
    await buffer.close(10);
    await idle.close(10);
  });

  it("an offline command with a time-to-live of 30 days does not expire at once", async () => {
    const directory: ChargerDirectory = {
      link: () => undefined,
      snapshot: () => undefined,
      list: () => [],
      onConnected: () => () => undefined,
      recordConfiguration: () => undefined,
    };
    const queue = new CommandQueue(directory, { mode: "queue", ttlMs: THIRTY_DAYS_MS });
    let settled = "";
    const running = queue.run("CP1", "Reset", async () => "sent").then(
      () => (settled = "sent"),
      (err: Error) => (settled = err.message),
    );
    await wait(100);
    assert.equal(settled, "");
    queue.close();
    await running;
    assert.match(settled, /not sent/);
  });
});
