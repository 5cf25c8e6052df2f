/**
 * OCPI 2.2.1 Locations (sender interface), read as a CPO or an open-data feed:
 * versions discovery or a direct locations URL, `Authorization: Token`, the
 * response envelope or a bare array, and paging by `Link: rel="next"` or by
 * offset/limit with X-Total-Count. Status is per EVSE, so one EVSE counts as
 * one charger however many plugs it has.
 */
import { randomUUID } from "node:crypto";
import { HttpError, type HttpClient, type HttpResponse } from "../../http-client";
import { formatDelay, sleep } from "../../backoff";
import type { ConnectorAvailability } from "../../types";
import { FeedFormatError, type FeedProvider, type SiteProvider, type SiteSnapshot, asNumber, asString, isRecord } from "../model";
import { ocpiStatus } from "../status";

export interface OcpiOptions {
  /** A versions URL (discovery) or the locations endpoint itself. */
  url: string;
  urlType: "versions" | "locations";
  token?: string;
  /** 2.2+: the token is Base64-encoded in the header; 2.1.1 sends it raw. */
  tokenEncoding?: "base64" | "raw";
  /** Page size asked for (the server may cap it). */
  pageLimit?: number;
  /** Stop after this many pages, in case a server links in a circle. */
  maxPages?: number;
  cacheTtlMs?: number;
  /** Pause between two pages, so a crawl does not hammer the operator's server (default 100 ms). */
  pageDelayMs?: number;
  /** Count locations marked `publish: false` (not for the public) too; default: skip them. */
  includeUnpublished?: boolean;
  /** An EVSE whose last_updated is older than this is stale: its status counts as UNKNOWN (0 = never). */
  staleAfterMs?: number;
  now?: () => number;
}

export const DEFAULT_OCPI_PAGE_DELAY_MS = 100;
/** A week without any update: the status most likely no longer describes the charger. */
export const DEFAULT_OCPI_STALE_MS = 7 * 86_400_000;

export interface LocationOptions {
  includeUnpublished?: boolean;
  staleAfterMs?: number;
  now?: number;
}

const PLUGS: Record<string, string> = {
  IEC_62196_T2_COMBO: "CCS",
  IEC_62196_T1_COMBO: "CCS1",
  CHADEMO: "CHAdeMO",
  IEC_62196_T2: "Type 2",
  IEC_62196_T1: "Type 1",
  TESLA_S: "Tesla",
  TESLA_R: "Tesla",
  DOMESTIC_F: "Schuko",
};

export function ocpiPlugName(standard: unknown): string | undefined {
  const text = asString(standard);
  if (!text) return undefined;
  return PLUGS[text] ?? text;
}

/** kW of one OCPI connector: max_electric_power, else volts × amps × phases. */
export function ocpiConnectorPowerKw(connector: Record<string, unknown>): number | undefined {
  const watts = asNumber(connector.max_electric_power);
  if (watts !== undefined) return watts / 1000;
  const volts = asNumber(connector.max_voltage);
  const amps = asNumber(connector.max_amperage);
  if (volts === undefined || amps === undefined) return undefined;
  const phases = connector.power_type === "AC_3_PHASE" ? 3 : 1;
  return (volts * amps * phases) / 1000;
}

/** Parses `Link: <url>; rel="next"` (several links may be comma-separated). */
export function nextLink(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (match && /rel\s*=\s*"?next"?/i.test(match[2])) return match[1];
  }
  return undefined;
}

export function locationToSnapshot(location: unknown, options: LocationOptions = {}): SiteSnapshot | undefined {
  if (!isRecord(location)) return undefined;
  const id = asString(location.id);
  if (!id) return undefined;
  // publish: false means the operator does not want the location shown to the public.
  if (location.publish === false && !options.includeUnpublished) return undefined;
  const staleAfter = options.staleAfterMs ?? DEFAULT_OCPI_STALE_MS;
  const now = options.now ?? Date.now();
  let stale = 0;
  const connectors: ConnectorAvailability[] = [];
  const evses = Array.isArray(location.evses) ? location.evses : [];
  for (const evse of evses) {
    if (!isRecord(evse)) continue;
    // A REMOVED EVSE is no charger any more; counting it would lower "total" for good.
    if (evse.status === "REMOVED") continue;
    const plugs = new Set<string>();
    let powerKw: number | undefined;
    let dc = false;
    for (const connector of Array.isArray(evse.connectors) ? evse.connectors : []) {
      if (!isRecord(connector)) continue;
      const plug = ocpiPlugName(connector.standard);
      if (plug) plugs.add(plug);
      const kw = ocpiConnectorPowerKw(connector);
      if (kw !== undefined) powerKw = Math.max(powerKw ?? 0, kw);
      if (connector.power_type === "DC") dc = true;
    }
    const uid = asString(evse.uid) ?? asString(evse.evse_id) ?? String(connectors.length + 1);
    const labels: Record<string, string> = { current: dc ? "DC" : "AC" };
    const evseId = asString(evse.evse_id);
    if (evseId) labels.evse_id = evseId;
    const updated = typeof evse.last_updated === "string" ? Date.parse(evse.last_updated) : Number.NaN;
    const isStale = staleAfter > 0 && Number.isFinite(updated) && now - updated > staleAfter;
    if (isStale) {
      stale++;
      labels.stale = "true";
    }
    connectors.push({
      id: uid,
      name: evseId ?? uid,
      // A status nobody has confirmed for longer than the stale age is not reported as current.
      status: isStale ? "UNKNOWN" : ocpiStatus(evse.status),
      raw: evse.status ?? null,
      plug: plugs.size > 0 ? [...plugs].join(", ") : undefined,
      powerKw,
      labels,
    });
  }
  const warnings = stale > 0 ? [`${id}: ${stale} EVSE status(es) not updated for more than ${formatDelay(staleAfter)}; counted as UNKNOWN`] : undefined;
  return { site: id, siteName: asString(location.name), connectors, warnings };
}

