/**
 * ev-availability: polls public charger feeds (OCPI, Chargy KML,
 * Chargefinder-style JSON, any JSON via JSONata) for a list of sites and
 * sends how many chargers are free, per site, for all sites, as Influx
 * points, per connector, or as a Prometheus scrape body.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { AvailabilityService, NO_CHARGERS, type PollResult } from "./lib/availability/service";
import { type AvailabilitySettings, ConfigError, PROVIDER_NAMES, checkTimeZone, createProvider, parseSites, providerKind } from "./lib/availability/config";
import type { ExpressionEvaluator } from "./lib/availability/model";
import { buildOutput, isOutputMode, type OutputMode } from "./lib/availability/output";
import { HttpClient } from "./lib/http-client";
import { DependencyError } from "./lib/lazy";
import { Poller } from "./lib/poller";
import { failureStatusText } from "./lib/availability/failure-status";
import { errorMessage, redact } from "./lib/errors";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { Status } from "./lib/node-red/status";

interface AvailabilityDef extends NodeDef, AvailabilitySettings {
  output?: string;
  includeConnectors?: boolean;
  interval?: string | number;
  concurrency?: string | number;
  stagger?: string | number;
  timeout?: string | number;
  budget?: string | number;
  /** MB; absent in flows saved before the option existed (then 50). */
  maxResponse?: string | number;
  measurement?: string;
  metricPrefix?: string;
}

interface AvailabilityCredentials {
  token?: string;
  apiKey?: string;
}

/** "the OCPI server (example.com/ocpi/versions)": names the feed in errors about all of it, without query (keys). */
function feedLabel(kindName: string, url: string | undefined): string {
  if (!url) return kindName;
  try {
    const parsed = new URL(url);
    return `${kindName} (${parsed.host}${parsed.pathname})`;
  } catch {
    return kindName;
  }
}

function numberSetting(value: string | number | undefined, fallback: number, min: number, what: string): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new ConfigError(`${what} must be a number of at least ${min}`);
  return n;
}

