/**
 * The example "Databases / OCPP fault report, energy and uptime" on a month of
 * generated status history with known answers, on every PostgreSQL variant
 * (TimescaleDB takes the time_bucket query, plain PostgreSQL and PGlite the
 * date_trunc one). Days are counted in Europe/Oslo, as the example sets.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { EventEmitter } from "node:events";
import helper from "node-red-node-test-helper";
import type { NodeMessage } from "node-red";
import timescaleConfigNode from "../../nodes/ev-timescale-config";
import timescaleQueryNode from "../../nodes/ev-timescale-query";
import { ocppHypertableSql, ocppTableSql } from "../../nodes/lib/timescale/ocpp";
import { plainAggregateSql, timescaleAggregateSql } from "../../nodes/lib/timescale/ocpp-aggregates";
import { postgresVariants, startPostgres, type PostgresEngine } from "../harness/engines";

helper.init(require.resolve(process.env.EV_NODE_RED ?? "node-red"));
const coreNodes = path.dirname(require.resolve("@node-red/nodes/package.json"));
const core = (file: string): unknown => require(path.join(coreNodes, file)); // eslint-disable-line @typescript-eslint/no-require-imports
const coreNodeSets = ["core/common/20-inject.js", "core/common/90-comment.js", "core/common/25-catch.js", "core/function/15-change.js", "core/function/10-switch.js", "core/function/80-template.js"].map(core);

const flowFile = path.join(__dirname, "../../flows/Databases/OCPP fault report, energy and uptime.json");

/** Oslo wall-clock time in October/November 2026 (UTC+2 until 25 October 03:00, then UTC+1) as an instant. */
function oslo(date: string, time: string): string {
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi] = time.split(":").map(Number);
  const summer = Date.UTC(y, mo - 1, d, h, mi) < Date.UTC(2026, 9, 25, 3, 0);
  return new Date(Date.UTC(y, mo - 1, d, h - (summer ? 2 : 1), mi)).toISOString();
}

interface StatusRow {
  time: string;
  charger: string;
  status: string;
}

/**
 * October 2026, with the report run on 1 November 07:00 Oslo time:
 *  - CP-4: 4 faults on 10 Oct: below N = 5, not reported;
 *  - CP-5: exactly 5 on 12 Oct: one bad day;
 *  - CP-6: 6 on 20 Oct and 5 on 27 Oct (after the DST change): two bad days, worst 6;
 *  - CP-MIDNIGHT: 3 before and 3 after local midnight 14/15 Oct: 6 in one UTC day, 3 + 3 in Oslo: not reported;
 *  - CP-EDGE: 5 on 30 Sep 23:xx local and 5 on 1 Nov 00:xx local (31 Oct in UTC): outside the local month;
 *  - every station: a status every 6 hours all month and a stray fault on 2, 9, 16, 23 and 30 Oct.
 */
function generatedMonth(): StatusRow[] {
  const rows: StatusRow[] = [];
  const stations = ["CP-4", "CP-5", "CP-6", "CP-MIDNIGHT", "CP-EDGE", "CP-QUIET"];
  for (let day = 1; day <= 31; day++) {
    const date = `2026-10-${String(day).padStart(2, "0")}`;
    for (const charger of stations) {
      for (const hour of ["03:00", "09:00", "15:00", "21:00"]) rows.push({ time: oslo(date, hour), charger, status: hour === "09:00" ? "Charging" : "Available" });
      if (day % 7 === 2) rows.push({ time: oslo(date, "12:34"), charger, status: "Faulted" });
    }
  }
  const faults = (charger: string, date: string, times: string[]): void => {
    for (const t of times) rows.push({ time: oslo(date, t), charger, status: "Faulted" });
  };
  faults("CP-4", "2026-10-10", ["10:00", "10:05", "10:10", "10:20"]);
  faults("CP-5", "2026-10-11", ["23:59"]); // the day before, so 12 Oct holds exactly 5
  faults("CP-5", "2026-10-12", ["00:00", "01:00", "02:00", "13:00", "23:58"]);
  faults("CP-6", "2026-10-20", ["08:00", "08:01", "08:02", "08:03", "08:04", "08:05"]);
  faults("CP-6", "2026-10-27", ["00:30", "06:00", "12:00", "18:00", "23:30"]);
  faults("CP-MIDNIGHT", "2026-10-14", ["23:00", "23:20", "23:50"]);
  faults("CP-MIDNIGHT", "2026-10-15", ["00:10", "00:30", "00:50"]);
  faults("CP-EDGE", "2026-09-30", ["23:01", "23:02", "23:03", "23:04", "23:05"]);
  faults("CP-EDGE", "2026-11-01", ["00:01", "00:02", "00:03", "00:04", "00:05"]);
  return rows.filter((r) => r.time);
}

