/**
 * The OCPP layout's daily figures and retention, on every PostgreSQL variant
 * (TimescaleDB: continuous aggregates and policies run for real; plain
 * PostgreSQL and PGlite: views and the scheduled delete). Days are counted in
 * Europe/Oslo; readings sit at known local hours relative to today.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import type { NodeMessage } from "node-red";
import type { EventEmitter } from "node:events";
import timescaleConfigNode from "../../nodes/ev-timescale-config";
import timescaleWriteNode from "../../nodes/ev-timescale-write";
import { postgresVariants, startPostgres, type PostgresEngine } from "../harness/engines";

helper.init(require.resolve(process.env.EV_NODE_RED ?? "node-red"));

const zone = "Europe/Oslo";

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** TimescaleDB's scheduler may be refreshing the same aggregate at that moment: try again. */
async function retryWhileBusy<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!/concurrent refresh/i.test(String((err as { detail?: string }).detail ?? "") + String((err as Error).message)) || attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function refreshAll(pg: PostgresEngine): Promise<void> {
  for (const view of ["ocpp_daily_energy", "ocpp_daily_faults"]) {
    await retryWhileBusy(() => pg.query(`CALL refresh_continuous_aggregate('${view}', NULL, now() - INTERVAL '1 hour')`));
  }
}

function flow(pg: PostgresEngine, retentionDays: number) {
  return [
    { id: "tab", type: "tab" },
    { id: "db", type: "ev-timescale-config", host: "127.0.0.1", port: pg.port, database: pg.database, schema: pg.schema ?? "", user: pg.user, ssl: "disable", poolSize: Math.min(pg.maxConnections, 2), timeout: 5 },
    { id: "w", type: "ev-timescale-write", z: "tab", timescale: "db", create: "ocpp", timeZone: zone, retentionDays, batchSize: 100, flushInterval: 20, maxBuffered: 1000 },
    { id: "catcher", type: "catch", z: "tab", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "tab" },
  ];
}

const meter = (time: string, wh: number) => ({
  kind: "meter",
  identity: "CP-A",
  time,
  connectorId: 1,
  samples: [{ connectorId: 1, timestamp: time, measurand: "Energy.Active.Import.Register", location: "Outlet", context: "Sample.Periodic", format: "Raw", unit: "Wh", value: wh, rawValue: String(wh) }],
});
const faulted = (time: string) => ({ kind: "status", identity: "CP-A", time, connectorId: 1, status: "Faulted", errorCode: "OtherError", timestamp: time });

