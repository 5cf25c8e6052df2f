/**
 * Both database writers in a real Node-RED process, killed with SIGKILL
 * while the databases are away: after the restart every row and point
 * arrives exactly once, in order (issue 14 item 4). Rows come in over the
 * core `http in` node; the databases sit behind outage proxies. The Influx
 * side is the contract server from test/servers (it keeps every point it is
 * sent, so a duplicate would show; VictoriaMetrics would merge it away).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { startOutageProxy, startPostgres, type OutageProxy, type PostgresEngine } from "../harness/engines";
import { startInfluxSimulator } from "../servers/influx-v2";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runner = require("../lib/node-red-runner") as {
  root: string;
  targets: Record<string, unknown>;
  freePort(): Promise<number>;
  writeSettings(userDir: string, options: { port: number; extra?: Record<string, unknown> }): string;
  startNodeRed(options: { target?: unknown; userDir: string; port: number; waitForFlows?: boolean; onSpawn?: (c: ChildProcess) => void }): Promise<{
    url: string;
    child: ChildProcess;
    stop(): Promise<unknown>;
    exitPromise: Promise<unknown>;
    log(): string;
  }>;
};

const TOTAL_BEFORE_KILL = 4000;
const AFTER_RESTART = 100;

async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sequence numbers of the items a spool file still holds (lines with "s"), minus done and dropped. */
function spooledCount(dir: string, name: string): number {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, `${name}.jsonl`), "utf8");
  } catch {
    return 0;
  }
  return text.split("\n").filter((l) => l.startsWith('{"s":')).length;
}

