import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay, parseRetryAfter, sleep, AbortedError } from "../../nodes/lib/backoff";

describe("backoff", () => {
  it("grows exponentially and is capped", () => {
    const opts = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, opts)), [100, 200, 400, 800, 1000, 1000]);
  });

  it("keeps jitter within the configured share", () => {
    const opts = { initialMs: 1000, maxMs: 1000, factor: 2, jitter: 0.2 };
    assert.equal(backoffDelay(0, opts, () => 0), 800);
    assert.equal(backoffDelay(0, opts, () => 1), 1200);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    assert.equal(parseRetryAfter("7"), 7000);
    assert.equal(parseRetryAfter(undefined), undefined);
    assert.equal(parseRetryAfter("soon"), undefined);
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now), 30_000);
  });

  it("sleep rejects at once when aborted", async () => {
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    controller.abort();
    await assert.rejects(pending, AbortedError);
  });
});