for (const variant of postgresVariants()) {
  describe(`OCPP daily figures and retention (${variant.name})`, () => {
    let pg: PostgresEngine;
    before(async () => {
      pg = await startPostgres(variant.options);
    });
    after(async () => {
      await pg.close();
    });
    afterEach(async () => {
      await helper.unload();
    });

    it("counts energy and faults per local day, removes only meter values older than N days and keeps their daily energy", async () => {
      // Written first without retention, as if these readings had come in on their days; then deployed with 7 days.
      await helper.load([timescaleConfigNode, timescaleWriteNode], flow(pg, 0) as never, { db: { password: pg.password } });
      const caught: NodeMessage[] = [];
      (helper.getNode("caught") as unknown as EventEmitter).on("input", (msg: NodeMessage) => caught.push(msg));
      // Local midnights from the database itself, so the test and the SQL agree on the zone.
      const [days] = await pg.query<{ d10: Date; d1: Date; d0: Date }>(
        `SELECT date_trunc('day', now() - INTERVAL '10 days', $1) AS d10, date_trunc('day', now() - INTERVAL '1 day', $1) AS d1, date_trunc('day', now(), $1) AS d0`,
        [zone],
      );
      const plus = (d: Date, hours: number): string => new Date(d.getTime() + hours * 3_600_000).toISOString();
      const ago = (days: number): string => new Date(Date.now() - days * 86_400_000).toISOString();
      const w = helper.getNode("w") as unknown as { receive(msg: object): void };
      await until(async () => (await pg.query("SELECT 1 FROM pg_class WHERE relname = 'ocpp_daily_energy'")).length === 1, 10_000, "tables made at deploy");
      for (const [time, wh] of [
        [plus(days.d10, 6), 1000],
        [plus(days.d10, 18), 3000],
        [ago(9), 3100],
        [ago(6), 4000],
        [plus(days.d1, 1), 5000],
        [plus(days.d1, 23), 5600],
      ] as const) {
        w.receive({ payload: meter(time, wh) });
      }
      // Faults on both sides of a local midnight, two days ago: two on the first day, one on the next.
      const [{ d2, d3 }] = await pg.query<{ d2: Date; d3: Date }>(
        `SELECT date_trunc('day', now() - INTERVAL '2 days', $1) AS d2, date_trunc('day', date_trunc('day', now() - INTERVAL '2 days', $1) - INTERVAL '1 hour', $1) AS d3`,
        [zone],
      );
      for (const time of [plus(d2, -1), plus(d2, -0.5), plus(d2, 0.25)]) w.receive({ payload: faulted(time) });
      await until(async () => (await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM ocpp_meter_values"))[0].n === 6, 10_000, "six meter values");
      await until(async () => (await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM ocpp_status"))[0].n === 3, 10_000, "three statuses");

      if (pg.timescale) {
        // The hourly refreshes that would have run while these days were young (the policy, already
        // started by TimescaleDB's scheduler, reaches back 6 days only).
        await refreshAll(pg);
      }
      const energy = async () =>
        pg.query<{ day: Date; energy_wh: number }>("SELECT day, energy_wh FROM ocpp_daily_energy WHERE charger = 'CP-A' AND connector_id = 1 AND (day = $1 OR day = $2) ORDER BY day", [
          days.d10,
          days.d1,
        ]);
      assert.deepEqual(await energy(), [
        { day: days.d10, energy_wh: 2000 },
        { day: days.d1, energy_wh: 600 },
      ]);
      const faults = await pg.query<{ day: Date; faults: number }>("SELECT day, faults::int AS faults FROM ocpp_daily_faults WHERE charger = 'CP-A' ORDER BY day");
      assert.deepEqual(faults, [
        { day: d3, faults: 2 },
        { day: d2, faults: 1 },
      ]);

      // Retention: deployed again with 7 days. On plain PostgreSQL the delete runs at deploy (and hourly).
      await helper.unload();
      await helper.load([timescaleConfigNode, timescaleWriteNode], flow(pg, 7) as never, { db: { password: pg.password } });
      (helper.getNode("caught") as unknown as EventEmitter).on("input", (msg: NodeMessage) => caught.push(msg));
      if (pg.timescale) {
        const retentionJob = async () =>
          pg.query<{ job_id: number; hypertable_name: string; config: Record<string, unknown> }>(
            "SELECT job_id, hypertable_name, config FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'",
          );
        await until(async () => (await retentionJob()).length === 1, 10_000, "the retention policy");
        const [retention] = await retentionJob();
        assert.equal(retention.hypertable_name, "ocpp_meter_values");
        assert.equal(retention.config.drop_after, "7 days");
        const refreshes = await pg.query<{ job_id: number; config: Record<string, unknown> }>(
          "SELECT job_id, config FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' ORDER BY config->>'start_offset'",
        );
        assert.deepEqual(refreshes.map((r) => r.config.start_offset), ["35 days", "6 days"], "the energy refresh never reaches the dropped days");
        // Run now what TimescaleDB's scheduler runs on its own.
        await pg.query(`CALL run_job(${Number(retention.job_id)})`);
        // The aggregates' own refreshes run after the drop and must not forget the dropped days.
        for (const { job_id: refresh } of refreshes) await retryWhileBusy(() => pg.query(`CALL run_job(${Number(refresh)})`));
      }
      await until(async () => (await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM ocpp_meter_values WHERE time < now() - INTERVAL '8 days'"))[0].n === 0, 10_000, "old meter values removed");
      const left = await pg.query<{ value: number }>("SELECT value FROM ocpp_meter_values ORDER BY time");
      assert.deepEqual(left.map((r) => r.value), [4000, 5000, 5600], "younger than 7 days: all kept");
      assert.deepEqual(await energy(), [
        { day: days.d10, energy_wh: 2000 },
        { day: days.d1, energy_wh: 600 },
      ], "daily energy of removed days kept");
      assert.deepEqual(caught, []);
    });

    it("refuses a retention shorter than 3 days in plain words", async () => {
      await helper.load([timescaleConfigNode, timescaleWriteNode], flow(pg, 2) as never, { db: { password: pg.password } });
      const caught: Array<NodeMessage & { error?: { message?: string } }> = [];
      (helper.getNode("caught") as unknown as EventEmitter).on("input", (msg: NodeMessage) => caught.push(msg));
      (helper.getNode("w") as unknown as { receive(msg: object): void }).receive({ payload: meter(new Date().toISOString(), 1) });
      await until(() => caught.length === 1, 5000, "the refusal");
      assert.match(String(caught[0].error?.message), /at least 3 days/);
    });
  });
}
