/**
 * "When is it free?": per site, per weekday × hour, the mean number of free
 * chargers, the mean free share, and the probability that at least one is
 * free, learned from AvailabilityRecords (live or replayed from a database).
 * Serialisable so the node can keep it in Node-RED context across restarts.
 */
import { isRecord, asNumber, asString } from "./model";

export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface ProfileSample {
  site: string;
  siteName?: string;
  weekday: Weekday;
  hourOfDay: number;
  available: number;
  total: number;
}

interface Cell {
  /** Samples. */
  n: number;
  sumAvailable: number;
  /** Sum of available/total over samples with total > 0. */
  sumShare: number;
  shareN: number;
  /** Samples with at least one free charger. */
  anyFree: number;
}

export interface ProfileData {
  version: 1;
  sites: Record<string, { name?: string; cells: Record<string, Cell> }>;
}

export interface ProfileRow {
  site: string;
  siteName?: string;
  weekday: Weekday;
  hour: number;
  samples: number;
  meanAvailable: number;
  /** 0..1; null when every sample had total 0. */
  meanShare: number | null;
  /** 0..1: share of samples with at least one free charger. */
  pAnyFree: number;
}

export type ProfileMetric = "pAnyFree" | "meanShare" | "meanAvailable";

/** Dashboard 2.0 ui-chart point: set the chart's series/x/y keys to "series", "x", "y". */
export interface ChartPoint {
  series: string;
  x: number;
  y: number | null;
}

function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function parseWeekday(value: unknown): Weekday | undefined {
  if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 7) return WEEKDAYS[value - 1];
  if (typeof value !== "string") return undefined;
  const text = value.trim().toLowerCase();
  if (/^[1-7]$/.test(text)) return WEEKDAYS[Number(text) - 1];
  return WEEKDAYS.find((d) => d.toLowerCase() === text || d.slice(0, 3).toLowerCase() === text);
}

/** One sample from an AvailabilityRecord, an Influx point of the seed layout, or a flat database row. */
export function toSample(item: unknown): ProfileSample | undefined {
  if (!isRecord(item)) return undefined;
  const tags = isRecord(item.tags) ? item.tags : {};
  const fields = isRecord(item.fields) ? item.fields : {};
  const pick = (...keys: string[]): unknown => {
    for (const key of keys) {
      if (item[key] !== undefined) return item[key];
      if (tags[key] !== undefined) return tags[key];
      if (fields[key] !== undefined) return fields[key];
    }
    return undefined;
  };
  const site = asString(pick("site"));
  const weekday = parseWeekday(pick("weekday"));
  const hour = asNumber(pick("hourOfDay", "hour_of_day", "hour"));
  const available = asNumber(pick("available"));
  const total = asNumber(pick("total"));
  if (!site || !weekday || hour === undefined || !Number.isInteger(hour) || hour < 0 || hour > 23) return undefined;
  if (available === undefined || available < 0) return undefined;
  return { site, siteName: asString(pick("siteName")), weekday, hourOfDay: hour, available, total: total !== undefined && total >= 0 ? total : available };
}

/** Every sample in a payload: one item, an array, or the availability node's "all sites" object. */
export function samplesFrom(payload: unknown): { samples: ProfileSample[]; rejected: number } {
  const items = Array.isArray(payload) ? payload : isRecord(payload) && Array.isArray(payload.records) ? payload.records : [payload];
  const samples: ProfileSample[] = [];
  let rejected = 0;
  for (const item of items) {
    const sample = toSample(item);
    if (sample) samples.push(sample);
    else rejected++;
  }
  return { samples, rejected };
}

function cellKey(weekday: Weekday, hour: number): string {
  return `${WEEKDAYS.indexOf(weekday)}-${hour}`;
}

function isCell(value: unknown): value is Cell {
  return isRecord(value) && ["n", "sumAvailable", "sumShare", "shareN", "anyFree"].every((k) => typeof value[k] === "number" && Number.isFinite(value[k] as number));
}

export class AvailabilityProfile {
  private data: ProfileData = { version: 1, sites: {} };

