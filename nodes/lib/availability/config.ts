/**
 * Turns the node's dialog settings into a provider and service options,
 * checking them first so a typo gives a clear message at deploy time
 * instead of a failure on every poll.
 */
import type { HttpClient } from "../http-client";
import { isValidTimeZone } from "../time";
import { type AvailabilityProvider, type ExpressionEvaluator, type SiteSpec, asNumber, isRecord } from "./model";
import { CHARGEFINDER_DEFAULT_URL, ChargefinderProvider } from "./providers/chargefinder";
import { CHARGY_DEFAULT_URL, ChargyProvider } from "./providers/chargy";
import { createGenericJsonProvider, isRecordMap } from "./providers/generic-json";
import { OcpiLocationProvider, OcpiProvider } from "./providers/ocpi";
import { Datex2Provider } from "./providers/datex2";

function staleDays(value: string | number | undefined): number {
  if (value === undefined || value === "") return 7;
  const days = Number(value);
  if (!Number.isFinite(days) || days < 0) throw new ConfigError("Stale after must be a number of days (0 = never)");
  return days;
}

export const PROVIDER_KINDS = ["chargefinder", "ocpi", "chargy", "json", "datex2"] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export const PROVIDER_NAMES: Record<ProviderKind, string> = {
  chargefinder: "Chargefinder (unofficial)",
  ocpi: "the OCPI server",
  chargy: "Chargy",
  json: "the JSON feed",
  datex2: "the DATEX II feed",
};

/** The dialog's settings, as Node-RED stores them (strings where the dialog has text boxes). */
export interface AvailabilitySettings {
  provider?: string;
  url?: string;
  ocpiUrlType?: string;
  ocpiEncoding?: string;
  ocpiPageLimit?: string | number;
  /** "list": crawl all locations; "site": GET each listed location on its own. */
  ocpiFetch?: string;
  /** Absent in flows saved before the option existed: false (skip publish: false). */
  ocpiUnpublished?: boolean;
  /** Days; absent: 7; 0: never stale. */
  ocpiStaleDays?: string | number;
  headers?: string;
  jsonSites?: string;
  jsonSiteId?: string;
  jsonSiteName?: string;
  jsonConnectors?: string;
  jsonConnectorId?: string;
  jsonStatus?: string;
  jsonPlug?: string;
  jsonPower?: string;
  jsonStatusMap?: string;
  authHeader?: string;
  sites?: unknown;
  allSites?: boolean;
  timeZone?: string;
  cacheTtl?: string | number;
}

export interface AvailabilitySecrets {
  token?: string;
  apiKey?: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function parseJsonObject(text: string | undefined, what: string): Record<string, unknown> | undefined {
  if (!text || text.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`${what} is not valid JSON, e.g. {"Origin": "https://example.org"}`);
  }
  if (!isRecord(value)) throw new ConfigError(`${what} must be a JSON object`);
  return value;
}

function stringMap(text: string | undefined, what: string): Record<string, string> | undefined {
  const value = parseJsonObject(text, what);
  if (value === undefined) return undefined;
  if (!isRecordMap(value)) throw new ConfigError(`${what} must map names to text values`);
  return value;
}

export function providerKind(value: unknown): ProviderKind {
  const kind = typeof value === "string" && value ? value : "chargefinder";
  if (!(PROVIDER_KINDS as readonly string[]).includes(kind)) throw new ConfigError(`Unknown source "${kind}"`);
  return kind as ProviderKind;
}

/** The site list from the dialog: id, display name, plug filter (comma list), minimum kW. */
export function parseSites(value: unknown): SiteSpec[] {
  if (value === undefined || value === null || value === "") return [];
  if (!Array.isArray(value)) throw new ConfigError("The site list is not a list");
  const sites: SiteSpec[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of value.entries()) {
    const item = typeof entry === "string" ? { id: entry } : entry;
    if (!isRecord(item)) throw new ConfigError(`Site ${index + 1} in the list is not readable`);
    const id = typeof item.id === "string" ? item.id.trim() : typeof item.id === "number" ? String(item.id) : "";
    if (!id) throw new ConfigError(`Site ${index + 1} in the list has no id`);
    if (seen.has(id)) throw new ConfigError(`Site "${id}" is in the list twice`);
    seen.add(id);
    const plugs = (Array.isArray(item.plugs) ? item.plugs.map(String) : typeof item.plugs === "string" ? item.plugs.split(",") : [])
      .map((p) => p.trim())
      .filter((p) => p !== "");
    const minPowerKw = asNumber(item.minPowerKw);
    if (item.minPowerKw !== undefined && item.minPowerKw !== "" && (minPowerKw === undefined || minPowerKw < 0)) {
      throw new ConfigError(`Site "${id}": minimum power must be a number of kW`);
    }
    const spec: SiteSpec = { id };
    if (typeof item.name === "string" && item.name.trim()) spec.name = item.name.trim();
    if (plugs.length > 0 || (minPowerKw !== undefined && minPowerKw > 0)) {
      spec.filter = {};
      if (plugs.length > 0) spec.filter.plugs = plugs;
      if (minPowerKw !== undefined && minPowerKw > 0) spec.filter.minPowerKw = minPowerKw;
    }
    sites.push(spec);
  }
  return sites;
}

