/**
 * A real charger (ocpp-rpc RPCClient) → ev-ocpp-central-system → ev-ocpp-in
 * → ev-timescale-write with the "ocpp" preset, in a real Node-RED runtime,
 * on every PostgreSQL variant the harness has (TimescaleDB and plain
 * PostgreSQL with TEST_PG_URL, PGlite without). The rows are compared value
 * by value with the events ev-ocpp-in sent, including an older status that
 * arrived after a newer one.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { EventEmitter } from "node:events";
import helper from "node-red-node-test-helper";
import type { NodeMessage } from "node-red";
import centralNode from "../../nodes/ev-ocpp-central-system";
import inNode from "../../nodes/ev-ocpp-in";
import timescaleConfigNode from "../../nodes/ev-timescale-config";
import timescaleWriteNode from "../../nodes/ev-timescale-write";
import type { CentralSystemNode } from "../../nodes/lib/ocpp/core/node-types";
import { postgresVariants, startPostgres, type PostgresEngine } from "../harness/engines";
import type { Client } from "../ocpp-cs/support/clients";
import { chargeOnce, type Event } from "./support/ocpp-charger";

helper.init(require.resolve(process.env.EV_NODE_RED ?? "node-red"));

const ts = (s: string): Date => new Date(s);
const orNull = (v: unknown): unknown => (v === undefined ? null : v);

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function flow(pg: PostgresEngine) {
  return [
    { id: "tab", type: "tab" },
    { id: "cs", type: "ev-ocpp-central-system", name: "home", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0" },
    { id: "in", type: "ev-ocpp-in", z: "tab", server: "cs", chargers: "", kinds: "", wires: [["w", "out"]] },
    { id: "out", type: "helper", z: "tab" },
    {
      id: "db",
      type: "ev-timescale-config",
      host: "127.0.0.1",
      port: pg.port,
      database: pg.database,
      schema: pg.schema ?? "",
      user: pg.user,
      ssl: "disable",
      poolSize: Math.min(pg.maxConnections, 2),
      timeout: 5,
    },
    { id: "w", type: "ev-timescale-write", z: "tab", timescale: "db", table: "", create: "ocpp", timeColumn: "time", batchSize: 100, flushInterval: 20, maxBuffered: 1000 },
    { id: "catcher", type: "catch", z: "tab", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "tab" },
  ];
}

const variants = postgresVariants();

for (const variant of variants) {
  describe(`ev-ocpp-in → ev-timescale-write, ocpp preset (${variant.name})`, () => {
    let pg: PostgresEngine;
    let userDir: string;
    const clients: Client[] = [];
    before(async () => {
      pg = await startPostgres(variant.options);
    });
    after(async () => {
      await pg.close();
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close({ force: true }).catch(() => undefined)));
      await helper.unload();
      rmSync(userDir, { recursive: true, force: true });
    });

    it("stores statuses (stale flagged, latest never overwritten by an older one), one row per session and meter values, as the events say", async () => {
      userDir = mkdtempSync(path.join(os.tmpdir(), "evkit-nr-"));
      helper.settings({ userDir });
      await helper.load([centralNode, inNode, timescaleConfigNode, timescaleWriteNode], flow(pg) as never, { db: { password: pg.password } });
      const events: Event[] = [];
      (helper.getNode("out") as unknown as EventEmitter).on("input", (msg: NodeMessage) => events.push(msg.payload as Event));
      const caught: NodeMessage[] = [];
      (helper.getNode("caught") as unknown as EventEmitter).on("input", (msg: NodeMessage) => caught.push(msg));
      const cs = helper.getNode("cs") as CentralSystemNode;
      await cs.ready;
      clients.push(await chargeOnce(`ws://127.0.0.1:${cs.central!.port}/ocpp`, events));

      const count = async (table: string): Promise<number> => {
        try {
          return (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0].n;
        } catch {
          return -1;
        }
      };
      await until(async () => (await count("ocpp_status")) === 4 && (await count("ocpp_meter_values")) === 5, 10_000, "status and meter rows");
      await until(async () => (await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM ocpp_sessions WHERE stop_time IS NOT NULL"))[0].n === 1, 5000, "ended session");
      assert.deepEqual(caught, [], "nothing reported to Catch");

      // Status history: one row per status event, value by value.
      const statusEvents = events.filter((e) => e.kind === "status");
      assert.deepEqual(statusEvents.map((e) => e.stale ?? false), [false, false, false, true], "the central system flags the late Faulted as stale");
      const history = await pg.query(
        `SELECT time, charger, connector_id, status, error_code, info, vendor_id, vendor_error_code, charger_time, received_at, stale
         FROM ocpp_status ORDER BY received_at, time`,
      );
      assert.deepEqual(
        history,
        statusEvents.map((e) => ({
          time: ts(String(e.timestamp ?? e.time)),
          charger: e.identity,
          connector_id: e.connectorId,
          status: e.status,
          error_code: e.errorCode,
          info: orNull(e.info),
          vendor_id: orNull(e.vendorId),
          vendor_error_code: orNull(e.vendorErrorCode),
          charger_time: e.timestamp ? ts(String(e.timestamp)) : null,
          received_at: ts(e.time),
          stale: e.stale === true,
        })),
      );

      // Latest status: Finishing, the newest by the charger's clock, not the Faulted that came last.
      const finishing = statusEvents[2];
      assert.deepEqual(await pg.query("SELECT charger, connector_id, status, error_code, time, received_at FROM ocpp_status_latest"), [
        { charger: "CP-Garage", connector_id: 1, status: "Finishing", error_code: "NoError", time: ts("2026-11-21T11:00:01Z"), received_at: ts(finishing.time) },
      ]);

      // Sessions: one row, filled at start and completed at end.
      const started = events.find((e) => e.kind === "session.started")!;
      const ended = events.find((e) => e.kind === "session.ended")!;
      assert.deepEqual(
        await pg.query(
          `SELECT charger, transaction_id::int AS transaction_id, connector_id, id_tag, stop_id_tag, start_time, stop_time,
                  meter_start_wh, meter_stop_wh, energy_wh, stop_reason, updated_at FROM ocpp_sessions`,
        ),
        [
          {
            charger: started.identity,
            transaction_id: started.transactionId,
            connector_id: started.connectorId,
            id_tag: started.idTag,
            stop_id_tag: orNull(ended.stopIdTag),
            start_time: ts(String(started.startTime)),
            stop_time: ts(String(ended.stopTime)),
            meter_start_wh: started.meterStartWh,
            meter_stop_wh: ended.meterStopWh,
            energy_wh: ended.energyWh,
            stop_reason: ended.reason,
            updated_at: ts(ended.time),
          },
        ],
      );
      assert.equal(ended.energyWh, 3000);
      assert.equal(ended.reason, "EVDisconnected");

      // Meter values: one row per sample, in base units.
      const meter = events.find((e) => e.kind === "meter")!;
      const samples = meter.samples as Array<Record<string, unknown>>;
      const meterRows = await pg.query(
        `SELECT time, charger, connector_id, transaction_id::int AS transaction_id, measurand, phase, location, context, unit, value
         FROM ocpp_meter_values ORDER BY measurand, phase`,
      );
      const expected = samples
        .map((s) => ({
          time: ts(String(s.timestamp)),
          charger: meter.identity,
          connector_id: s.connectorId,
          transaction_id: s.transactionId,
          measurand: s.measurand,
          phase: orNull(s.phase),
          location: s.location,
          context: s.context,
          unit: s.unit,
          value: s.value,
        }))
        .sort((a, b) => String(a.measurand).localeCompare(String(b.measurand)) || String(a.phase).localeCompare(String(b.phase)));
      assert.deepEqual(meterRows, expected);
      assert.deepEqual(
        meterRows.map((r) => `${r.measurand}${r.phase ? `.${r.phase}` : ""}=${r.value} ${r.unit}`),
        ["Current.Import.L1=16.1 A", "Current.Import.L2=15.9 A", "Energy.Active.Import.Register=2500 Wh", "Power.Active.Import=7200 W", "Voltage.L1-N=230.4 V"],
      );

      if (pg.timescale) {
        const hypertables = await pg.query<{ hypertable_name: string }>("SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_name LIKE 'ocpp%' ORDER BY 1");
        assert.deepEqual(hypertables.map((h) => h.hypertable_name), ["ocpp_meter_values", "ocpp_status"]);
        const intervals = await pg.query<{ hypertable_name: string; time_interval: { days?: number } }>(
          "SELECT hypertable_name, time_interval FROM timescaledb_information.dimensions WHERE hypertable_name LIKE 'ocpp%' ORDER BY 1",
        );
        assert.deepEqual(intervals.map((d) => [d.hypertable_name, d.time_interval.days]), [["ocpp_meter_values", 1], ["ocpp_status", 7]]);
      }
    });

    it("keeps the newer latest status and completes a session when start, end and an older status share one batch", async () => {
      userDir = mkdtempSync(path.join(os.tmpdir(), "evkit-nr-"));
      await helper.load([timescaleConfigNode, timescaleWriteNode], flow(pg).filter((n) => ["tab", "db", "w", "catcher", "caught"].includes(n.id)) as never, {
        db: { password: pg.password },
      });
      const w = helper.getNode("w") as unknown as { receive(msg: object): void };
      const at = "2026-11-22T08:00:00Z";
      const status = (status: string, timestamp: string) => ({ kind: "status", identity: "CP-Batch", time: at, connectorId: 2, status, errorCode: "NoError", timestamp });
      w.receive({ payload: status("Charging", "2026-11-22T07:00:00Z") });
      w.receive({ payload: status("Available", "2026-11-22T06:00:00Z") });
      w.receive({ payload: { kind: "session.started", identity: "CP-Batch", time: at, transactionId: 77, idTag: "T", connectorId: 2, meterStartWh: 10, startTime: "2026-11-22T06:30:00Z" } });
      w.receive({ payload: { kind: "session.ended", identity: "CP-Batch", time: at, transactionId: 77, idTag: "T", connectorId: 2, meterStartWh: 10, meterStopWh: 110, energyWh: 100, startTime: "2026-11-22T06:30:00Z", stopTime: "2026-11-22T07:30:00Z", reason: "Local" } });
      w.receive({ payload: { kind: "boot", identity: "CP-Batch", time: at, vendor: "x", model: "y", raw: {} } });
      await until(async () => (await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM ocpp_status WHERE charger = 'CP-Batch'").catch(() => [{ n: 0 }]))[0].n === 2, 5000, "two statuses");
      await until(async () => (await pg.query("SELECT 1 FROM ocpp_sessions WHERE transaction_id = 77")).length === 1, 5000, "session row");
      assert.deepEqual(await pg.query("SELECT status, time FROM ocpp_status_latest WHERE charger = 'CP-Batch'"), [{ status: "Charging", time: ts("2026-11-22T07:00:00Z") }]);
      // In a later batch: the upsert itself refuses the older status (as after a restart, when nothing is flagged stale).
      w.receive({ payload: status("Faulted", "2026-11-22T06:59:59Z") });
      await until(async () => (await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM ocpp_status WHERE charger = 'CP-Batch'"))[0].n === 3, 5000, "third status");
      assert.deepEqual(await pg.query("SELECT status, time FROM ocpp_status_latest WHERE charger = 'CP-Batch'"), [{ status: "Charging", time: ts("2026-11-22T07:00:00Z") }]);
      w.receive({ payload: status("Finishing", "2026-11-22T07:00:00Z") });
      await until(async () => (await pg.query<{ s: string }>("SELECT status AS s FROM ocpp_status_latest WHERE charger = 'CP-Batch'"))[0].s === "Finishing", 5000, "a newer-or-equal status replaces it");
      assert.deepEqual(await pg.query("SELECT meter_start_wh, meter_stop_wh, energy_wh, stop_reason, start_time FROM ocpp_sessions WHERE transaction_id = 77"), [
        { meter_start_wh: 10, meter_stop_wh: 110, energy_wh: 100, stop_reason: "Local", start_time: ts("2026-11-22T06:30:00Z") },
      ]);
    });
  });
}
