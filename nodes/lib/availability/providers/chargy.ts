/**
 * Chargy (Luxembourg) open-data KML: Placemark (station) → ExtendedData
 * "chargingdevice" (JSON per device) → connectors. Each connector keeps its
 * raw state; an unknown state maps to UNKNOWN / "unavailable" and never
 * throws (the original exporter crashed there). A malformed device is
 * skipped with a warning instead of losing the whole station.
 */
import type { XMLParser } from "fast-xml-parser";
import type { HttpClient } from "../../http-client";
import { lazyRequire } from "../../lazy";
import type { ConnectorAvailability } from "../../types";
import { FeedFormatError, type FeedProvider, type SiteSnapshot, asNumber, asString, isRecord } from "../model";
import { chargyClass, chargyStatus } from "../status";

export const CHARGY_DEFAULT_URL = "https://my.chargy.lu/b2bev-external-services/resources/kml";
/** The feed updates about every 5 minutes; so does the exporter's cache. */
export const CHARGY_CACHE_TTL_MS = 5 * 60_000;
/** Above this the feed's "Type 2" is really a DC (CCS) unit. */
export const CHARGY_DC_THRESHOLD_KW = 43;

export interface ChargyOptions {
  url: string;
  /** Sent as the API-KEY query parameter when the URL does not carry one. */
  apiKey?: string;
  cacheTtlMs?: number;
}

const loadXmlParser = lazyRequire<typeof import("fast-xml-parser")>("fast-xml-parser");
let sharedParser: XMLParser | undefined;

/** The parser, made on first use (the provider makes it at deploy, see lazy.ts). */
function parser(): XMLParser {
  sharedParser ??= new (loadXmlParser().XMLParser)({
    ignoreAttributes: false,
    attributeNamePrefix: "@_",
    parseTagValue: false,
    trimValues: true,
    isArray: (name) => name === "Placemark" || name === "Data" || name === "Folder",
  });
  return sharedParser;
}

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (isRecord(value) && typeof value["#text"] === "string") return value["#text"];
  return undefined;
}

function collectPlacemarks(node: unknown, out: Record<string, unknown>[]): void {
  if (!isRecord(node)) return;
  if (Array.isArray(node.Placemark)) for (const p of node.Placemark) if (isRecord(p)) out.push(p);
  if (Array.isArray(node.Folder)) for (const folder of node.Folder) collectPlacemarks(folder, out);
  if (isRecord(node.Document)) collectPlacemarks(node.Document, out);
}

/** Parses a Chargy KML document into one snapshot per station. */
export function parseChargyKml(xml: string): SiteSnapshot[] {
  let doc: unknown;
  const xmlParser = parser();
  try {
    doc = xmlParser.parse(xml, true);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new FeedFormatError(`The Chargy feed is not valid XML/KML: ${reason}`);
  }
  if (!isRecord(doc) || !isRecord(doc.kml)) {
    throw new FeedFormatError("The Chargy feed is not a KML document (no <kml> element)");
  }
  const placemarks: Record<string, unknown>[] = [];
  collectPlacemarks(doc.kml, placemarks);
  const stations: SiteSnapshot[] = [];
  for (const [index, placemark] of placemarks.entries()) {
    const station = text(placemark.name)?.trim() || `station ${index + 1}`;
    const warnings: string[] = [];
    const connectors: ConnectorAvailability[] = [];
    const data = isRecord(placemark.ExtendedData) && Array.isArray(placemark.ExtendedData.Data) ? placemark.ExtendedData.Data : [];
    for (const entry of data) {
      if (!isRecord(entry) || entry["@_name"] !== "chargingdevice") continue;
      const json = text(entry.value);
      let device: unknown;
      try {
        device = JSON.parse(json ?? "");
      } catch {
        warnings.push(`${station}: a charging device entry is not valid JSON and was skipped`);
        continue;
      }
      if (!isRecord(device) || !Array.isArray(device.connectors)) {
        warnings.push(`${station}: a charging device has no connector list and was skipped`);
        continue;
      }
      const deviceName = asString(device.name) ?? asString(device.id) ?? "?";
      for (const c of device.connectors) {
        if (!isRecord(c)) continue;
        const speed = asNumber(c.maxchspeed);
        const raw = c.description ?? null;
        const name = asString(c.name) ?? `${deviceName} - ${asString(c.connector) ?? "?"}`;
        const dc = speed !== undefined && speed > CHARGY_DC_THRESHOLD_KW;
        connectors.push({
          id: asString(c.id) ?? name,
          name,
          status: chargyStatus(raw),
          raw,
          plug: dc ? "CCS" : "Type 2",
          powerKw: speed,
          labels: {
            station,
            device: deviceName,
            connector: name,
            // The exporter labels speed as int(maxchspeed).
            speed: speed === undefined ? "" : String(Math.trunc(speed)),
            current: dc ? "DC" : "AC",
            state: chargyClass(raw),
          },
        });
      }
    }
    stations.push({ site: station, siteName: station, connectors, warnings: warnings.length ? warnings : undefined });
  }
  return stations;
}

export class ChargyProvider implements FeedProvider {
  readonly kind = "chargy";
  readonly mode = "feed" as const;
  readonly defaultCacheTtlMs: number;
  private readonly http: HttpClient;
  private readonly options: ChargyOptions;

  constructor(http: HttpClient, options: ChargyOptions) {
    this.http = http;
    this.options = options;
    this.defaultCacheTtlMs = options.cacheTtlMs ?? CHARGY_CACHE_TTL_MS;
    // Made now, so a missing XML parser shows when the node is deployed, not at the first poll.
    parser();
  }

  async fetchFeed(signal: AbortSignal): Promise<SiteSnapshot[]> {
    const url = this.options.url || CHARGY_DEFAULT_URL;
    const hasKey = /[?&]API-KEY=/i.test(url);
    const response = await this.http.get<string>(url, {
      responseType: "text",
      signal,
      params: this.options.apiKey && !hasKey ? { "API-KEY": this.options.apiKey } : undefined,
      // A JSON-preferring Accept header gets 406 from Chargy.
      headers: { Accept: "application/vnd.google-earth.kml+xml, application/xml, text/xml, */*" },
    });
    return parseChargyKml(response.text);
  }
}
