/**
 * A real charger → ev-ocpp-central-system → ev-ocpp-in → ev-influx-write →
 * an InfluxDB-compatible server (VictoriaMetrics), read back: the OCPP
 * layout (measurements, low-cardinality tags, fields) as the help documents it.
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
import influxConfigNode from "../../nodes/ev-influx-config";
import influxWriteNode from "../../nodes/ev-influx-write";
import type { CentralSystemNode } from "../../nodes/lib/ocpp/core/node-types";
import { startInflux, type InfluxEngine, type InfluxSample } from "../harness/engines";
import type { Client } from "../ocpp-cs/support/clients";
import { chargeOnce, type Event } from "./support/ocpp-charger";

helper.init(require.resolve(process.env.EV_NODE_RED ?? "node-red"));

/** Numbers as VictoriaMetrics keeps them (booleans 1/0); text fields are not compared. */
const num = (v: unknown): number => (typeof v === "boolean" ? Number(v) : Number(v));
const sortRows = (rows: object[]): string[] => rows.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();

describe("ev-ocpp-in → ev-influx-write (OCPP layout, read back)", () => {
  let influx: InfluxEngine | undefined;
  let skip = "";
  let userDir: string;
  const clients: Client[] = [];
  before(async () => {
    const started = await startInflux();
    if ("skip" in started) skip = started.skip;
    else influx = started;
  });
  after(async () => {
    await influx?.close();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close({ force: true }).catch(() => undefined)));
    await helper.unload();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  it("writes statuses, sessions and meter values with charger/connector/status/measurand tags", async (t) => {
    if (!influx) return t.skip(skip);
    userDir = mkdtempSync(path.join(os.tmpdir(), "evkit-nr-"));
    helper.settings({ userDir });
    await helper.load(
      [centralNode, inNode, influxConfigNode, influxWriteNode],
      [
        { id: "tab", type: "tab" },
        { id: "cs", type: "ev-ocpp-central-system", name: "home", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0" },
        { id: "in", type: "ev-ocpp-in", z: "tab", server: "cs", chargers: "", kinds: "", wires: [["write", "out"]] },
        { id: "out", type: "helper", z: "tab" },
        { id: "cfg", type: "ev-influx-config", url: influx.url, org: influx.org, bucket: influx.bucket, precision: "ms", timeout: 5, tlsVerify: true },
        { id: "write", z: "tab", type: "ev-influx-write", influx: "cfg", measurement: "", integers: "float", batchSize: 100, flushInterval: 50, maxBuffered: 1000 },
        { id: "c", z: "tab", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
        { id: "caught", z: "tab", type: "helper" },
      ] as never,
      { cfg: { token: influx.token } },
    );
    const events: Event[] = [];
    (helper.getNode("out") as unknown as EventEmitter).on("input", (msg: NodeMessage) => events.push(msg.payload as Event));
    const caught: NodeMessage[] = [];
    (helper.getNode("caught") as unknown as EventEmitter).on("input", (msg: NodeMessage) => caught.push(msg));
    const cs = helper.getNode("cs") as CentralSystemNode;
    await cs.ready;
    clients.push(await chargeOnce(`ws://127.0.0.1:${cs.central!.port}/ocpp`, events, "CP-Influx"));

    const numeric = (samples: InfluxSample[], fields: string[]) =>
      samples.filter((s) => fields.includes(s.field)).map((s) => ({ field: s.field, value: s.value, time: s.time, ...s.tags }));

    const statuses = events.filter((e) => e.kind === "status");
    const storedStatus = await influx.read("ocpp_status", { minSamples: statuses.length * 2, timeoutMs: 20_000 });
    assert.deepEqual(
      sortRows(numeric(storedStatus, ["up", "stale"])),
      sortRows(
        statuses.flatMap((e) =>
          (["up", "stale"] as const).map((field) => ({
            field,
            value: field === "up" ? (e.status === "Faulted" ? 0 : 1) : num(e.stale === true),
            time: Date.parse(String(e.timestamp ?? e.time)),
            charger: e.identity,
            connector: String(e.connectorId),
            status: e.status,
            error_code: e.errorCode,
          })),
        ),
      ),
    );

    const meter = events.find((e) => e.kind === "meter")!;
    const samples = meter.samples as Array<Record<string, unknown>>;
    const storedMeter = await influx.read("ocpp_meter", { minSamples: samples.length * 2, timeoutMs: 20_000 });
    assert.deepEqual(
      sortRows(numeric(storedMeter, ["value", "transaction_id"])),
      sortRows(
        samples.flatMap((s) =>
          (["value", "transaction_id"] as const).map((field) => ({
            field,
            value: field === "value" ? s.value : s.transactionId,
            time: Date.parse(String(s.timestamp)),
            charger: meter.identity,
            connector: String(s.connectorId),
            measurand: s.measurand,
            location: s.location,
            unit: s.unit,
            ...(s.phase ? { phase: s.phase } : {}),
          })),
        ),
      ),
    );
    assert.ok(storedMeter.some((s) => s.field === "value" && s.tags.measurand === "Energy.Active.Import.Register" && s.value === 2500 && s.tags.unit === "Wh"));

    const started = events.find((e) => e.kind === "session.started")!;
    const ended = events.find((e) => e.kind === "session.ended")!;
    const storedSession = await influx.read("ocpp_session", { minSamples: 6, timeoutMs: 20_000 });
    const tags = (e: Event, event: string) => ({ charger: e.identity, connector: String(e.connectorId), event });
    assert.deepEqual(
      sortRows(numeric(storedSession, ["transaction_id", "meter_start_wh", "meter_stop_wh", "energy_wh"])),
      sortRows([
        { field: "transaction_id", value: started.transactionId, time: Date.parse(String(started.startTime)), ...tags(started, "started") },
        { field: "meter_start_wh", value: started.meterStartWh, time: Date.parse(String(started.startTime)), ...tags(started, "started") },
        ...(["transaction_id", "meter_start_wh", "meter_stop_wh", "energy_wh"] as const).map((field) => ({
          field,
          value: { transaction_id: ended.transactionId, meter_start_wh: ended.meterStartWh, meter_stop_wh: ended.meterStopWh, energy_wh: ended.energyWh }[field],
          time: Date.parse(String(ended.stopTime)),
          ...tags(ended, "ended"),
        })),
      ]),
    );
    // Nothing that grows without bound is a tag.
    for (const s of [...storedStatus, ...storedMeter, ...storedSession]) {
      for (const tag of Object.keys(s.tags)) assert.ok(["charger", "connector", "status", "error_code", "measurand", "phase", "location", "unit", "event", "db"].includes(tag), `tag ${tag}`);
    }
    assert.deepEqual(caught, []);
  });
});