/** Unwraps the OCPI envelope; a bare array (common in open data) is accepted as is. */
export function unwrapOcpi(body: unknown, what: string): unknown {
  if (isRecord(body) && "status_code" in body) {
    const code = asNumber(body.status_code);
    if (code === undefined || code < 1000 || code >= 2000) {
      const message = asString(body.status_message) ?? "no message";
      throw new FeedFormatError(`The OCPI server reported an error for ${what} (status_code ${String(body.status_code)}: ${message})`);
    }
    return body.data;
  }
  return body;
}

export class OcpiProvider implements FeedProvider {
  readonly kind = "ocpi";
  readonly mode = "feed" as const;
  readonly defaultCacheTtlMs: number;
  private readonly http: HttpClient;
  private readonly options: OcpiOptions;
  private locationsUrl: string | undefined;
  /** Set once the version is known: OCPI 2.1.1 sends the token raw, 2.2+ Base64-encoded. */
  private encoding: "base64" | "raw" | undefined;

  constructor(http: HttpClient, options: OcpiOptions) {
    this.http = http;
    this.options = options;
    this.defaultCacheTtlMs = options.cacheTtlMs ?? 60_000;
    if (options.urlType === "locations") this.locationsUrl = options.url;
  }

  private headers(correlationId: string): Record<string, string> {
    const headers: Record<string, string> = { "X-Request-ID": randomUUID(), "X-Correlation-ID": correlationId };
    const token = this.options.token;
    if (token) {
      const encoding = this.encoding ?? this.options.tokenEncoding ?? "base64";
      const value = encoding === "raw" ? token : Buffer.from(token, "utf8").toString("base64");
      headers.Authorization = `Token ${value}`;
    }
    return headers;
  }

  locationOptions(): LocationOptions {
    return { includeUnpublished: this.options.includeUnpublished, staleAfterMs: this.options.staleAfterMs, now: (this.options.now ?? Date.now)() };
  }

  get(url: string, correlationId: string, signal: AbortSignal, params?: Record<string, number>): Promise<HttpResponse<unknown>> {
    return this.http.get<unknown>(url, { headers: this.headers(correlationId), signal, params });
  }

  /** versions → version details → the locations SENDER endpoint. */
  async discover(signal: AbortSignal, correlationId: string): Promise<string> {
    if (this.locationsUrl) return this.locationsUrl;
    let versionsResponse: HttpResponse<unknown>;
    try {
      versionsResponse = await this.get(this.options.url, correlationId, signal);
    } catch (err) {
      // A 2.1.1-only server refuses the Base64 form on its versions endpoint: try the raw token once.
      if (!(err instanceof HttpError && err.status === 401 && this.options.token && (this.encoding ?? this.options.tokenEncoding ?? "base64") === "base64")) throw err;
      this.encoding = "raw";
      try {
        versionsResponse = await this.get(this.options.url, correlationId, signal);
      } catch (again) {
        this.encoding = undefined;
        throw again;
      }
    }
    const versions = unwrapOcpi(versionsResponse.data, "the versions list");
    if (!Array.isArray(versions) || versions.length === 0) {
      throw new FeedFormatError("The OCPI versions URL did not return a list of versions");
    }
    const usable = versions.filter((v): v is Record<string, unknown> => isRecord(v) && typeof v.url === "string");
    const preferred =
      usable.find((v) => v.version === "2.2.1") ??
      usable.find((v) => v.version === "2.2") ??
      [...usable].sort((a, b) => String(b.version).localeCompare(String(a.version), undefined, { numeric: true }))[0];
    if (!preferred) throw new FeedFormatError("The OCPI versions list has no version with a URL");
    // OCPI 2.1.1 expects the token as it is; 2.2 and later Base64-encoded (the node's setting).
    this.encoding = /^2\.[01](\.|$)/.test(String(preferred.version)) ? "raw" : this.options.tokenEncoding ?? "base64";
    const details = unwrapOcpi((await this.get(String(preferred.url), correlationId, signal)).data, "the version details");
    const endpoints = isRecord(details) && Array.isArray(details.endpoints) ? details.endpoints : [];
    const locations = endpoints.find(
      (e): e is Record<string, unknown> =>
        isRecord(e) && e.identifier === "locations" && (e.role === undefined || e.role === "SENDER") && typeof e.url === "string",
    );
    if (!locations) {
      throw new FeedFormatError(`OCPI version ${String(preferred.version)} offers no "locations" SENDER endpoint`);
    }
    this.locationsUrl = String(locations.url);
    return this.locationsUrl;
  }

