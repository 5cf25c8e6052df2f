import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import helper from "node-red-node-test-helper";
import influxConfigNode from "../../nodes/ev-influx-config";
import influxWriteNode from "../../nodes/ev-influx-write";
import timescaleConfigNode from "../../nodes/ev-timescale-config";
import timescaleWriteNode from "../../nodes/ev-timescale-write";
import timescaleQueryNode from "../../nodes/ev-timescale-query";
import { startPostgres, type PostgresEngine } from "../harness/engines";
import { startInfluxSimulator } from "../servers/influx-v2";

// EV_NODE_RED=node-red-5 runs the same tests on Node-RED 5 (Node 22+).
helper.init(require.resolve(process.env.EV_NODE_RED ?? "node-red"));
const coreNodes = path.dirname(require.resolve("@node-red/nodes/package.json"));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const injectNode = require(path.join(coreNodes, "core/common/20-inject.js"));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const commentNode = require(path.join(coreNodes, "core/common/90-comment.js"));

const flowFile = path.join(__dirname, "../../flows/Databases/Write to InfluxDB and TimescaleDB.json");

describe("example flow: Databases / Write to InfluxDB and TimescaleDB", () => {
  let pg: PostgresEngine;
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg.close();
  });
  afterEach(async () => {
    await helper.unload();
  });

  it("runs against real engines once the config nodes point at them", async () => {
    const sim = await startInfluxSimulator({ org: "evkit", buckets: ["ev"], token: "t0k3n" });
    try {
      const flow = JSON.parse(fs.readFileSync(flowFile, "utf8")) as Array<Record<string, unknown>>;
      assert.equal(flow[0].type, "comment");
      for (const node of flow) {
        if (node.type === "ev-influx-config") node.url = sim.url;
        if (node.type === "ev-timescale-config") Object.assign(node, { port: pg.port, database: pg.database, schema: pg.schema ?? "", user: pg.user, poolSize: 1 });
        if ("z" in node) node.z = "f1";
        // Debug nodes need the editor's comms; a helper node stands in.
        if (node.type === "debug") node.type = "helper";
      }
      const tsConfig = flow.find((n) => n.type === "ev-timescale-config")!.id as string;
      const influxConfig = flow.find((n) => n.type === "ev-influx-config")!.id as string;
      await helper.load(
        [injectNode, commentNode, influxConfigNode, influxWriteNode, timescaleConfigNode, timescaleWriteNode, timescaleQueryNode],
        [{ id: "f1", type: "tab" }, ...flow] as never,
        { [tsConfig]: { password: pg.password }, [influxConfig]: { token: "t0k3n" } },
      );
      const deadline = Date.now() + 15_000;
      const rows = async () => {
        try {
          return await pg.query<{ charger: string; reading: string; value: number }>("SELECT charger, reading, value FROM ev_readings");
        } catch {
          return [];
        }
      };
      while ((sim.state.points.length === 0 || (await rows()).length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const point = sim.state.points[0];
      assert.equal(point.measurement, "charger_availability");
      assert.equal(point.tags.site, "Ionity Vik (Hönefoss)");
      assert.ok(point.tags.weekday && point.tags.hour_of_day, "weekday and hour_of_day tags");
      assert.equal(point.fields.total.type, "integer");
      const [row] = await rows();
      assert.equal(row.charger, "garage");
      assert.equal(row.reading, "powerW");
      assert.ok(row.value >= 7000 && row.value <= 7400);
    } finally {
      await helper.unload();
      await sim.close();
    }
  });
});
