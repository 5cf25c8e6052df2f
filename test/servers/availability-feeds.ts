/**
 * Feed simulator for public charger availability, used by the tests and by
 * `npm start`. One HTTP server serves every format the availability node
 * reads, following each source's contract:
 *   OCPI 2.2.1   GET /ocpi/versions, /ocpi/2.2.1, /ocpi/2.2.1/locations  (Token auth, envelope,
 *                offset/limit paging with Link rel="next", X-Total-Count, X-Limit)
 *                GET /ocpi/2.2.1/locations/{id}  (one location)
 *                GET /ocpi/open/locations    (open data: bare array, no paging, no auth)
 *                GET /ocpi/nolink/locations  (paging by X-Total-Count only)
 *   Chargy       GET /chargy/kml?API-KEY=…   (KML; 401 without key, 406 for a JSON-only Accept)
 *                GET /chargy/malformed.kml
 *   Chargefinder GET /chargefinder/station/{slug}, /chargefinder/status/{id}  (403 without Origin; gzip)
 *   Generic JSON GET /json/sites, /json/site/{id}, /json/malformed
 *   DATEX II     GET /datex2/status.xml     (AFIR EnergyInfrastructureStatusPublication)
 * Per-site faults (latency, HTTP status, broken body) are set in `state.faults`.
 * No test-framework imports: this runs as a dev simulator too.
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";

export interface SiteFault {
  /** Delay before answering, ms. */
  latencyMs?: number;
  /** Answer with this HTTP status (and a short text body). */
  status?: number;
  /** Answer 200 with this body (e.g. broken JSON). */
  body?: string;
}

export interface ChargefinderOutletSim {
  plug: string;
  identifier?: string;
  name: string;
  capacity: number;
  /** Raw Chargefinder status code. */
  status: number;
}

export interface ChargefinderSiteSim {
  slug: string;
  title: string;
  /** Status list uses outlet names (InCharge style) instead of identifiers (IONITY style). */
  statusByName: boolean;
  realtimeId?: string;
  outlets: ChargefinderOutletSim[];
}

export interface OcpiEvseSim {
  /** ISO time of the EVSE's last update; default: now. */
  lastUpdated?: string;
  uid: string;
  evseId: string;
  status: string;
  standard: string;
  powerType: string;
  maxElectricPower: number;
}

export interface OcpiLocationSim {
  /** false: not for the public (OCPI publish). */
  publish?: boolean;
  id: string;
  name: string;
  evses: OcpiEvseSim[];
}

export interface GenericPointSim {
  ref: string;
  state: string;
  kw: number;
  type: string;
}

export interface GenericStationSim {
  code: string;
  label: string;
  points: GenericPointSim[];
}

export interface FeedState {
  chargefinder: Map<string, ChargefinderSiteSim>;
  ocpi: OcpiLocationSim[];
  generic: GenericStationSim[];
  chargyKml: string;
  datex2Xml: string;
  /** Faults per site id (Chargefinder slug or generic station code). */
  faults: Map<string, SiteFault>;
  /** Text appended to simulated error bodies (to check that clients redact echoed secrets). */
  echo: string;
  /** Delay for every response, ms. */
  latencyMs: number;
  /** OCPI credentials token; requests must send it (Base64 for 2.2.1). Empty: no auth. */
  ocpiToken: string;
  /** Send the token raw (OCPI 2.1.1 style) instead of Base64. */
  ocpiRawToken: boolean;
  ocpiPageSize: number;
  chargyApiKey: string;
  /** Vary statuses with the clock so a live demo shows busy and quiet hours. */
  dynamic: boolean;
  /** Requests per path (without the query). */
  hits: Map<string, number>;
  inFlight: number;
  maxInFlight: number;
  /** Request headers of every OCPI request, for checking X-Request-ID etc. */
  ocpiRequests: Array<{ url: string; headers: http.IncomingHttpHeaders }>;
}

export interface AvailabilityFeeds {
  url: string;
  port: number;
  state: FeedState;
  /** Forget hits and in-flight maxima between test steps. */
  resetCounters(): void;
  close(): Promise<void>;
}