export function checkTimeZone(zone: string | undefined): string | undefined {
  const z = zone?.trim();
  if (!z) return undefined;
  if (!isValidTimeZone(z)) throw new ConfigError(`Unknown time zone "${z}"; use an IANA name such as Europe/Berlin`);
  return z;
}

/** Cache time in ms from seconds in the dialog; undefined keeps the source's default. */
export function cacheTtlMs(value: string | number | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const seconds = asNumber(value);
  if (seconds === undefined || seconds < 0) throw new ConfigError("The cache time must be a number of seconds (0 = no cache)");
  return seconds * 1000;
}

/** Adds the API key credential under the header name the user chose. */
function withApiKey(headers: Record<string, string> | undefined, settings: AvailabilitySettings, secrets: AvailabilitySecrets): Record<string, string> {
  const all = { ...headers };
  const keyHeader = settings.authHeader?.trim();
  if (keyHeader && secrets.apiKey) all[keyHeader] = secrets.apiKey;
  return all;
}

export function createProvider(
  settings: AvailabilitySettings,
  secrets: AvailabilitySecrets,
  http: HttpClient,
  evaluate: ExpressionEvaluator,
): AvailabilityProvider {
  const kind = providerKind(settings.provider);
  const url = (settings.url ?? "").trim();
  const headers = stringMap(settings.headers, "Extra headers");
  const ttl = cacheTtlMs(settings.cacheTtl);
  switch (kind) {
    case "chargefinder":
      return new ChargefinderProvider(http, { baseUrl: url || CHARGEFINDER_DEFAULT_URL, headers, cacheTtlMs: ttl });
    case "chargy":
      return new ChargyProvider(http, { url: url || CHARGY_DEFAULT_URL, apiKey: secrets.apiKey, cacheTtlMs: ttl });
    case "ocpi": {
      if (!url) throw new ConfigError("Enter the OCPI versions URL or locations URL");
      const limit = asNumber(settings.ocpiPageLimit);
      const ocpiOptions = {
        url,
        urlType: settings.ocpiUrlType === "locations" ? "locations" : "versions",
        token: secrets.token,
        tokenEncoding: settings.ocpiEncoding === "raw" ? "raw" : "base64",
        pageLimit: limit && limit > 0 ? Math.floor(limit) : undefined,
        cacheTtlMs: ttl,
        includeUnpublished: settings.ocpiUnpublished === true,
        staleAfterMs: staleDays(settings.ocpiStaleDays) * 86_400_000,
      } as const;
      return settings.ocpiFetch === "site" ? new OcpiLocationProvider(http, ocpiOptions) : new OcpiProvider(http, ocpiOptions);
    }
    case "datex2": {
      if (!url) throw new ConfigError("Enter the URL of the DATEX II status publication");
      return new Datex2Provider(http, { url, headers: withApiKey(headers, settings, secrets), cacheTtlMs: ttl });
    }
    case "json": {
      if (!url) throw new ConfigError("Enter the URL of the JSON feed");
      const allHeaders = withApiKey(headers, settings, secrets);
      return createGenericJsonProvider(
        http,
        {
          url,
          headers: allHeaders,
          statusMap: stringMap(settings.jsonStatusMap, "The status map"),
          expressions: {
            sites: settings.jsonSites,
            siteId: settings.jsonSiteId,
            siteName: settings.jsonSiteName,
            connectors: settings.jsonConnectors,
            connectorId: settings.jsonConnectorId,
            status: settings.jsonStatus,
            plug: settings.jsonPlug,
            powerKw: settings.jsonPower,
          },
          cacheTtlMs: ttl,
        },
        evaluate,
      );
    }
  }
}
