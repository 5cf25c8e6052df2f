/**
 * DATEX II v3 AFIR status publication (EnergyInfrastructureStatusPublication):
 * site → station → refillPointStatus {reference@id, status}. Namespace
 * prefixes differ between feeds (egi/fac, aegi/afac), so only local names
 * are matched.
 */
import type { XMLParser } from "fast-xml-parser";
import type { HttpClient } from "../../http-client";
import { lazyRequire } from "../../lazy";
import type { ConnectorAvailability } from "../../types";
import { FeedFormatError, type FeedProvider, type SiteSnapshot, asString, isRecord } from "../model";
import { datexStatus } from "../status";

export interface Datex2Options {
  url: string;
  headers?: Record<string, string>;
  cacheTtlMs?: number;
}

const loadXmlParser = lazyRequire<typeof import("fast-xml-parser")>("fast-xml-parser");
let sharedParser: XMLParser | undefined;

/** The parser, made on first use (the provider makes it at deploy, see lazy.ts). */
function parser(): XMLParser {
  sharedParser ??= new (loadXmlParser().XMLParser)({
    ignoreAttributes: false,
    attributeNamePrefix: "@_",
    removeNSPrefix: true,
    parseTagValue: false,
    trimValues: true,
    isArray: (name) => ["energyInfrastructureSiteStatus", "energyInfrastructureStationStatus", "refillPointStatus"].includes(name),
  });
  return sharedParser;
}

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (isRecord(value) && typeof value["#text"] === "string") return value["#text"];
  return undefined;
}

function referenceId(node: Record<string, unknown>): string | undefined {
  const ref = node.reference;
  return isRecord(ref) ? asString(ref["@_id"]) : undefined;
}

/** Finds every site status element wherever the publication is wrapped. */
function findSites(node: unknown, out: Record<string, unknown>[], depth = 0): void {
  if (depth > 12 || !isRecord(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === "energyInfrastructureSiteStatus" && Array.isArray(value)) {
      for (const site of value) if (isRecord(site)) out.push(site);
    } else if (isRecord(value)) {
      findSites(value, out, depth + 1);
    } else if (Array.isArray(value)) {
      for (const item of value) findSites(item, out, depth + 1);
    }
  }
}

export function parseDatex2Status(xml: string): SiteSnapshot[] {
  let doc: unknown;
  const xmlParser = parser();
  try {
    doc = xmlParser.parse(xml, true);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new FeedFormatError(`The DATEX II feed is not valid XML: ${reason}`);
  }
  const sites: Record<string, unknown>[] = [];
  findSites(doc, sites);
  if (sites.length === 0) {
    throw new FeedFormatError("The DATEX II feed has no energyInfrastructureSiteStatus; is it an EnergyInfrastructureStatusPublication?");
  }
  return sites.map((site, index) => {
    const siteId = referenceId(site) ?? `site ${index + 1}`;
    const connectors: ConnectorAvailability[] = [];
    for (const station of Array.isArray(site.energyInfrastructureStationStatus) ? site.energyInfrastructureStationStatus : []) {
      if (!isRecord(station)) continue;
      const stationId = referenceId(station) ?? "";
      for (const point of Array.isArray(station.refillPointStatus) ? station.refillPointStatus : []) {
        if (!isRecord(point)) continue;
        const raw = text(point.status) ?? null;
        const id = referenceId(point) ?? `${stationId}#${connectors.length + 1}`;
        connectors.push({ id, name: id, status: datexStatus(raw), raw, labels: stationId ? { device: stationId } : undefined });
      }
    }
    return { site: siteId, siteName: siteId, connectors };
  });
}

export class Datex2Provider implements FeedProvider {
  readonly kind = "datex2";
  readonly mode = "feed" as const;
  readonly defaultCacheTtlMs: number;
  private readonly http: HttpClient;
  private readonly options: Datex2Options;

  constructor(http: HttpClient, options: Datex2Options) {
    this.http = http;
    this.options = options;
    this.defaultCacheTtlMs = options.cacheTtlMs ?? 60_000;
    // Made now, so a missing XML parser shows when the node is deployed, not at the first poll.
    parser();
  }

  async fetchFeed(signal: AbortSignal): Promise<SiteSnapshot[]> {
    const response = await this.http.get<string>(this.options.url, {
      responseType: "text",
      signal,
      headers: { Accept: "application/xml, text/xml, */*", ...this.options.headers },
    });
    return parseDatex2Status(response.text);
  }
}
