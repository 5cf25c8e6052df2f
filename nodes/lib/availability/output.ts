/**
 * What one poll becomes on the node's output, per output mode. Kept apart
 * from the node so the shapes are tested without Node-RED.
 */
import type { AvailabilityRecord } from "../types";
import { connectorInfluxPoints, connectorSeries, DEFAULT_CONNECTOR_MEASUREMENT, PROMETHEUS_CONTENT_TYPE, toPrometheusText } from "./prometheus";
import { DEFAULT_MEASUREMENT, toInfluxPoint } from "./records";
import type { PollResult } from "./service";

export const OUTPUT_MODES = ["site", "all", "influx", "connectors", "connectorsInflux", "prometheus"] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

export function isOutputMode(value: unknown): value is OutputMode {
  return typeof value === "string" && (OUTPUT_MODES as readonly string[]).includes(value);
}

export interface OutputOptions {
  mode: OutputMode;
  measurement?: string;
  metricPrefix?: string;
  /** Source name for the "all" payload, e.g. "chargefinder". */
  source: string;
  unofficial?: boolean;
}

/** Message properties to set (payload, topic, headers...). One entry per message to send. */
export type OutputParts = Record<string, unknown>;

export interface AllSitesPayload {
  time: string;
  source: string;
  unofficial?: boolean;
  ok: number;
  sites: number;
  records: AvailabilityRecord[];
  errors: Array<{ site: string; siteName?: string; error: string }>;
}

export function buildOutput(result: PollResult, options: OutputOptions): OutputParts[] {
  const records: AvailabilityRecord[] = [];
  for (const outcome of result.outcomes) if (outcome.ok) records.push(outcome.record);
  const snapshots = result.outcomes.flatMap((o) => (o.ok ? [{ ...o.snapshot, siteName: o.siteName ?? o.snapshot.siteName }] : []));
  const time = new Date(result.time);
  switch (options.mode) {
    case "site":
      return records.map((record) => ({ topic: record.site, payload: record }));
    case "all": {
      const payload: AllSitesPayload = {
        time: result.time,
        source: options.source,
        ok: result.okCount,
        sites: result.siteCount,
        records,
        errors: result.outcomes.flatMap((o) => (o.ok ? [] : [{ site: o.site, siteName: o.siteName, error: o.error }])),
      };
      if (options.unofficial) payload.unofficial = true;
      return [{ topic: options.source, payload }];
    }
    case "influx":
      return [{ topic: options.measurement || DEFAULT_MEASUREMENT, payload: records.map((r) => toInfluxPoint(r, options.measurement || DEFAULT_MEASUREMENT)) }];
    case "connectors":
      return [{ topic: options.source, payload: connectorSeries(snapshots) }];
    case "connectorsInflux": {
      const measurement = options.measurement || DEFAULT_CONNECTOR_MEASUREMENT;
      return [{ topic: measurement, payload: connectorInfluxPoints(connectorSeries(snapshots), time, measurement) }];
    }
    case "prometheus": {
      if (result.feedError) {
        return [{ statusCode: 503, headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE }, payload: `# feed unavailable: ${result.feedError.replace(/\n/g, " ")}\n` }];
      }
      return [{ statusCode: 200, headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE }, payload: toPrometheusText(connectorSeries(snapshots), options.metricPrefix) }];
    }
  }
}
