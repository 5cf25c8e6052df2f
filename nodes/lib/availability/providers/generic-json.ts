/**
 * Any JSON feed, adapted by JSONata expressions: one picks the sites, and per
 * site one picks the connectors; per connector, expressions pick the id and
 * the status (and optionally plug and power). With "{site}" in the URL it
 * fetches per site; otherwise one document holds every site.
 */
import type { HttpClient } from "../../http-client";
import type { ConnectorAvailability } from "../../types";
import {
  type ExpressionEvaluator,
  FeedFormatError,
  type FeedProvider,
  type SiteProvider,
  type SiteSnapshot,
  asNumber,
  asString,
  isRecord,
} from "../model";
import { genericStatus } from "../status";

export interface GenericJsonExpressions {
  /** On the whole document: the list of sites (default `$`, the document itself). */
  sites?: string;
  /** On a site (defaults: `id`, `name`, `connectors`). */
  siteId?: string;
  siteName?: string;
  connectors?: string;
  /** On a connector (defaults: `id`, `status`; plug and power only when set). */
  connectorId?: string;
  status?: string;
  plug?: string;
  powerKw?: string;
}

export interface GenericJsonOptions {
  url: string;
  headers?: Record<string, string>;
  expressions?: GenericJsonExpressions;
  /** Raw status value → common status, tried before the built-in words. */
  statusMap?: Record<string, string>;
  cacheTtlMs?: number;
}

export const SITE_PLACEHOLDER = "{site}";

const DEFAULTS: Required<Pick<GenericJsonExpressions, "sites" | "siteId" | "siteName" | "connectors" | "connectorId" | "status">> = {
  sites: "$",
  siteId: "id",
  siteName: "name",
  connectors: "connectors",
  connectorId: "id",
  status: "status",
};

function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

class GenericJsonBase {
  readonly kind = "json";
  readonly defaultCacheTtlMs: number;
  protected readonly http: HttpClient;
  protected readonly options: GenericJsonOptions;
  private readonly evaluate: ExpressionEvaluator;

  constructor(http: HttpClient, options: GenericJsonOptions, evaluate: ExpressionEvaluator) {
    this.http = http;
    this.options = options;
    this.evaluate = evaluate;
    this.defaultCacheTtlMs = options.cacheTtlMs ?? 60_000;
  }

  private expression(key: keyof GenericJsonExpressions): string | undefined {
    const set = this.options.expressions?.[key]?.trim();
    if (set) return set;
    return key in DEFAULTS ? DEFAULTS[key as keyof typeof DEFAULTS] : undefined;
  }

  protected async run(key: keyof GenericJsonExpressions, data: unknown): Promise<unknown> {
    const expression = this.expression(key);
    if (!expression) return undefined;
    try {
      return await this.evaluate(expression, data);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new FeedFormatError(`The JSONata expression for "${key}" (${expression}) failed: ${reason}`);
    }
  }

  protected async download(url: string, signal: AbortSignal): Promise<unknown> {
    const response = await this.http.get<unknown>(url, { headers: this.options.headers, signal });
    return response.data;
  }

  protected async sitesOf(document: unknown): Promise<unknown[]> {
    const sites = await this.run("sites", document);
    if (sites === undefined || sites === null) {
      throw new FeedFormatError(`The sites expression (${this.expression("sites")}) found nothing in the feed; has its shape changed?`);
    }
    return asList(sites);
  }

  protected async snapshot(site: unknown, fallbackId?: string): Promise<SiteSnapshot | undefined> {
    const id = asString(await this.run("siteId", site)) ?? fallbackId;
    if (id === undefined) return undefined;
    const connectors: ConnectorAvailability[] = [];
    for (const [index, connector] of asList(await this.run("connectors", site)).entries()) {
      const raw = await this.run("status", connector);
      const powerKw = asNumber(await this.run("powerKw", connector));
      const plug = asString(await this.run("plug", connector));
      const connectorId = asString(await this.run("connectorId", connector)) ?? String(index + 1);
      connectors.push({
        id: connectorId,
        name: connectorId,
        status: genericStatus(raw, this.options.statusMap),
        raw: raw ?? null,
        plug,
        powerKw,
        labels: plug && /ccs|chademo|combo|\bdc\b/i.test(plug) ? { current: "DC" } : undefined,
      });
    }
    return { site: id, siteName: asString(await this.run("siteName", site)), connectors };
  }
}

export class GenericJsonFeedProvider extends GenericJsonBase implements FeedProvider {
  readonly mode = "feed" as const;

  async fetchFeed(signal: AbortSignal): Promise<SiteSnapshot[]> {
    const document = await this.download(this.options.url, signal);
    const snapshots: SiteSnapshot[] = [];
    for (const site of await this.sitesOf(document)) {
      const snapshot = await this.snapshot(site);
      if (snapshot) snapshots.push(snapshot);
    }
    return snapshots;
  }
}

export class GenericJsonSiteProvider extends GenericJsonBase implements SiteProvider {
  readonly mode = "site" as const;

  async fetchSite(siteId: string, signal: AbortSignal): Promise<SiteSnapshot> {
    const url = this.options.url.split(SITE_PLACEHOLDER).join(encodeURIComponent(siteId));
    const document = await this.download(url, signal);
    const sites = await this.sitesOf(document);
    // A per-site URL may still answer with a list; take the matching (or only) entry.
    for (const site of sites) {
      const snapshot = await this.snapshot(site, sites.length === 1 ? siteId : undefined);
      if (snapshot && (snapshot.site === siteId || sites.length === 1)) return { ...snapshot, site: siteId };
    }
    throw new FeedFormatError(`The feed answered for "${siteId}" but the sites expression found no site with that id`);
  }
}

export function createGenericJsonProvider(
  http: HttpClient,
  options: GenericJsonOptions,
  evaluate: ExpressionEvaluator,
): GenericJsonFeedProvider | GenericJsonSiteProvider {
  return options.url.includes(SITE_PLACEHOLDER)
    ? new GenericJsonSiteProvider(http, options, evaluate)
    : new GenericJsonFeedProvider(http, options, evaluate);
}

export function isRecordMap(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === "string");
}
