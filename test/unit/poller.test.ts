import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Poller } from "../../nodes/lib/poller";

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("Poller", () => {
  it("runs at once, then on the interval, and never overlaps", async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const poller = new Poller(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await wait(30);
        running--;
        return ++runs;
      },
      { intervalMs: 20 },
    );
    poller.start();
    // Triggers while a run is in flight join it instead of starting another.
    const joined = await Promise.all([poller.trigger(), poller.trigger()]);
    assert.equal(joined[0], joined[1]);
    await wait(200);
    await poller.stop();
    assert.equal(maxRunning, 1);
    assert.ok(runs >= 3, `ran ${runs} times`);
    const after = runs;
    await wait(100);
    assert.equal(runs, after, "no run after stop");
  });

  it("backs off after failures and recovers by itself", async () => {
    const times: number[] = [];
    const errors: Array<[number, number]> = [];
    let fail = 3;
    const results: number[] = [];
    const poller = new Poller(
      async () => {
        times.push(Date.now());
        if (fail-- > 0) throw new Error("down");
        return 42;
      },
      { intervalMs: 20, backoff: { initialMs: 40, maxMs: 160, factor: 2, jitter: 0 } },
      { onError: (_e, n, next) => errors.push([n, next]), onResult: (r) => results.push(r) },
    );
    poller.start();
    while (results.length === 0) await wait(10);
    await poller.stop();
    assert.deepEqual(errors, [
      [1, 40],
      [2, 80],
      [3, 160],
    ]);
    assert.equal(poller.consecutiveFailures, 0);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    assert.ok(gaps[0] >= 35 && gaps[2] >= 150, `gaps ${gaps.join(",")}`);
  });

  it("stop() aborts a run in progress and its result is not delivered", async () => {
    let aborted = false;
    const results: unknown[] = [];
    const poller = new Poller(
      (signal) =>
        new Promise((resolve, reject) => {
          const t = setTimeout(() => resolve("late"), 500);
          signal.addEventListener("abort", () => {
            aborted = true;
            clearTimeout(t);
            reject(new Error("aborted"));
          });
        }),
      { intervalMs: 1000 },
      { onResult: (r) => results.push(r), onError: (e) => results.push(e) },
    );
    poller.start();
    await wait(20);
    await poller.stop();
    assert.equal(aborted, true);
    assert.deepEqual(results, []);
  });

  it("a throwing handler does not stop polling", async () => {
    let runs = 0;
    const poller = new Poller(async () => ++runs, { intervalMs: 10 }, {
      onResult: () => {
        throw new Error("handler bug");
      },
    });
    poller.start();
    await wait(80);
    await poller.stop();
    assert.ok(runs >= 3);
  });
});
