import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { toLine, toLines, type PointDefaults } from "../../nodes/lib/influx/points";
import { describeInfluxError, InfluxLineWriter } from "../../nodes/lib/influx/writer";
import { HttpError } from "@influxdata/influxdb-client";

const base: PointDefaults = { integers: "float", precision: "ms", now: () => new Date(1_700_000_000_000) };

describe("influx points", () => {
  it("keeps field types: floats by default, int/uint/float markers, strings, booleans", () => {
    const line = toLine(
      { measurement: "m", fields: { a: 3, b: 3.5, c: { int: 7 }, d: { uint: 8 }, e: { float: 2 }, f: "on", g: true } },
      base,
    );
    assert.equal(line, 'm a=3,b=3.5,c=7i,d=8u,e=2,f="on",g=T 1700000000000');
  });

  it("writes whole numbers as integers when asked", () => {
    assert.equal(toLine({ measurement: "m", fields: { a: 3, b: 3.5 } }, { ...base, integers: "integer" }), "m a=3i,b=3.5 1700000000000");
  });

  it("leaves escaping to the library (spaces, commas, quotes, non-ASCII)", () => {
    const line = toLine({ measurement: "charger availability", tags: { site: "Ionity Vik (Hönefoss), N" }, fields: { note: 'say "hi"' } }, base);
    assert.equal(line, 'charger\\ availability,site=Ionity\\ Vik\\ (Hönefoss)\\,\\ N note="say \\"hi\\"" 1700000000000');
  });

  it("writes an AvailabilityRecord in the seed layout", () => {
    const line = toLine(
      { site: "Ionity Vik", available: 3, total: 4, counts: {}, time: "2026-01-05T07:30:00Z", weekday: "Monday", hourOfDay: 8 },
      base,
    );
    assert.equal(line, "charger_availability,hour_of_day=8,site=Ionity\\ Vik,weekday=Monday available=3i,total=4i 1767598200000");
  });

  it("writes a change-detector reading: charger tag from the topic, field named after the reading", () => {
    const d = { ...base, measurement: "charger_readings", topic: "chargers/garage/powerW" };
    assert.equal(toLine({ SamplingTime: "2026-01-01T00:00:00Z", Value: 7360 }, d), "charger_readings,charger=garage powerW=7360 1767225600000");
    assert.equal(toLine({ samplingTime: "2026-01-01T00:00:00Z", value: "charging" }, { ...d, topic: "chargers/garage/operationState" }), 'charger_readings,charger=garage operationState="charging" 1767225600000');
    // Without a topic it is just an object of fields.
    assert.equal(toLine({ samplingTime: "x", value: 1 }, { ...base, measurement: "m" }), 'm samplingTime="x",value=1 1700000000000');
  });

  it("adds weekday and hour_of_day in the chosen zone", () => {
    // 2026-01-04T23:30Z is Sunday in UTC but Monday 00:30 in Oslo.
    const line = toLine({ measurement: "m", fields: { v: 1 }, timestamp: "2026-01-04T23:30:00Z" }, { ...base, timeTags: { timeZone: "Europe/Oslo" } });
    assert.equal(line, "m,hour_of_day=0,weekday=Monday v=1 1767569400000");
  });

  it("takes timestamp from the point, then from defaults, then now; honours precision", () => {
    assert.match(toLine({ measurement: "m", fields: { v: 1 }, timestamp: 1_000 }, { ...base, timestamp: 2_000 }), / 1000$/);
    assert.match(toLine({ measurement: "m", fields: { v: 1 } }, { ...base, timestamp: "1970-01-01T00:00:02Z" }), / 2000$/);
    assert.match(toLine({ measurement: "m", fields: { v: 1 } }, { ...base, precision: "s" }), / 1700000000$/);
    assert.match(toLine({ measurement: "m", fields: { v: 1 } }, { ...base, precision: "ns" }), / 1700000000000000000$/);
  });

  it("accepts a plain object of fields, a number, and arrays; measurement from defaults", () => {
    assert.deepEqual(toLines([{ power: 11 }, 5], { ...base, measurement: "wallbox", tags: { id: "w1" } }), [
      "wallbox,id=w1 power=11 1700000000000",
      "wallbox,id=w1 value=5 1700000000000",
    ]);
  });

  it("refuses what cannot be a point, in plain words", () => {
    assert.throws(() => toLine({ fields: { v: 1 } }, base), /No measurement/);
    assert.throws(() => toLine({ measurement: "m", fields: {} }, base), /at least one field/);
    assert.throws(() => toLine({ measurement: "m", fields: { v: NaN } }, base), /finite/);
    assert.throws(() => toLine({ measurement: "m", fields: { v: [1] } }, base), /is a list/);
    assert.throws(() => toLine({ measurement: "m", fields: { v: { int: 1.5 } } }, base), /not a whole number/);
    assert.throws(() => toLine({ measurement: "m", fields: { v: 1 }, timestamp: "yesterday" }, base), /not a date/);
    assert.throws(() => toLines([{ measurement: "m", fields: { v: 1 } }, null], base), /Point 2 of 2/);
  });

  it("classifies HTTP errors: data errors permanent, server/auth problems transient", () => {
    const conn = { url: "http://x", org: "o", bucket: "b", token: "secret-token" };
    const e = (status: number, body = "") => describeInfluxError(new HttpError(status, "x", body, undefined, "application/json"), conn);
    assert.equal(e(400).permanent, true);
    assert.equal(e(422, '{"message":"field type conflict"}').permanent, true);
    assert.match(e(422, '{"message":"field type conflict"}').message, /field type conflict/);
    assert.equal(e(401).permanent, false);
    assert.match(e(401).message, /Wrong or missing InfluxDB token/);
    assert.match(e(404, '{"message":"bucket \\"b\\" not found"}').message, /Bucket "b" or organisation "o" not found/);
    assert.equal(e(503).permanent, false);
    assert.equal(e(429).permanent, false);
    assert.doesNotMatch(e(400, '{"message":"bad secret-token"}').message, /secret-token/);
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    assert.match(describeInfluxError(refused, conn).message, /Cannot reach InfluxDB at http:\/\/x/);
  });

  it("checks the connection settings up front", () => {
    assert.throws(() => new InfluxLineWriter({ url: "nope", org: "o", bucket: "b", precision: "ms" }), /not a URL/);
    assert.throws(() => new InfluxLineWriter({ url: "ftp://x", org: "o", bucket: "b", precision: "ms" }), /http/);
    assert.throws(() => new InfluxLineWriter({ url: "http://x", org: "o", bucket: "", precision: "ms" }), /No bucket/);
  });
});