export interface AvailabilityFeedsOptions {
  port?: number;
  host?: string;
  latencyMs?: number;
  chargefinderSites?: number;
  ocpiLocations?: number;
  ocpiToken?: string;
  chargyApiKey?: string;
  dynamic?: boolean;
}

const CHARGY_FIXTURE = path.join(__dirname, "..", "fixtures", "availability", "chargy-mixed-states.kml");
const DATEX2_FIXTURE = path.join(__dirname, "..", "fixtures", "availability", "datex2-afir-status.xml");

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** 20 DC sites by default: outlets 1–2 CCS 150 kW, 3 CHAdeMO 50 kW, 4 Type 2 22 kW. */
export function defaultChargefinderSites(count = 20): Map<string, ChargefinderSiteSim> {
  const sites = new Map<string, ChargefinderSiteSim>();
  for (let i = 1; i <= count; i++) {
    const slug = `cf-site-${pad(i)}`;
    sites.set(slug, {
      slug,
      title: `Fast charging ${pad(i)}`,
      statusByName: i % 2 === 0,
      realtimeId: i % 5 === 0 ? `rt-${pad(i)}` : undefined,
      outlets: [
        { plug: "CCS", identifier: `SE*CFS*E${pad(i)}01`, name: "1", capacity: 150, status: 2 },
        { plug: "CCS", identifier: `SE*CFS*E${pad(i)}02`, name: "2", capacity: 150, status: 3 },
        { plug: "CHAdeMO", identifier: `SE*CFS*E${pad(i)}03`, name: "3", capacity: 50, status: i % 3 === 0 ? 2 : 5 },
        { plug: "Type 2", identifier: `SE*CFS*E${pad(i)}04`, name: "4", capacity: 22, status: 2 },
      ],
    });
  }
  return sites;
}

const OCPI_CYCLE = ["AVAILABLE", "CHARGING", "OUTOFORDER", "RESERVED", "BLOCKED", "INOPERATIVE", "UNKNOWN"];

/** Locations LOC-001…: EVSE 1 DC CCS 150 kW cycling through the statuses, EVSE 2 AC Type 2 22 kW available. */
export function defaultOcpiLocations(count = 25): OcpiLocationSim[] {
  const locations: OcpiLocationSim[] = [];
  for (let i = 1; i <= count; i++) {
    const id = `LOC-${String(i).padStart(3, "0")}`;
    locations.push({
      id,
      name: `OCPI site ${i}`,
      evses: [
        { uid: `${id}-1`, evseId: `NL*SIM*E${i}*1`, status: OCPI_CYCLE[(i - 1) % OCPI_CYCLE.length], standard: "IEC_62196_T2_COMBO", powerType: "DC", maxElectricPower: 150_000 },
        { uid: `${id}-2`, evseId: `NL*SIM*E${i}*2`, status: "AVAILABLE", standard: "IEC_62196_T2", powerType: "AC_3_PHASE", maxElectricPower: 22_000 },
      ],
    });
  }
  // One removed EVSE: it must not count.
  if (locations.length > 0) {
    locations[locations.length - 1].evses.push({
      uid: "removed-1", evseId: "NL*SIM*REMOVED", status: "REMOVED", standard: "IEC_62196_T2", powerType: "AC_3_PHASE", maxElectricPower: 11_000,
    });
  }
  return locations;
}

export function defaultGenericStations(): GenericStationSim[] {
  return [
    { code: "GJ-1", label: "Generic one", points: [
      { ref: "A", state: "free", kw: 50, type: "CCS" },
      { ref: "B", state: "occupied", kw: 50, type: "CCS" },
      { ref: "C", state: "broken", kw: 22, type: "Type 2" },
    ] },
    { code: "GJ-2", label: "Generic two", points: [
      { ref: "A", state: "free", kw: 150, type: "CCS" },
      { ref: "B", state: "free", kw: 150, type: "CCS" },
      { ref: "C", state: "mystery", kw: 22, type: "Type 2" },
    ] },
  ];
}