  /** Restores saved data; anything unreadable is dropped rather than trusted. */
  static fromJSON(saved: unknown): AvailabilityProfile {
    const profile = new AvailabilityProfile();
    if (!isRecord(saved) || saved.version !== 1 || !isRecord(saved.sites)) return profile;
    for (const [site, entry] of Object.entries(saved.sites)) {
      if (!isRecord(entry) || !isRecord(entry.cells)) continue;
      const cells: Record<string, Cell> = {};
      for (const [key, cell] of Object.entries(entry.cells)) {
        if (/^[0-6]-(\d|1\d|2[0-3])$/.test(key) && isCell(cell)) cells[key] = { ...cell };
      }
      profile.data.sites[site] = { name: asString(entry.name), cells };
    }
    return profile;
  }

  toJSON(): ProfileData {
    return JSON.parse(JSON.stringify(this.data)) as ProfileData;
  }

  get sites(): string[] {
    return Object.keys(this.data.sites).sort();
  }

  get sampleCount(): number {
    let n = 0;
    for (const site of Object.values(this.data.sites)) for (const cell of Object.values(site.cells)) n += cell.n;
    return n;
  }

  add(sample: ProfileSample): void {
    const site = (this.data.sites[sample.site] ??= { cells: {} });
    if (sample.siteName) site.name = sample.siteName;
    const key = cellKey(sample.weekday, sample.hourOfDay);
    const cell = (site.cells[key] ??= { n: 0, sumAvailable: 0, sumShare: 0, shareN: 0, anyFree: 0 });
    cell.n++;
    cell.sumAvailable += sample.available;
    if (sample.total > 0) {
      cell.sumShare += Math.min(1, sample.available / sample.total);
      cell.shareN++;
    }
    if (sample.available > 0) cell.anyFree++;
  }

  reset(site?: string): void {
    if (site) delete this.data.sites[site];
    else this.data.sites = {};
  }

  /** Rows sorted by site, weekday (Monday first) and hour; only cells with samples. */
  table(site?: string): ProfileRow[] {
    const rows: ProfileRow[] = [];
    for (const id of site ? [site] : this.sites) {
      const entry = this.data.sites[id];
      if (!entry) continue;
      for (let day = 0; day < 7; day++) {
        for (let hour = 0; hour < 24; hour++) {
          const cell = entry.cells[`${day}-${hour}`];
          if (!cell || cell.n === 0) continue;
          rows.push({
            site: id,
            siteName: entry.name,
            weekday: WEEKDAYS[day],
            hour,
            samples: cell.n,
            meanAvailable: round(cell.sumAvailable / cell.n),
            meanShare: cell.shareN > 0 ? round(cell.sumShare / cell.shareN) : null,
            pAnyFree: round(cell.anyFree / cell.n),
          });
        }
      }
    }
    return rows;
  }

  /**
   * One line per weekday (or only `weekday`), x = hour 0–23, y = the metric
   * (shares as percent). Hours without samples are null, which charts draw as gaps.
   */
  chartSeries(site: string, metric: ProfileMetric = "pAnyFree", weekday?: Weekday): ChartPoint[] {
    const entry = this.data.sites[site];
    if (!entry) return [];
    const points: ChartPoint[] = [];
    for (let day = 0; day < 7; day++) {
      if (weekday && WEEKDAYS[day] !== weekday) continue;
      const hasAny = Object.keys(entry.cells).some((k) => k.startsWith(`${day}-`));
      if (!hasAny) continue;
      for (let hour = 0; hour < 24; hour++) {
        const cell = entry.cells[`${day}-${hour}`];
        let y: number | null = null;
        if (cell && cell.n > 0) {
          if (metric === "meanAvailable") y = round(cell.sumAvailable / cell.n, 2);
          else if (metric === "meanShare") y = cell.shareN > 0 ? round((100 * cell.sumShare) / cell.shareN, 1) : null;
          else y = round((100 * cell.anyFree) / cell.n, 1);
        }
        points.push({ series: WEEKDAYS[day], x: hour, y });
      }
    }
    return points;
  }
}