export = (RED: NodeAPI): void => {
  function EvAvailability(this: Node<AvailabilityCredentials>, def: AvailabilityDef): void {
    RED.nodes.createNode(this, def);
    const life = new Lifecycle(this);
    const secrets = { token: this.credentials?.token, apiKey: this.credentials?.apiKey };
    // The OCPI token travels Base64-encoded too; a server echoing headers must not leak either form.
    const secretList = (): string[] =>
      [secrets.token, secrets.token ? Buffer.from(secrets.token, "utf8").toString("base64") : undefined, secrets.apiKey].filter(
        (s): s is string => !!s,
      );

    const prepared = new Map<string, ReturnType<typeof RED.util.prepareJSONataExpression>>();
    // Node-RED 4+ evaluates JSONata asynchronously: callback form, wrapped in a promise.
    const evaluate: ExpressionEvaluator = (expression, data) =>
      new Promise((resolve, reject) => {
        try {
          let expr = prepared.get(expression);
          if (!expr) {
            expr = RED.util.prepareJSONataExpression(expression, this);
            prepared.set(expression, expr);
          }
          RED.util.evaluateJSONataExpression(expr, data as NodeMessage, (err, result) => (err ? reject(err) : resolve(result)));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });

    let service: AvailabilityService;
    let mode: OutputMode;
    let intervalMs: number;
    let metricPrefix: string;
    let http: HttpClient;
    const kind = (() => {
      try {
        return providerKind(def.provider);
      } catch {
        return "json" as const;
      }
    })();
    try {
      mode = isOutputMode(def.output) ? def.output : "site";
      intervalMs = numberSetting(def.interval, 0, 0, "The poll interval") * 1000;
      const sites = parseSites(def.sites);
      if (!def.allSites && sites.length === 0) throw new ConfigError('Add at least one site, or tick "all sites of the feed"');
      http = new HttpClient({
        serviceName: PROVIDER_NAMES[kind],
        timeoutMs: numberSetting(def.timeout, 10, 1, "The request timeout") * 1000,
        retries: 1,
        secrets: secretList,
        maxResponseBytes: numberSetting(def.maxResponse, 50, 0.001, "The max. response size") * 1024 * 1024,
        maxResponseHint: `the node's "Max. response" setting`,
        responseNoun: "answer",
      });
      const provider = createProvider(def, secrets, http, evaluate);
      if (def.allSites && provider.mode === "site") {
        throw new ConfigError(`${PROVIDER_NAMES[kind]} is read per site: list the sites instead of "all sites"`);
      }
      metricPrefix = def.metricPrefix?.trim() || (kind === "chargy" ? "chargy" : "ev");
      service = new AvailabilityService({
        provider,
        sites: def.allSites ? [] : sites,
        concurrency: numberSetting(def.concurrency, 10, 1, "Parallel requests"),
        staggerMs: numberSetting(def.stagger, 100, 0, "The stagger"),
        budgetMs: numberSetting(def.budget, 20, 1, "The time budget") * 1000,
        timeZone: checkTimeZone(def.timeZone),
        includeConnectors: def.includeConnectors === true,
        feedLabel: feedLabel(PROVIDER_NAMES[kind], typeof def.url === "string" ? def.url : undefined),
      });
    } catch (err) {
      const message = errorMessage(err);
      this.status(Status.error(err instanceof DependencyError ? message : "configuration"));
      this.error(`Not started: ${message}`);
      life.onInput(() => {
        throw new Error(`Not started: ${message}`);
      });
      return;
    }
    life.onClose(() => http.close());

    const unofficial = kind === "chargefinder";
    const runs = new Set<AbortController>();
    life.onClose(() => {
      for (const run of runs) run.abort();
    });

    const poll = async (signal: AbortSignal | undefined, only?: string[]): Promise<PollResult> => {
      const run = new AbortController();
      const onAbort = (): void => run.abort();
      signal?.addEventListener("abort", onAbort, { once: true });
      runs.add(run);
      this.status(Status.busy("polling…"));
      try {
        return await service.poll(run.signal, only);
      } finally {
        runs.delete(run);
        signal?.removeEventListener("abort", onAbort);
      }
    };

    const showStatus = (result: PollResult): void => {
      const text = `${result.okCount}/${result.siteCount} sites ok`;
      const onlyEmptySites = result.outcomes.every((o) => o.ok || o.kind === NO_CHARGERS);
      if (result.siteCount > 0 && result.okCount === result.siteCount) this.status(Status.ok(text));
      // A site without countable chargers is the feed's data, not a failure to read it: yellow.
      else if (result.okCount > 0 || (result.siteCount > 0 && onlyEmptySites)) this.status(Status.warning(text));
      else {
        const kinds = new Set(result.outcomes.map((o) => (o.ok ? undefined : o.kind)));
        const kind = result.feedErrorKind ?? (kinds.size === 1 ? [...kinds][0] : undefined);
        this.status(Status.error(failureStatusText(kind, result.retryAfterMs, result.feedError ? "feed failed" : text)));
      }
    };

    /** Per-site failures as catchable errors, each naming its site. */
    const reportFailures = (result: PollResult, base: NodeMessage): void => {
      if (result.feedError) return;
      for (const outcome of result.outcomes) {
        if (outcome.ok) {
          for (const warning of outcome.warnings ?? []) this.warn(warning);
          continue;
        }
        const label = outcome.siteName && outcome.siteName !== outcome.site ? `${outcome.siteName} (${outcome.site})` : outcome.site;
        const error = redact(outcome.error, secretList());
        life.reportError(new Error(`Site ${label}: ${error}`), { ...base, topic: outcome.site, payload: { site: outcome.site, error } });
      }
    };

    const messages = (result: PollResult, base: NodeMessage): NodeMessage[] =>
      buildOutput(result, { mode, measurement: def.measurement?.trim(), metricPrefix, source: kind, unofficial }).map(
        (parts) => ({ ...base, ...parts }) as NodeMessage,
      );

    life.onInput(async (msg: NodeMessageInFlow, send) => {
      const only = Array.isArray((msg as { sites?: unknown }).sites) ? ((msg as { sites?: unknown[] }).sites ?? []).map(String) : undefined;
      const result = await poll(undefined, only);
      if (life.closed) return;
      showStatus(result);
      // A scrape endpoint must always answer, so Prometheus mode sends a 503 body instead of failing.
      if (result.feedError && mode !== "prometheus") throw new Error(redact(result.feedError, secretList()));
      if (result.feedError) life.reportError(new Error(redact(result.feedError, secretList())), msg);
      reportFailures(result, msg);
      const out = messages(result, msg);
      if (out.length > 0) send([out]);
    });

    if (intervalMs > 0) {
      const poller = new Poller<PollResult>((signal) => poll(signal), { intervalMs, jitterMs: Math.min(5000, intervalMs / 10) }, {
        onResult: (result) => {
          showStatus(result);
          if (result.feedError) life.reportError(new Error(redact(result.feedError, secretList())));
          reportFailures(result, { payload: undefined });
          const out = messages(result, {});
          if (out.length > 0) life.send([out]);
        },
        onError: (error) => {
          this.status(Status.error("poll failed"));
          life.reportError(new Error(redact(error.message, secretList())));
        },
      });
      life.onClose(() => poller.stop());
      poller.start();
    } else {
      this.status(Status.idle("waiting for input"));
    }
  }

  RED.nodes.registerType<Node<AvailabilityCredentials>, AvailabilityDef, unknown, AvailabilityCredentials>("ev-availability", EvAvailability, {
    credentials: { token: { type: "password" }, apiKey: { type: "password" } },
  });
};
