import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkIdentifier, multiRowInsert, parseTableName, quoteIdent } from "../../nodes/lib/timescale/sql";
import { inferColumns, operationStateSql } from "../../nodes/lib/timescale/schema";
import { evReadingRows, toParameter, toRows } from "../../nodes/lib/timescale/rows";
import { describePgError, groupRows } from "../../nodes/lib/timescale/writer";

describe("timescale sql helpers", () => {
  it("accepts plain identifiers and quotes them", () => {
    assert.equal(quoteIdent("ev_readings"), '"ev_readings"');
    assert.equal(quoteIdent("Power_W$1"), '"Power_W$1"');
    assert.deepEqual(parseTableName("public.ev_readings"), { schema: "public", table: "ev_readings" });
  });

  it("rejects every injection attempt in table and column names", () => {
    const attempts = ['x"; DROP TABLE t; --', "a b", "1abc", "t;", 'a"b', "x'--", "", "a".repeat(64), "a.b.c", "$x", "ü", "a\u0000b"];
    for (const name of attempts) {
      assert.throws(() => checkIdentifier(name, "Column"), /is not allowed|No table/, name);
      assert.throws(() => parseTableName(name), /is not allowed|No table/, name);
    }
    assert.throws(() => parseTableName("public.x y"), /Table "x y" is not allowed/);
  });

  it("builds a multi-row INSERT with parameters only", () => {
    assert.equal(multiRowInsert({ table: "t" }, ["a", "time"], 2), 'INSERT INTO "t" ("a", "time") VALUES ($1, $2), ($3, $4)');
  });

  it("infers column types from the first rows", () => {
    const cols = inferColumns(
      [
        { n: 1, f: 1, s: "x", b: true, j: { a: 1 }, at: "2026-01-01T00:00:00Z", time: new Date(0), nul: null },
        { n: 2, f: 1.5, s: "y", b: false, j: [1], at: "2026-01-01T00:00:01.5+01:00", time: new Date(0), nul: null },
      ],
      "time",
    );
    assert.deepEqual(
      cols.map((c) => `${c.name} ${c.type}${c.notNull ? " NOT NULL" : ""}`),
      ["time timestamptz NOT NULL", "n bigint", "f double precision", "s text", "b boolean", "j jsonb", "at timestamptz", "nul text"],
    );
  });

  it("extends an existing seed OperationState enum with the missing values", () => {
    assert.deepEqual(operationStateSql(["unknown", "off", "idle", "charging", "scheduled_downtime", "unscheduled_downtime"]), [
      `ALTER TYPE "operation_state" ADD VALUE IF NOT EXISTS 'connected'`,
      `ALTER TYPE "operation_state" ADD VALUE IF NOT EXISTS 'suspended'`,
      `ALTER TYPE "operation_state" ADD VALUE IF NOT EXISTS 'fault'`,
    ]);
    assert.match(operationStateSql(undefined)[0], /^CREATE TYPE "operation_state" AS ENUM \('unknown', 'off', 'idle', 'connected'/);
  });

  it("checks column names in rows and fills the time column", () => {
    const now = new Date(5000);
    assert.deepEqual(toRows({ a: 1 }, { timeColumn: "time", now: () => now }), [{ a: 1, time: now }]);
    assert.deepEqual(toRows([{ a: 1, time: "x" }], { timeColumn: "time", timestamp: 1000 }), [{ a: 1, time: "x" }]);
    assert.deepEqual(toRows({ a: 1 }, { timeColumn: "", timestamp: 1000 }), [{ a: 1 }]);
    assert.throws(() => toRows([{ a: 1 }, { 'b"; drop table x; --': 2 }], { timeColumn: "" }), /Row 2 of 2: Column .* is not allowed/);
    assert.throws(() => toRows([], { timeColumn: "" }), /empty list/);
    // The caller's objects are never changed: a row needing the time or losing an undefined value is a copy.
    const given = [{ a: 1 }, { a: 2, b: undefined, time: new Date(5) }];
    const rows = toRows(given, { timeColumn: "time", timestamp: 1000 });
    assert.deepEqual(given, [{ a: 1 }, { a: 2, b: undefined, time: new Date(5) }]);
    assert.deepEqual(rows, [{ a: 1, time: new Date(1000) }, { a: 2, time: new Date(5) }]);
    assert.ok(!("b" in rows[1]));
    assert.throws(() => toRows("x", { timeColumn: "" }), /must be an object/);
    assert.equal(toParameter({ a: [1] }), '{"a":[1]}');
    assert.equal(toParameter([1, 2]), "[1,2]");
  });

  it("maps seed readings and ChargerStates to ev_readings rows", () => {
    assert.deepEqual(evReadingRows({ SamplingTime: "2026-01-01T00:00:00Z", Value: "charging" }, { topic: "chargers/garage/operationState" }), [
      { time: "2026-01-01T00:00:00Z", charger: "garage", reading: "operationState", value: null, value_text: null, state: "charging" },
    ]);
    assert.deepEqual(evReadingRows({ samplingTime: "t", value: 7.5 }, { charger: "c", reading: "powerW" }), [
      { time: "t", charger: "c", reading: "powerW", value: 7.5, value_text: null, state: null },
    ]);
    const rows = evReadingRows(
      { source: "amtron", chargerId: "wb", operationState: "idle", powerW: 0, currentA: { l1: 1, l2: 2 }, vehicleConnected: false, samplingTime: "t", raw: {} },
      {},
    )!;
    assert.deepEqual(rows.map((r) => [r.reading, r.value, r.state]), [
      ["operationState", null, "idle"],
      ["powerW", 0, null],
      ["currentA.l1", 1, null],
      ["currentA.l2", 2, null],
      ["vehicleConnected", 0, null],
    ]);
    assert.equal(evReadingRows({ charger: "c", reading: "r", value: 1, samplingTime: "t" }, {}), undefined);
    assert.throws(() => evReadingRows({ samplingTime: "t", value: 1 }, { topic: "x" }), /needs a charger and a reading/);
  });

  it("groups rows by table and column set, keeping order", () => {
    const groups = groupRows([
      { table: { table: "a" }, row: { x: 1, y: 2 } },
      { table: { table: "b" }, row: { x: 1 } },
      { table: { table: "a" }, row: { y: 3, x: 4 } },
    ]);
    assert.deepEqual(groups.map((g) => [g.table.table, g.columns, g.rows.length]), [
      ["a", ["x", "y"], 2],
      ["b", ["x"], 1],
    ]);
  });

  it("classifies PostgreSQL errors: bad data permanent, connection and login transient", () => {
    const e = (code: string, message = "m") => describePgError({ code, message }, "db:5432/x", ["hunter2"]);
    assert.equal(e("22P02", 'invalid input syntax for type double precision: "abc"').permanent, true);
    assert.match(e("42703", 'column "foo" of relation "t" does not exist').message, /^Table missing a column: column "foo"/);
    assert.equal(e("42P01").permanent, true);
    assert.equal(e("23502").permanent, true);
    assert.equal(e("28P01", "password authentication failed for user \"ev\"").permanent, false);
    assert.match(e("28P01").message, /refused the login/);
    assert.equal(e("57P01").permanent, false);
    assert.equal(e("53300").permanent, false);
    assert.equal(describePgError({ code: "ECONNREFUSED", message: "connect ECONNREFUSED" }, "db:5432/x").message, "Cannot reach PostgreSQL at db:5432/x (connection refused)");
    assert.equal(describePgError(new Error("Connection terminated unexpectedly"), "t").permanent, false);
    assert.doesNotMatch(e("XX000", "bad hunter2").message, /hunter2/);
  });
});
