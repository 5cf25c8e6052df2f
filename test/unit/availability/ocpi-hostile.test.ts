/**
 * OCPI servers that do not behave as the seed assumed: paging that loops,
 * unpublished locations, statuses nobody updated for months, and a server
 * that speaks only OCPI 2.1.1 (raw token). A real local HTTP server each time.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { OcpiLocationProvider, OcpiProvider } from "../../../nodes/lib/availability/providers/ocpi";
import { client, signal } from "./helpers";

const TOKEN = "raw-t0ken";

function evse(uid: string, status: string, lastUpdated = new Date().toISOString()): Record<string, unknown> {
  return { uid, evse_id: `X*${uid}`, status, connectors: [{ id: "1", standard: "IEC_62196_T2", power_type: "AC_3_PHASE", max_electric_power: 22_000 }], last_updated: lastUpdated };
}

function envelope(data: unknown): string {
  return JSON.stringify({ data, status_code: 1000, status_message: "Success", timestamp: new Date().toISOString() });
}

describe("OCPI against awkward servers", () => {
  let server: http.Server;
  let base = "";
  let hits: Array<{ path: string; at: number; authorization?: string }> = [];
  let handler: (url: URL, req: http.IncomingMessage, res: http.ServerResponse) => void = () => undefined;
  before(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", base);
      hits.push({ path: `${url.pathname}${url.search}`, at: Date.now(), authorization: req.headers.authorization });
      handler(url, req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    hits = [];
  });

  const json = (res: http.ServerResponse, body: string, headers: Record<string, string> = {}, status = 200): void => {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(body);
  };

  it("a Link that points back to an earlier page stops the crawl, paced, after a few requests", async () => {
    handler = (url, _req, res) => {
      const page = Number(url.searchParams.get("page") ?? "1");
      // Page 3 links back to page 1: a circle.
      const next = page < 3 ? page + 1 : 1;
      json(res, envelope([{ id: `L${page}`, evses: [evse(`E${page}`, "AVAILABLE")] }]), { Link: `<${base}/locations?page=${next}>; rel="next"` });
    };
    const provider = new OcpiProvider(client("the OCPI server"), { url: `${base}/locations?page=1`, urlType: "locations" });
    await assert.rejects(provider.fetchFeed(signal()), /paging leads back to a page already read \(after 3 pages/);
    assert.equal(hits.length, 3, "page 1, 2, 3, then the link back to 1 is not followed (was 1000 requests)");
    const gaps = hits.slice(1).map((h, i) => h.at - hits[i].at);
    assert.ok(gaps.every((g) => g >= 90), `pages ${gaps.join(", ")} ms apart`);
  });

  it("a server that ignores offset (the same page every time) is stopped at the second copy", async () => {
    handler = (_url, _req, res) => json(res, envelope([{ id: "A", evses: [evse("1", "AVAILABLE")] }, { id: "B", evses: [evse("2", "AVAILABLE")] }]), { "X-Total-Count": "100000", "X-Limit": "2" });
    const provider = new OcpiProvider(client("the OCPI server"), { url: `${base}/locations`, urlType: "locations", pageLimit: 2 });
    await assert.rejects(provider.fetchFeed(signal()), /sent the same page of locations again \(page 2\); stopped paging/);
    assert.equal(hits.length, 2);
  });

  it("publish: false is skipped unless asked for; a status not updated for longer than the stale age counts as UNKNOWN", async () => {
    const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
    handler = (url, _req, res) => {
      if (url.pathname === "/locations/HIDDEN") return json(res, envelope({ id: "HIDDEN", publish: false, evses: [evse("h", "AVAILABLE")] }));
      json(res, envelope([
        { id: "PUBLIC", publish: true, evses: [evse("p1", "AVAILABLE"), evse("p2", "AVAILABLE", old)] },
        { id: "HIDDEN", publish: false, evses: [evse("h", "AVAILABLE")] },
      ]));
    };
    const options = { url: `${base}/locations`, urlType: "locations" as const };
    const sites = await new OcpiProvider(client(), options).fetchFeed(signal());
    assert.deepEqual(sites.map((s) => s.site), ["PUBLIC"]);
    assert.deepEqual(sites[0].connectors.map((c) => [c.id, c.status, c.labels?.stale]), [["p1", "AVAILABLE", undefined], ["p2", "UNKNOWN", "true"]]);
    assert.match(sites[0].warnings?.[0] ?? "", /^PUBLIC: 1 EVSE status\(es\) not updated for more than 7 d; counted as UNKNOWN$/);

    const all = await new OcpiProvider(client(), { ...options, includeUnpublished: true, staleAfterMs: 0 }).fetchFeed(signal());
    assert.deepEqual(all.map((s) => s.site), ["PUBLIC", "HIDDEN"]);
    assert.equal(all[0].connectors[1].status, "AVAILABLE", "stale age 0: never stale");

    await assert.rejects(new OcpiLocationProvider(client(), options).fetchSite("HIDDEN", signal()), /marked publish: false/);
  });

  it("a server offering only OCPI 2.1.1 gets the raw token, not the 2.2 Base64 form", async () => {
    handler = (url, req, res) => {
      if (req.headers.authorization !== `Token ${TOKEN}`) return json(res, JSON.stringify({ status_code: 2002, status_message: "Invalid token" }), {}, 401);
      if (url.pathname === "/versions") return json(res, envelope([{ version: "2.1.1", url: `${base}/2.1.1` }]));
      if (url.pathname === "/2.1.1") return json(res, envelope({ version: "2.1.1", endpoints: [{ identifier: "locations", url: `${base}/2.1.1/locations` }] }));
      json(res, envelope([{ id: "L1", evses: [evse("1", "AVAILABLE")] }]));
    };
    const provider = new OcpiProvider(client(), { url: `${base}/versions`, urlType: "versions", token: TOKEN, tokenEncoding: "base64" });
    const sites = await provider.fetchFeed(signal());
    assert.deepEqual(sites.map((s) => s.site), ["L1"]);
    assert.deepEqual(hits.map((h) => [h.path, h.authorization]), [
      ["/versions", `Token ${Buffer.from(TOKEN).toString("base64")}`],
      ["/versions", `Token ${TOKEN}`],
      ["/2.1.1", `Token ${TOKEN}`],
      ["/2.1.1/locations", `Token ${TOKEN}`],
    ]);
  });
});