describe("database writers: kill -9 during an outage loses nothing and writes nothing twice", () => {
  const dist = path.join(runner.root, "dist", "nodes", "ev-timescale-write.js");
  let pg: PostgresEngine;
  let influx: Awaited<ReturnType<typeof startInfluxSimulator>>;
  let pgProxy: OutageProxy;
  let influxProxy: OutageProxy;
  let userDir: string;
  let red: Awaited<ReturnType<typeof runner.startNodeRed>> | undefined;
  let child: ChildProcess | undefined;

  before(async () => {
    if (!fs.existsSync(dist)) return;
    pg = await startPostgres();
    await pg.query("CREATE TABLE spool_rows (id bigserial, time timestamptz NOT NULL, n integer NOT NULL)");
    influx = await startInfluxSimulator({ org: "evkit", buckets: ["ev"], token: "t0k3n" });
    pgProxy = await startOutageProxy(`postgres://127.0.0.1:${pg.port}`);
    influxProxy = await startOutageProxy(influx.url);
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-spool-kill-"));
    // Installed the way the palette manager does it: the package in the user dir's node_modules.
    const link = path.join(userDir, "node_modules", "@evkit", "node-red-ev");
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(runner.root, link, "dir");
    fs.writeFileSync(path.join(userDir, "package.json"), JSON.stringify({ name: "spool-kill-test", private: true }));
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await red?.exitPromise.catch(() => undefined);
    await pgProxy?.close();
    await influxProxy?.close();
    await influx?.close();
    await pg?.close();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  const writeFlows = (port: number): void => {
    const flows = [
      { id: "t1", type: "tab", label: "spool" },
      {
        id: "pgcfg",
        type: "ev-timescale-config",
        host: "127.0.0.1",
        port: pgProxy.port,
        database: pg.database,
        schema: pg.schema ?? "",
        user: pg.user,
        ssl: "disable",
        poolSize: 1,
        timeout: 2,
      },
      { id: "inflcfg", type: "ev-influx-config", url: influxProxy.url, org: "evkit", bucket: "ev", precision: "ms", timeout: 2, tlsVerify: true },
      { id: "inpg", type: "http in", z: "t1", url: "/pg", method: "post", x: 100, y: 100, wires: [["tsw", "res"]] },
      { id: "ininfl", type: "http in", z: "t1", url: "/influx", method: "post", x: 100, y: 200, wires: [["iw", "res"]] },
      { id: "res", type: "http response", z: "t1", statusCode: "", x: 400, y: 300, wires: [] },
      // Small batches and a short flush, so the outage hits many batches; retries are quick.
      { id: "tsw", type: "ev-timescale-write", z: "t1", timescale: "pgcfg", table: "spool_rows", create: "none", timeColumn: "time", batchSize: 500, flushInterval: 100, maxBuffered: 50000, method: "insert", x: 400, y: 100, wires: [] },
      { id: "iw", type: "ev-influx-write", z: "t1", influx: "inflcfg", measurement: "spool", timeTags: false, timeZone: "", integers: "integer", batchSize: 500, flushInterval: 100, maxBuffered: 50000, x: 400, y: 200, wires: [] },
    ];
    fs.writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(flows));
    fs.writeFileSync(path.join(userDir, "flows_cred.json"), JSON.stringify({ pgcfg: { password: pg.password }, inflcfg: { token: "t0k3n" } }));
    runner.writeSettings(userDir, { port, extra: { credentialSecret: false } });
  };

  const start = async (): Promise<void> => {
    const port = await runner.freePort();
    writeFlows(port);
    red = await runner.startNodeRed({ userDir, port, waitForFlows: true, onSpawn: (c) => (child = c) });
  };

  /** Sends n = from..to to both writers, in requests of 250. */
  const send = async (from: number, to: number): Promise<void> => {
    for (let first = from; first <= to; first += 250) {
      const last = Math.min(to, first + 249);
      const ns = Array.from({ length: last - first + 1 }, (_, i) => first + i);
      const base = Date.UTC(2026, 0, 1);
      const rows = ns.map((n) => ({ time: new Date(base + n * 1000).toISOString(), n }));
      const points = ns.map((n) => ({ fields: { n: { int: n } }, timestamp: base + n * 1000 }));
      for (const [route, body] of [["/pg", rows], ["/influx", points]] as const) {
        const res = await fetch(`${red!.url}${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
        assert.equal(res.status, 200, `${route}: HTTP ${res.status}`);
        await res.arrayBuffer();
      }
    }
  };

  const pgNumbers = async (): Promise<number[]> =>
    (await pg.query<{ n: number }>("SELECT n FROM spool_rows ORDER BY id")).map((r) => Number(r.n));
  const influxNumbers = (): number[] => influx.state.points.filter((p) => p.measurement === "spool").map((p) => Number(p.fields.n.value));

  it("every row and point arrives once, in order, after a SIGKILL while the databases were down", async (t) => {
    if (!fs.existsSync(dist)) {
      t.skip("dist/nodes is missing: run npm run build");
      return;
    }
    await start();
    const spoolDir = path.join(userDir, "evkit-spool");

    // Healthy: written at once, nothing on disk.
    await send(1, 100);
    await until("the first rows", async () => (await pgNumbers()).length === 100 && influxNumbers().length === 100);
    assert.deepEqual(fs.existsSync(spoolDir) ? fs.readdirSync(spoolDir) : [], []);

    // Outage: both databases go away; the writers keep everything, also on disk.
    await pgProxy.down();
    await influxProxy.down();
    await send(101, 400);
    await until("both writers to fail and start their spool", () =>
      fs.existsSync(path.join(spoolDir, "ev-timescale-write-tsw.jsonl")) && fs.existsSync(path.join(spoolDir, "ev-influx-write-iw.jsonl")),
    );
    await send(401, TOTAL_BEFORE_KILL);
    const held = TOTAL_BEFORE_KILL - 100;
    await until(`${held} items on disk per writer`, () =>
      spooledCount(spoolDir, "ev-timescale-write-tsw") >= held && spooledCount(spoolDir, "ev-influx-write-iw") >= held,
    );

    // kill -9: no close handler runs, nothing is flushed.
    child!.kill("SIGKILL");
    await red!.exitPromise;
    assert.equal((await pgNumbers()).length, 100);

    // Restart while the databases are still away, then they return.
    await start();
    await send(TOTAL_BEFORE_KILL + 1, TOTAL_BEFORE_KILL + AFTER_RESTART);
    await pgProxy.up();
    await influxProxy.up();
    const expected = Array.from({ length: TOTAL_BEFORE_KILL + AFTER_RESTART }, (_, i) => i + 1);
    await until("every row in PostgreSQL", async () => (await pgNumbers()).length >= expected.length, 60_000);
    await until("every point in InfluxDB", () => influxNumbers().length >= expected.length, 60_000);
    // A moment more: a duplicate written late would show here.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await pgNumbers(), expected, "PostgreSQL: each row once, in order");
    assert.deepEqual(influxNumbers(), expected, "InfluxDB: each point once, in order");
    await until("the spool files to go", () => fs.readdirSync(spoolDir).length === 0, 10_000);
    await red!.stop();
  });
});
