/**
 * "Free fast chargers every 15 min to InfluxDB" end to end: public sites polled in parallel → ev-availability →
 * ev-influx-write → a real InfluxDB-compatible server, read back with the
 * seed's exact layout: measurement charger_availability, tags site, weekday,
 * hour_of_day, fields available and total.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import helper from "node-red-node-test-helper";
import availabilityNode from "../../nodes/ev-availability";
import influxConfigNode from "../../nodes/ev-influx-config";
import influxWriteNode from "../../nodes/ev-influx-write";
import { localTimeParts } from "../../nodes/lib/time";
import { startInflux, type InfluxEngine } from "../harness/engines";
import { startAvailabilityFeeds, type AvailabilityFeeds } from "../servers/availability-feeds";
import { collect, editorFlow } from "../support/node-red";

helper.init(require.resolve("node-red"));

interface InfluxPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number>;
  timestamp: string;
}

describe("seed (a): site availability into InfluxDB", () => {
  let feeds: AvailabilityFeeds;
  let influx: InfluxEngine | undefined;
  let skip = "";
  before(async () => {
    feeds = await startAvailabilityFeeds();
    const started = await startInflux();
    if ("skip" in started) skip = started.skip;
    else influx = started;
  });
  after(async () => {
    await feeds.close();
    await influx?.close();
  });
  afterEach(async () => {
    await helper.unload();
  });

  it("stores free and total chargers per site with weekday and hour-of-day tags, read back from the server", async (t) => {
    if (!influx) return t.skip(skip);
    const timeZone = "Europe/Oslo";
    const sites = ["cf-site-01", "cf-site-03", "cf-site-05"];
    await helper.load(
      [availabilityNode, influxConfigNode, influxWriteNode],
      editorFlow([
        { id: "tab", type: "tab", label: "seed a" },
        {
          id: "avail",
          z: "tab",
          type: "ev-availability",
          provider: "chargefinder",
          url: `${feeds.url}/chargefinder`,
          sites: sites.map((id) => ({ id })),
          output: "influx",
          timeZone,
          interval: "0",
          stagger: "100",
          wires: [["write", "seen"]],
        },
        { id: "seen", z: "tab", type: "helper" },
        { id: "cfg", type: "ev-influx-config", url: influx.url, org: influx.org, bucket: influx.bucket, precision: "ms", timeout: 5, tlsVerify: true },
        { id: "write", z: "tab", type: "ev-influx-write", influx: "cfg", measurement: "", integers: "integer", batchSize: 100, flushInterval: 50, maxBuffered: 1000 },
        { id: "c", z: "tab", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
        { id: "caught", z: "tab", type: "helper" },
      ]),
      { cfg: { token: influx.token } },
    );
    const seen = collect(helper.getNode("seen"));
    const caught = collect(helper.getNode("caught"));
    helper.getNode("avail").receive({ payload: "poll" });
    const [msg] = await seen.take(1, 15_000);
    const points = msg.payload as InfluxPoint[];
    assert.deepEqual(points.map((p) => p.tags.site).sort(), sites);
    for (const point of points) {
      assert.equal(point.measurement, "charger_availability");
      assert.deepEqual(Object.keys(point.tags).sort(), ["hour_of_day", "site", "weekday"]);
      const local = localTimeParts(new Date(point.timestamp), timeZone);
      assert.deepEqual([point.tags.weekday, point.tags.hour_of_day], [local.weekday, String(local.hourOfDay)]);
      assert.ok(point.fields.available <= point.fields.total && point.fields.total > 0);
    }

    const stored = await influx.read("charger_availability", { minSamples: sites.length * 2, timeoutMs: 20_000 });
    const asRows = (list: Array<{ site: string; field: string; value: unknown; weekday: string; hour: string; time: number }>) =>
      list.map((r) => JSON.stringify(r)).sort();
    assert.deepEqual(
      asRows(stored.map((s) => ({ site: s.tags.site, field: s.field, value: s.value, weekday: s.tags.weekday, hour: s.tags.hour_of_day, time: s.time }))),
      asRows(
        points.flatMap((p) =>
          ["available", "total"].map((field) => ({
            site: p.tags.site,
            field,
            value: p.fields[field],
            weekday: p.tags.weekday,
            hour: p.tags.hour_of_day,
            time: Date.parse(p.timestamp),
          })),
        ),
      ),
    );
    assert.equal(caught.pending.length, 0, "no errors along the way");
  });
});
