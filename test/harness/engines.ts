/**
 * Real engines for tests: an MQTT broker, PostgreSQL and an
 * InfluxDB-v2-write-compatible server. Each starter uses a real server when
 * its TEST_*_URL variable is set (CI: Mosquitto, PostgreSQL 15,
 * VictoriaMetrics) and an embedded or locally started engine otherwise.
 * Every starter returns close(), which releases every port, process and
 * temporary directory it created; call it in after()/afterEach().
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { freePort, listenOn, waitForPort } from "./net";

export { freePort, waitForPort, startOutageProxy, type OutageProxy } from "./net";

// ---------------------------------------------------------------- MQTT

export interface MqttEngine {
  url: string;
  kind: "external" | "aedes";
  /** Owned broker only: cuts every client and stops listening (same port kept). */
  stop(): Promise<void>;
  /** Owned broker only: listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** TEST_MQTT_URL (e.g. mqtt://127.0.0.1:1883) or an embedded aedes broker on a free port. */
export async function startMqttBroker(): Promise<MqttEngine> {
  const external = process.env.TEST_MQTT_URL;
  if (external) {
    const noop = async (): Promise<void> => undefined;
    const refuse = async (): Promise<void> => {
      throw new Error("Cannot stop an external broker; put startOutageProxy() in front of it");
    };
    return { url: external, kind: "external", stop: refuse, start: refuse, close: noop };
  }
  // aedes is an ES module; a dynamic import keeps this file CommonJS-friendly.
  const { Aedes } = await import("aedes");
  const broker = await Aedes.createBroker();
  const sockets = new Set<net.Socket>();
  const port = await freePort();
  let server: net.Server | undefined;
  const start = async (): Promise<void> => {
    if (server) return;
    const s = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      broker.handle(socket);
    });
    await listenOn(s, port);
    server = s;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    kind: "aedes",
    stop,
    start,
    close: async () => {
      await stop();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------- PostgreSQL

export interface PostgresEngine {
  /**
   * postgres://user:password@127.0.0.1:port/database: a database of its own,
   * or, when the TEST_PG_URL role may not create databases, a schema of its
   * own (then `schema` is set and the URL carries the search_path).
   */
  url: string;
  host: string;
  port: number;
  database: string;
  /** Set when isolated by schema: give it to ev-timescale-config's `schema`. */
  schema?: string;
  user: string;
  password: string;
  kind: "external" | "pglite";
  /**
   * True when the TimescaleDB extension is created in this database (only
   * when asked for with `startPostgres({ timescale: true })` and the server
   * has it). PGlite never has it.
   */
  timescale: boolean;
  /**
   * How many connections the server accepts at once. PGlite serves ONE:
   * writers under test must use a pool of 1, and the test reads back with
   * query() below rather than with a second connection.
   */
  maxConnections: number;
  /** Runs SQL out of band (PGlite: in process; external: a short-lived connection). */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Cuts every connection and stops listening; the data is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface PostgresOptions {
  /**
   * Create the TimescaleDB extension in the new database when the server
   * has it. With TEST_PG_TIMESCALE=1 (CI, where it is installed) a server
   * without it is an error rather than a quiet fallback to plain PostgreSQL.
   */
  timescale?: boolean;
}

/**
 * TEST_PG_URL (e.g. postgres://ev:ev@127.0.0.1:5432/postgres) gets a fresh
 * uniquely named database per call (a schema in the URL's database when the
 * role lacks CREATEDB), dropped in close(). Otherwise embedded PGlite served
 * over TCP by @electric-sql/pglite-socket on a free port. The database is
 * plain PostgreSQL unless `timescale` asks for the extension.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresEngine> {
  const external = process.env.TEST_PG_URL;
  return external ? startExternalPostgres(external, options) : startPglite();
}

/** One database per engine the tests should cover, for `for (const v of postgresVariants())` suites. */
export interface PostgresVariant {
  /** For test names: "TimescaleDB", "plain PostgreSQL" or "PGlite". */
  name: string;
  options: PostgresOptions;
}

/**
 * With TEST_PG_URL: a database with TimescaleDB and a plain PostgreSQL one.
 * Without: PGlite. The "TimescaleDB" one falls back to plain PostgreSQL
 * (engine.timescale false) when the server lacks the extension, unless
 * TEST_PG_TIMESCALE=1 says it must be there (CI).
 */
export function postgresVariants(): PostgresVariant[] {
  if (!process.env.TEST_PG_URL) return [{ name: "PGlite", options: {} }];
  return [
    { name: "TimescaleDB", options: { timescale: true } },
    { name: "plain PostgreSQL", options: {} },
  ];
}

let timescaleKnown: Promise<boolean> | undefined;

/** Whether the server at TEST_PG_URL can create the timescaledb extension. */
export function timescaleAvailable(adminUrl = process.env.TEST_PG_URL): Promise<boolean> {
  if (!adminUrl) return Promise.resolve(false);
  timescaleKnown ??= (async () => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      const found = await client.query("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'");
      return (found.rowCount ?? 0) > 0;
    } finally {
      await client.end();
    }
  })();
  return timescaleKnown;
}

