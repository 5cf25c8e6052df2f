/**
 * Chargefinder-style JSON: GET /station/{slug} for the site and its outlets,
 * then GET /status/{id} for a status list joined to the outlets by
 * identifier or name. UNOFFICIAL: there is no public API contract, the
 * service wants browser-like headers and may block or encrypt at any time.
 */
import type { HttpClient } from "../../http-client";
import type { ConnectorAvailability } from "../../types";
import { TtlCache } from "../cache";
import { FeedFormatError, type SiteProvider, type SiteSnapshot, asNumber, asString, isRecord } from "../model";
import { chargefinderStatus } from "../status";

export const CHARGEFINDER_DEFAULT_URL = "https://api.chargefinder.com";
export const CHARGEFINDER_UNOFFICIAL_NOTE = "Chargefinder has no official API; this may stop working at any time";

/** Without these the service answers 403. */
export const CHARGEFINDER_DEFAULT_HEADERS: Readonly<Record<string, string>> = {
  Accept: "application/json, text/plain, */*",
  Origin: "https://chargefinder.com",
  Referer: "https://chargefinder.com/",
  "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
};

export interface ChargefinderOptions {
  baseUrl?: string;
  /** Replaces the default browser-like headers key by key. */
  headers?: Record<string, string>;
  cacheTtlMs?: number;
  /** Site metadata changes rarely: kept this long (default 1 h). */
  stationTtlMs?: number;
}

interface Outlet {
  identifier?: string;
  name?: string;
  plug?: string;
  powerKw?: number;
}

function stationOutlets(station: Record<string, unknown>): Outlet[] {
  const outlets: Outlet[] = [];
  const groups = Array.isArray(station.outletList) ? station.outletList : [];
  for (const group of groups) {
    if (!isRecord(group)) continue;
    for (const outlet of Array.isArray(group.outlets) ? group.outlets : []) {
      if (!isRecord(outlet)) continue;
      outlets.push({
        identifier: asString(outlet.identifier),
        name: asString(outlet.name),
        plug: asString(outlet.plug) ?? asString(group.plug),
        powerKw: asNumber(outlet.capacity) ?? asNumber(group.capacity),
      });
    }
  }
  return outlets;
}

function isEncrypted(body: unknown): boolean {
  return isRecord(body) && "e" in body && "i" in body && !("slug" in body);
}

/** Joins the status list to the station's outlets (by identifier, else by name). */
export function chargefinderSnapshot(siteId: string, station: unknown, statusList: unknown): SiteSnapshot {
  if (!isRecord(station)) throw new FeedFormatError(`Chargefinder sent no station data for "${siteId}"`);
  if (!Array.isArray(statusList)) throw new FeedFormatError(`Chargefinder's status for "${siteId}" is not a list`);
  const byId = new Map<string, unknown>();
  for (const entry of statusList) {
    if (!isRecord(entry)) continue;
    const id = asString(entry.id);
    if (id !== undefined) byId.set(id, entry.status);
  }
  const connectors: ConnectorAvailability[] = [];
  for (const [index, outlet] of stationOutlets(station).entries()) {
    const key = [outlet.identifier, outlet.name].find((k) => k !== undefined && byId.has(k));
    const raw = key !== undefined ? byId.get(key) : null;
    const plug = outlet.plug;
    connectors.push({
      id: outlet.identifier ?? outlet.name ?? String(index + 1),
      name: outlet.name ?? outlet.identifier,
      status: chargefinderStatus(raw),
      raw: raw ?? null,
      plug,
      powerKw: outlet.powerKw,
      labels: { current: plug && /ccs|chademo|combo|dc/i.test(plug) ? "DC" : "AC" },
    });
  }
  return { site: siteId, siteName: asString(station.title) ?? siteId, connectors };
}

export class ChargefinderProvider implements SiteProvider {
  readonly kind = "chargefinder";
  readonly mode = "site" as const;
  readonly unofficial = true;
  readonly defaultCacheTtlMs: number;
  private readonly http: HttpClient;
  private readonly options: ChargefinderOptions;
  private readonly stations = new TtlCache<Record<string, unknown>>();

  constructor(http: HttpClient, options: ChargefinderOptions = {}) {
    this.http = http;
    this.options = options;
    this.defaultCacheTtlMs = options.cacheTtlMs ?? 60_000;
  }

  private get headers(): Record<string, string> {
    return { ...CHARGEFINDER_DEFAULT_HEADERS, ...this.options.headers };
  }

  private url(path: string): string {
    const base = (this.options.baseUrl || CHARGEFINDER_DEFAULT_URL).replace(/\/+$/, "");
    return `${base}${path}`;
  }

  private async station(siteId: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    const { value } = await this.stations.get(siteId, this.options.stationTtlMs ?? 3_600_000, async () => {
      const response = await this.http.get<unknown>(this.url(`/station/${encodeURIComponent(siteId)}`), { headers: this.headers, signal });
      if (isEncrypted(response.data)) throw new FeedFormatError(`Chargefinder sent encrypted data. ${CHARGEFINDER_UNOFFICIAL_NOTE}`);
      if (!isRecord(response.data)) throw new FeedFormatError(`Chargefinder sent no station data for "${siteId}"`);
      return response.data;
    });
    return value;
  }

  async fetchSite(siteId: string, signal: AbortSignal): Promise<SiteSnapshot> {
    const station = await this.station(siteId, signal);
    // Newer sites publish status under realtimeId; older clients used the slug.
    const statusId = asString(station.realtimeId) ?? asString(station.slug) ?? siteId;
    const response = await this.http.get<unknown>(this.url(`/status/${encodeURIComponent(statusId)}`), { headers: this.headers, signal });
    if (isEncrypted(response.data)) throw new FeedFormatError(`Chargefinder sent encrypted data. ${CHARGEFINDER_UNOFFICIAL_NOTE}`);
    return chargefinderSnapshot(siteId, station, response.data);
  }
}
