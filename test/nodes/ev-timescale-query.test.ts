import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import type { Node, NodeMessage } from "node-red";
import timescaleConfigNode from "../../nodes/ev-timescale-config";
import timescaleQueryNode from "../../nodes/ev-timescale-query";
import { startPostgres, type PostgresEngine } from "../harness/engines";

// EV_NODE_RED=node-red-5 runs the same tests on Node-RED 5 (Node 22+).
helper.init(require.resolve(process.env.EV_NODE_RED ?? "node-red"));

type Out = NodeMessage & { payload: unknown; rowCount?: number; error?: { message?: string } };

describe("ev-timescale-query", () => {
  let pg: PostgresEngine;
  before(async () => {
    pg = await startPostgres();
    await pg.query("CREATE TABLE ev_readings (time timestamptz, charger text, reading text, state text)");
    const day = "2026-01-01T";
    for (let i = 0; i < 6; i++) await pg.query("INSERT INTO ev_readings VALUES ($1, 'garage', 'operationState', 'fault')", [`${day}0${i}:00:00Z`]);
    await pg.query("INSERT INTO ev_readings VALUES ($1, 'street', 'operationState', 'fault')", [`${day}01:00:00Z`]);
  });
  after(async () => {
    await pg.close();
  });
  afterEach(async () => {
    await helper.unload();
  });

  async function load(sql: string): Promise<{ q: Node & { receive(m: object): void }; out: Out[]; caught: Out[] }> {
    const flow = [
      { id: "f1", type: "tab" },
      { id: "db", type: "ev-timescale-config", host: "127.0.0.1", port: pg.port, database: pg.database, schema: pg.schema ?? "", user: pg.user, ssl: "disable", poolSize: 1, timeout: 2 },
      { id: "q1", z: "f1", x: 100, y: 100, type: "ev-timescale-query", timescale: "db", sql, wires: [["out"]] },
      { id: "out", z: "f1", x: 100, y: 100, type: "helper" },
      { id: "catcher", z: "f1", x: 100, y: 100, type: "catch", scope: null, wires: [["caught"]] },
      { id: "caught", z: "f1", x: 100, y: 100, type: "helper" },
    ];
    await helper.load([timescaleConfigNode, timescaleQueryNode], flow as never, { db: { password: pg.password } });
    const out: Out[] = [];
    const caught: Out[] = [];
    helper.getNode("out").on("input", (m: NodeMessage) => out.push(m as Out));
    helper.getNode("caught").on("input", (m: NodeMessage) => caught.push(m as Out));
    return { q: helper.getNode("q1") as Node & { receive(m: object): void }, out, caught };
  }

  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("runs the seed's fault report with parameters and sends the rows", async () => {
    const { q, out } = await load(
      "SELECT charger, time::date::text AS day, count(*)::int AS faults FROM ev_readings WHERE state = 'fault' GROUP BY charger, day HAVING count(*) >= $1 ORDER BY charger",
    );
    q.receive({ params: [5], topic: "report" });
    while (out.length === 0) await wait(20);
    assert.deepEqual(out[0].payload, [{ charger: "garage", day: "2026-01-01", faults: 6 }]);
    assert.equal(out[0].rowCount, 1);
    assert.equal(out[0].topic, "report");
  });

  it("treats parameters as values, never as SQL", async () => {
    const { q, out } = await load("SELECT count(*)::int AS n FROM ev_readings WHERE charger = $1");
    q.receive({ params: ["garage' OR '1'='1"] });
    while (out.length === 0) await wait(20);
    assert.deepEqual(out[0].payload, [{ n: 0 }]);
  });

  it("reports bad params and SQL errors to Catch in plain words", async () => {
    const { q, caught } = await load("SELECT nope FROM ev_readings");
    q.receive({ params: "x" });
    q.receive({});
    while (caught.length < 2) await wait(20);
    assert.match(String(caught[0].error?.message), /msg.params must be an array/);
    assert.match(String(caught[1].error?.message), /column "nope" does not exist/);
  });
});
