/**
 * Per-connector series as the Chargy exporter publishes them, and the
 * Prometheus text exposition format (0.0.4) for a scrape endpoint:
 *   <p>_connector_state{connector,device,station,speed,<p>_connector_state="charging"} 1.0  (one-hot)
 *   <p>_connector_detailed_state_info{connector,device,station,speed,state="SUSPENDED_EV"} 1.0
 * which is what prometheus_client renders for a StateSet and an Info metric.
 */
import type { ConnectorAvailability } from "../types";
import type { InfluxPoint } from "./records";
import type { SiteSnapshot } from "./model";
import { CHARGY_CLASSES, type ChargyClass, chargyClass } from "./status";
import type { AvailabilityStatus } from "../types";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const DEFAULT_CONNECTOR_MEASUREMENT = "charger_connector_state";

export interface ConnectorSeries {
  station: string;
  device: string;
  connector: string;
  speed: string;
  /** Exporter class; one of available / charging / unavailable. */
  state: ChargyClass;
  available: 0 | 1;
  charging: 0 | 1;
  unavailable: 0 | 1;
  /** The feed's own state, untouched (the exporter's "detailed state"). */
  detailedState: string;
  status: AvailabilityStatus;
}

/** Exporter class for feeds other than Chargy, from the common status. */
function classOf(connector: ConnectorAvailability): ChargyClass {
  if (connector.labels?.state === "available" || connector.labels?.state === "charging" || connector.labels?.state === "unavailable") {
    return connector.labels.state;
  }
  if (connector.status === "AVAILABLE") return "available";
  if (connector.status === "CHARGING") return "charging";
  return chargyClass(undefined);
}

export function connectorSeries(snapshots: readonly SiteSnapshot[], siteNames?: ReadonlyMap<string, string>): ConnectorSeries[] {
  const series: ConnectorSeries[] = [];
  for (const snapshot of snapshots) {
    const station = siteNames?.get(snapshot.site) || snapshot.siteName || snapshot.site;
    for (const connector of snapshot.connectors) {
      const state = classOf(connector);
      const speed = connector.labels?.speed ?? (connector.powerKw === undefined ? "" : String(Math.trunc(connector.powerKw)));
      series.push({
        station: connector.labels?.station ?? station,
        device: connector.labels?.device ?? connector.labels?.evse_id ?? connector.id,
        connector: connector.labels?.connector ?? connector.name ?? connector.id,
        speed,
        state,
        available: state === "available" ? 1 : 0,
        charging: state === "charging" ? 1 : 0,
        unavailable: state === "unavailable" ? 1 : 0,
        detailedState: connector.raw === null || connector.raw === undefined ? "" : String(connector.raw),
        status: connector.status,
      });
    }
  }
  return series;
}

/** Label values escape backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and newline only. */
export function escapeHelp(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A metric name prefix reduced to [a-zA-Z_:][a-zA-Z0-9_:]*. */
export function sanitizeMetricName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_");
  return /^[a-zA-Z_:]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

function labels(pairs: Array<[string, string]>): string {
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

export function toPrometheusText(series: readonly ConnectorSeries[], prefix = "chargy"): string {
  const base = sanitizeMetricName(prefix || "chargy");
  const stateName = `${base}_connector_state`;
  const infoName = `${base}_connector_detailed_state_info`;
  const lines: string[] = [];
  lines.push(`# HELP ${stateName} ${escapeHelp(`State of ${prefix || "chargy"} device connector`)}`);
  lines.push(`# TYPE ${stateName} gauge`);
  for (const s of series) {
    const common: Array<[string, string]> = [["connector", s.connector], ["device", s.device], ["station", s.station], ["speed", s.speed]];
    for (const cls of CHARGY_CLASSES) {
      lines.push(`${stateName}${labels([...common, [stateName, cls]])} ${s.state === cls ? "1.0" : "0.0"}`);
    }
  }
  lines.push(`# HELP ${infoName} ${escapeHelp(`Exact state of ${prefix || "chargy"} device connector`)}`);
  lines.push(`# TYPE ${infoName} gauge`);
  for (const s of series) {
    const pairs: Array<[string, string]> = [["connector", s.connector], ["device", s.device], ["station", s.station], ["speed", s.speed], ["state", s.detailedState]];
    lines.push(`${infoName}${labels(pairs)} 1.0`);
  }
  return `${lines.join("\n")}\n`;
}

/** Per-connector series as Influx points (one-hot fields plus the detailed state). */
export function connectorInfluxPoints(series: readonly ConnectorSeries[], time: Date, measurement = DEFAULT_CONNECTOR_MEASUREMENT): InfluxPoint[] {
  const timestamp = time.toISOString();
  return series.map((s) => ({
    measurement,
    tags: { station: s.station, device: s.device, connector: s.connector, speed: s.speed },
    fields: { available: s.available, charging: s.charging, unavailable: s.unavailable, state: s.detailedState, status: s.status },
    timestamp,
  }));
}
