/**
 * One poll of a provider for a list of sites: fetches (cached per provider,
 * in parallel for per-site providers), turns each site into an
 * AvailabilityRecord and reports every failing site on its own.
 */
import { HttpError } from "../http-client";
import { errorMessage } from "../errors";
import type { AvailabilityRecord } from "../types";
import { TtlCache } from "./cache";
import type { AvailabilityProvider, SiteSnapshot, SiteSpec } from "./model";
import { toAvailabilityRecord } from "./records";
import { DEFAULT_STAGGER_MS, runScheduled } from "./scheduler";

export interface AvailabilityServiceOptions {
  provider: AvailabilityProvider;
  /** Sites to report; empty means every site in the feed (feed providers only). */
  sites: SiteSpec[];
  /** Cache time; undefined takes the provider's default (Chargy 5 min). */
  cacheTtlMs?: number;
  concurrency?: number;
  staggerMs?: number;
  /** Overall time for one poll (default 20 s). */
  budgetMs?: number;
  timeZone?: string;
  includeConnectors?: boolean;
  now?: () => Date;
}

export type SiteOutcome =
  | { ok: true; site: string; siteName?: string; record: AvailabilityRecord; snapshot: SiteSnapshot; warnings?: string[] }
  | { ok: false; site: string; siteName?: string; error: string; kind?: string };

export interface PollResult {
  time: string;
  outcomes: SiteOutcome[];
  okCount: number;
  siteCount: number;
  elapsedMs: number;
  /** Set when the whole feed could not be read (feed providers): every site failed for this reason. */
  feedError?: string;
  /** How many downloads ran so far (cache misses), for status and tests. */
  loads: number;
}

export const DEFAULT_BUDGET_MS = 20_000;
export const DEFAULT_CONCURRENCY = 10;

function kindOf(err: unknown): string | undefined {
  if (err instanceof HttpError) return err.kind;
  return err instanceof Error ? err.name : undefined;
}

export class AvailabilityService {
  private readonly options: AvailabilityServiceOptions;
  private readonly cache = new TtlCache<SiteSnapshot[] | SiteSnapshot>();

  constructor(options: AvailabilityServiceOptions) {
    this.options = options;
  }

  get provider(): AvailabilityProvider {
    return this.options.provider;
  }

  private get ttl(): number {
    return this.options.cacheTtlMs ?? this.options.provider.defaultCacheTtlMs;
  }

  /** Drops cached responses, so the next poll downloads again. */
  clearCache(): void {
    this.cache.clear();
  }

  async poll(signal: AbortSignal, only?: readonly string[]): Promise<PollResult> {
    const started = Date.now();
    const time = (this.options.now ?? (() => new Date()))();
    const provider = this.options.provider;
    let specs = this.options.sites;
    if (only && only.length > 0) {
      const known = new Map(specs.map((s) => [s.id, s]));
      specs = only.map((id) => known.get(id) ?? { id });
    }
    const budgetMs = this.options.budgetMs ?? DEFAULT_BUDGET_MS;
    const record = (snapshot: SiteSnapshot, spec?: SiteSpec): SiteOutcome => ({
      ok: true,
      site: snapshot.site,
      siteName: spec?.name || snapshot.siteName,
      snapshot,
      warnings: snapshot.warnings,
      record: toAvailabilityRecord(snapshot, {
        time,
        timeZone: this.options.timeZone,
        includeConnectors: this.options.includeConnectors,
        siteName: spec?.name,
        filter: spec?.filter,
      }),
    });

    let outcomes: SiteOutcome[];
    let feedError: string | undefined;
    if (provider.mode === "feed") {
      const [result] = await runScheduled(
        ["feed"],
        async (_item, taskSignal) => (await this.cache.get("feed", this.ttl, () => provider.fetchFeed(taskSignal))).value as SiteSnapshot[],
        { concurrency: 1, staggerMs: 0, budgetMs, signal },
      );
      if (!result.ok) {
        feedError = errorMessage(result.error);
        const failed = specs.length > 0 ? specs : [{ id: "feed" } as SiteSpec];
        outcomes = failed.map((s) => ({ ok: false, site: s.id, siteName: s.name, error: feedError ?? "", kind: kindOf(result.error) }));
      } else if (specs.length === 0) {
        outcomes = result.value.map((snapshot) => record(snapshot));
      } else {
        const byId = new Map(result.value.map((s) => [s.site, s]));
        outcomes = specs.map((spec) => {
          const snapshot = byId.get(spec.id) ?? result.value.find((s) => s.siteName === spec.id);
          if (snapshot) return record({ ...snapshot, site: spec.id }, spec);
          return {
            ok: false,
            site: spec.id,
            siteName: spec.name,
            error: `Site "${spec.id}" is not in the feed (it lists ${result.value.length} sites). Check the site id.`,
            kind: "not_found",
          };
        });
      }
    } else {
      if (specs.length === 0) {
        throw new Error(`The ${provider.kind} source is read per site: add at least one site to the list`);
      }
      const results = await runScheduled(
        specs,
        async (spec, taskSignal) =>
          (await this.cache.get(`site:${spec.id}`, this.ttl, () => provider.fetchSite(spec.id, taskSignal))).value as SiteSnapshot,
        {
          concurrency: this.options.concurrency ?? DEFAULT_CONCURRENCY,
          staggerMs: this.options.staggerMs ?? DEFAULT_STAGGER_MS,
          budgetMs,
          signal,
        },
      );
      outcomes = results.map((result, index) => {
        const spec = specs[index];
        if (result.ok) return record(result.value, spec);
        return { ok: false, site: spec.id, siteName: spec.name, error: errorMessage(result.error), kind: kindOf(result.error) };
      });
    }
    return {
      time: time.toISOString(),
      outcomes,
      okCount: outcomes.filter((o) => o.ok).length,
      siteCount: outcomes.length,
      elapsedMs: Date.now() - started,
      feedError,
      loads: this.cache.loadCount,
    };
  }
}
