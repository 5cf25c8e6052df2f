import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isoTime, parseTime } from "../../nodes/lib/ocpp/core/timestamps";

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

  it("reads the UTC forms chargers send like Date.parse across years, months, leap days and odd texts", () => {
    const texts: string[] = [];
    // Every day of 1969..1971, 1999..2001, 2023..2025 and 2099..2101 (epoch, leap years, century rules), at a moving time of day.
    for (const start of [Date.UTC(1969, 0, 1), Date.UTC(1999, 0, 1), Date.UTC(2023, 0, 1), Date.UTC(2099, 0, 1)]) {
      for (let d = 0; d < 3 * 366; d++) {
        const t = start + d * 86_400_000 + ((d * 7_919_123) % 86_400_000);
        const iso = new Date(t).toISOString();
        texts.push(iso, iso.slice(0, 19) + "Z");
      }
    }
    texts.push(
      "0000-01-01T00:00:00Z", "0001-03-01T00:00:00.000Z", "1600-02-29T12:00:00Z", "1900-02-28T23:59:59.999Z", "9999-12-31T23:59:59.999Z", "2399-12-28T23:59:59.999Z", "2400-02-28T00:00:00Z",
      "2023-02-29T00:00:00Z", "2023-02-30T00:00:00.000Z", "2024-02-30T00:00:00Z", "2023-04-31T10:00:00Z", "2023-01-31T10:00:00Z",
      "2023-01-01T24:00:00Z", "2023-01-01T23:60:00Z", "2023-01-01T23:59:60Z", "2023-13-01T00:00:00Z", "2023-00-10T00:00:00Z",
      "2023-01-00T00:00:00Z", "2023-01-01T10:00:00.1234Z", "2023-01-01T10:00:00.1Z", "2023-01-01T10:00:00z", "2023-01-01 10:00:00Z",
      "+002023-01-01T10:00:00Z", "2023-01-01T10:00:00+02:00", "2023-01-01T10:00:00", "2023-01-01", "2023-1a-01T10:00:00Z",
      "2023-01-01T10:00:0xZ", "2023-01-01T10:00:00.0x0Z", "2023/01/01T10:00:00Z", "", "Z", "not a time at all, no..Z",
    );
    for (const text of texts) {
      const expected = Date.parse(text);
      const got = parseTime(text);
      assert.ok(Object.is(got, expected), `${JSON.stringify(text)}: ${got} instead of ${expected}`);
      // The same text again (remembered), and after one and two others.
      assert.ok(Object.is(parseTime(text), expected));
      parseTime("2020-01-01T00:00:00Z");
      assert.ok(Object.is(parseTime(text), expected));
      parseTime("2020-01-01T00:00:00Z");
      parseTime("2021-01-01T00:00:00Z");
      assert.ok(Object.is(parseTime(text), expected));
    }
  });

  it("gives the ISO text of each date, also when several dates share a millisecond", () => {
    const a = new Date("2026-11-21T12:00:00.123Z");
    assert.equal(isoTime(a), "2026-11-21T12:00:00.123Z");
    assert.equal(isoTime(new Date(a.getTime())), "2026-11-21T12:00:00.123Z");
    assert.equal(isoTime(new Date(a.getTime() + 1)), "2026-11-21T12:00:00.124Z");
    assert.equal(isoTime(new Date("2020-01-01T00:00:00.000Z")), "2020-01-01T00:00:00.000Z");
  });

  it("agrees with toISOString millisecond by millisecond across seconds, years, before 1970 and after 9999", () => {
    const starts = ["2026-12-31T23:59:58.990Z", "1969-12-31T23:59:59.500Z", "1999-12-31T23:59:59.998Z", "+010000-01-01T00:00:00.000Z", "2024-02-29T12:00:00.000Z"];
    for (const start of starts) {
      const from = Date.parse(start);
      for (let ms = from; ms < from + 2500; ms += 7) assert.equal(isoTime(new Date(ms)), new Date(ms).toISOString());
      // Back and forth between seconds, as dates from different chargers come.
      for (const ms of [from + 1500, from, from + 1501, from + 1, from + 999]) assert.equal(isoTime(new Date(ms)), new Date(ms).toISOString());
    }
    assert.throws(() => isoTime(new Date(Number.NaN)), RangeError);
  });
});
