import { describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import mqtt from "mqtt";
import { Client } from "pg";
import { freePort, postgresVariants, timescaleAvailable, startInflux, startMqttBroker, startOutageProxy, startPostgres } from "./engines";

async function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

describe("test engine harness", () => {
  it("freePort gives a port nothing listens on", async () => {
    const port = await freePort();
    assert.ok(port > 0);
    assert.equal(await refused(port), true);
  });

  it("MQTT broker relays a message, stops and restarts on the same port, and frees its port", async () => {
    const broker = await startMqttBroker();
    try {
      const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      await client.subscribeAsync("ev/test");
      const got = new Promise<string>((resolve) => client.on("message", (_t, payload) => resolve(payload.toString())));
      await client.publishAsync("ev/test", "hello");
      assert.equal(await got, "hello");
      if (broker.kind === "aedes") {
        const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
        await broker.stop();
        await closed;
        await broker.start();
        const again = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
        await again.endAsync();
      }
      await client.endAsync(true);
    } finally {
      await broker.close();
    }
    if (broker.kind === "aedes") assert.equal(await refused(Number(new URL(broker.url).port)), true);
  });

  it("PostgreSQL: round trip, stop/start keeps data, separate database per start", async () => {
    const pg = await startPostgres();
    try {
      const client = new Client({ connectionString: pg.url });
      await client.connect();
      await client.query("CREATE TABLE t (id int, name text)");
      await client.query("INSERT INTO t VALUES ($1, $2)", [1, "Ionity Vik (Hönefoss)"]);
      await client.end();
      assert.deepEqual(await pg.query("SELECT id, name FROM t"), [{ id: 1, name: "Ionity Vik (Hönefoss)" }]);
      if (pg.kind === "pglite") {
        assert.equal(pg.maxConnections, 1);
        await pg.stop();
        assert.equal(await refused(pg.port), true);
        await pg.start();
        const again = new Client({ connectionString: pg.url });
        await again.connect();
        assert.equal((await again.query("SELECT count(*)::int AS n FROM t")).rows[0].n, 1);
        await again.end();
      }
    } finally {
      await pg.close();
    }
  });

  it("PostgreSQL variants: TimescaleDB database has the extension, the plain one does not", async () => {
    const variants = postgresVariants();
    assert.deepEqual(variants.map((v) => v.name), process.env.TEST_PG_URL ? ["TimescaleDB", "plain PostgreSQL"] : ["PGlite"]);
    const hasExtension = await timescaleAvailable();
    if (process.env.TEST_PG_TIMESCALE === "1") assert.equal(hasExtension, true, "CI installs TimescaleDB");
    for (const variant of variants) {
      const pg = await startPostgres(variant.options);
      try {
        const withIt = variant.name === "TimescaleDB" && hasExtension;
        const found = await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'timescaledb'");
        assert.equal(found[0].n, withIt ? 1 : 0, variant.name);
        assert.equal(pg.timescale, withIt, variant.name);
        if (pg.timescale) {
          await pg.query("CREATE TABLE m (time timestamptz NOT NULL, v float8)");
          await pg.query("SELECT create_hypertable('m', 'time')");
          const buckets = await pg.query<{ b: Date }>("INSERT INTO m VALUES ('2026-01-01T10:07:00Z', 1) RETURNING time_bucket('1 hour', time) AS b");
          assert.deepEqual(buckets, [{ b: new Date("2026-01-01T10:00:00Z") }]);
        }
      } finally {
        await pg.close();
      }
    }
  });

  it("outage proxy cuts connections and comes back on the same port", async () => {
    const pg = await startPostgres();
    const proxy = await startOutageProxy(pg.url);
    try {
      const c1 = new Client({ connectionString: proxy.url });
      c1.on("error", () => undefined);
      await c1.connect();
      assert.equal((await c1.query("SELECT 1 AS one")).rows[0].one, 1);
      await proxy.down();
      await assert.rejects(c1.query("SELECT 1"));
      assert.equal(await refused(proxy.port), true);
      await proxy.up();
      const c2 = new Client({ connectionString: proxy.url });
      await c2.connect();
      assert.equal((await c2.query("SELECT 2 AS two")).rows[0].two, 2);
      await c2.end();
    } finally {
      await proxy.close();
      await pg.close();
    }
  });

  it("Influx-compatible server accepts the v2 write API and reads back", async (t) => {
    const influx = await startInflux();
    if ("skip" in influx) {
      t.skip(influx.skip);
      return;
    }
    try {
      const measurement = `harness_${Date.now()}`;
      const body = `${measurement},site=Ionity\\ Vik\\ (Hönefoss) available=3i,ratio=0.75 1700000000000\n`;
      const res = await fetch(`${influx.url}/api/v2/write?org=${influx.org}&bucket=${influx.bucket}&precision=ms`, {
        method: "POST",
        headers: { Authorization: `Token ${influx.token}` },
        body,
      });
      assert.equal(res.status, 204);
      const samples = await influx.read(measurement, { minSamples: 2 });
      assert.deepEqual(
        samples.map((s) => [s.field, s.tags.site, s.value, s.time]),
        [
          ["available", "Ionity Vik (Hönefoss)", 3, 1700000000000],
          ["ratio", "Ionity Vik (Hönefoss)", 0.75, 1700000000000],
        ],
      );
      if (influx.kind === "victoria-metrics") {
        await influx.stop();
        assert.equal(await refused(Number(new URL(influx.url).port)), true);
        await influx.start();
        assert.equal((await influx.read(measurement, { minSamples: 2 })).length, 2);
      }
    } finally {
      await influx.close();
    }
  });
});