/** Deterministic busy-hour pattern for the live demo: busier at 8–9 and 17–19. */
function dynamicStatus(seed: string, base: number): number {
  const hour = new Date().getHours();
  const busy = (hour >= 8 && hour <= 9) || (hour >= 17 && hour <= 19);
  let hash = 0;
  for (const ch of `${seed}:${Math.floor(Date.now() / 300_000)}`) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const roll = hash % 100;
  if (base !== 2 && base !== 3) return base;
  return roll < (busy ? 75 : 30) ? 3 : 2;
}

function location(loc: OcpiLocationSim): Record<string, unknown> {
  return {
    country_code: "NL",
    party_id: "SIM",
    id: loc.id,
    publish: loc.publish ?? true,
    name: loc.name,
    address: "Simulatorstraat 1",
    city: "Utrecht",
    country: "NLD",
    coordinates: { latitude: "52.090", longitude: "5.120" },
    time_zone: "Europe/Amsterdam",
    evses: loc.evses.map((e) => ({
      uid: e.uid,
      evse_id: e.evseId,
      status: e.status,
      capabilities: ["REMOTE_START_STOP_CAPABLE"],
      connectors: [
        {
          id: "1",
          standard: e.standard,
          format: e.powerType === "DC" ? "CABLE" : "SOCKET",
          power_type: e.powerType,
          max_voltage: e.powerType === "DC" ? 920 : 400,
          max_amperage: e.powerType === "DC" ? 200 : 32,
          max_electric_power: e.maxElectricPower,
          last_updated: "2026-01-01T00:00:00Z",
        },
      ],
      // A live feed: the status was confirmed just now (an old date would make it stale).
      last_updated: e.lastUpdated ?? new Date().toISOString(),
    })),
    last_updated: "2026-01-01T00:00:00Z",
  };
}

function envelope(data: unknown, statusCode = 1000, message = "Success"): string {
  return JSON.stringify({ data, status_code: statusCode, status_message: message, timestamp: new Date().toISOString() });
}