function flow(pg: PostgresEngine): Array<Record<string, unknown>> {
  const nodes = JSON.parse(fs.readFileSync(flowFile, "utf8")) as Array<Record<string, unknown>>;
  assert.equal(nodes[0].type, "comment");
  for (const node of nodes) {
    if (node.type === "ev-timescale-config") Object.assign(node, { host: "127.0.0.1", port: pg.port, database: pg.database, schema: pg.schema ?? "", user: pg.user, poolSize: 1 });
    if ("z" in node) node.z = "f1";
    // Debug nodes need the editor's comms; a helper node stands in.
    if (node.type === "debug") node.type = "helper";
    // See which query the switch chose.
    if (node.type === "switch") node.wires = (node.wires as string[][]).map((port, i) => [...port, i === 0 ? "took-time-bucket" : "took-date-trunc"]);
  }
  return [{ id: "f1", type: "tab" }, ...nodes, { id: "took-time-bucket", z: "f1", type: "helper" }, { id: "took-date-trunc", z: "f1", type: "helper" }];
}

function collect(id: string): NodeMessage[] {
  const got: NodeMessage[] = [];
  (helper.getNode(id) as unknown as EventEmitter).on("input", (msg: NodeMessage) => got.push(msg));
  return got;
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const variant of postgresVariants()) {
  describe(`example flow: Databases / OCPP fault report, energy and uptime (${variant.name})`, () => {
    let pg: PostgresEngine;
    before(async () => {
      pg = await startPostgres(variant.options);
      for (const statement of ocppTableSql()) await pg.query(statement);
      if (pg.timescale) for (const statement of ocppHypertableSql()) await pg.query(statement);
      const settings = { timeZone: "Europe/Oslo", retentionDays: 0 };
      for (const statement of pg.timescale ? timescaleAggregateSql(settings, ["ocpp_daily_energy", "ocpp_daily_faults"]) : plainAggregateSql(settings)) await pg.query(statement);
      const rows = generatedMonth();
      // Uptime: CP-UP was Faulted for 1.5 of the last 30 days.
      const ago = (days: number): string => new Date(Date.now() - days * 86_400_000).toISOString();
      rows.push({ time: ago(40), charger: "CP-UP", status: "Available" }, { time: ago(3), charger: "CP-UP", status: "Faulted" }, { time: ago(1.5), charger: "CP-UP", status: "Available" });
      await pg.query(
        `INSERT INTO ocpp_status (time, charger, connector_id, status, error_code, received_at)
         SELECT t, c, 1, s, CASE WHEN s = 'Faulted' THEN 'OtherError' ELSE 'NoError' END, t FROM unnest($1::timestamptz[], $2::text[], $3::text[]) AS u(t, c, s)`,
        [rows.map((r) => r.time), rows.map((r) => r.charger), rows.map((r) => r.status)],
      );
      await pg.query("INSERT INTO ocpp_status_latest (charger, connector_id, status, error_code, time, received_at) VALUES ('CP-UP', 1, 'Available', 'NoError', $1, $1)", [ago(1.5)]);
      // Energy: CP-E charged 12.5 kWh yesterday (Oslo time).
      const [{ d1 }] = await pg.query<{ d1: Date }>("SELECT date_trunc('day', now() - INTERVAL '1 day', 'Europe/Oslo') AS d1");
      for (const [hours, wh] of [[6, 10_000], [18, 22_500]]) {
        await pg.query(
          "INSERT INTO ocpp_meter_values (time, charger, connector_id, measurand, location, context, unit, value) VALUES ($1, 'CP-E', 1, 'Energy.Active.Import.Register', 'Outlet', 'Sample.Periodic', 'Wh', $2)",
          [new Date(d1.getTime() + hours * 3_600_000), wh],
        );
      }
      // Yesterday's readings are older than the aggregate's real-time part: the hourly refresh would have taken them in.
      if (pg.timescale) {
        for (let attempt = 0; ; attempt++) {
          try {
            await pg.query("CALL refresh_continuous_aggregate('ocpp_daily_energy', NULL, now() - INTERVAL '1 hour')");
            break;
          } catch (err) {
            if (!/concurrent refresh/i.test(`${(err as { detail?: string }).detail} ${(err as Error).message}`) || attempt > 50) throw err;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }
    });
    after(async () => {
      await pg.close();
    });
    afterEach(async () => {
      await helper.unload();
    });

    it("ranks the stations with >= 5 faults on one Oslo day of last month, as a table and an e-mail", async () => {
      const nodes = flow(pg);
      const config = nodes.find((n) => n.type === "ev-timescale-config")!.id as string;
      await helper.load([...coreNodeSets, timescaleConfigNode, timescaleQueryNode] as never, nodes as never, { [config]: { password: pg.password } });
      const table = collect("fr0debugtable001");
      const email = collect("fr0debugemail001");
      const errors = collect("fr0debugerror001");
      const bucket = collect("took-time-bucket");
      const trunc = collect("took-date-trunc");
      // As the 1st-of-the-month inject would, on 1 November 2026 at 07:00 Oslo time.
      helper.getNode("fr0hastsdb000001").receive({ reportAt: "2026-11-01T06:00:00.000Z" } as never);
      await until(() => email.length === 1 || errors.length > 0, 10_000, "the report");
      assert.deepEqual(errors.map((e) => (e as { error?: { message?: string } }).error?.message), []);
      assert.equal(bucket.length, pg.timescale ? 1 : 0, "time_bucket on TimescaleDB");
      assert.equal(trunc.length, pg.timescale ? 0 : 1, "date_trunc on plain PostgreSQL");

      assert.equal(table[0].topic, "Charger fault report 2026-10");
      assert.deepEqual(table[0].payload, [
        { charger: "CP-6", bad_days: 2, worst_day_faults: 6, worst_day: "2026-10-20", faults_on_bad_days: 11 },
        { charger: "CP-5", bad_days: 1, worst_day_faults: 5, worst_day: "2026-10-12", faults_on_bad_days: 5 },
      ]);
      const mail = email[0] as NodeMessage & { to?: string };
      assert.equal(mail.topic, "Charger fault report 2026-10");
      assert.equal(mail.to, "operations@example.com");
      assert.match(String(mail.payload), /charger faults in 2026-10: stations with at least 5 Faulted statuses on one day/);
      assert.match(String(mail.payload), /- CP-6: 2 day\(s\) with 5\+ faults; worst 2026-10-20 with 6 faults\n- CP-5: 1 day\(s\) with 5\+ faults; worst 2026-10-12 with 5 faults/);
      assert.doesNotMatch(String(mail.payload), /CP-4|CP-MIDNIGHT|CP-EDGE|No station/);
    });

    it("says so when no station reached N faults on one day (a month without data)", async () => {
      const nodes = flow(pg);
      const config = nodes.find((n) => n.type === "ev-timescale-config")!.id as string;
      await helper.load([...coreNodeSets, timescaleConfigNode, timescaleQueryNode] as never, nodes as never, { [config]: { password: pg.password } });
      const email = collect("fr0debugemail001");
      helper.getNode("fr0hastsdb000001").receive({ reportAt: "2026-08-01T06:00:00.000Z" } as never);
      await until(() => email.length === 1, 10_000, "the report");
      assert.equal(email[0].topic, "Charger fault report 2026-07");
      assert.match(String(email[0].payload), /No station faulted 5 or more times on one day/);
    });

    it("energy per charger per day and uptime per charger", async () => {
      const nodes = flow(pg);
      const config = nodes.find((n) => n.type === "ev-timescale-config")!.id as string;
      await helper.load([...coreNodeSets, timescaleConfigNode, timescaleQueryNode] as never, nodes as never, { [config]: { password: pg.password } });
      const energy = collect("fr0debugenergy01");
      const uptime = collect("fr0debuguptime01");
      helper.getNode("fr0injectenergy1").receive({ params: ["Europe/Oslo"] } as never);
      helper.getNode("fr0injectuptime1").receive({} as never);
      await until(() => energy.length === 1 && uptime.length === 1, 10_000, "both answers");
      const [{ day }] = await pg.query<{ day: string }>("SELECT to_char(now() AT TIME ZONE 'Europe/Oslo' - INTERVAL '1 day', 'YYYY-MM-DD') AS day");
      assert.deepEqual(energy[0].payload, [{ day, charger: "CP-E", kwh: 12.5 }]);
      const rows = uptime[0].payload as Array<{ charger: string; uptime_percent: number }>;
      assert.deepEqual(rows.find((r) => r.charger === "CP-UP"), { charger: "CP-UP", uptime_percent: 95 });
    });
  });
}

describe("example flow: Dashboard 2.0 / Chargers: its queries", () => {
  let pg: PostgresEngine;
  before(async () => {
    pg = await startPostgres();
    for (const statement of ocppTableSql()) await pg.query(statement);
    const ago = (days: number): string => new Date(Date.now() - days * 86_400_000).toISOString();
    const statuses = [[ago(40), "Available"], [ago(3), "Faulted"], [ago(1.5), "Available"]];
    for (const [time, status] of statuses) await pg.query("INSERT INTO ocpp_status (time, charger, connector_id, status, error_code, received_at) VALUES ($1, 'CP-UP', 1, $2, 'NoError', $1)", [time, status]);
    await pg.query("INSERT INTO ocpp_status_latest (charger, connector_id, status, error_code, time, received_at) VALUES ('CP-UP', 1, 'Available', 'NoError', $1, $1)", [ago(1.5)]);
    await pg.query("INSERT INTO ocpp_meter_values (time, charger, connector_id, measurand, unit, value) VALUES ($1, 'CP-UP', 1, 'Power.Active.Import', 'W', 7400)", [ago(0.01)]);
    await pg.query("INSERT INTO ocpp_sessions (charger, transaction_id, connector_id, id_tag, start_time, energy_wh, updated_at) VALUES ('CP-UP', 9, 1, 'TAG', $1, 1234, $1)", [new Date().toISOString()]);
  });
  after(async () => {
    await pg.close();
  });

  it("live status, power, today's sessions and the weekday x hour profile come out as the widgets map them", async () => {
    const file = path.join(__dirname, "../../flows/Dashboard 2.0/Chargers - live status, sessions and availability.json");
    const nodes = JSON.parse(fs.readFileSync(file, "utf8")) as Array<Record<string, unknown>>;
    const sql = (name: string): string => String(nodes.find((n) => n.type === "ev-timescale-query" && n.name === name)?.sql);
    const params = (text: string): unknown[] => (text.includes("$1") ? ["Europe/Oslo"] : []);
    const run = (name: string) => pg.query<Record<string, unknown>>(sql(name), params(sql(name)));
    const live = await run("latest status per connector");
    assert.deepEqual(live.map(({ since, ...rest }) => (assert.match(String(since), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/), rest)), [{ charger: "CP-UP", connector: 1, status: "Available", error: "NoError" }]);
    const power = await run("power, last hour (kW)");
    assert.deepEqual(power.map((r) => [r.charger, r.value]), [["CP-UP", 7.4]]);
    assert.ok(power[0].time instanceof Date);
    const sessions = await run("today's sessions");
    assert.deepEqual(sessions.map((r) => [r.charger, r.card, r.stopped, r.kwh]), [["CP-UP", "TAG", "charging", 1.23]]);
    const profile = await run("availability by weekday and hour");
    assert.equal(profile.length, 7 * 24, "every weekday and hour");
    assert.deepEqual(Object.keys(profile[0]), ["weekday", "hour", "available_percent"]);
    assert.ok(profile.every((r) => Number(r.available_percent) >= 0 && Number(r.available_percent) <= 100));
    assert.ok(profile.some((r) => Number(r.available_percent) < 100), "the Faulted days show");
  });
});
