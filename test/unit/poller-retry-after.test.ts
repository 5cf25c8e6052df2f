import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Poller } from "../../nodes/lib/poller";
import { HttpError } from "../../nodes/lib/http-client";

describe("Poller and Retry-After", () => {
  it("waits at least as long as a failing service asked, then returns to the interval", async () => {
    const runs: number[] = [];
    const delays: number[] = [];
    const poller = new Poller<number>(
      async () => {
        runs.push(Date.now());
        if (runs.length === 1) {
          throw new HttpError("rate_limited", "slow down", { status: 429, method: "GET", url: "/", retryAfterMs: 400 });
        }
        return runs.length;
      },
      { intervalMs: 50, backoff: { initialMs: 50, maxMs: 100, factor: 2, jitter: 0 } },
      { onError: (_e, _n, next) => delays.push(next) },
    );
    poller.start();
    while (runs.length < 3) await new Promise((r) => setTimeout(r, 20));
    await poller.stop();
    assert.deepEqual(delays, [400]);
    assert.ok(runs[1] - runs[0] >= 390, `second run after ${runs[1] - runs[0]} ms`);
    assert.ok(runs[2] - runs[1] < 300, `third run after ${runs[2] - runs[1]} ms`);
  });
});
