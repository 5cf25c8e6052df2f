/**
 * npm run bench:writers [-- --points 100000 --rows 200000 --batch 10000 --rounds 3 --only influx|timescale]
 *
 * Points/s and rows/s through Node-RED for ev-influx-write and
 * ev-timescale-write, against the raw client libraries on the same servers
 * in the same run (the ratio is what matters; absolute figures depend on the
 * machine), plus node-red-contrib-influxdb when installed. Servers come from
 * the test harness: TEST_INFLUX_URL or victoria-metrics from PATH (else the
 * contract simulator); TEST_PG_URL or PGlite (single connection, slow: use a
 * real PostgreSQL for meaningful figures).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import { Readable, Writable, pipeline } from "node:stream";
import fs from "node:fs";
import path from "node:path";
import { InfluxDB, Point } from "@influxdata/influxdb-client";
import { Client } from "pg";
import { startInflux, startPostgres, type PostgresEngine } from "../test/harness/engines";
import { startInfluxSimulator } from "../test/servers/influx-v2";
import { startRuntime, type BenchRuntime } from "./runtime";

const CONTRIB_INFLUX = path.join(__dirname, "../node_modules/node-red-contrib-influxdb");
const hasContribInflux = fs.existsSync(path.join(CONTRIB_INFLUX, "influxdb.js"));
let red: BenchRuntime;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const POINTS = arg("points", 100_000);
const ROWS = arg("rows", 200_000);
const SLOW_POINTS = arg("slow-points", 2_000);
const SLOW_ROWS = arg("slow-rows", 2_000);
/** ev-timescale-write's batch size (rows per transaction). */
const BATCH = arg("batch", 10_000); // the node's default
/** ev-influx-write's batch size (points per request). */
const INFLUX_BATCH = arg("influx-batch", 5000); // the node's default
/** Each contender runs this many times; the median is reported (this machine's noise is larger than the differences that matter). */
const ROUNDS = Math.max(1, arg("rounds", 3));
/** `--only influx` or `--only timescale`: one part of the bench. */
const onlyAt = process.argv.indexOf("--only");
const ONLY = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;

interface Result {
  name: string;
  n: number;
  seconds: number;
  note?: string;
}
const results: Result[] = [];
const skipped: string[] = [];
const rate = (r: Result): number => r.n / r.seconds;

/**
 * Times `run` `rounds` times (after `prepare`, untimed) and records the
 * median; slow contenders run once.
 */
async function timed(name: string, n: number, run: () => Promise<void>, options: { prepare?: () => Promise<void>; rounds?: number; note?: string } = {}): Promise<void> {
  const rounds = options.rounds ?? ROUNDS;
  const seconds: number[] = [];
  for (let round = 0; round < rounds; round++) {
    await options.prepare?.();
    const t0 = performance.now();
    await run();
    seconds.push((performance.now() - t0) / 1000);
  }
  seconds.sort((a, b) => a - b);
  const notes = [options.note, rounds > 1 ? `median of ${rounds}` : undefined].filter(Boolean);
  results.push({ name, n, seconds: seconds[Math.floor(rounds / 2)], note: notes.length ? notes.join("; ") : undefined });
}