async function startExternalPostgres(adminUrl: string, options: PostgresOptions): Promise<PostgresEngine> {
  const admin = new URL(adminUrl);
  const name = `evtest_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const adminClient = new Client({ connectionString: adminUrl });
  await adminClient.connect();
  let isolation: "database" | "schema" = "database";
  try {
    await adminClient.query(`CREATE DATABASE "${name}"`);
  } catch (err) {
    // A role without CREATEDB (as in CI) gets a schema of its own instead.
    if ((err as { code?: string }).code !== "42501") throw err;
    isolation = "schema";
    await adminClient.query(`CREATE SCHEMA "${name}"`);
  } finally {
    await adminClient.end();
  }
  const url = new URL(adminUrl);
  if (isolation === "database") url.pathname = `/${name}`;
  else url.searchParams.set("options", `-c search_path=${name},public`);
  const database = isolation === "database" ? name : decodeURIComponent(admin.pathname.slice(1) || admin.username);
  const query = async <R,>(sql: string, params?: unknown[]): Promise<R[]> => {
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as R[];
    } finally {
      await client.end();
    }
  };
  let timescale = false;
  if (options.timescale) {
    try {
      timescale = await createTimescale(query, isolation);
    } catch (err) {
      await dropIsolated(adminUrl, isolation, name).catch(() => undefined);
      throw err;
    }
  }
  const refuse = async (): Promise<void> => {
    throw new Error("Cannot stop an external PostgreSQL; put startOutageProxy() in front of it");
  };
  return {
    url: url.toString(),
    host: admin.hostname,
    port: Number(admin.port || 5432),
    database,
    schema: isolation === "schema" ? name : undefined,
    user: decodeURIComponent(admin.username),
    password: decodeURIComponent(admin.password),
    kind: "external",
    timescale,
    maxConnections: 20,
    query,
    stop: refuse,
    start: refuse,
    close: () => dropIsolated(adminUrl, isolation, name),
  };
}

/**
 * CREATE EXTENSION timescaledb in the fresh database. False when the server
 * does not have it, unless TEST_PG_TIMESCALE=1 says it must (then it throws).
 * In a schema of its own the extension is the database's: used if it is there.
 */
async function createTimescale(
  query: <R>(sql: string, params?: unknown[]) => Promise<R[]>,
  isolation: "database" | "schema",
): Promise<boolean> {
  const required = process.env.TEST_PG_TIMESCALE === "1";
  const available = await query<{ installed: string | null }>("SELECT installed_version AS installed FROM pg_available_extensions WHERE name = 'timescaledb'");
  if (available.length === 0) {
    if (required) throw new Error("TEST_PG_TIMESCALE=1 but the server at TEST_PG_URL has no timescaledb extension (see ../shared/engines/timescaledb/README.md)");
    return false;
  }
  if (available[0].installed) return true;
  if (isolation === "schema" && !required) return false;
  await query("CREATE EXTENSION IF NOT EXISTS timescaledb");
  return true;
}

async function dropIsolated(adminUrl: string, isolation: "database" | "schema", name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    // FORCE (PostgreSQL 13+) ends connections a pool under test may have left behind.
    if (isolation === "database") await dropDatabase(client, name);
    else await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * DROP DATABASE ... WITH (FORCE), again for a while when it fails: a role
 * that is not superuser may not end an autovacuum worker (42501), which
 * visits a database right after many rows went in.
 */
async function dropDatabase(client: Client, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code !== "42501" && code !== "55006") || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function startPglite(): Promise<PostgresEngine> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create();
  const port = await freePort();
  let server: InstanceType<typeof PGLiteSocketServer> | undefined;
  const start = async (): Promise<void> => {
    if (server) return;
    for (let attempt = 0; ; attempt++) {
      // One connection: the socket multiplexer interleaves protocol messages
      // of concurrent clients, which breaks the extended query protocol.
      const s = new PGLiteSocketServer({ db, port, host: "127.0.0.1", maxConnections: 1 });
      try {
        await s.start();
        server = s;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 40) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (s) await s.stop();
  };
  await start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    host: "127.0.0.1",
    port,
    database: "postgres",
    user: "postgres",
    password: "postgres",
    kind: "pglite",
    timescale: false,
    maxConnections: 1,
    query: async <R,>(sql: string, params?: unknown[]) => (await db.query(sql, params)).rows as R[],
    stop,
    start,
    close: async () => {
      await stop();
      await db.close();
    },
  };
}

// ---------------------------------------------------------------- InfluxDB v2 write API

/** One stored value as read back: line protocol measurement, field and tags. */
export interface InfluxSample {
  measurement: string;
  field: string;
  tags: Record<string, string>;
  /** VictoriaMetrics stores numbers only: booleans become 1/0 and strings 0. */
  value: number | string | boolean;
  /** Epoch milliseconds. */
  time: number;
}

export interface InfluxEngine {
  url: string;
  org: string;
  bucket: string;
  token: string;
  kind: "external-influxdb" | "external-victoria-metrics" | "victoria-metrics";
  /** False for VictoriaMetrics (numbers only); true for a real InfluxDB. */
  keepsFieldTypes: boolean;
  /**
   * Everything stored for `measurement`, sorted by time, field. Waits (up to
   * `timeoutMs`) until at least `minSamples` samples are visible, because
   * VictoriaMetrics makes fresh data searchable after a short delay.
   */
  read(measurement: string, options?: { minSamples?: number; timeoutMs?: number }): Promise<InfluxSample[]>;
  /** Owned server only: kills the process (data kept on disk). */
  stop(): Promise<void>;
  /** Owned server only: starts it again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export type InfluxStart = InfluxEngine | { skip: string };

function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const full = path.join(dir, binary);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      return full;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/**
 * TEST_INFLUX_URL (+ TEST_INFLUX_ORG, TEST_INFLUX_BUCKET, TEST_INFLUX_TOKEN;
 * a real InfluxDB 2.x or a VictoriaMetrics) or `victoria-metrics` from PATH
 * on a free port with a temporary storage dir. Otherwise `{skip}` with a
 * one-line reason for `t.skip(reason)`.
 *
 * VictoriaMetrics maps a line `m,tag=v f1=1,f2=2 t` to the series `m_f1`
 * and `m_f2`, each with label `tag="v"`; org and bucket are ignored.
 */
export async function startInflux(): Promise<InfluxStart> {
  const external = process.env.TEST_INFLUX_URL;
  if (external) {
    const url = external.replace(/\/$/, "");
    const isVm = await looksLikeVictoriaMetrics(url);
    const base = {
      url,
      org: process.env.TEST_INFLUX_ORG ?? "evkit",
      bucket: process.env.TEST_INFLUX_BUCKET ?? "evkit-test",
      token: process.env.TEST_INFLUX_TOKEN ?? "test-token",
    };
    const refuse = async (): Promise<void> => {
      throw new Error("Cannot stop an external server; put startOutageProxy() in front of it");
    };
    return {
      ...base,
      kind: isVm ? "external-victoria-metrics" : "external-influxdb",
      keepsFieldTypes: !isVm,
      read: isVm ? (m, o) => readVictoria(url, m, o) : (m, o) => readFlux(base, m, o),
      stop: refuse,
      start: refuse,
      close: async () => undefined,
    };
  }
  const binary = findOnPath("victoria-metrics");
  if (!binary) return { skip: "no InfluxDB-compatible server: set TEST_INFLUX_URL or install victoria-metrics" };

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-vm-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    if (child) return;
    const proc = spawn(
      binary,
      [
        `-storageDataPath=${dataDir}`,
        `-httpListenAddr=127.0.0.1:${port}`,
        "-retentionPeriod=100y",
        "-loggerLevel=ERROR",
        "-search.latencyOffset=0s",
        "-search.disableCache",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    proc.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child = proc;
    try {
      await Promise.race([
        waitForPort(port),
        new Promise<never>((_, reject) => proc.once("exit", (code) => reject(new Error(`victoria-metrics exited (${code}): ${stderr}`)))),
      ]);
    } catch (err) {
      proc.kill("SIGKILL");
      child = undefined;
      throw err;
    }
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const hard = setTimeout(() => proc.kill("SIGKILL"), 5000);
      proc.once("exit", () => {
        clearTimeout(hard);
        resolve();
      });
      proc.kill("SIGTERM");
    });
  };
  await start();
  return {
    url,
    org: "evkit",
    bucket: "evkit-test",
    token: "test-token",
    kind: "victoria-metrics",
    keepsFieldTypes: false,
    read: (m, o) => readVictoria(url, m, o),
    stop,
    start,
    close: async () => {
      await stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function looksLikeVictoriaMetrics(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/api/v1/status/buildinfo`);
    return res.ok;
  } catch {
    return false;
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function waitFor<T>(read: () => Promise<T[]>, minSamples: number, timeoutMs: number): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await read();
    if (rows.length >= minSamples || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function readVictoria(url: string, measurement: string, options: { minSamples?: number; timeoutMs?: number } = {}): Promise<InfluxSample[]> {
  const prefix = `${measurement}_`;
  const selector = `{__name__=~"${escapeRegex(prefix).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}.+"}`;
  const once = async (): Promise<InfluxSample[]> => {
    await fetch(`${url}/internal/force_flush`).catch(() => undefined);
    const res = await fetch(`${url}/api/v1/export?${new URLSearchParams({ "match[]": selector, start: "0" })}`);
    if (!res.ok) throw new Error(`VictoriaMetrics export: HTTP ${res.status} ${await res.text()}`);
    const samples: InfluxSample[] = [];
    for (const line of (await res.text()).split("\n")) {
      if (!line.trim()) continue;
      const series = JSON.parse(line) as { metric: Record<string, string>; values: number[]; timestamps: number[] };
      const { __name__: name, ...tags } = series.metric;
      series.values.forEach((value, i) => {
        samples.push({ measurement, field: name.slice(prefix.length), tags, value, time: series.timestamps[i] });
      });
    }
    return samples.sort((a, b) => a.time - b.time || a.field.localeCompare(b.field));
  };
  return waitFor(once, options.minSamples ?? 1, options.timeoutMs ?? 10_000);
}

async function readFlux(
  conn: { url: string; org: string; bucket: string; token: string },
  measurement: string,
  options: { minSamples?: number; timeoutMs?: number } = {},
): Promise<InfluxSample[]> {
  const { InfluxDB } = await import("@influxdata/influxdb-client");
  const api = new InfluxDB({ url: conn.url, token: conn.token }).getQueryApi(conn.org);
  const once = async (): Promise<InfluxSample[]> => {
    const flux = `from(bucket: ${JSON.stringify(conn.bucket)}) |> range(start: 0) |> filter(fn: (r) => r._measurement == ${JSON.stringify(measurement)})`;
    const rows = await api.collectRows<Record<string, unknown>>(flux);
    return rows
      .map((row) => {
        const tags: Record<string, string> = {};
        for (const [key, value] of Object.entries(row)) {
          if (!key.startsWith("_") && !["result", "table"].includes(key) && typeof value === "string") tags[key] = value;
        }
        return {
          measurement,
          field: String(row._field),
          tags,
          value: row._value as number | string | boolean,
          time: Date.parse(String(row._time)),
        };
      })
      .sort((a, b) => a.time - b.time || a.field.localeCompare(b.field));
  };
  return waitFor(once, options.minSamples ?? 1, options.timeoutMs ?? 10_000);
}
