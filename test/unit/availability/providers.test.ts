import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startAvailabilityFeeds, type AvailabilityFeeds } from "../../servers/availability-feeds";
import { OcpiLocationProvider, OcpiProvider, nextLink } from "../../../nodes/lib/availability/providers/ocpi";
import { ChargyProvider, parseChargyKml } from "../../../nodes/lib/availability/providers/chargy";
import { ChargefinderProvider } from "../../../nodes/lib/availability/providers/chargefinder";
import { Datex2Provider, parseDatex2Status } from "../../../nodes/lib/availability/providers/datex2";
import { createGenericJsonProvider } from "../../../nodes/lib/availability/providers/generic-json";
import { FeedFormatError, type SiteSnapshot } from "../../../nodes/lib/availability/model";
import { HttpError } from "../../../nodes/lib/http-client";
import { client, evaluateJsonata, signal } from "./helpers";

const KML = fs.readFileSync(path.join(__dirname, "../../fixtures/availability/chargy-mixed-states.kml"), "utf8");

function statuses(snapshot: SiteSnapshot | undefined): string[] {
  return (snapshot?.connectors ?? []).map((c) => `${c.id}:${c.status}:${String(c.raw)}`);
}

describe("availability providers over HTTP", () => {
  let feeds: AvailabilityFeeds;
  before(async () => {
    feeds = await startAvailabilityFeeds({ ocpiToken: "secret-token-123", chargyApiKey: "open-key" });
  });
  after(() => feeds.close());

  describe("OCPI 2.2.1 Locations", () => {
    it("discovers the locations endpoint, sends a Base64 token and request ids, and follows Link pages", async () => {
      feeds.resetCounters();
      const provider = new OcpiProvider(client(), { url: `${feeds.url}/ocpi/versions`, urlType: "versions", token: "secret-token-123", pageLimit: 10 });
      const sites = await provider.fetchFeed(signal());
      assert.equal(sites.length, 25);
      assert.equal(feeds.state.hits.get("/ocpi/2.2.1/locations"), 3, "three pages of 10");
      assert.equal(sites[0].site, "LOC-001");
      assert.equal(sites[0].siteName, "OCPI site 1");
      assert.deepEqual(statuses(sites[1]), ["LOC-002-1:CHARGING:CHARGING", "LOC-002-2:AVAILABLE:AVAILABLE"]);
      assert.equal(sites[0].connectors[0].plug, "CCS");
      assert.equal(sites[0].connectors[0].powerKw, 150);
      assert.equal(sites[0].connectors[0].labels?.current, "DC");
      // The REMOVED EVSE on the last location is left out.
      assert.equal(sites[24].connectors.length, 2);
      const requests = feeds.state.ocpiRequests;
      assert.equal(requests.length, 5);
      for (const r of requests) {
        assert.equal(r.headers.authorization, `Token ${Buffer.from("secret-token-123").toString("base64")}`);
        assert.match(String(r.headers["x-request-id"]), /^[0-9a-f-]{36}$/);
      }
      assert.equal(new Set(requests.map((r) => r.headers["x-request-id"])).size, 5, "a new X-Request-ID per request");
      assert.equal(new Set(requests.map((r) => r.headers["x-correlation-id"])).size, 1, "one X-Correlation-ID per crawl");
    });

    it("sends the token raw for OCPI 2.1.1 servers", async () => {
      feeds.state.ocpiRawToken = true;
      try {
        const raw = new OcpiProvider(client(), { url: `${feeds.url}/ocpi/2.2.1/locations`, urlType: "locations", token: "secret-token-123", tokenEncoding: "raw" });
        assert.equal((await raw.fetchFeed(signal())).length, 25);
        const b64 = new OcpiProvider(client(), { url: `${feeds.url}/ocpi/2.2.1/locations`, urlType: "locations", token: "secret-token-123" });
        await assert.rejects(b64.fetchFeed(signal()), (err: unknown) => err instanceof HttpError && err.kind === "unauthorized");
      } finally {
        feeds.state.ocpiRawToken = false;
      }
    });

    it("pages by X-Total-Count when there is no Link header, and reads bare arrays", async () => {
      feeds.resetCounters();
      const nolink = new OcpiProvider(client(), { url: `${feeds.url}/ocpi/nolink/locations`, urlType: "locations", token: "secret-token-123", pageLimit: 10 });
      const sites = await nolink.fetchFeed(signal());
      assert.deepEqual(sites.map((s) => s.site).slice(-2), ["LOC-024", "LOC-025"]);
      assert.equal(sites.length, 25);
      assert.equal(feeds.state.hits.get("/ocpi/nolink/locations"), 3);
      const open = new OcpiProvider(client(), { url: `${feeds.url}/ocpi/open/locations`, urlType: "locations" });
      assert.equal((await open.fetchFeed(signal())).length, 25);
    });

    it("reads single locations per site when asked to", async () => {
      feeds.resetCounters();
      const provider = new OcpiLocationProvider(client("the OCPI server"), { url: `${feeds.url}/ocpi/versions`, urlType: "versions", token: "secret-token-123" });
      const site = await provider.fetchSite("LOC-004", signal());
      assert.deepEqual(statuses(site), ["LOC-004-1:RESERVED:RESERVED", "LOC-004-2:AVAILABLE:AVAILABLE"]);
      assert.equal(feeds.state.hits.get("/ocpi/2.2.1/locations/LOC-004"), 1);
      assert.equal(feeds.state.hits.get("/ocpi/2.2.1/locations"), undefined, "no crawl");
      await assert.rejects(provider.fetchSite("LOC-999", signal()), /the OCPI server does not know http:\/\/127.0.0.1:\d+\/ocpi\/2.2.1\/locations\/LOC-999 \(HTTP 404\).*Unknown location/);
    });

    it("explains OCPI error envelopes", async () => {
      const provider = new OcpiProvider(client(), { url: `${feeds.url}/ocpi/error/locations`, urlType: "locations", token: "secret-token-123" });
      await assert.rejects(provider.fetchFeed(signal()), /OCPI server reported an error for the locations list \(status_code 3001: Unable to use the client's API\)/);
    });

    it("parses Link headers", () => {
      assert.equal(nextLink('<https://x/l?offset=10>; rel="next"'), "https://x/l?offset=10");
      assert.equal(nextLink('<https://x/a>; rel="prev", <https://x/b>; rel=next'), "https://x/b");
      assert.equal(nextLink(undefined), undefined);
    });
  });

  describe("Chargy KML", () => {
    it("walks station → device → connector, keeps raw states and survives an unknown state", async () => {
      const provider = new ChargyProvider(client(), { url: `${feeds.url}/chargy/kml`, apiKey: "open-key" });
      assert.equal(provider.defaultCacheTtlMs, 300_000);
      const sites = await provider.fetchFeed(signal());
      assert.deepEqual(sites.map((s) => s.site), ["Chargy Parking Test 1", "SuperChargy Test 2"]);
      assert.deepEqual(statuses(sites[0]), [
        "90011:AVAILABLE:AVAILABLE", "90012:CHARGING:CHARGING", "90021:CHARGING:SUSPENDED_EV", "90022:CHARGING:PREPARING",
      ]);
      assert.deepEqual(statuses(sites[1]), ["90031:UNKNOWN:OFFLINE", "90032:OUTOFORDER:FAULT", "90033:UNKNOWN:SOMETHING_NEW"]);
      const hpc = sites[1].connectors[2];
      assert.deepEqual(hpc.labels, { station: "SuperChargy Test 2", device: "CP9003", connector: "CP9003 - 3", speed: "175", current: "DC", state: "unavailable" });
      assert.equal(hpc.plug, "CCS");
      assert.equal(sites[0].connectors[0].plug, "Type 2");
    });

    it("fails clearly without the API key and for a JSON-only Accept header", async () => {
      const provider = new ChargyProvider(client("Chargy"), { url: `${feeds.url}/chargy/kml` });
      await assert.rejects(provider.fetchFeed(signal()), /Chargy refused the credentials \(HTTP 401\)/);
      await assert.rejects(client("Chargy").get(`${feeds.url}/chargy/kml?API-KEY=open-key`, { responseType: "text" }), /HTTP 406/);
    });

    it("reports malformed KML and broken device JSON without crashing", async () => {
      const provider = new ChargyProvider(client(), { url: `${feeds.url}/chargy/malformed.kml` });
      await assert.rejects(provider.fetchFeed(signal()), (err: unknown) => err instanceof FeedFormatError && /not valid XML\/KML/.test(err.message));
      assert.throws(() => parseChargyKml('{"json": true}'), /not valid XML\/KML|not a KML document/);
      const broken = KML.replace('{"id":9002', '{"id":9002,,,');
      const sites = parseChargyKml(broken);
      assert.equal(sites[0].connectors.length, 2, "the good device is still read");
      assert.deepEqual(sites[0].warnings, ["Chargy Parking Test 1: a charging device entry is not valid JSON and was skipped"]);
    });
  });

  describe("Chargefinder-style JSON (unofficial)", () => {
    it("joins the status list by outlet identifier or by name, with browser-like headers and gzip", async () => {
      const provider = new ChargefinderProvider(client(), { baseUrl: `${feeds.url}/chargefinder` });
      const byIdentifier = await provider.fetchSite("cf-site-01", signal());
      assert.equal(byIdentifier.siteName, "Fast charging 01");
      assert.deepEqual(byIdentifier.connectors.map((c) => `${c.plug}:${c.status}:${String(c.raw)}`), [
        "CCS:AVAILABLE:2", "CCS:CHARGING:3", "CHAdeMO:UNKNOWN:5", "Type 2:AVAILABLE:2",
      ]);
      const byName = await provider.fetchSite("cf-site-06", signal());
      assert.deepEqual(byName.connectors.map((c) => c.status), ["AVAILABLE", "CHARGING", "AVAILABLE", "AVAILABLE"]);
      const realtime = await provider.fetchSite("cf-site-05", signal());
      assert.equal(realtime.connectors[0].status, "AVAILABLE", "status read under realtimeId");
    });

    it("gets 403 without the browser-like headers, and 404 for an unknown site", async () => {
      const bare = new ChargefinderProvider(client("Chargefinder"), { baseUrl: `${feeds.url}/chargefinder`, headers: { Origin: "" } });
      await assert.rejects(bare.fetchSite("cf-site-01", signal()), /Chargefinder denied access \(HTTP 403\)/);
      const provider = new ChargefinderProvider(client("Chargefinder"), { baseUrl: `${feeds.url}/chargefinder` });
      await assert.rejects(provider.fetchSite("nope", signal()), /HTTP 404/);
    });

    it("recognises an encrypted payload instead of reading garbage", async () => {
      feeds.state.faults.set("cf-site-02", { body: JSON.stringify({ e: "xxx", i: "yyy", a: "zzz" }) });
      try {
        const provider = new ChargefinderProvider(client(), { baseUrl: `${feeds.url}/chargefinder` });
        await assert.rejects(provider.fetchSite("cf-site-02", signal()), /encrypted data\. Chargefinder has no official API/);
      } finally {
        feeds.state.faults.delete("cf-site-02");
      }
    });
  });

  describe("generic JSON with JSONata", () => {
    const expressions = { sites: "data.stations", siteId: "code", siteName: "label", connectors: "points", connectorId: "ref", status: "state", plug: "type", powerKw: "kw" };

    it("reads a whole feed with user expressions and a status map", async () => {
      const provider = createGenericJsonProvider(client(), { url: `${feeds.url}/json/sites`, expressions, statusMap: { broken: "OUTOFORDER" } }, evaluateJsonata);
      assert.equal(provider.mode, "feed");
      const sites = provider.mode === "feed" ? await provider.fetchFeed(signal()) : [];
      assert.deepEqual(sites.map((s) => `${s.site}/${s.siteName}`), ["GJ-1/Generic one", "GJ-2/Generic two"]);
      assert.deepEqual(statuses(sites[0]), ["A:AVAILABLE:free", "B:CHARGING:occupied", "C:OUTOFORDER:broken"]);
      assert.deepEqual(statuses(sites[1]), ["A:AVAILABLE:free", "B:AVAILABLE:free", "C:UNKNOWN:mystery"]);
      assert.equal(sites[1].connectors[0].powerKw, 150);
      assert.equal(sites[1].connectors[0].plug, "CCS");
    });

    it("fetches per site when the URL has {site}", async () => {
      const provider = createGenericJsonProvider(client(), { url: `${feeds.url}/json/site/{site}`, expressions: { ...expressions, sites: "$" } }, evaluateJsonata);
      assert.equal(provider.mode, "site");
      const site = provider.mode === "site" ? await provider.fetchSite("GJ-2", signal()) : undefined;
      assert.equal(site?.siteName, "Generic two");
      assert.equal(site?.connectors.length, 3);
    });

    it("says which expression failed or found nothing when the feed changes shape", async () => {
      const moved = createGenericJsonProvider(client(), { url: `${feeds.url}/json/sites`, expressions: { ...expressions, sites: "stations" } }, evaluateJsonata);
      await assert.rejects(moved.mode === "feed" ? moved.fetchFeed(signal()) : Promise.resolve(), /sites expression \(stations\) found nothing in the feed; has its shape changed\?/);
      const bad = createGenericJsonProvider(client(), { url: `${feeds.url}/json/sites`, expressions: { ...expressions, status: "$$$(" } }, evaluateJsonata);
      await assert.rejects(bad.mode === "feed" ? bad.fetchFeed(signal()) : Promise.resolve(), /JSONata expression for "status" \(\$\$\$\(\) failed/);
      const malformed = createGenericJsonProvider(client("the JSON feed"), { url: `${feeds.url}/json/malformed`, expressions }, evaluateJsonata);
      await assert.rejects(malformed.mode === "feed" ? malformed.fetchFeed(signal()) : Promise.resolve(), /the JSON feed answered with something that is not valid JSON/);
    });
  });

  describe("DATEX II status publication", () => {
    it("reads site → station → refill point status by local names, whatever the namespace prefixes", async () => {
      const provider = new Datex2Provider(client(), { url: `${feeds.url}/datex2/status.xml` });
      const sites = await provider.fetchFeed(signal());
      assert.deepEqual(sites.map((s) => s.site), ["SITE-1"]);
      assert.deepEqual(statuses(sites[0]), ["DE*ABC*E0001*1:CHARGING:charging", "DE*ABC*E0001*2:AVAILABLE:available"]);
      assert.equal(sites[0].connectors[0].labels?.device, "STATION-1");
      const afir = fs
        .readFileSync(path.join(__dirname, "../../fixtures/availability/datex2-afir-status.xml"), "utf8")
        .replace(/egi:/g, "aegi:")
        .replace(/fac:/g, "afac:")
        .replace("<aegi:status>available</aegi:status>", "<aegi:status>outOfOrder</aegi:status>");
      assert.deepEqual(parseDatex2Status(afir)[0].connectors.map((c) => c.status), ["CHARGING", "OUTOFORDER"]);
      assert.throws(() => parseDatex2Status("<a><b/></a>"), /no energyInfrastructureSiteStatus/);
      assert.throws(() => parseDatex2Status("<a><b></a>"), /not valid XML/);
    });
  });
});
