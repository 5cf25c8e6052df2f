import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startAvailabilityFeeds, type AvailabilityFeeds } from "../../servers/availability-feeds";
import { AvailabilityService } from "../../../nodes/lib/availability/service";
import { ChargefinderProvider } from "../../../nodes/lib/availability/providers/chargefinder";
import { ChargyProvider } from "../../../nodes/lib/availability/providers/chargy";
import { OcpiProvider } from "../../../nodes/lib/availability/providers/ocpi";
import { toInfluxPoint } from "../../../nodes/lib/availability/records";
import type { SiteSpec } from "../../../nodes/lib/availability/model";
import { client, signal } from "./helpers";

const SITES: SiteSpec[] = Array.from({ length: 20 }, (_, i) => ({ id: `cf-site-${String(i + 1).padStart(2, "0")}` }));
// Wednesday 2026-01-07 13:15 UTC = 14:15 in Luxembourg.
const NOW = new Date("2026-01-07T13:15:00Z");

describe("availability service", () => {
  let feeds: AvailabilityFeeds;
  before(async () => {
    feeds = await startAvailabilityFeeds({ ocpiToken: "t0ken" });
  });
  after(() => feeds.close());

  it("polls 20 sites with 1 s latency in parallel: about 1 s plus stagger, not 20 s", async () => {
    const service = new AvailabilityService({
      provider: new ChargefinderProvider(client(), { baseUrl: `${feeds.url}/chargefinder` }),
      sites: SITES,
      concurrency: 20,
      staggerMs: 100,
      budgetMs: 20_000,
      cacheTtlMs: 0,
      timeZone: "Europe/Luxembourg",
      now: () => NOW,
    });
    // Site metadata is cached for an hour; warm it so each site costs one status request.
    assert.equal((await service.poll(signal())).okCount, 20);
    feeds.resetCounters();
    feeds.state.latencyMs = 1000;
    try {
      const t0 = Date.now();
      const result = await service.poll(signal());
      const elapsed = Date.now() - t0;
      assert.equal(result.okCount, 20);
      assert.equal(feeds.state.hits.size, 20, "one status request per site");
      assert.ok(elapsed >= 1000 + 19 * 100 - 50, `too fast to be real: ${elapsed} ms`);
      assert.ok(elapsed < 6000, `not parallel: ${elapsed} ms`);
      assert.ok(feeds.state.maxInFlight >= 8, `only ${feeds.state.maxInFlight} requests at once`);
      const first = result.outcomes[0];
      assert.ok(first.ok);
      assert.deepEqual(
        { site: first.record.site, available: first.record.available, total: first.record.total, weekday: first.record.weekday, hourOfDay: first.record.hourOfDay },
        { site: "cf-site-01", available: 2, total: 4, weekday: "Wednesday", hourOfDay: 14 },
      );
      assert.deepEqual(first.record.counts, { AVAILABLE: 2, CHARGING: 1, RESERVED: 0, BLOCKED: 0, OUTOFORDER: 0, INOPERATIVE: 0, UNKNOWN: 1 });
      const third = result.outcomes[2];
      assert.ok(third.ok && third.record.available === 3, "site 3 has its CHAdeMO free too");
    } finally {
      feeds.state.latencyMs = 0;
    }
  });

  it("keeps the concurrency limit", async () => {
    feeds.resetCounters();
    feeds.state.latencyMs = 150;
    try {
      const service = new AvailabilityService({
        provider: new ChargefinderProvider(client(), { baseUrl: `${feeds.url}/chargefinder` }),
        sites: SITES.slice(0, 8),
        concurrency: 2,
        staggerMs: 0,
      });
      const result = await service.poll(signal());
      assert.equal(result.okCount, 8);
      assert.equal(feeds.state.maxInFlight, 2);
    } finally {
      feeds.state.latencyMs = 0;
    }
  });

  it("reports failing and slow sites individually; the others arrive within the budget", async () => {
    feeds.state.faults.set("cf-site-02", { status: 500 });
    feeds.state.faults.set("cf-site-03", { latencyMs: 10_000 });
    feeds.state.faults.set("cf-site-04", { body: "<html>blocked</html>" });
    try {
      const service = new AvailabilityService({
        provider: new ChargefinderProvider(client("Chargefinder", 5000), { baseUrl: `${feeds.url}/chargefinder` }),
        sites: SITES.slice(0, 6),
        concurrency: 6,
        staggerMs: 10,
        budgetMs: 1500,
      });
      const t0 = Date.now();
      const result = await service.poll(signal());
      assert.ok(Date.now() - t0 < 3000, "the budget bounds the poll");
      assert.equal(result.okCount, 3);
      assert.equal(result.siteCount, 6);
      const errors = Object.fromEntries(result.outcomes.filter((o) => !o.ok).map((o) => [o.site, !o.ok ? o.error : ""]));
      assert.match(errors["cf-site-02"], /Chargefinder had a server error \(HTTP 500\)/);
      assert.match(errors["cf-site-03"], /did not finish within the overall time budget of 1.5 s/);
      assert.match(errors["cf-site-04"], /not valid JSON/);
    } finally {
      feeds.state.faults.clear();
    }
  });

  it("caches per provider for the TTL (Chargy: 5 minutes) and downloads again after it", async () => {
    feeds.resetCounters();
    let now = Date.parse("2026-01-07T13:15:00Z");
    const service = new AvailabilityService({
      provider: new ChargyProvider(client(), { url: `${feeds.url}/chargy/kml` }),
      sites: [{ id: "Chargy Parking Test 1", filter: { plugs: ["Type 2"] } }, { id: "SuperChargy Test 2", name: "Super 2", filter: { plugs: ["CCS"], minPowerKw: 100 } }],
      timeZone: "Europe/Luxembourg",
      now: () => new Date(now),
    });
    const first = await service.poll(signal());
    const second = await service.poll(signal());
    assert.equal(feeds.state.hits.get("/chargy/kml"), 1, "second poll served from the cache");
    assert.equal(second.loads, 1);
    assert.deepEqual(first.outcomes.map((o) => (o.ok ? [o.record.siteName, o.record.available, o.record.total] : o.error)), [
      ["Chargy Parking Test 1", 1, 4],
      ["Super 2", 0, 3],
    ]);
    // The service's cache uses real time; a TTL of 0 shows it reloads.
    const uncached = new AvailabilityService({ provider: new ChargyProvider(client(), { url: `${feeds.url}/chargy/kml` }), sites: [], cacheTtlMs: 0, now: () => new Date(now) });
    await uncached.poll(signal());
    now += 1;
    await uncached.poll(signal());
    assert.equal(feeds.state.hits.get("/chargy/kml"), 3);
  });

  it("reports sites missing from a feed, and a feed that cannot be read once per site", async () => {
    const service = new AvailabilityService({
      provider: new OcpiProvider(client("the OCPI server"), { url: `${feeds.url}/ocpi/versions`, urlType: "versions", token: "t0ken" }),
      sites: [{ id: "LOC-003" }, { id: "LOC-999" }],
    });
    const result = await service.poll(signal());
    assert.equal(result.okCount, 1);
    const missing = result.outcomes[1];
    assert.ok(!missing.ok && /Site "LOC-999" is not in the feed \(it lists 25 sites\)/.test(missing.error));
    const denied = new AvailabilityService({
      provider: new OcpiProvider(client("the OCPI server"), { url: `${feeds.url}/ocpi/versions`, urlType: "versions", token: "wrong" }),
      sites: [{ id: "LOC-003" }, { id: "LOC-004" }],
    });
    const failed = await denied.poll(signal());
    assert.equal(failed.okCount, 0);
    assert.match(failed.feedError ?? "", /the OCPI server refused the credentials \(HTTP 401\)/);
    assert.equal(failed.outcomes.length, 2);
  });

  it("produces Influx points in the seed's layout", async () => {
    const service = new AvailabilityService({
      provider: new OcpiProvider(client(), { url: `${feeds.url}/ocpi/open/locations`, urlType: "locations" }),
      sites: [{ id: "LOC-001", filter: { plugs: ["CCS"] } }],
      timeZone: "Europe/Luxembourg",
      now: () => NOW,
    });
    const result = await service.poll(signal());
    const outcome = result.outcomes[0];
    assert.ok(outcome.ok);
    assert.deepEqual(toInfluxPoint(outcome.record), {
      measurement: "charger_availability",
      tags: { site: "LOC-001", weekday: "Wednesday", hour_of_day: "14" },
      fields: { available: 1, total: 1 },
      timestamp: "2026-01-07T13:15:00.000Z",
    });
  });
});