  async fetchFeed(signal: AbortSignal): Promise<SiteSnapshot[]> {
    const correlationId = randomUUID();
    const base = await this.discover(signal, correlationId);
    const limit = this.options.pageLimit;
    const maxPages = this.options.maxPages ?? 1000;
    const pageDelay = this.options.pageDelayMs ?? DEFAULT_OCPI_PAGE_DELAY_MS;
    const all: unknown[] = [];
    const seenRequests = new Set<string>();
    const seenPages = new Set<string>();
    let url: string | undefined = base;
    let params: Record<string, number> | undefined = limit ? { offset: 0, limit } : undefined;
    for (let page = 0; url; page++) {
      if (page >= maxPages) throw new FeedFormatError(`The OCPI server kept sending pages (more than ${maxPages}); giving up`);
      const request = `${url} ${JSON.stringify(params ?? {})}`;
      if (seenRequests.has(request)) {
        throw new FeedFormatError(`The OCPI server's paging leads back to a page already read (after ${page} pages: ${url.split("?")[0]}); stopped paging`);
      }
      seenRequests.add(request);
      // Paced: a crawl of many pages must not look like an attack on the operator's server.
      if (page > 0 && pageDelay > 0) await sleep(pageDelay, signal);
      const response: HttpResponse<unknown> = await this.get(url, correlationId, signal, params);
      const data = unwrapOcpi(response.data, "the locations list");
      if (!Array.isArray(data)) throw new FeedFormatError("The OCPI locations endpoint did not return a list of locations");
      // A server that ignores offset sends the same page again and again.
      const signature = data.length > 0 ? data.map((l) => (isRecord(l) ? asString(l.id) ?? "" : "")).join("\u0000") : "";
      if (signature !== "" && seenPages.has(signature)) {
        throw new FeedFormatError(`The OCPI server sent the same page of locations again (page ${page + 1}); stopped paging (does it ignore offset?)`);
      }
      if (signature !== "") seenPages.add(signature);
      all.push(...data);
      const next = nextLink(response.headers.link);
      if (next) {
        url = new URL(next, url).toString();
        params = undefined;
        continue;
      }
      // Without Link, X-Total-Count tells whether more pages follow.
      const total = asNumber(response.headers["x-total-count"]);
      if (total !== undefined && data.length > 0 && all.length < total) {
        const pageSize = asNumber(response.headers["x-limit"]) ?? limit ?? data.length;
        params = { offset: all.length, limit: pageSize };
        url = base;
        continue;
      }
      url = undefined;
    }
    // Pages can shift while we crawl (a location added or removed); keep each location once, the newest copy.
    const byId = new Map<string, SiteSnapshot>();
    const locationOptions = this.locationOptions();
    for (const location of all) {
      const snapshot = locationToSnapshot(location, locationOptions);
      if (snapshot) byId.set(snapshot.site, snapshot);
    }
    return [...byId.values()];
  }
}

/**
 * Reads single locations (`GET {locations}/{location_id}`) instead of the
 * whole list: for a few sites of a large CPO, far less traffic than a crawl.
 */
export class OcpiLocationProvider implements SiteProvider {
  readonly kind = "ocpi";
  readonly mode = "site" as const;
  readonly defaultCacheTtlMs: number;
  private readonly list: OcpiProvider;

  constructor(http: HttpClient, options: OcpiOptions) {
    this.list = new OcpiProvider(http, options);
    this.defaultCacheTtlMs = this.list.defaultCacheTtlMs;
  }

  async fetchSite(siteId: string, signal: AbortSignal): Promise<SiteSnapshot> {
    const correlationId = randomUUID();
    const base = (await this.list.discover(signal, correlationId)).replace(/\/+$/, "");
    const response = await this.list.get(`${base}/${encodeURIComponent(siteId)}`, correlationId, signal);
    const location = unwrapOcpi(response.data, `location "${siteId}"`);
    if (isRecord(location) && location.publish === false && !this.list.locationOptions().includeUnpublished) {
      throw new FeedFormatError(`Location "${siteId}" is marked publish: false (not for the public); tick "include unpublished locations" to count it`);
    }
    const snapshot = locationToSnapshot(location, this.list.locationOptions());
    if (!snapshot) throw new FeedFormatError(`The OCPI server's answer for location "${siteId}" is not a location`);
    return snapshot;
  }
}