async function until(check: () => boolean | Promise<boolean>, timeoutMsWanted: number, what: string, everyMs = 5): Promise<void> {
  const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? timeoutMsWanted);
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Counts lines the server accepted, so every contender is timed the same way. */
async function startLineCounter(target: string): Promise<{ url: string; accepted: () => number; reset(): void; close(): Promise<void> }> {
  let accepted = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host }, agent },
        (up) => {
          const back: Buffer[] = [];
          up.on("data", (c: Buffer) => back.push(c));
          up.on("end", () => {
            if ((up.statusCode ?? 500) < 300) {
              const text = req.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(body) : body;
              for (let i = 0; i < text.length; i++) if (text[i] === 10) accepted++;
              if (text.length > 0 && text[text.length - 1] !== 10) accepted++;
            }
            res.writeHead(up.statusCode ?? 500, up.headers);
            res.end(Buffer.concat(back));
          });
        },
      );
      out.on("error", () => res.writeHead(502).end());
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accepted: () => accepted,
    reset: () => {
      accepted = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const point = (i: number) => ({
  measurement: "bench",
  tags: { site: `Ionity Vik (Hönefoss) ${i % 20}` },
  fields: { available: { int: i % 5 }, ratio: (i % 100) / 100 },
  timestamp: 1_700_000_000_000 + i,
});
const row = (i: number) => ({ time: new Date(1_700_000_000_000 + i), charger: `cp${i % 20}`, reading: "powerW", value: i * 0.5 });

/** The ceiling: messages/s from one node to a no-op node, with nothing written anywhere. */
async function benchRuntimeAlone(): Promise<void> {
  const counted = () => (process as unknown as { evBenchSinkCount?: number }).evBenchSinkCount ?? 0;
  await red.deploy([
    { id: "f1", type: "tab" },
    { id: "src", z: "f1", type: "ev-bench-source", wires: [["sink"]] },
    { id: "sink", z: "f1", type: "ev-bench-sink", wires: [] },
  ]);
  let target = 0;
  await timed(
    "ceiling: Node-RED alone, one msg per item to a no-op node",
    POINTS,
    async () => {
      await red.emit(POINTS, (i) => ({ payload: point(i) }));
      await until(() => counted() >= target, 60_000, "bench sink messages");
    },
    { prepare: async () => void (target = counted() + POINTS) },
  );
}

async function benchInflux(): Promise<void> {
  const started = await startInflux();
  let target: string;
  let closeTarget: () => Promise<void>;
  let org = "evkit";
  let bucket = "evkit";
  let token = "sim-token";
  let where: string;
  if ("skip" in started) {
    const sim = await startInfluxSimulator();
    target = sim.url;
    closeTarget = sim.close;
    where = "the InfluxDB v2 contract simulator (JavaScript; slower than a real server)";
  } else {
    ({ org, bucket, token } = started);
    target = started.url;
    closeTarget = started.close;
    where = `${started.kind} at ${started.url}`;
  }
  console.log(`Influx target: ${where}`);
  const counter = await startLineCounter(target);
  const arrived = (n: number, what: string) => until(() => counter.accepted() >= n, 120_000, what);
  const reset = async () => counter.reset();
  try {
    // Raw client library: WriteApi with batches of 1000.
    await timed(
      "influx: raw @influxdata/influxdb-client WriteApi (batch 1000)",
      POINTS,
      async () => {
        const raw = new InfluxDB({ url: counter.url, token }).getWriteApi(org, bucket, "ms", { batchSize: 1000, flushInterval: 0, maxRetries: 0, gzipThreshold: 1e12 });
        for (let i = 0; i < POINTS; i++) {
          const p = point(i);
          raw.writePoint(new Point(p.measurement).tag("site", p.tags.site).intField("available", p.fields.available.int).floatField("ratio", p.fields.ratio).timestamp(new Date(p.timestamp)));
        }
        await raw.close();
        await arrived(POINTS, "raw influx points");
      },
      { prepare: reset },
    );

    // ev-influx-write through Node-RED.
    await red.deploy([
      { id: "f1", type: "tab" },
      { id: "c1", type: "ev-influx-config", url: counter.url, org, bucket, precision: "ms", timeout: 10, tlsVerify: true, credentials: { token } },
      { id: "src", z: "f1", type: "ev-bench-source", wires: [["w1"]] },
      { id: "w1", z: "f1", type: "ev-influx-write", influx: "c1", measurement: "", timeTags: false, timeZone: "", integers: "float", batchSize: INFLUX_BATCH, flushInterval: 100, maxBuffered: 4 * POINTS, wires: [] },
    ]);
    await timed(
      `influx: ev-influx-write in Node-RED (one point per msg, batch ${INFLUX_BATCH})`,
      POINTS,
      async () => {
        await red.emit(POINTS, (i) => ({ payload: point(i) }));
        await arrived(POINTS, "ev-influx-write points");
      },
      { prepare: reset },
    );
    await timed(
      `influx: ev-influx-write in Node-RED (1000 points per msg, batch ${INFLUX_BATCH})`,
      POINTS,
      async () => {
        await red.emit(POINTS / 1000, (k) => ({ payload: Array.from({ length: 1000 }, (_, j) => point(k * 1000 + j)) }));
        await arrived(POINTS, "ev-influx-write array points");
      },
      { prepare: reset },
    );

    // node-red-contrib-influxdb, when installed (devDependency).
    if (!hasContribInflux) skipped.push("node-red-contrib-influxdb: not installed (npm install -D node-red-contrib-influxdb)");
    else {
      await red.deploy([
        { id: "f1", type: "tab" },
        { id: "c2", type: "influxdb", influxdbVersion: "2.0", url: counter.url, timeout: 10, rejectUnauthorized: true, credentials: { token } },
        { id: "src", z: "f1", type: "ev-bench-source", wires: [["o1"]] },
        { id: "o1", z: "f1", type: "influxdb out", influxdb: "c2", measurement: "bench", org, bucket, precisionV18FluxV20: "ms", wires: [] },
      ]);
      await timed(
        "influx: node-red-contrib-influxdb 'influxdb out' (one point per msg)",
        SLOW_POINTS,
        async () => {
          // Its documented per-message shape: [fields, tags]; it flushes one request per message.
          await red.emit(SLOW_POINTS, (i) => ({ payload: [{ available: i % 5, ratio: (i % 100) / 100 }, { site: `Ionity Vik (Hönefoss) ${i % 20}` }] }));
          await arrived(SLOW_POINTS, "contrib points");
        },
        { prepare: reset, rounds: 1, note: "flushes one HTTP request per message" },
      );

      await red.deploy([
        { id: "f1", type: "tab" },
        { id: "c2", type: "influxdb", influxdbVersion: "2.0", url: counter.url, timeout: 10, rejectUnauthorized: true, credentials: { token } },
        { id: "src", z: "f1", type: "ev-bench-source", wires: [["b1"]] },
        { id: "b1", z: "f1", type: "influxdb batch", influxdb: "c2", org, bucket, precisionV18FluxV20: "ms", wires: [] },
      ]);
      await timed(
        "influx: node-red-contrib-influxdb 'influxdb batch' (1000 points per msg)",
        POINTS,
        async () => {
          await red.emit(POINTS / 1000, (k) => ({
            payload: Array.from({ length: 1000 }, (_, j) => {
              const p = point(k * 1000 + j);
              return { measurement: p.measurement, tags: p.tags, fields: { available: p.fields.available.int, ratio: p.fields.ratio }, timestamp: p.timestamp };
            }),
          }));
          await arrived(POINTS, "contrib batch points");
        },
        { prepare: reset },
      );
    }
  } finally {
    await counter.close();
    await closeTarget();
  }
}

/** Rows in a table, counted once a run is timed (a count(*) while timing would load the server being measured). */
async function countRows(pg: PostgresEngine, table: string): Promise<number> {
  return (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0].n;
}

/**
 * Rows the node has committed, from its own counters (what its status shows,
 * unthrottled): polling them costs the server nothing.
 */
function writtenBy(id: string): number {
  const node = red.node<{ evWriteStats?: () => { written: number; rejected: number } }>(id);
  if (!node?.evWriteStats) throw new Error(`node ${id} is not deployed or has no write stats`);
  const stats = node.evWriteStats();
  if (stats.rejected) throw new Error(`node ${id} rejected ${stats.rejected} row(s)`);
  return stats.written;
}

async function benchTimescale(): Promise<void> {
  const pg = await startPostgres();
  console.log(`PostgreSQL target: ${pg.kind === "external" ? `TEST_PG_URL (${pg.host}:${pg.port})` : "PGlite over pglite-socket (single connection; set TEST_PG_URL for real figures)"}`);
  const ddl = (t: string) => `CREATE TABLE ${t} (time timestamptz NOT NULL, charger text NOT NULL, reading text NOT NULL, value double precision)`;
  const columns = ["time", "charger", "reading", "value"] as const;
  const truncate = (table: string) => async () => void (await pg.query(`TRUNCATE ${table}`));
  try {
    // Raw pg: multi-row INSERT, 1000 rows per statement, one transaction per batch.
    await pg.query(ddl("raw_insert"));
    const client = new Client({ connectionString: pg.url });
    await client.connect();
    await timed(
      "timescale: raw pg multi-row INSERT (1000 per tx)",
      ROWS,
      async () => {
        for (let start = 0; start < ROWS; start += 1000) {
          const n = Math.min(1000, ROWS - start);
          const params: unknown[] = [];
          const tuples: string[] = [];
          for (let k = 0; k < n; k++) {
            const r = row(start + k);
            tuples.push(`($${k * 4 + 1}, $${k * 4 + 2}, $${k * 4 + 3}, $${k * 4 + 4})`);
            params.push(r.time, r.charger, r.reading, r.value);
          }
          await client.query("BEGIN");
          await client.query(`INSERT INTO raw_insert (time, charger, reading, value) VALUES ${tuples.join(", ")}`, params);
          await client.query("COMMIT");
        }
      },
      { prepare: truncate("raw_insert") },
    );

    // Raw COPY FROM STDIN (pg-copy-streams), when installed.
    let copyFrom: ((sql: string) => Writable) | undefined;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      copyFrom = (require("pg-copy-streams") as { from: (sql: string) => Writable }).from;
    } catch {
      skipped.push("raw COPY: pg-copy-streams not installed");
    }
    if (copyFrom && pg.kind === "pglite") skipped.push("raw COPY: PGlite's socket server does not support COPY FROM STDIN reliably; run with TEST_PG_URL");
    else if (copyFrom) {
      const from = copyFrom;
      await pg.query(ddl("raw_copy"));
      await timed(
        "timescale: raw pg COPY FROM STDIN",
        ROWS,
        async () => {
          const stream = client.query(from("COPY raw_copy (time, charger, reading, value) FROM STDIN") as never) as unknown as Writable;
          await new Promise<void>((resolve, reject) => {
            let i = 0;
            const source = new Readable({
              read() {
                let chunk = "";
                for (let k = 0; k < 1000 && i < ROWS; k++, i++) {
                  const r = row(i);
                  chunk += `${r.time.toISOString()}\t${r.charger}\t${r.reading}\t${r.value}\n`;
                }
                this.push(chunk || null);
              },
            });
            pipeline(source, stream, (err) => (err ? reject(err) : resolve()));
          });
        },
        { prepare: truncate("raw_copy") },
      );
    }

    // One INSERT per message, autocommit: what a plain query-per-msg node does.
    await pg.query(ddl("raw_single"));
    await timed(
      "timescale: one INSERT per message (raw pg, autocommit)",
      SLOW_ROWS,
      async () => {
        for (let i = 0; i < SLOW_ROWS; i++) {
          const r = row(i);
          await client.query("INSERT INTO raw_single (time, charger, reading, value) VALUES ($1, $2, $3, $4)", columns.map((c) => r[c]));
        }
      },
      { rounds: 1, note: "the node-red-contrib-postgresql pattern" },
    );
    await client.end();
    skipped.push("node-red-contrib-postgresql: not on the npm registry (404); the one-INSERT-per-message row above stands in for it");

    // ev-timescale-write through Node-RED; each case into a table of its own.
    await pg.query(ddl("ev_bench"));
    await pg.query(ddl("ev_bench_arrays"));
    await red.deploy([
      { id: "f1", type: "tab" },
      { id: "db", type: "ev-timescale-config", host: pg.host, port: pg.port, database: pg.database, schema: pg.schema ?? "", user: pg.user, ssl: "disable", poolSize: Math.min(pg.maxConnections, 4), timeout: 10, credentials: { password: pg.password } },
      { id: "src", z: "f1", type: "ev-bench-source", wires: [["w1"]] },
      { id: "w1", z: "f1", type: "ev-timescale-write", timescale: "db", table: "ev_bench", create: "none", timeColumn: "time", batchSize: BATCH, flushInterval: 100, maxBuffered: 4 * ROWS, wires: [] },
    ]);
    let target = 0;
    const written = (table: string) => async () => {
      await truncate(table)();
      target = writtenBy("w1") + ROWS;
    };
    await timed(
      `timescale: ev-timescale-write in Node-RED (one row per msg, batch ${BATCH})`,
      ROWS,
      async () => {
        await red.emit(ROWS, (i) => ({ payload: row(i) }));
        await until(() => writtenBy("w1") >= target, 300_000, "ev-timescale-write rows");
      },
      { prepare: written("ev_bench") },
    );
    await timed(
      `timescale: ev-timescale-write in Node-RED (1000 rows per msg, batch ${BATCH})`,
      ROWS,
      async () => {
        await red.emit(ROWS / 1000, (k) => ({ table: "ev_bench_arrays", payload: Array.from({ length: 1000 }, (_, j) => row(k * 1000 + j)) }));
        await until(() => writtenBy("w1") >= target, 300_000, "ev-timescale-write array rows");
      },
      { prepare: written("ev_bench_arrays") },
    );
    await red.deploy([]);
    for (const table of ["ev_bench", "ev_bench_arrays"]) {
      const n = await countRows(pg, table);
      if (n !== ROWS) throw new Error(`${table} holds ${n} rows, expected ${ROWS}`);
    }
  } finally {
    await pg.close();
  }
}

