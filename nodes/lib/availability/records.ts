/**
 * From snapshots to what flows consume: AvailabilityRecords (counts per site,
 * stamped with weekday and hour in the configured zone) and Influx points in
 * the seed's layout (measurement charger_availability, tags site / weekday /
 * hour_of_day, fields available / total).
 */
import { localTimeParts } from "../time";
import { type AvailabilityRecord, type ConnectorAvailability, emptyStatusCounts } from "../types";
import type { SiteFilter, SiteSnapshot } from "./model";

export const DEFAULT_MEASUREMENT = "charger_availability";

/** The shape the Influx writer node (`ev-influx-write`) takes in msg.payload. */
export interface InfluxPoint {
  measurement?: string;
  tags: Record<string, string>;
  fields: Record<string, number | string | boolean>;
  /** ISO 8601. */
  timestamp: string;
}

function normalisePlug(text: string): string {
  return text.toLowerCase().replace(/[\s_-]+/g, "");
}

/** True when the connector passes the site's filter (plug/current type and minimum power). */
export function matchesFilter(connector: ConnectorAvailability, filter: SiteFilter | undefined): boolean {
  if (!filter) return true;
  const wanted = (filter.plugs ?? []).map(normalisePlug).filter((p) => p !== "");
  if (wanted.length > 0) {
    const have = (connector.plug ?? "").split(",").map(normalisePlug);
    if (connector.labels?.current) have.push(normalisePlug(connector.labels.current));
    if (!wanted.some((w) => have.includes(w))) return false;
  }
  if (filter.minPowerKw !== undefined && filter.minPowerKw > 0 && connector.powerKw !== undefined) {
    if (connector.powerKw < filter.minPowerKw) return false;
  }
  return true;
}

export interface RecordOptions {
  time: Date;
  timeZone?: string;
  includeConnectors?: boolean;
  /** Display name chosen by the user; wins over the feed's. */
  siteName?: string;
  filter?: SiteFilter;
}

export function toAvailabilityRecord(snapshot: SiteSnapshot, options: RecordOptions): AvailabilityRecord {
  const connectors = snapshot.connectors.filter((c) => matchesFilter(c, options.filter));
  const counts = emptyStatusCounts();
  for (const connector of connectors) counts[connector.status]++;
  const { weekday, hourOfDay } = localTimeParts(options.time, options.timeZone);
  const record: AvailabilityRecord = {
    site: snapshot.site,
    siteName: options.siteName || snapshot.siteName,
    available: counts.AVAILABLE,
    total: connectors.length,
    counts,
    time: options.time.toISOString(),
    weekday,
    hourOfDay,
  };
  if (options.includeConnectors) record.connectors = connectors;
  return record;
}

export function toInfluxPoint(record: AvailabilityRecord, measurement = DEFAULT_MEASUREMENT): InfluxPoint {
  return {
    measurement,
    tags: { site: record.site, weekday: record.weekday, hour_of_day: String(record.hourOfDay) },
    fields: { available: record.available, total: record.total },
    timestamp: record.time,
  };
}
