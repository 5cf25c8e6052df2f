/**
 * The shapes every availability provider produces, before they become
 * AvailabilityRecords: a site snapshot is "what the feed says about one site".
 */
import type { ConnectorAvailability } from "../types";

/** Which connectors of a site count. Empty filter: all of them. */
export interface SiteFilter {
  /** Plug types or current types, e.g. ["CCS"] or ["DC"]; any match counts. */
  plugs?: string[];
  /** Connectors below this power (kW) are left out; unknown power is kept. */
  minPowerKw?: number;
}

/** One site the user asked for. */
export interface SiteSpec {
  /** The feed's id of the site (OCPI location id, Chargefinder slug, Chargy station name, ...). */
  id: string;
  /** Name to show instead of the feed's own name. */
  name?: string;
  filter?: SiteFilter;
}

/** What one feed says about one site at one moment. */
export interface SiteSnapshot {
  site: string;
  siteName?: string;
  connectors: ConnectorAvailability[];
  /** Problems that did not stop the site from being read (e.g. one malformed device). */
  warnings?: string[];
}

/** A provider that reads the whole feed in one go (OCPI list, Chargy KML, one JSON document). */
export interface FeedProvider {
  readonly kind: string;
  readonly mode: "feed";
  /** Default cache time for this source. */
  readonly defaultCacheTtlMs: number;
  fetchFeed(signal: AbortSignal): Promise<SiteSnapshot[]>;
}

/** A provider that needs requests per site (Chargefinder, a JSON URL with {site}). */
export interface SiteProvider {
  readonly kind: string;
  readonly mode: "site";
  readonly defaultCacheTtlMs: number;
  fetchSite(siteId: string, signal: AbortSignal): Promise<SiteSnapshot>;
}

export type AvailabilityProvider = FeedProvider | SiteProvider;

/** Evaluates a JSONata expression; injected so this code needs no Node-RED. */
export type ExpressionEvaluator = (expression: string, data: unknown) => Promise<unknown>;

/** A feed answered, but not in the shape we expected. */
export class FeedFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FeedFormatError";
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function asString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

export function asNumber(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}
