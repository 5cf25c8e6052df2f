/**
 * ev-availability against a feed that fails in the ways real servers do:
 * 429 with Retry-After (respected: no request before the time is up), 401,
 * a timeout and an answer over the size cap, each with its own status and
 * an error that names the feed.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import helper from "node-red-node-test-helper";
import type { Node, NodeMessage } from "node-red";
import availabilityNode from "../../nodes/ev-availability";

helper.init(require.resolve("node-red"));

type Flow = Parameters<typeof helper.load>[1];
type Spy = { getCalls(): Array<{ args: unknown[] }> };
type SpiedNode = Node & { status: Spy & Node["status"] };

const placemark = (name: string, device: string): string =>
  `<Placemark><name>${name}</name><ExtendedData><Data name="chargingdevice"><value>${device}</value></Data></ExtendedData></Placemark>`;
const GOOD_DEVICE = '{"id":1,"name":"CP1","connectors":[{"id":11,"name":"CP1 - 1","maxchspeed":22,"connector":1,"description":"AVAILABLE"}]}';
const kml = (...placemarks: string[]): string =>
  `<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>${placemarks.join("")}</Document></kml>`;
const KML = kml(placemark("Station", GOOD_DEVICE));

interface Behaviour {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
}

describe("ev-availability: feed failures", () => {
  let server: http.Server;
  let url = "";
  let hits = 0;
  let behaviour: Behaviour = { status: 200, body: KML };
  before(async () => {
    server = http.createServer((req, res) => {
      hits++;
      const b = behaviour;
      setTimeout(() => {
        res.writeHead(b.status, { "Content-Type": "application/vnd.google-earth.kml+xml", ...b.headers });
        res.end(b.body ?? "");
      }, b.delayMs ?? 0);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed.kml`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  afterEach(async () => {
    await helper.unload();
    hits = 0;
  });

  const load = async (extra: Record<string, unknown> = {}): Promise<{ node: SpiedNode; caught: NodeMessage[] }> => {
    await helper.load(availabilityNode, [
      { id: "tab", type: "tab" },
      { id: "a1", z: "tab", type: "ev-availability", provider: "chargy", url, allSites: true, interval: "0.2", cacheTtl: "0", wires: [["out"]], ...extra },
      { id: "out", z: "tab", type: "helper" },
      { id: "catcher", z: "tab", type: "catch", scope: null, wires: [["caught"]] },
      { id: "caught", z: "tab", type: "helper" },
    ] as Flow);
    const caught: NodeMessage[] = [];
    helper.getNode("caught").on("input", (msg: NodeMessage) => caught.push(msg));
    return { node: helper.getNode("a1") as SpiedNode, caught };
  };
  const lastStatus = (node: SpiedNode): string => String((node.status.getCalls().at(-1)?.args[0] as { text?: string }).text ?? "");
  const errorText = (msg: NodeMessage): string => (msg as NodeMessage & { error: { message: string } }).error.message;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  it("a 429 with a one-hour Retry-After is respected: no request for the rest of the hour, status says so", async () => {
    behaviour = { status: 429, headers: { "Retry-After": "3600" }, body: "slow down" };
    const { node, caught } = await load();
    await until("the first error", () => caught.length > 0);
    await sleep(1200);
    assert.equal(hits, 1, `${hits} requests within 1.2 s at a 0.2 s interval after a one-hour Retry-After`);
    assert.match(lastStatus(node), /^rate limited · retry 60 min$/);
    assert.match(errorText(caught[0]), /Chargy is limiting our requests \(HTTP 429\); it asks us to wait 3600 s/);
    assert.match(errorText(caught.at(-1)!), /^Chargy \(127\.0\.0\.1:\d+\/feed\.kml\) asked us to wait 60 min \(HTTP 429\); not asking again for \d+ min$/);
  });

  it("a far-future Retry-After date is capped at a day, not a tight loop", async () => {
    behaviour = { status: 503, headers: { "Retry-After": new Date(Date.now() + 40 * 86_400_000).toUTCString() } };
    const { node, caught } = await load();
    await until("the first error", () => caught.length > 0);
    await sleep(800);
    assert.equal(hits, 1);
    assert.match(lastStatus(node), /^rate limited · retry 24 h$/);
  });

  it("401, a timeout and an answer over the size cap each have their own status", async () => {
    behaviour = { status: 401, body: "no" };
    let { node, caught } = await load();
    await until("401", () => caught.length > 0);
    await sleep(50);
    assert.equal(lastStatus(node), "key refused (HTTP 401)");
    await helper.unload();

    behaviour = { status: 200, body: KML, delayMs: 1500 };
    ({ node, caught } = await load({ timeout: "1", interval: "10" }));
    await until("timeout", () => caught.length > 0, 8000);
    await sleep(50);
    assert.equal(lastStatus(node), "feed timeout");
    assert.match(errorText(caught[0]), /Chargy did not answer within 1 s/);
    await helper.unload();

    behaviour = { status: 200, body: KML + " ".repeat(20_000) };
    ({ node, caught } = await load({ maxResponse: "0.01", interval: "10" }));
    await until("too large", () => caught.length > 0);
    await sleep(50);
    assert.equal(lastStatus(node), "answer too large");
    assert.match(errorText(caught[0]), /^Chargy sent an answer of more than 10 kB; stopped reading it \(GET http:\/\/127\.0\.0\.1:\d+\/feed\.kml\); raise the limit in the node's "Max\. response" setting$/);
  });

  it("a feed that runs out of time budget is named in the error", async () => {
    behaviour = { status: 200, body: KML, delayMs: 1500 };
    const { node, caught } = await load({ timeout: "5", budget: "1", interval: "10" });
    await until("budget", () => caught.length > 0, 8000);
    await sleep(50);
    assert.match(errorText(caught[0]), /^Chargy \(127\.0\.0\.1:\d+\/feed\.kml\): did not finish within the overall time budget of 1 s$/);
    assert.equal(lastStatus(node), "time budget ran out");
  });

  it("a station whose device data cannot be read is an error for that station (yellow), not a 0-of-0 record", async () => {
    behaviour = { status: 200, body: kml(placemark("Good", GOOD_DEVICE), placemark("Broken", "{not json")) };
    const { node, caught } = await load({ interval: "0", output: "site" });
    const out: NodeMessage[] = [];
    helper.getNode("out").on("input", (msg: NodeMessage) => out.push(msg));
    node.receive({ payload: "" });
    await until("the error and the record", () => caught.length > 0 && out.length > 0);
    await sleep(50);
    assert.match(errorText(caught[0]), /^Site Broken: the feed lists no charger for this site that could be read: Broken: a charging device entry is not valid JSON and was skipped; nothing was counted$/);
    const records = out.flatMap((m) => (Array.isArray(m.payload) ? m.payload : [m.payload])) as Array<{ site: string; total: number }>;
    assert.deepEqual(records.map((r) => [r.site, r.total]), [["Good", 1]], "no record with total 0");
    const status = node.status.getCalls().at(-1)?.args[0] as { fill: string; text: string };
    assert.deepEqual([status.fill, status.text], ["yellow", "1/2 sites ok"]);

    await helper.unload();
    behaviour = { status: 200, body: kml(placemark("Broken", "{not json")) };
    const second = await load({ interval: "0", output: "influx" });
    second.node.receive({ payload: "" });
    await until("the error", () => second.caught.length > 0);
    await sleep(50);
    const only = second.node.status.getCalls().at(-1)?.args[0] as { fill: string; text: string };
    assert.deepEqual([only.fill, only.text], ["yellow", "0/1 sites ok"]);
  });
});
