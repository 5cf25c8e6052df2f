/**
 * The writer module on the test engine (PGlite, or PostgreSQL from
 * TEST_PG_URL): which method "auto" picks, what each method sends (a
 * statement trigger records current_query(), the text the client sent), and
 * that tricky values come back exactly, the same whichever method wrote them.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Pool } from "pg";
import { poolConfig } from "../../nodes/lib/timescale/pool";
import { TimescaleWriter, type RowItem, type WriteMethod } from "../../nodes/lib/timescale/writer";
import { startPostgres, type PostgresEngine } from "../harness/engines";

let pg: PostgresEngine;
/** One pool of one connection for the whole suite: PGlite serves a single client. */
let pool: Pool;

async function withWriter<T>(method: WriteMethod, run: (writer: TimescaleWriter) => Promise<T>): Promise<T> {
  return run(new TimescaleWriter(pool, { create: "none", method, timeColumn: "time", target: "test" }));
}

const TRICKY_TABLE = `(id int PRIMARY KEY, s text, d double precision, b boolean, tz timestamptz, ts timestamp, j jsonb, m mood)`;

/** Every row with every column (null where absent): one group, as one COPY. */
const tricky = (table: string): RowItem[] =>
  [
    { id: 1, s: "tab\there", d: 1.5, b: true, tz: "2026-03-29T01:30:00+05:30", ts: "2026-01-01T10:00:00+05:30", j: { note: 'say "hi"\n', list: [1, "\\"] }, m: "charging" },
    { id: 2, s: "line1\nline2\r\nend", d: NaN, b: false, tz: new Date("2026-01-01T12:00:00.123Z"), ts: "2026-07-01 00:00:00", j: [1, 2], m: "calm" },
    { id: 3, s: "back\\slash \\t not a tab", d: Infinity, b: null, tz: "2026-06-01T00:00:00-07:00", ts: null, j: "\"just text\"", m: null },
    { id: 4, s: "\\N", d: -Infinity, b: true, tz: null, ts: null, j: null, m: "calm" },
    { id: 5, s: "\\.", d: -0.000001, b: false, tz: "2026-01-01T00:00:00Z", ts: null, j: { emoji: "⚡🚗" }, m: "charging" },
    { id: 6, s: "Ionity Vik (Hönefoss) ⚡🚗 日本語", d: 0, b: null, tz: null, ts: null, j: {}, m: null },
    { id: 7, s: "", d: null, b: null, tz: null, ts: null, j: null, m: null },
    { id: 8, s: null, d: 1e300, b: true, tz: null, ts: null, j: null, m: null },
  ].map((row) => ({ table: { table }, row }));

const expected = [
  { id: 1, s: "tab\there", d: 1.5, b: true, tz: new Date("2026-03-28T20:00:00Z"), ts: "2026-01-01 10:00:00", j: { note: 'say "hi"\n', list: [1, "\\"] }, m: "charging" },
  { id: 2, s: "line1\nline2\r\nend", d: NaN, b: false, tz: new Date("2026-01-01T12:00:00.123Z"), ts: "2026-07-01 00:00:00", j: [1, 2], m: "calm" },
  { id: 3, s: "back\\slash \\t not a tab", d: Infinity, b: null, tz: new Date("2026-06-01T07:00:00Z"), ts: null, j: "just text", m: null },
  { id: 4, s: "\\N", d: -Infinity, b: true, tz: null, ts: null, j: null, m: "calm" },
  { id: 5, s: "\\.", d: -0.000001, b: false, tz: new Date("2026-01-01T00:00:00Z"), ts: null, j: { emoji: "⚡🚗" }, m: "charging" },
  { id: 6, s: "Ionity Vik (Hönefoss) ⚡🚗 日本語", d: 0, b: null, tz: null, ts: null, j: {}, m: null },
  { id: 7, s: "", d: null, b: null, tz: null, ts: null, j: null, m: null },
  { id: 8, s: null, d: 1e300, b: true, tz: null, ts: null, j: null, m: null },
];

async function readBack(table: string): Promise<unknown[]> {
  return pg.query(`SELECT id, s, d, b, tz, ts::text AS ts, j, m::text AS m FROM ${table} ORDER BY id`);
}

/** Records the text of every statement that adds rows to `table`. */
async function logStatements(table: string): Promise<void> {
  await pg.query(`CREATE TRIGGER log_${table} AFTER INSERT ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION log_query()`);
}

async function statements(): Promise<string[]> {
  return (await pg.query<{ q: string }>("SELECT q FROM query_log ORDER BY n")).map((r) => r.q);
}

