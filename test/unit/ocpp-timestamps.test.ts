import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isoTime, parseTime } from "../../nodes/lib/ocpp/timestamps";

describe("OCPP timestamps", () => {
  it("parses exactly like Date.parse, also for unreadable text and after many different strings", () => {
    const base = Date.UTC(2026, 10, 21, 12);
    for (let i = 0; i < 1000; i++) {
      const text = new Date(base + i * 1000).toISOString();
      assert.equal(parseTime(text), base + i * 1000);
    }
    // Asked again after the memory has moved on: still right.
    assert.equal(parseTime(new Date(base).toISOString()), base);
    assert.ok(Number.isNaN(parseTime("not-a-time")));
    assert.ok(Number.isNaN(parseTime("not-a-time")));
    assert.equal(parseTime("2026-11-21T12:00:00+01:00"), Date.UTC(2026, 10, 21, 11));
  });

  it("gives the ISO text of each date, also when several dates share a millisecond", () => {
    const a = new Date("2026-11-21T12:00:00.123Z");
    assert.equal(isoTime(a), "2026-11-21T12:00:00.123Z");
    assert.equal(isoTime(new Date(a.getTime())), "2026-11-21T12:00:00.123Z");
    assert.equal(isoTime(new Date(a.getTime() + 1)), "2026-11-21T12:00:00.124Z");
    assert.equal(isoTime(new Date("2020-01-01T00:00:00.000Z")), "2020-01-01T00:00:00.000Z");
  });
});
