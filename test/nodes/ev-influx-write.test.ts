import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import type { Node, NodeMessage, NodeStatus } from "node-red";
import influxConfigNode from "../../nodes/ev-influx-config";
import influxWriteNode from "../../nodes/ev-influx-write";
import { startInflux, startOutageProxy, type InfluxEngine } from "../harness/engines";
import { startInfluxSimulator } from "../servers/influx-v2";

// EV_NODE_RED=node-red-5 runs the same tests on Node-RED 5 (Node 22+).
helper.init(require.resolve(process.env.EV_NODE_RED ?? "node-red"));

type Spied = Node & {
  status: { lastCall?: { args: [NodeStatus] }; args: Array<[NodeStatus]> };
  warn: { args: Array<[string]> };
  receive(msg: object): void;
};

interface WriteOpts {
  url: string;
  token?: string;
  org?: string;
  bucket?: string;
  measurement?: string;
  batchSize?: number;
  flushInterval?: number;
  maxBuffered?: number;
  integers?: "float" | "integer";
  timeTags?: boolean;
  timeZone?: string;
}

async function load(o: WriteOpts): Promise<{ w: Spied; caught: NodeMessage[] }> {
  const flow = [
    { id: "f1", type: "tab" },
    { id: "c1", type: "ev-influx-config", url: o.url, org: o.org ?? "evkit", bucket: o.bucket ?? "evkit", precision: "ms", timeout: 2, tlsVerify: true },
    {
      id: "w1",
      z: "f1",
      x: 100,
      y: 100,
      type: "ev-influx-write",
      influx: "c1",
      measurement: o.measurement ?? "",
      timeTags: o.timeTags ?? false,
      timeZone: o.timeZone ?? "",
      integers: o.integers ?? "float",
      batchSize: o.batchSize ?? 100,
      flushInterval: o.flushInterval ?? 50,
      maxBuffered: o.maxBuffered ?? 10_000,
    },
    { id: "catcher", z: "f1", x: 100, y: 100, type: "catch", scope: null, wires: [["sink"]] },
    { id: "sink", z: "f1", x: 100, y: 100, type: "helper" },
  ];
  await helper.load([influxConfigNode, influxWriteNode], flow as never, { c1: { token: o.token ?? "sim-token" } });
  const caught: NodeMessage[] = [];
  helper.getNode("sink").on("input", (msg: NodeMessage) => caught.push(msg));
  return { w: helper.getNode("w1") as unknown as Spied, caught };
}