describe(`timescale writer methods (${process.env.TEST_PG_URL ? "PostgreSQL from TEST_PG_URL" : "PGlite"})`, () => {
  before(async () => {
    pg = await startPostgres();
    pool = new Pool(
      poolConfig({ host: pg.host, port: pg.port, database: pg.database, user: pg.user, password: pg.password, ssl: "disable", poolSize: 1, timeoutS: 5, schema: pg.schema }),
    );
    await pg.query("CREATE TYPE mood AS ENUM ('calm', 'charging')");
    await pg.query("CREATE TABLE query_log (n serial, q text)");
    await pg.query(`CREATE FUNCTION log_query() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO query_log (q) VALUES (current_query()); RETURN NULL; END $$`);
  });
  after(async () => {
    await pool.end();
    await pg.close();
  });

  // First: "auto" has not asked this pool's server yet.
  it("auto: COPY on PostgreSQL, INSERT on PGlite; tricky values come back exactly", async () => {
    await pg.query(`CREATE TABLE tricky_auto ${TRICKY_TABLE}`);
    await logStatements("tricky_auto");
    await pg.query("TRUNCATE query_log");
    const method = await withWriter("auto", async (writer) => {
      assert.equal(writer.method, undefined, "not known before the first write");
      await writer.write(tricky("tricky_auto"));
      return writer.method;
    });
    const want = pg.kind === "pglite" ? "insert" : "copy";
    assert.equal(method, want);
    const sent = await statements();
    assert.equal(sent.length, 1, sent.join("\n"));
    if (want === "copy") assert.equal(sent[0], 'COPY "tricky_auto" ("b", "d", "id", "j", "m", "s", "ts", "tz") FROM STDIN');
    else assert.match(sent[0], /^INSERT INTO "tricky_auto" \("b", "d", "id", "j", "m", "s", "ts", "tz"\) SELECT \* FROM unnest\(/);
    assert.deepEqual(await readBack("tricky_auto"), expected);
  });

  it("insert: the same values through INSERT read back the same (Dates into timestamp too)", async () => {
    await pg.query(`CREATE TABLE tricky_insert ${TRICKY_TABLE}`);
    await logStatements("tricky_insert");
    await pg.query("TRUNCATE query_log");
    const local = { id: 9, ts: new Date(2026, 0, 2, 3, 4, 5, 6) };
    await withWriter("insert", (writer) => writer.write([...tricky("tricky_insert"), { table: { table: "tricky_insert" }, row: local }]));
    assert.match((await statements())[0], /^INSERT INTO "tricky_insert"/);
    const rows = await readBack("tricky_insert");
    assert.deepEqual(rows.slice(0, 8), expected);
    // A Date into a timestamp without time zone: the local wall time, as node-postgres sends it.
    assert.deepEqual(rows[8], { id: 9, s: null, d: null, b: null, tz: null, ts: "2026-01-02 03:04:05.006", j: null, m: null });
  });

  it("copy: a Date into a timestamp without time zone is the same local wall time as with INSERT", async (t) => {
    if (pg.kind === "pglite") return t.skip("PGlite's socket server cannot take COPY FROM STDIN");
    await pg.query(`CREATE TABLE tricky_copy ${TRICKY_TABLE}`);
    await logStatements("tricky_copy");
    await pg.query("TRUNCATE query_log");
    await withWriter("copy", (writer) => writer.write([{ table: { table: "tricky_copy" }, row: { id: 9, ts: new Date(2026, 0, 2, 3, 4, 5, 6) } }]));
    assert.deepEqual(await statements(), ['COPY "tricky_copy" ("id", "ts") FROM STDIN']);
    assert.deepEqual(await pg.query("SELECT ts::text AS ts FROM tricky_copy"), [{ ts: "2026-01-02 03:04:05.006" }]);
  });

  it("several tables in one batch: one transaction, all or nothing", async () => {
    await pg.query("CREATE TABLE part_a (id int)");
    await pg.query("CREATE TABLE part_b (id int CHECK (id < 100))");
    const batch = (b: number): RowItem[] => [
      { table: { table: "part_a" }, row: { id: 1 } },
      { table: { table: "part_b" }, row: { id: b } },
    ];
    await withWriter("auto", async (writer) => {
      await assert.rejects(writer.write(batch(500)), (err: Error & { permanent?: boolean; code?: string }) => {
        assert.equal(err.code, "23514");
        assert.equal(err.permanent, true, "a constraint violation is the data's fault: the buffer isolates the row");
        assert.match(err.message, /PostgreSQL refused the row \(constraint\)/);
        return true;
      });
      assert.deepEqual(await pg.query("SELECT count(*)::int AS n FROM part_a"), [{ n: 0 }], "part_a rolled back with part_b");
      await writer.write(batch(5));
    });
    assert.deepEqual(await pg.query("SELECT (SELECT count(*)::int FROM part_a) AS a, (SELECT count(*)::int FROM part_b) AS b"), [{ a: 1, b: 1 }]);
  });

  it("a value of the wrong type fails the whole COPY as a permanent data error (22P02)", async () => {
    await pg.query("CREATE TABLE typed (id int, kwh double precision)");
    await withWriter("auto", async (writer) => {
      const rows: RowItem[] = [1, 2, 3].map((id) => ({ table: { table: "typed" }, row: { id, kwh: id === 2 ? "lots" : id } }));
      await assert.rejects(writer.write(rows), (err: Error & { permanent?: boolean; code?: string }) => {
        assert.equal(err.code, "22P02");
        assert.equal(err.permanent, true);
        assert.match(err.message, /PostgreSQL refused a value: invalid input syntax for type double precision: "lots"/);
        return true;
      });
      // The pooled connection is still good for the next batch.
      await writer.write([{ table: { table: "typed" }, row: { id: 4, kwh: 4 } }]);
    });
    assert.deepEqual(await pg.query("SELECT id, kwh FROM typed"), [{ id: 4, kwh: 4 }]);
  });

  it("a batch of many slices of COPY data: every row, exactly; a bad row late in it fails it whole", async () => {
    await pg.query("CREATE TABLE big (id int, s text)");
    const rows = (n: number, bad?: number): RowItem[] =>
      Array.from({ length: n }, (_, id) => ({ table: { table: "big" }, row: { id: id === bad ? "oops" : id, s: `row\t${id}\\` } }));
    await withWriter("auto", async (writer) => {
      await assert.rejects(writer.write(rows(2345, 2100)), /PostgreSQL refused a value: invalid input syntax for type integer: "oops"/);
      assert.deepEqual(await pg.query("SELECT count(*)::int AS n FROM big"), [{ n: 0 }]);
      await writer.write(rows(2345));
    });
    const stored = await pg.query<{ id: number; s: string }>("SELECT id, s FROM big ORDER BY id");
    assert.equal(stored.length, 2345);
    stored.forEach((r, i) => assert.deepEqual(r, { id: i, s: `row\t${i}\\` }));
  });
});