function report(): void {
  console.log("");
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    console.log(`${r.name.padEnd(width)}  ${String(r.n).padStart(7)} in ${r.seconds.toFixed(2).padStart(6)} s = ${Math.round(rate(r)).toLocaleString("en-US").padStart(9)} /s${r.note ? `  (${r.note})` : ""}`);
  }
  const find = (prefix: string) => results.find((r) => r.name.startsWith(prefix));
  const ratioOf = (a?: Result, b?: Result) => (a && b ? rate(a) / rate(b) : undefined);
  const times = (x?: number) => (x === undefined ? "n/a" : `${x.toFixed(2)}×`);
  const verdict = (x: number | undefined, target: number) => (x === undefined ? "not measured" : x >= target ? "met" : "NOT met");
  const perMsg = find("influx: ev-influx-write in Node-RED (one");
  const influxBulk = find("influx: ev-influx-write in Node-RED (1000");
  const tsPerMsg = find("timescale: ev-timescale-write in Node-RED (one");
  const tsBulk = find("timescale: ev-timescale-write in Node-RED (1000");
  const copy = find("timescale: raw pg COPY");
  const ceiling = find("ceiling:");
  console.log("");
  console.log("Targets (issue 8):");
  const influxRate = perMsg ? rate(perMsg) : undefined;
  console.log(`  Influx ≥ 50,000 points/s, one point per msg: ${influxRate === undefined ? "n/a" : Math.round(influxRate).toLocaleString("en-US")} /s → ${verdict(influxRate, 50_000)}`);
  const vsContrib = ratioOf(perMsg, find("influx: node-red-contrib-influxdb 'influxdb out'"));
  console.log(`  Influx ≥ 2× node-red-contrib-influxdb ('influxdb out', one point per msg): ${times(vsContrib)} → ${verdict(vsContrib, 2)}`);
  console.log(`    (1000 points per msg, against its 'influxdb batch' node: ${times(ratioOf(influxBulk, find("influx: node-red-contrib-influxdb 'influxdb batch'")))})`);
  const vsSingle = ratioOf(tsPerMsg, find("timescale: one INSERT"));
  console.log(`  Timescale ≥ 10× one INSERT per message (one row per msg): ${times(vsSingle)} → ${verdict(vsSingle, 10)}`);
  const vsCopy = ratioOf(tsBulk, copy);
  console.log(`  Timescale ≥ 0.5× raw COPY (rows in bulk, 1000 per msg, as COPY gets them): ${times(vsCopy)} → ${verdict(vsCopy, 0.5)}`);
  console.log(`    (one row per msg: ${times(ratioOf(tsPerMsg, copy))}; see the ceiling below)`);
  console.log("");
  console.log(`ev-influx-write / raw client:       ${times(ratioOf(perMsg, find("influx: raw")))} one point per msg, ${times(ratioOf(influxBulk, find("influx: raw")))} 1000 per msg`);
  console.log(`ev-timescale-write / raw multi-row: ${times(ratioOf(tsPerMsg, find("timescale: raw pg multi-row")))} one row per msg, ${times(ratioOf(tsBulk, find("timescale: raw pg multi-row")))} 1000 per msg`);
  if (ceiling) {
    console.log(`Node-RED alone carries ${Math.round(rate(ceiling)).toLocaleString("en-US")} msg/s here to a node that does nothing: no writer fed one item per message can beat that`);
    console.log(`(ev-influx-write reaches ${times(ratioOf(perMsg, ceiling))} of it, ev-timescale-write ${times(ratioOf(tsPerMsg, ceiling))}).`);
    if (copy && rate(copy) / 2 > rate(ceiling)) {
      console.log(`Half of raw COPY (${Math.round(rate(copy) / 2).toLocaleString("en-US")} rows/s) is more than that: fed one row per message, no node can reach 0.5× raw COPY; rows in bulk can.`);
    }
  }
  for (const s of skipped) console.log(`skipped: ${s}`);
}

async function main(): Promise<void> {
  console.log(`Node ${process.version}; ${POINTS} points, ${ROWS} rows (slow contenders: ${SLOW_POINTS} points, ${SLOW_ROWS} rows)`);
  red = await startRuntime(hasContribInflux ? [CONTRIB_INFLUX] : []);
  try {
    await benchRuntimeAlone();
    if (ONLY !== "timescale") await benchInflux();
    await red.deploy([]);
    if (ONLY !== "influx") await benchTimescale();
  } finally {
    await red.stop();
  }
  report();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