export async function startAvailabilityFeeds(options: AvailabilityFeedsOptions = {}): Promise<AvailabilityFeeds> {
  const state: FeedState = {
    chargefinder: defaultChargefinderSites(options.chargefinderSites ?? 20),
    ocpi: defaultOcpiLocations(options.ocpiLocations ?? 25),
    generic: defaultGenericStations(),
    chargyKml: fs.readFileSync(CHARGY_FIXTURE, "utf8"),
    datex2Xml: fs.readFileSync(DATEX2_FIXTURE, "utf8"),
    faults: new Map(),
    echo: "",
    latencyMs: options.latencyMs ?? 0,
    ocpiToken: options.ocpiToken ?? "",
    ocpiRawToken: false,
    ocpiPageSize: 10,
    chargyApiKey: options.chargyApiKey ?? "",
    dynamic: options.dynamic ?? false,
    hits: new Map(),
    inFlight: 0,
    maxInFlight: 0,
    ocpiRequests: [],
  };
  let baseUrl = "";
  const sockets = new Set<import("node:net").Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const delay = (ms: number): Promise<void> =>
    ms > 0
      ? new Promise((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, ms);
          timers.add(timer);
        })
      : Promise.resolve();

  const send = (req: http.IncomingMessage, res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    const type = headers["Content-Type"] ?? "application/json";
    const gzip = headers["X-Gzip"] === "1" && /gzip/.test(String(req.headers["accept-encoding"] ?? ""));
    delete headers["X-Gzip"];
    const payload = gzip ? zlib.gzipSync(body) : Buffer.from(body);
    res.writeHead(status, { ...headers, "Content-Type": type, "Content-Length": String(payload.length), ...(gzip ? { "Content-Encoding": "gzip" } : {}) });
    res.end(payload);
  };

  /** Applies a site's fault; returns true when it answered already. */
  const fault = async (site: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> => {
    const f = state.faults.get(site);
    if (!f) return false;
    await delay(f.latencyMs ?? 0);
    if (f.status) {
      send(req, res, f.status, JSON.stringify({ error: `simulated HTTP ${f.status}${state.echo ? ` ${state.echo}` : ""}` }));
      return true;
    }
    if (f.body !== undefined) {
      send(req, res, 200, f.body);
      return true;
    }
    return false;
  };

  const ocpiAuthorized = (req: http.IncomingMessage): boolean => {
    if (!state.ocpiToken) return true;
    const expected = state.ocpiRawToken ? state.ocpiToken : Buffer.from(state.ocpiToken).toString("base64");
    return req.headers.authorization === `Token ${expected}`;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", baseUrl);
    const p = url.pathname;
    state.hits.set(p, (state.hits.get(p) ?? 0) + 1);
    await delay(state.latencyMs);
    if (req.method !== "GET") return send(req, res, 405, JSON.stringify({ error: "GET only" }));

    // ---- OCPI 2.2.1 ----
    if (p.startsWith("/ocpi/")) {
      state.ocpiRequests.push({ url: req.url ?? "", headers: req.headers });
      if (p === "/ocpi/open/locations") return send(req, res, 200, JSON.stringify(state.ocpi.map(location)));
      if (!ocpiAuthorized(req)) return send(req, res, 401, envelope(null, 2002, "Invalid or missing token"));
      if (p === "/ocpi/versions") return send(req, res, 200, envelope([{ version: "2.1.1", url: `${baseUrl}/ocpi/2.1.1` }, { version: "2.2.1", url: `${baseUrl}/ocpi/2.2.1` }]));
      if (p === "/ocpi/2.2.1") {
        return send(req, res, 200, envelope({
          version: "2.2.1",
          endpoints: [
            { identifier: "credentials", role: "RECEIVER", url: `${baseUrl}/ocpi/2.2.1/credentials` },
            { identifier: "locations", role: "RECEIVER", url: `${baseUrl}/ocpi/2.2.1/receiver/locations` },
            { identifier: "locations", role: "SENDER", url: `${baseUrl}/ocpi/2.2.1/locations` },
          ],
        }));
      }
      if (p === "/ocpi/2.2.1/locations" || p === "/ocpi/nolink/locations") {
        const total = state.ocpi.length;
        const limit = Math.min(Number(url.searchParams.get("limit") ?? state.ocpiPageSize) || state.ocpiPageSize, state.ocpiPageSize);
        const offset = Math.max(0, Number(url.searchParams.get("offset") ?? 0) || 0);
        const page = state.ocpi.slice(offset, offset + limit).map(location);
        const headers: Record<string, string> = { "X-Total-Count": String(total), "X-Limit": String(limit) };
        if (p === "/ocpi/2.2.1/locations" && offset + limit < total) {
          headers.Link = `<${baseUrl}${p}?offset=${offset + limit}&limit=${limit}>; rel="next"`;
        }
        return send(req, res, 200, envelope(page), headers);
      }
      const single = /^\/ocpi\/2\.2\.1\/locations\/([^/]+)$/.exec(p);
      if (single) {
        const id = decodeURIComponent(single[1]);
        if (await fault(id, req, res)) return;
        const loc = state.ocpi.find((l) => l.id === id);
        return loc ? send(req, res, 200, envelope(location(loc))) : send(req, res, 404, envelope(null, 2003, "Unknown location"));
      }
      if (p === "/ocpi/error/locations") return send(req, res, 200, envelope(null, 3001, "Unable to use the client's API"));
      return send(req, res, 404, envelope(null, 2000, "Unknown endpoint"));
    }

    // ---- Chargy KML ----
    if (p === "/chargy/kml") {
      if (state.chargyApiKey && url.searchParams.get("API-KEY") !== state.chargyApiKey) {
        return send(req, res, 401, "Unauthorized", { "Content-Type": "text/plain" });
      }
      const accept = String(req.headers.accept ?? "");
      if (!/xml|\*\/\*/.test(accept)) return send(req, res, 406, "Not Acceptable", { "Content-Type": "text/plain" });
      return send(req, res, 200, state.chargyKml, { "Content-Type": "application/vnd.google-earth.kml+xml" });
    }
    if (p === "/chargy/malformed.kml") {
      return send(req, res, 200, "<kml><Document><Placemark><name>Broken</Placemark></kml>", { "Content-Type": "application/vnd.google-earth.kml+xml" });
    }

    // ---- DATEX II ----
    if (p === "/datex2/status.xml") return send(req, res, 200, state.datex2Xml, { "Content-Type": "application/xml" });

    // ---- Chargefinder-style (unofficial) ----
    let match = /^\/chargefinder\/(station|status)\/([^/]+)$/.exec(p);
    if (match) {
      if (req.headers.origin !== "https://chargefinder.com") return send(req, res, 403, JSON.stringify({ error: "Forbidden" }));
      const key = decodeURIComponent(match[2]);
      const site = match[1] === "station"
        ? state.chargefinder.get(key)
        : [...state.chargefinder.values()].find((s) => (s.realtimeId ?? s.slug) === key);
      if (!site) return send(req, res, 404, JSON.stringify({ error: "Not found" }));
      if (await fault(site.slug, req, res)) return;
      if (match[1] === "station") {
        const groups = new Map<string, ChargefinderOutletSim[]>();
        for (const o of site.outlets) groups.set(o.plug, [...(groups.get(o.plug) ?? []), o]);
        return send(req, res, 200, JSON.stringify({
          slug: site.slug,
          title: site.title,
          location: { latitude: 59.33, longitude: 18.06 },
          operator: "Simulated",
          realtime: 1,
          ...(site.realtimeId ? { realtimeId: site.realtimeId } : {}),
          maxCapacity: Math.max(...site.outlets.map((o) => o.capacity)),
          outletCount: site.outlets.length,
          outletList: [...groups.entries()].map(([plug, outlets]) => ({
            plug,
            capacity: outlets[0].capacity,
            count: outlets.length,
            outlets: outlets.map((o) => ({ plug: o.plug, identifier: o.identifier, name: o.name, capacity: o.capacity, slug: `${site.slug}-${o.name}` })),
          })),
        }), { "X-Gzip": "1" });
      }
      return send(req, res, 200, JSON.stringify(site.outlets.map((o) => ({
        id: site.statusByName ? o.name : o.identifier,
        status: state.dynamic ? dynamicStatus(`${site.slug}/${o.name}`, o.status) : o.status,
        price: "8,70 kr/kWh",
        free: null,
      }))), { "X-Gzip": "1" });
    }

    // ---- Generic JSON ----
    if (p === "/json/sites") {
      return send(req, res, 200, JSON.stringify({ updated: new Date().toISOString(), data: { stations: state.generic } }));
    }
    match = /^\/json\/site\/([^/]+)$/.exec(p);
    if (match) {
      const code = decodeURIComponent(match[1]);
      if (await fault(code, req, res)) return;
      const station = state.generic.find((s) => s.code === code);
      if (!station) return send(req, res, 404, JSON.stringify({ error: "unknown station" }));
      return send(req, res, 200, JSON.stringify(station));
    }
    if (p === "/json/malformed") return send(req, res, 200, '{"data": {"stations": [');
    send(req, res, 404, JSON.stringify({ error: "Not found" }));
  };

  const server = http.createServer((req, res) => {
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    let counted = true;
    const finish = (): void => {
      if (!counted) return;
      counted = false;
      state.inFlight--;
    };
    res.on("close", finish);
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(req, res, 500, JSON.stringify({ error: String(err) }));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    port,
    state,
    resetCounters() {
      state.hits.clear();
      state.maxInFlight = state.inFlight;
      state.ocpiRequests = [];
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The port the example flows use (flows/Availability/*). */
export const AVAILABILITY_FEEDS_PORT = 18083;

/** Entry for test/servers/dev-simulators.ts (`npm start`): statuses vary with the clock there. */
export const availabilityDevSimulator = {
  name: "Availability feeds (OCPI, Chargy KML, Chargefinder-style, JSON, DATEX II)",
  port: AVAILABILITY_FEEDS_PORT,
  start: (port: number): Promise<AvailabilityFeeds> => startAvailabilityFeeds({ port, dynamic: true }),
};

// `node --import tsx test/servers/availability-feeds.ts [port]` runs it on its own.
if (require.main === module) {
  const port = Number(process.argv[2] ?? process.env.EV_AVAILABILITY_PORT ?? AVAILABILITY_FEEDS_PORT);
  startAvailabilityFeeds({ port, dynamic: true }).then((feeds) => {
    console.log(`Availability feed simulator on ${feeds.url}`);
    const stop = (): void => void feeds.close().then(() => process.exit(0));
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
