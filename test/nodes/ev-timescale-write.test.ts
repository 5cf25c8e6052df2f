import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import type { Node, NodeMessage, NodeStatus } from "node-red";
import timescaleConfigNode from "../../nodes/ev-timescale-config";
import timescaleWriteNode from "../../nodes/ev-timescale-write";
import { startOutageProxy, startPostgres, timescaleAvailable, type OutageProxy, type PostgresEngine } from "../harness/engines";

// EV_NODE_RED=node-red-5 runs the same tests on Node-RED 5 (Node 22+).
helper.init(require.resolve(process.env.EV_NODE_RED ?? "node-red"));

type Spied = Node & {
  status: { lastCall?: { args: [NodeStatus] } };
  warn: { args: Array<[string]> };
  receive(msg: object): void;
};

interface Opts {
  table?: string;
  create?: string;
  timeColumn?: string;
  batchSize?: number;
  flushInterval?: number;
  maxBuffered?: number;
  port?: number;
  password?: string;
  method?: string;
}

let pg: PostgresEngine;

async function load(o: Opts = {}): Promise<{ w: Spied; caught: Array<NodeMessage & { error?: { message?: string } }> }> {
  const flow = [
    { id: "f1", type: "tab" },
    {
      id: "db",
      type: "ev-timescale-config",
      host: "127.0.0.1",
      port: o.port ?? pg.port,
      database: pg.database,
      schema: pg.schema ?? "",
      user: pg.user,
      ssl: "disable",
      poolSize: Math.min(pg.maxConnections, 2),
      timeout: 2,
    },
    {
      id: "w1",
      z: "f1",
      x: 100,
      y: 100,
      type: "ev-timescale-write",
      timescale: "db",
      table: o.table ?? "",
      create: o.create ?? "infer",
      timeColumn: o.timeColumn ?? "time",
      batchSize: o.batchSize ?? 100,
      flushInterval: o.flushInterval ?? 30,
      maxBuffered: o.maxBuffered ?? 10_000,
      ...(o.method ? { method: o.method } : {}),
    },
    { id: "catcher", z: "f1", x: 100, y: 100, type: "catch", scope: null, wires: [["sink"]] },
    { id: "sink", z: "f1", x: 100, y: 100, type: "helper" },
  ];
  await helper.load([timescaleConfigNode, timescaleWriteNode], flow as never, { db: { password: o.password ?? pg.password } });
  const caught: Array<NodeMessage & { error?: { message?: string } }> = [];
  helper.getNode("sink").on("input", (msg: NodeMessage) => caught.push(msg));
  return { w: helper.getNode("w1") as unknown as Spied, caught };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function count(table: string): Promise<number> {
  try {
    const rows = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    return rows[0].n;
  } catch {
    return -1;
  }
}

const lastText = (w: Spied): string => String(w.status.lastCall?.args[0].text ?? "");

describe(`ev-timescale-write (${process.env.TEST_PG_URL ? "PostgreSQL from TEST_PG_URL" : "PGlite"})`, () => {
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg.close();
  });
  afterEach(async () => {
    await helper.unload();
  });

  it("creates a table from the first rows and stores every type as sent", async () => {
    const { w } = await load({ table: "readings" });
    w.receive({
      payload: [
        { site: "Ionity Vik (Hönefoss)", available: 3, ratio: 0.75, open: true, meta: { plugs: ["CCS", "CHAdeMO"] }, time: "2026-01-01T10:00:00Z" },
        { site: "O'Brien's; DROP TABLE readings; --", available: 0, ratio: 0.5, open: false, meta: null, time: "2026-01-01T10:01:00Z" },
      ],
    });
    await until(async () => (await count("readings")) === 2, 5000, "two rows");
    const rows = await pg.query("SELECT site, available::int AS available, ratio, open, meta, time FROM readings ORDER BY time");
    assert.deepEqual(rows, [
      { site: "Ionity Vik (Hönefoss)", available: 3, ratio: 0.75, open: true, meta: { plugs: ["CCS", "CHAdeMO"] }, time: new Date("2026-01-01T10:00:00Z") },
      { site: "O'Brien's; DROP TABLE readings; --", available: 0, ratio: 0.5, open: false, meta: null, time: new Date("2026-01-01T10:01:00Z") },
    ]);
    const types = await pg.query<{ column_name: string; data_type: string }>(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'readings' ORDER BY ordinal_position",
    );
    assert.deepEqual(types.map((t) => `${t.column_name}:${t.data_type}`), [
      "time:timestamp with time zone",
      "site:text",
      "available:bigint",
      "ratio:double precision",
      "open:boolean",
      "meta:jsonb",
    ]);
    await until(() => lastText(w) === "✓2 · plain PostgreSQL", 2000, "status with the no-hypertable note");
  });

  it("turns a new table into a hypertable when create_hypertable exists", async () => {
    if (await timescaleAvailable()) {
      // The real extension, in a database of its own (this suite's database stays plain PostgreSQL).
      const tsdb = await startPostgres({ timescale: true });
      const plain = pg;
      pg = tsdb;
      try {
        const { w } = await load({ table: "hyper" });
        w.receive({ payload: { v: 1 } });
        await until(async () => (await count("hyper")) === 1, 5000, "one row");
        const found = await pg.query("SELECT hypertable_name, column_name FROM timescaledb_information.dimensions WHERE hypertable_name = 'hyper'");
        assert.deepEqual(found, [{ hypertable_name: "hyper", column_name: "time" }]);
        await until(() => lastText(w) === "✓1", 2000, "status without note");
      } finally {
        await helper.unload();
        pg = plain;
        await tsdb.close();
      }
      return;
    }
    // No TimescaleDB here (PGlite): a stand-in with TimescaleDB's signature records the call.
    await pg.query(`CREATE TABLE hypertable_calls (rel text, col text)`);
    await pg.query(`CREATE FUNCTION create_hypertable(relation regclass, time_column_name name, if_not_exists boolean DEFAULT false, migrate_data boolean DEFAULT false)
      RETURNS void LANGUAGE sql AS $$ INSERT INTO hypertable_calls VALUES (relation::text, time_column_name::text) $$`);
    try {
      const { w } = await load({ table: "hyper" });
      w.receive({ payload: { v: 1 } });
      await until(async () => (await count("hyper")) === 1, 5000, "one row");
      assert.deepEqual(await pg.query("SELECT rel, col FROM hypertable_calls"), [{ rel: "hyper", col: "time" }]);
      await until(() => lastText(w) === "✓1", 2000, "status without note");
    } finally {
      await pg.query("DROP FUNCTION create_hypertable(regclass, name, boolean, boolean)");
    }
  });

  it("ev_readings preset: seed readings from MQTT and ChargerStates, enum extended", async () => {
    // The seed's enum, as an existing database would have it.
    await pg.query(`CREATE TYPE operation_state AS ENUM ('unknown','off','idle','charging','scheduled_downtime','unscheduled_downtime')`);
    const { w } = await load({ create: "ev_readings" });
    w.receive({ topic: "chargers/garage/operationState", payload: { SamplingTime: "2026-01-01T10:00:00Z", Value: "charging" } });
    w.receive({ topic: "chargers/garage/powerW", payload: { samplingTime: "2026-01-01T10:00:00Z", value: 7360 } });
    w.receive({ payload: { source: "amtron", chargerId: "garage", operationState: "fault", powerW: 0, samplingTime: "2026-01-01T10:00:10Z" } });
    await until(async () => (await count("ev_readings")) === 4, 5000, "four readings");
    const rows = await pg.query("SELECT time, charger, reading, value, value_text, state::text AS state FROM ev_readings ORDER BY time, reading");
    assert.deepEqual(rows, [
      { time: new Date("2026-01-01T10:00:00Z"), charger: "garage", reading: "operationState", value: null, value_text: null, state: "charging" },
      { time: new Date("2026-01-01T10:00:00Z"), charger: "garage", reading: "powerW", value: 7360, value_text: null, state: null },
      { time: new Date("2026-01-01T10:00:10Z"), charger: "garage", reading: "operationState", value: null, value_text: null, state: "fault" },
      { time: new Date("2026-01-01T10:00:10Z"), charger: "garage", reading: "powerW", value: 0, value_text: null, state: null },
    ]);
    const labels = await pg.query<{ l: string }>("SELECT unnest(enum_range(NULL::operation_state))::text AS l");
    assert.deepEqual(labels.map((r) => r.l).sort(), ["charging", "connected", "fault", "idle", "off", "scheduled_downtime", "suspended", "unknown", "unscheduled_downtime"]);
  });

  it("thesis preset: the three Charge Amps tables from msg.table", async () => {
    const { w } = await load({ create: "thesis" });
    const time = "2026-01-01T12:00:00.000Z";
    w.receive({ table: "charge_point_status", payload: [{ time, charge_point_id: "cp1", charge_point_name: "Garage", status: "Online" }] });
    w.receive({
      table: "connector_status",
      payload: [{ time, charge_point_id: "cp1", connector_id: 1, status: "Charging", operation_state: "charging", session_id: 42, session_energy_kwh: 3.2, charging_power_kw: 7.4, phase_type: "ThreePhase", start_time: "2026-01-01T11:00:00Z", end_time: null }],
    });
    w.receive({
      table: "measurements",
      payload: ["L1", "L2", "L3"].map((phase, i) => ({ time, charge_point_id: "cp1", connector_id: 1, phase, current_a: 10 + i, voltage_v: 230 })),
    });
    await until(async () => (await count("measurements")) === 3 && (await count("connector_status")) === 1, 5000, "thesis rows");
    assert.deepEqual(await pg.query("SELECT charge_point_id, charge_point_name, status FROM charge_point_status"), [{ charge_point_id: "cp1", charge_point_name: "Garage", status: "Online" }]);
    assert.deepEqual(await pg.query("SELECT operation_state::text AS s, session_id::int AS session_id, session_energy_kwh, start_time, end_time FROM connector_status"), [
      { s: "charging", session_id: 42, session_energy_kwh: 3.2, start_time: new Date("2026-01-01T11:00:00Z"), end_time: null },
    ]);
    assert.deepEqual(await pg.query("SELECT phase, current_a FROM measurements ORDER BY phase"), [
      { phase: "L1", current_a: 10 },
      { phase: "L2", current_a: 11 },
      { phase: "L3", current_a: 12 },
    ]);
  });

  it("refuses injection attempts in table and column names, touching nothing", async () => {
    await pg.query("CREATE TABLE victim (time timestamptz, v int)");
    const { w, caught } = await load({ table: "victim", create: "none" });
    w.receive({ table: 'victim"; DROP TABLE victim; --', payload: { v: 1 } });
    w.receive({ table: "victim; DROP TABLE victim", payload: { v: 1 } });
    w.receive({ payload: { 'v") VALUES (1); DROP TABLE victim; --': 1 } });
    w.receive({ payload: { v: 2, "time\"--": "x" } });
    await until(() => caught.length === 4, 3000, "four refusals");
    assert.match(String(caught[0].error?.message), /Table "victim\\"; DROP TABLE victim; --" is not allowed/);
    assert.match(String(caught[1].error?.message), /is not allowed/);
    assert.match(String(caught[2].error?.message), /Column .* is not allowed/);
    assert.match(String(caught[3].error?.message), /Column .* is not allowed/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await count("victim"), 0);
  });

  it("reports a row with a bad value, writes the rest and keeps going", async () => {
    await pg.query("CREATE TABLE meter (time timestamptz NOT NULL, id int, kwh double precision)");
    const { w, caught } = await load({ table: "meter", create: "none", batchSize: 10, flushInterval: 300 });
    const rows = Array.from({ length: 10 }, (_, i) => ({ id: i, kwh: i === 6 ? "lots" : i * 1.5 }));
    w.receive({ payload: rows, topic: "batch-1" });
    w.receive({ payload: { id: 10, kwh: 1, extra: "x" }, topic: "extra-column" });
    w.receive({ payload: { id: 11, kwh: 2 } });
    await until(async () => (await count("meter")) === 10 && caught.length === 2, 8000, "rows and two rejections");
    assert.deepEqual((await pg.query<{ id: number }>("SELECT id FROM meter ORDER BY id")).map((r) => r.id), [0, 1, 2, 3, 4, 5, 7, 8, 9, 11]);
    assert.match(String(caught[0].error?.message), /PostgreSQL refused a value: invalid input syntax for type double precision: "lots"/);
    assert.match(String(caught[0].error?.message), /"id":6/);
    assert.equal(caught[0].topic, "batch-1");
    assert.match(String(caught[1].error?.message), /Table missing a column: column "extra" of relation "meter" does not exist/);
    await until(() => /rej 2/.test(lastText(w)), 2000, "rej 2 in status");
  });

  it("writes a batch with one COPY (INSERT on PGlite); a bad value and a duplicate are split out, the rest written", async () => {
    await pg.query("CREATE TABLE copied (time timestamptz NOT NULL, id int PRIMARY KEY, note text)");
    await pg.query("CREATE TABLE copied_log (n serial, q text)");
    await pg.query(`CREATE FUNCTION copied_log() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO copied_log (q) VALUES (current_query()); RETURN NULL; END $$`);
    await pg.query("CREATE TRIGGER copied_log AFTER INSERT ON copied FOR EACH STATEMENT EXECUTE FUNCTION copied_log()");
    const { w, caught } = await load({ table: "copied", create: "none", batchSize: 20, flushInterval: 300 });
    const time = "2026-01-01T00:00:00Z";
    w.receive({ payload: Array.from({ length: 10 }, (_, i) => ({ time, id: i, note: `a\tb\n${i}` })), topic: "first" });
    await until(async () => (await count("copied")) === 10, 5000, "the first ten rows");
    const rows = Array.from({ length: 20 }, (_, i) => ({ time: i === 13 ? "not a time" : time, id: i === 4 ? 2 : 10 + i, note: i === 7 ? "\\N" : null }));
    w.receive({ payload: rows, topic: "second" });
    await until(async () => (await count("copied")) === 28 && caught.length === 2, 8000, "28 rows and two rejections");
    assert.match(String(caught[0].error?.message), /PostgreSQL refused the row \(constraint\): duplicate key value violates unique constraint/);
    assert.match(String(caught[0].error?.message), /"id":2/);
    assert.match(String(caught[1].error?.message), /PostgreSQL refused a value: invalid input syntax for type timestamp with time zone: "not a time"/);
    assert.deepEqual(caught.map((m) => m.topic), ["second", "second"]);
    const stored = await pg.query<{ id: number; note: string | null }>("SELECT id, note FROM copied ORDER BY id");
    assert.deepEqual(stored.map((r) => r.id), [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 10 + i).filter((id) => id !== 14 && id !== 23)]);
    assert.equal(stored.find((r) => r.id === 3)?.note, "a\tb\n3");
    assert.equal(stored.find((r) => r.id === 17)?.note, "\\N");
    assert.equal(stored.find((r) => r.id === 18)?.note, null);
    const sent = (await pg.query<{ q: string }>("SELECT q FROM copied_log ORDER BY n")).map((r) => r.q);
    // The first batch in one statement; the second split until the two bad rows stood alone.
    assert.ok(sent.length >= 3, sent.join("\n"));
    const want = pg.kind === "pglite" ? /^INSERT INTO "copied" \("id", "note", "time"\) SELECT \* FROM unnest\(/ : /^COPY "copied" \("id", "note", "time"\) FROM STDIN$/;
    for (const q of sent) assert.match(q, want);
    await until(() => /✓28 · rej 2/.test(lastText(w)), 2000, "✓28 · rej 2 in status");
  });

  it("method insert: batches go in with INSERT, also on PostgreSQL", async () => {
    await pg.query("CREATE TABLE inserted (time timestamptz NOT NULL, id int)");
    await pg.query("CREATE TABLE inserted_log (q text)");
    await pg.query(`CREATE FUNCTION inserted_log() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO inserted_log (q) VALUES (current_query()); RETURN NULL; END $$`);
    await pg.query("CREATE TRIGGER inserted_log AFTER INSERT ON inserted FOR EACH STATEMENT EXECUTE FUNCTION inserted_log()");
    const { w } = await load({ table: "inserted", create: "none", method: "insert" });
    w.receive({ payload: [{ id: 1 }, { id: 2 }] });
    await until(async () => (await count("inserted")) === 2, 5000, "two rows");
    const sent = (await pg.query<{ q: string }>("SELECT q FROM inserted_log")).map((r) => r.q);
    assert.equal(sent.length, 1);
    assert.match(sent[0], /^INSERT INTO "inserted" \("id", "time"\) SELECT \* FROM unnest\(/);
  });

  describe("outages", () => {
    let proxy: OutageProxy;
    before(async () => {
      proxy = await startOutageProxy(pg.url);
    });
    after(async () => {
      await proxy.close();
    });

    it("loses nothing and duplicates nothing when the database goes away mid-stream", async () => {
      await pg.query("CREATE TABLE stream (time timestamptz NOT NULL, n int PRIMARY KEY)");
      const { w } = await load({ table: "stream", create: "none", batchSize: 10, flushInterval: 20, port: proxy.port });
      for (let n = 0; n < 30; n++) w.receive({ payload: { n } });
      // Wait for the writer's acknowledgement, not just the rows: a cut between COMMIT and
      // its answer makes the writer retry that batch (see the help on duplicates).
      await until(async () => (await count("stream")) === 30 && lastText(w) === "✓30", 5000, "first 30 rows acknowledged");
      await proxy.down();
      for (let n = 30; n < 60; n++) w.receive({ payload: { n } });
      await until(() => lastText(w).startsWith("buf"), 8000, "error status while down");
      assert.ok(w.warn.args.some(([m]) => /PostgreSQL/.test(m) && /retrying/.test(m)), "a plain warning while down");
      await proxy.up();
      await until(async () => (await count("stream")) === 60, 20_000, "all 60 rows after the outage");
      const ns = (await pg.query<{ n: number }>("SELECT n FROM stream ORDER BY n")).map((r) => r.n);
      assert.deepEqual(ns, Array.from({ length: 60 }, (_, i) => i));
    });

    it("shows an unreachable server at deploy, and clears that once the server is back, with no row sent", async () => {
      await proxy.down();
      try {
        const { w } = await load({ table: "nothing_yet", create: "none", port: proxy.port });
        await until(() => /PostgreSQL/.test(lastText(w)) && w.status.lastCall?.args[0].fill === "red", 5000, "red status at deploy");
        await proxy.up();
        // The login is tried again after about 5 s.
        await until(() => lastText(w) === "✓0", 10_000, "the status back to normal").catch((e: Error) => {
          throw new Error(`${e.message}; status: ${lastText(w)}`);
        });
      } finally {
        await proxy.up();
      }
    });

    it("keeps at most the configured number of rows while down and counts the rest as dropped", async () => {
      await pg.query("CREATE TABLE bounded (time timestamptz NOT NULL, n int)");
      const { w } = await load({ table: "bounded", create: "none", batchSize: 5, maxBuffered: 10, flushInterval: 20, port: proxy.port });
      w.receive({ payload: { n: -1 } });
      await until(async () => (await count("bounded")) === 1 && lastText(w) === "✓1", 5000, "the first row acknowledged");
      await proxy.down();
      for (let n = 0; n < 25; n++) w.receive({ payload: { n } });
      await until(() => /drop 15/.test(lastText(w)), 8000, "drop 15 in status").catch((e: Error) => {
        throw new Error(`${e.message}; status: ${lastText(w)}`);
      });
      await proxy.up();
      await until(async () => (await count("bounded")) === 11, 20_000, "the 10 kept rows");
      const ns = (await pg.query<{ n: number }>("SELECT n FROM bounded ORDER BY n")).map((r) => r.n);
      // 10 kept of 25: the batch already being written when the link died, then the newest; order kept.
      assert.equal(ns.length, 11);
      assert.equal(ns[0], -1);
      assert.deepEqual(ns.slice(-5), [20, 21, 22, 23, 24]);
      assert.deepEqual([...ns].sort((a, b) => a - b), ns);
      await new Promise((r) => setTimeout(r, 600));
      assert.match(lastText(w), /✓11 · drop 15/);
    });
  });

  it("flushes buffered rows on redeploy, and the old instance writes nothing after", async () => {
    await pg.query("CREATE TABLE flushed (time timestamptz NOT NULL, n int)");
    const { w } = await load({ table: "flushed", create: "none", batchSize: 1000, flushInterval: 600_000 });
    for (let n = 0; n < 7; n++) w.receive({ payload: { n } });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await count("flushed"), 0);
    await helper.setFlows([{ id: "f1", type: "tab" }] as never, "full");
    assert.equal(await count("flushed"), 7);
    w.receive({ payload: { n: 99 } });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await count("flushed"), 7);
  });

  it("says plainly when the password is wrong", async (t) => {
    if (pg.kind === "pglite") return t.skip("PGlite accepts any password");
    const { w } = await load({ table: "nope", password: "wrong-password" });
    w.receive({ payload: { v: 1 } });
    await until(() => w.warn.args.some(([m]) => /refused the login/.test(m)), 5000, "login warning");
    assert.ok(!w.warn.args.some(([m]) => m.includes("wrong-password")));
  });

  it("shows a wrong password in the status at deploy, before any row is sent", async (t) => {
    if (pg.kind === "pglite") return t.skip("PGlite accepts any password");
    const { w } = await load({ table: "nope", password: "wrong-password" });
    await until(() => /refused the login/.test(lastText(w)), 5000, "login problem in the status");
    assert.equal(w.status.lastCall?.args[0].fill, "red");
    assert.ok(!lastText(w).includes("wrong-password"));
  });
});
