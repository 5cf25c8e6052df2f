import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import helper from "node-red-node-test-helper";
import type { Node, NodeAPI, NodeMessage } from "node-red";
import availabilityNode from "../../nodes/ev-availability";
import { startAvailabilityFeeds, type AvailabilityFeeds } from "../servers/availability-feeds";
// Core http in / http response, to run the Prometheus scrape endpoint for real.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const httpInNode = require("@node-red/nodes/core/network/21-httpin.js") as (red: NodeAPI) => void;

helper.init(require.resolve("node-red"));

type Flow = Parameters<typeof helper.load>[1];
type Spy = { callCount: number; lastCall: { args: unknown[] }; getCalls(): Array<{ args: unknown[] }> };
type SpiedNode = Node & { status: Spy & Node["status"]; error: Spy & Node["error"]; warn: Spy & Node["warn"] };

let httpNodeApp: http.RequestListener | undefined;
function captureRed(red: NodeAPI): void {
  httpNodeApp = (red as unknown as { httpNode: http.RequestListener }).httpNode;
}

function nextMessages(node: Node, count: number, timeoutMs = 8000): Promise<NodeMessage[]> {
  return new Promise((resolve, reject) => {
    const got: NodeMessage[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${got.length}/${count} messages`)), timeoutMs);
    node.on("input", (msg: NodeMessage) => {
      got.push(msg);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function statusTexts(node: SpiedNode): string[] {
  return node.status.getCalls().map((c) => String((c.args[0] as { text?: string }).text ?? ""));
}

describe("ev-availability node", () => {
  let feeds: AvailabilityFeeds;
  before(async () => {
    feeds = await startAvailabilityFeeds({ ocpiToken: "node-token", chargyApiKey: "lux-key" });
  });
  after(() => feeds.close());
  afterEach(async () => {
    await helper.unload();
    feeds.state.faults.clear();
    feeds.state.latencyMs = 0;
  });

  const base = (extra: Record<string, unknown>): Flow =>
    [
      { id: "tab", type: "tab" },
      { id: "a1", z: "tab", type: "ev-availability", name: "avail", interval: "0", wires: [["out"]], ...extra },
      { id: "out", z: "tab", type: "helper" },
      { id: "catcher", z: "tab", type: "catch", scope: null, wires: [["caught"]] },
      { id: "caught", z: "tab", type: "helper" },
    ] as Flow;

  it("sends one AvailabilityRecord per Chargefinder site, reports a failing site on its own, and shows 2/3 sites ok", async () => {
    feeds.state.faults.set("cf-site-02", { status: 502 });
    await helper.load(availabilityNode, base({
      provider: "chargefinder",
      url: `${feeds.url}/chargefinder`,
      sites: [{ id: "cf-site-01", name: "Highway North", plugs: "CCS" }, { id: "cf-site-02" }, { id: "cf-site-03", minPowerKw: "50" }],
      output: "site",
      timeZone: "Europe/Luxembourg",
    }));
    const node = helper.getNode("a1") as SpiedNode;
    const out = helper.getNode("out");
    const caught = helper.getNode("caught");
    const records = nextMessages(out, 2);
    const errors = nextMessages(caught, 1);
    node.receive({ payload: "go" });
    const msgs = await records;
    assert.deepEqual(msgs.map((m) => m.topic), ["cf-site-01", "cf-site-03"]);
    const first = msgs[0].payload as { siteName: string; available: number; total: number; weekday: string; hourOfDay: number };
    assert.deepEqual([first.siteName, first.available, first.total], ["Highway North", 1, 2]);
    assert.equal(typeof first.weekday, "string");
    const third = msgs[1].payload as { available: number; total: number };
    assert.deepEqual([third.available, third.total], [2, 3], "Type 2 (22 kW) left out by the 50 kW minimum");
    const [error] = await errors;
    const errMsg = error as NodeMessage & { error: { message: string } };
    assert.match(errMsg.error.message, /^Site cf-site-02: Chargefinder \(unofficial\) had a server error \(HTTP 502\)/);
    assert.deepEqual(errMsg.payload, { site: "cf-site-02", error: (errMsg.payload as { error: string }).error });
    await sleep(20);
    assert.equal(statusTexts(node).at(-1), "2/3 sites ok");
    assert.equal((node.status.lastCall.args[0] as { fill: string }).fill, "yellow");
  });

  it("emits Influx points in the seed layout for all sites of an OCPI feed, with the token from credentials", async () => {
    await helper.load(
      availabilityNode,
      base({ provider: "ocpi", url: `${feeds.url}/ocpi/versions`, ocpiUrlType: "versions", allSites: true, output: "influx", timeZone: "UTC" }),
      { a1: { token: "node-token" } },
    );
    const node = helper.getNode("a1") as SpiedNode;
    const got = nextMessages(helper.getNode("out"), 1);
    node.receive({ payload: "" });
    const [msg] = await got;
    const points = msg.payload as Array<{ measurement: string; tags: Record<string, string>; fields: Record<string, number>; timestamp: string }>;
    assert.equal(points.length, 25);
    assert.equal(msg.topic, "charger_availability");
    assert.deepEqual(Object.keys(points[0]).sort(), ["fields", "measurement", "tags", "timestamp"]);
    assert.equal(points[0].measurement, "charger_availability");
    assert.deepEqual(Object.keys(points[0].tags).sort(), ["hour_of_day", "site", "weekday"]);
    assert.equal(points[0].tags.site, "LOC-001");
    assert.match(points[0].tags.hour_of_day, /^([0-9]|1[0-9]|2[0-3])$/);
    assert.deepEqual(points[0].fields, { available: 2, total: 2 });
    assert.deepEqual(points[1].fields, { available: 1, total: 2 });
    assert.equal(statusTexts(node).at(-1), "25/25 sites ok");
    assert.ok(feeds.state.ocpiRequests.every((r) => r.headers.authorization === `Token ${Buffer.from("node-token").toString("base64")}`));
  });

  it("keeps the OCPI token out of errors, in raw and Base64 form, when a server echoes it", async () => {
    const b64 = Buffer.from("node-token").toString("base64");
    await helper.load(
      availabilityNode,
      base({ provider: "chargefinder", url: `${feeds.url}/chargefinder`, sites: [{ id: "cf-site-07" }] }),
      { a1: { token: "node-token" } },
    );
    feeds.state.faults.set("cf-site-07", { status: 400 });
    const node = helper.getNode("a1") as SpiedNode;
    const caught = nextMessages(helper.getNode("caught"), 1);
    feeds.state.echo = `Authorization: Token ${b64} (node-token)`;
    try {
      node.receive({ payload: "" });
      const [err] = await caught;
      const text = JSON.stringify(err);
      assert.match(text, /HTTP 400/);
      assert.match(text, /Authorization: Token \*\*\* \(\*\*\*\)/);
      assert.doesNotMatch(text, new RegExp(`${b64}|node-token`));
    } finally {
      feeds.state.echo = "";
    }
  });

  it("reads listed OCPI locations one by one when set to fetch per site", async () => {
    feeds.resetCounters();
    await helper.load(
      availabilityNode,
      base({ provider: "ocpi", url: `${feeds.url}/ocpi/versions`, ocpiFetch: "site", sites: [{ id: "LOC-001" }, { id: "LOC-002", plugs: "DC" }], output: "all" }),
      { a1: { token: "node-token" } },
    );
    const got = nextMessages(helper.getNode("out"), 1);
    (helper.getNode("a1") as SpiedNode).receive({ payload: "" });
    const [msg] = await got;
    const payload = msg.payload as { ok: number; records: Array<{ site: string; available: number; total: number }> };
    assert.deepEqual(payload.records.map((r) => [r.site, r.available, r.total]), [["LOC-001", 2, 2], ["LOC-002", 0, 1]]);
    assert.equal(feeds.state.hits.get("/ocpi/2.2.1/locations"), undefined);
    assert.equal(feeds.state.hits.get("/ocpi/2.2.1/locations/LOC-002"), 1);
  });

  it("serves Chargy per-connector states as a Prometheus scrape endpoint: http in → availability → http response", async () => {
    feeds.resetCounters();
    const flow = [
      { id: "tab", type: "tab" },
      { id: "in", z: "tab", type: "http in", url: "/metrics", method: "get", wires: [["a1"]] },
      { id: "a1", z: "tab", type: "ev-availability", provider: "chargy", url: `${feeds.url}/chargy/kml`, allSites: true, output: "prometheus", interval: "0", wires: [["res"]] },
      { id: "res", z: "tab", type: "http response", wires: [] },
    ] as Flow;
    await helper.load([httpInNode, availabilityNode, captureRed] as unknown as Parameters<typeof helper.load>[0], flow, { a1: { apiKey: "lux-key" } });
    assert.ok(httpNodeApp);
    const server = http.createServer(httpNodeApp);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const scrape = async (): Promise<{ status: number; type: string; body: string }> => {
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
        return { status: res.status, type: res.headers.get("content-type") ?? "", body: await res.text() };
      };
      const first = await scrape();
      assert.equal(first.status, 200);
      assert.match(first.type, /^text\/plain;.*version=0\.0\.4/);
      const lines = first.body.split("\n");
      assert.equal(lines[0], "# HELP chargy_connector_state State of chargy device connector");
      assert.equal(lines[1], "# TYPE chargy_connector_state gauge");
      assert.ok(lines.includes('chargy_connector_state{connector="CP9002 - 1",device="CP9002",station="Chargy Parking Test 1",speed="22",chargy_connector_state="charging"} 1.0'));
      assert.ok(lines.includes('chargy_connector_detailed_state_info{connector="CP9003 - 3",device="CP9003",station="SuperChargy Test 2",speed="175",state="SOMETHING_NEW"} 1.0'));
      assert.equal(lines.filter((l) => l.startsWith("chargy_connector_state{")).length, 21, "7 connectors × 3 states");
      await scrape();
      assert.equal(feeds.state.hits.get("/chargy/kml"), 1, "the second scrape is served from the 5-minute cache");
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("reads a generic JSON feed through Node-RED's JSONata, in one message for all sites", async () => {
    await helper.load(availabilityNode, base({
      provider: "json",
      url: `${feeds.url}/json/sites`,
      jsonSites: "data.stations",
      jsonSiteId: "code",
      jsonSiteName: "label",
      jsonConnectors: "points",
      jsonConnectorId: "ref",
      jsonStatus: "state",
      jsonStatusMap: '{"broken": "OUTOFORDER"}',
      sites: [{ id: "GJ-1" }, { id: "GJ-9" }],
      output: "all",
    }));
    const node = helper.getNode("a1") as SpiedNode;
    const got = nextMessages(helper.getNode("out"), 1);
    const caught = nextMessages(helper.getNode("caught"), 1);
    node.receive({ payload: "" });
    const [msg] = await got;
    const payload = msg.payload as { ok: number; sites: number; records: Array<{ site: string; counts: Record<string, number> }>; errors: Array<{ site: string; error: string }> };
    assert.equal(payload.ok, 1);
    assert.equal(payload.sites, 2);
    assert.deepEqual(payload.records[0].counts, { AVAILABLE: 1, CHARGING: 1, RESERVED: 0, BLOCKED: 0, OUTOFORDER: 1, INOPERATIVE: 0, UNKNOWN: 0 });
    assert.equal(payload.errors[0].site, "GJ-9");
    assert.match(payload.errors[0].error, /not in the feed/);
    const [err] = await caught;
    assert.match((err as NodeMessage & { error: { message: string } }).error.message, /^Site GJ-9: Site "GJ-9" is not in the feed/);
  });

  it("reads a DATEX II status publication, polling only the sites named in msg.sites", async () => {
    await helper.load(availabilityNode, base({ provider: "datex2", url: `${feeds.url}/datex2/status.xml`, sites: [{ id: "SITE-1", name: "Rasthof" }, { id: "SITE-2" }], output: "site" }));
    const got = nextMessages(helper.getNode("out"), 1);
    (helper.getNode("a1") as SpiedNode).receive({ payload: "", sites: ["SITE-1"] } as NodeMessage);
    const [msg] = await got;
    const record = msg.payload as { siteName: string; available: number; total: number; counts: Record<string, number> };
    assert.deepEqual([record.siteName, record.available, record.total, record.counts.CHARGING], ["Rasthof", 1, 2, 1]);
    await sleep(20);
    assert.equal(statusTexts(helper.getNode("a1") as SpiedNode).at(-1), "1/1 sites ok", "SITE-2 was not asked for");
  });

  it("fails the input with a catchable error when the whole feed is unreadable", async () => {
    await helper.load(availabilityNode, base({ provider: "chargy", url: `${feeds.url}/chargy/malformed.kml`, allSites: true }));
    const caught = nextMessages(helper.getNode("caught"), 1);
    (helper.getNode("a1") as SpiedNode).receive({ payload: "" });
    const [err] = await caught;
    assert.match((err as NodeMessage & { error: { message: string } }).error.message, /The Chargy feed is not valid XML\/KML/);
    await sleep(20);
    assert.equal(statusTexts(helper.getNode("a1") as SpiedNode).at(-1), "feed failed");
  });

  it("refuses a broken configuration clearly, at deploy and on input", async () => {
    await helper.load(availabilityNode, base({ provider: "chargefinder", sites: [], allSites: false }));
    const node = helper.getNode("a1") as SpiedNode;
    assert.match(String(node.error.lastCall.args[0]), /Not started: Add at least one site/);
    assert.equal((node.status.lastCall.args[0] as { fill: string }).fill, "red");
    const caught = nextMessages(helper.getNode("caught"), 1);
    node.receive({ payload: "" });
    await caught;
  });

  it("polls on its interval, and after a redeploy the old instance polls and sends nothing", async () => {
    feeds.resetCounters();
    const flow = base({ provider: "chargefinder", url: `${feeds.url}/chargefinder`, sites: [{ id: "cf-site-04" }], interval: "0.3", cacheTtl: "0" });
    await helper.load(availabilityNode, flow);
    const out = helper.getNode("out");
    const got = await nextMessages(out, 2, 5000);
    assert.equal(got[0].topic, "cf-site-04");
    let lateMessages = 0;
    out.on("input", () => lateMessages++);
    await helper.setFlows([{ id: "tab", type: "tab" }, { id: "h2", z: "tab", type: "helper" }] as unknown as Flow, "full");
    const hitsAfterStop = feeds.state.hits.get("/chargefinder/status/cf-site-04") ?? 0;
    await sleep(900);
    assert.equal(feeds.state.hits.get("/chargefinder/status/cf-site-04") ?? 0, hitsAfterStop, "no requests after close");
    assert.equal(lateMessages, 0);
  });
});
