import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LoginBackoff, ProblemThrottle, isAcceptableIdentity, safeText } from "../../nodes/lib/ocpp/core/abuse";

describe("OCPP abuse limits", () => {
  it("makes peer text safe for one line and cut", () => {
    assert.equal(safeText("CP1\nFAKE\u2028X"), "CP1?FAKE?X");
    assert.equal(safeText("x".repeat(100)).length, 48);
    assert.equal(isAcceptableIdentity("garage-1"), true);
    assert.equal(isAcceptableIdentity("a\tb"), false);
    assert.equal(isAcceptableIdentity("x".repeat(49)), false);
  });

  it("throttles per key and overall, and counts what it suppressed", () => {
    const t = new ProblemThrottle({ perKey: 2, overall: 5, windowMs: 1000, maxKeys: 3 });
    assert.deepEqual([0, 1, 2, 3].map(() => t.admit("a", 0)), [0, 0, undefined, undefined]);
    assert.equal(t.admit("a", 1000), 2, "the next window says 2 were suppressed");
    for (const k of ["b", "c", "d", "e"]) t.admit(k, 1000);
    assert.equal(t.admit("f", 1000), undefined, "overall limit");
  });

  it("brakes per address, doubles, and forgets addresses beyond its cap", () => {
    const b = new LoginBackoff({ freeFailures: 2, baseDelayMs: 100, maxDelayMs: 250, maxAddresses: 3 });
    b.failed("a", 0);
    assert.equal(b.delayMs("a", 0), 0);
    b.failed("a", 0);
    assert.equal(b.delayMs("a", 0), 100);
    b.failed("a", 0);
    assert.equal(b.delayMs("a", 0), 200);
    b.failed("a", 0);
    assert.equal(b.delayMs("a", 0), 250, "capped");
    for (const address of ["b", "c", "d"]) b.failed(address, 0);
    assert.equal(b.delayMs("a", 0), 0, "the oldest address was forgotten");
    b.failed("d", 0);
    b.succeeded("d");
    assert.equal(b.delayMs("d", 0), 0);
  });
});
