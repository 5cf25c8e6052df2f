/**
 * One poll of a provider for a list of sites: fetches (cached per provider,
 * in parallel for per-site providers), turns each site into an
 * AvailabilityRecord and reports every failing site on its own.
 */
import { HttpError, type HttpErrorKind } from "../http-client";
import { formatDelay } from "../backoff";
import { errorMessage } from "../errors";
import { DEFAULT_MAX_RETRY_AFTER_MS } from "../poller";
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
  /** Names the feed in errors that concern all of it, e.g. "the OCPI server (example.com/ocpi/versions)". */
  feedLabel?: string;
}

/**
 * The feed asked us (HTTP 429 or 503 with Retry-After) to wait: no request
 * goes to it before `until`, and every poll until then fails with this.
 */
export class FeedRetryLaterError extends Error {
  readonly kind = "rate_limited" satisfies HttpErrorKind;
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(message);
    this.name = "FeedRetryLaterError";
    this.retryAfterMs = retryAfterMs;
  }
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
  /** What kind of failure feedError is (an HttpErrorKind such as "timeout", "unauthorized", "rate_limited"). */
  feedErrorKind?: string;
  /** Set while the feed asked us to wait (Retry-After): how long is left, in ms. */
  retryAfterMs?: number;
  /** How many downloads ran so far (cache misses), for status and tests. */
  loads: number;
}

export const DEFAULT_BUDGET_MS = 20_000;
/** SiteOutcome.kind of a site the feed lists without a charger we can count. */
export const NO_CHARGERS = "no_chargers";

function nothingCountable(snapshot: SiteSnapshot, spec: SiteSpec | undefined): string {
  const filter = spec?.filter;
  if (snapshot.connectors.length > 0 && filter) {
    const parts = [filter.plugs?.length ? `plugs ${filter.plugs.join(", ")}` : "", filter.minPowerKw ? `at least ${filter.minPowerKw} kW` : ""].filter(Boolean);
    return `none of its ${snapshot.connectors.length} charger(s) matches the filter (${parts.join("; ")}); nothing was counted`;
  }
  const why = snapshot.warnings?.length ? `: ${snapshot.warnings.join("; ")}` : "";
  return `the feed lists no charger for this site that could be read${why}; nothing was counted`;
}
export const DEFAULT_CONCURRENCY = 10;

function kindOf(err: unknown): string | undefined {
  if (err instanceof HttpError || err instanceof FeedRetryLaterError) return err.kind;
  return err instanceof Error ? err.name : undefined;
}

export class AvailabilityService {
  private readonly options: AvailabilityServiceOptions;
  private readonly cache = new TtlCache<SiteSnapshot[] | SiteSnapshot>();
  /** Epoch ms before which the feed must not be asked again (it sent Retry-After). */
  private retryAt = 0;
  private retryReason = "";

  constructor(options: AvailabilityServiceOptions) {
    this.options = options;
  }

  private nowMs(): number {
    return Date.now();
  }

  /**
   * Runs a download unless the feed asked us to wait; remembers a Retry-After
   * it sends (capped at 24 h), for every site and poll of this feed.
   */
  private async guarded<T>(load: () => Promise<T>): Promise<T> {
    const left = this.retryAt - this.nowMs();
    if (left > 0) {
      throw new FeedRetryLaterError(`${this.retryReason}; not asking again for ${formatDelay(left)}`, left);
    }
    try {
      return await load();
    } catch (err) {
      if (err instanceof HttpError && err.retryAfterMs !== undefined && err.retryAfterMs > 0) {
        const wait = Math.min(err.retryAfterMs, DEFAULT_MAX_RETRY_AFTER_MS);
        this.retryAt = Math.max(this.retryAt, this.nowMs() + wait);
        this.retryReason = `${this.options.feedLabel ?? "The feed"} asked us to wait ${formatDelay(wait)} (HTTP ${err.status ?? "?"})`;
      }
      throw err;
    }
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
    const record = (snapshot: SiteSnapshot, spec?: SiteSpec): SiteOutcome => {
      const availability = toAvailabilityRecord(snapshot, {
        time,
        timeZone: this.options.timeZone,
        includeConnectors: this.options.includeConnectors,
        siteName: spec?.name,
        filter: spec?.filter,
      });
      const siteName = spec?.name || snapshot.siteName;
      // Nothing to count is not "0 of 0 free": written as zeros it would read as a full site.
      if (availability.total === 0) return { ok: false, site: snapshot.site, siteName, error: nothingCountable(snapshot, spec), kind: NO_CHARGERS };
      return { ok: true, site: snapshot.site, siteName, snapshot, warnings: snapshot.warnings, record: availability };
    };

    let outcomes: SiteOutcome[];
    let feedError: string | undefined;
    let feedErrorKind: string | undefined;
    if (provider.mode === "feed") {
      const [result] = await runScheduled(
        ["feed"],
        async (_item, taskSignal) => (await this.cache.get("feed", this.ttl, () => this.guarded(() => provider.fetchFeed(taskSignal)))).value as SiteSnapshot[],
        { concurrency: 1, staggerMs: 0, budgetMs, signal },
      );
      if (!result.ok) {
        feedErrorKind = kindOf(result.error);
        const message = errorMessage(result.error);
        // "did not finish within the overall time budget" says nothing about which feed: the label does.
        feedError = this.options.feedLabel && !(result.error instanceof HttpError) && !(result.error instanceof FeedRetryLaterError)
          ? `${this.options.feedLabel}: ${message}`
          : message;
        const failed = specs.length > 0 ? specs : [{ id: "feed" } as SiteSpec];
        outcomes = failed.map((s) => ({ ok: false, site: s.id, siteName: s.name, error: feedError ?? "", kind: feedErrorKind }));
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
          (await this.cache.get(`site:${spec.id}`, this.ttl, () => this.guarded(() => provider.fetchSite(spec.id, taskSignal)))).value as SiteSnapshot,
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
      feedErrorKind,
      retryAfterMs: this.retryAt > this.nowMs() ? this.retryAt - this.nowMs() : undefined,
      loads: this.cache.loadCount,
    };
  }
}