async function until(check: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const lastText = (w: Spied): string => String(w.status.lastCall?.args[0].text ?? "");

describe("ev-influx-write against the InfluxDB v2 contract simulator", () => {
  afterEach(async () => {
    await helper.unload();
  });

  it("writes field types, tags and timestamps exactly", async () => {
    const sim = await startInfluxSimulator();
    try {
      const { w } = await load({ url: sim.url, measurement: "wallbox", timeTags: true, timeZone: "Europe/Oslo" });
      w.receive({ payload: { fields: { power: 7400, energy: { int: 12345 }, state: "charging", plugged: true }, tags: { site: "Ionity Vik (Hönefoss)" } }, timestamp: "2026-01-04T23:30:00Z" });
      w.receive({ payload: { site: "Ionity Vik", available: 2, total: 4, counts: {}, time: "2026-01-05T07:00:00Z", weekday: "Monday", hourOfDay: 8 } });
      await until(() => sim.state.points.length === 2, 5000, "two points");
      assert.deepEqual(sim.state.points[0], {
        bucket: "evkit",
        measurement: "wallbox",
        tags: { hour_of_day: "0", site: "Ionity Vik (Hönefoss)", weekday: "Monday" },
        fields: {
          power: { type: "float", value: 7400 },
          energy: { type: "integer", value: 12345 },
          state: { type: "string", value: "charging" },
          plugged: { type: "boolean", value: true },
        },
        timestamp: "1767569400000",
        precision: "ms",
      });
      assert.equal(sim.state.points[1].measurement, "charger_availability");
      assert.deepEqual(sim.state.points[1].tags, { hour_of_day: "8", site: "Ionity Vik", weekday: "Monday" });
      assert.deepEqual(sim.state.points[1].fields.available, { type: "integer", value: 2 });
      await until(() => lastText(w) === "✓2", 2000, "status ✓2");
    } finally {
      await helper.unload();
      await sim.close();
    }
  });

  it("reports a bad message at once through Catch, without queueing it", async () => {
    const sim = await startInfluxSimulator();
    try {
      const { w, caught } = await load({ url: sim.url });
      w.receive({ payload: { fields: { v: 1 } }, _id: "no-measurement" });
      w.receive({ payload: "x", measurement: "m", tags: "not-an-object" });
      await until(() => caught.length === 2, 2000, "two caught errors");
      assert.match(String((caught[0] as { error?: { message?: string } }).error?.message), /No measurement/);
      assert.match(String((caught[1] as { error?: { message?: string } }).error?.message), /msg.tags must be an object/);
      assert.equal(sim.state.requests, 0);
    } finally {
      await helper.unload();
      await sim.close();
    }
  });

  it("isolates a point the server refuses (type conflict) and writes the rest of the batch", async () => {
    const sim = await startInfluxSimulator();
    try {
      const { w, caught } = await load({ url: sim.url, measurement: "m", batchSize: 10, flushInterval: 300 });
      w.receive({ payload: { fields: { v: { int: 1 } } }, timestamp: 1 });
      const batch = Array.from({ length: 9 }, (_, i) => ({ fields: { v: i === 4 ? "oops" : { int: i + 10 } }, timestamp: i + 2 }));
      w.receive({ payload: batch, topic: "the-bad-batch" });
      await until(() => caught.length === 1 && sim.state.points.length === 9, 5000, "rejected point reported");
      const error = (caught[0] as { error?: { message?: string }; topic?: string });
      assert.match(String(error.error?.message), /field type conflict/);
      assert.match(String(error.error?.message), /v="oops"/);
      assert.equal(error.topic, "the-bad-batch");
      assert.deepEqual(sim.state.points.map((p) => p.timestamp), ["1", "2", "3", "4", "5", "7", "8", "9", "10"]);
      w.receive({ payload: { fields: { v: { int: 99 } } }, timestamp: 11 });
      await until(() => sim.state.points.length === 10, 2000, "the next point");
      await until(() => lastText(w).includes("rej 1"), 2000, "rej in status");
      assert.equal(w.status.lastCall?.args[0].fill, "yellow");
    } finally {
      await helper.unload();
      await sim.close();
    }
  });

  it("says plainly when the token is wrong, keeps the points, and never loses them", async () => {
    const sim = await startInfluxSimulator();
    try {
      const { w } = await load({ url: sim.url, measurement: "m", token: "wrong" });
      w.receive({ payload: 1 });
      await until(() => lastText(w).includes("Wrong or missing"), 3000, "token status");
      assert.equal(w.status.lastCall?.args[0].fill, "red");
      assert.match(lastText(w), /^buf 1 · /);
      assert.ok(w.warn.args.some(([m]) => /Wrong or missing InfluxDB token \(HTTP 401\)/.test(m) && /keeping 1/.test(m)));
      assert.ok(!w.warn.args.some(([m]) => m.includes("wrong")), "the token never appears in a warning");
    } finally {
      await helper.unload();
      await sim.close();
    }
  });

  it("says plainly when the bucket does not exist", async () => {
    const sim = await startInfluxSimulator();
    try {
      const { w } = await load({ url: sim.url, measurement: "m", bucket: "nope" });
      w.receive({ payload: 1 });
      await until(() => w.warn.args.some(([m]) => /Bucket "nope" or organisation "evkit" not found \(HTTP 404\)/.test(m)), 3000, "404 warning");
    } finally {
      await helper.unload();
      await sim.close();
    }
  });

  it("rides out 503s and delivers every point exactly once, in order", async () => {
    const sim = await startInfluxSimulator();
    try {
      const { w } = await load({ url: sim.url, measurement: "m", batchSize: 5, flushInterval: 20 });
      sim.state.failNext(503, 2);
      for (let i = 0; i < 20; i++) w.receive({ payload: { fields: { n: { int: i } }, timestamp: 1000 + i } });
      await until(() => sim.state.points.length >= 20, 15_000, "20 points");
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(sim.state.points.map((p) => p.fields.n.value), Array.from({ length: 20 }, (_, i) => i));
    } finally {
      await helper.unload();
      await sim.close();
    }
  });

  it("waits as long as a 429's Retry-After asks before trying again", async () => {
    const sim = await startInfluxSimulator();
    try {
      const { w } = await load({ url: sim.url, measurement: "m" });
      sim.state.failNext(429, 1, 2);
      const t0 = Date.now();
      w.receive({ payload: 1, timestamp: 1 });
      await until(() => sim.state.points.length === 1, 8000, "the point after the wait");
      // The plain backoff would retry after about 1 s; Retry-After said 2 s.
      assert.ok(Date.now() - t0 >= 1900, `retried after ${Date.now() - t0} ms`);
      assert.equal(sim.state.requests, 2);
      assert.ok(w.warn.args.some(([m]) => /rate limiting writes \(HTTP 429\)/.test(m) && /retrying in 2 s/.test(m)));
    } finally {
      await helper.unload();
      await sim.close();
    }
  });

  it("honours the buffer bound while the server is away and counts the drops", async () => {
    const sim = await startInfluxSimulator();
    try {
      const { w } = await load({ url: sim.url, measurement: "m", batchSize: 10, maxBuffered: 20, flushInterval: 20 });
      sim.state.failNext(503, 1000);
      w.receive({ payload: Array.from({ length: 10 }, (_, i) => ({ fields: { n: { int: i } }, timestamp: i })) });
      await until(() => sim.state.requests >= 1, 3000, "the first failing request");
      w.receive({ payload: Array.from({ length: 40 }, (_, i) => ({ fields: { n: { int: i + 10 } }, timestamp: i + 10 })) });
      sim.state.failNext(503, 0);
      await until(() => sim.state.points.length >= 20, 15_000, "20 points after recovery");
      await new Promise((r) => setTimeout(r, 100));
      // Oldest first: while the server is away the newest readings are worth most.
      assert.deepEqual(sim.state.points.map((p) => p.fields.n.value), Array.from({ length: 20 }, (_, i) => i + 30));
      await until(() => lastText(w).includes("drop 30"), 2000, "drop count in status");
      assert.ok(w.warn.args.some(([m]) => /Buffer full \(20\)/.test(m)));
    } finally {
      await helper.unload();
      await sim.close();
    }
  });

  it("flushes what is buffered when redeployed", async () => {
    const sim = await startInfluxSimulator();
    try {
      const { w } = await load({ url: sim.url, measurement: "m", batchSize: 1000, flushInterval: 600_000 });
      for (let i = 0; i < 7; i++) w.receive({ payload: i, timestamp: 1000 + i });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(sim.state.points.length, 0);
      await helper.setFlows([{ id: "f1", type: "tab" }] as never, "full");
      assert.equal(sim.state.points.length, 7);
    } finally {
      await helper.unload();
      await sim.close();
    }
  });
});

describe("ev-influx-write against a real InfluxDB-compatible server", () => {
  let influx: InfluxEngine | undefined;
  let skip: string | undefined;
  before(async () => {
    const started = await startInflux();
    if ("skip" in started) skip = started.skip;
    else influx = started;
  });
  after(async () => {
    await influx?.close();
  });
  afterEach(async () => {
    await helper.unload();
  });

  it("writes and reads back site names that need escaping", async (t) => {
    if (!influx) return t.skip(skip);
    const measurement = `rt_${Date.now()}`;
    const { w } = await load({ url: influx.url, token: influx.token, org: influx.org, bucket: influx.bucket, measurement, batchSize: 50 });
    const sites = ["Ionity Vik (Hönefoss)", "Circle K, Gardermoen", 'Tesla "SC" = 1'];
    const points = Array.from({ length: 120 }, (_, i) => ({ tags: { site: sites[i % 3] }, fields: { available: i % 5, ratio: i / 100 }, timestamp: 1_700_000_000_000 + i * 1000 }));
    w.receive({ payload: points });
    const samples = await influx.read(measurement, { minSamples: 240, timeoutMs: 15_000 });
    assert.equal(samples.length, 240);
    const available = samples.filter((s) => s.field === "available");
    assert.deepEqual(
      available.map((s) => [s.tags.site, s.value, s.time]),
      points.map((p) => [p.tags.site, p.fields.available, p.timestamp]),
    );
  });

  it("loses nothing and duplicates nothing when the server stops mid-stream", async (t) => {
    if (!influx) return t.skip(skip);
    // An owned VictoriaMetrics is really stopped; an external server is cut off by a proxy.
    const proxy = influx.kind === "victoria-metrics" ? undefined : await startOutageProxy(influx.url);
    const down = proxy ? () => proxy.down() : () => influx!.stop();
    const up = proxy ? () => proxy.up() : () => influx!.start();
    try {
      const measurement = `outage_${Date.now()}`;
      const url = proxy ? proxy.url : influx.url;
      const { w } = await load({ url, token: influx.token, org: influx.org, bucket: influx.bucket, measurement, batchSize: 10, flushInterval: 20 });
      const send = (i: number): void => w.receive({ payload: { fields: { n: i }, timestamp: 1_700_000_000_000 + i * 1000 } });
      for (let i = 0; i < 30; i++) send(i);
      await influx.read(measurement, { minSamples: 30 });
      // Acknowledged, not only stored: a cut before the answer means a retry (InfluxDB overwrites, VictoriaMetrics would not).
      await until(() => lastText(w) === "✓30", 5000, "30 points acknowledged");
      await down();
      for (let i = 30; i < 60; i++) send(i);
      await until(() => lastText(w).startsWith("buf"), 5000, "error status while down");
      await up();
      const samples = await influx.read(measurement, { minSamples: 60, timeoutMs: 20_000 });
      assert.deepEqual(samples.map((s) => s.value), Array.from({ length: 60 }, (_, i) => i));
    } finally {
      await proxy?.close();
    }
  });
});
