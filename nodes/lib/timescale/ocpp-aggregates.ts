/**
 * Daily figures of the "ocpp" preset and the retention of raw meter values.
 *
 *  ocpp_daily_energy  (day, charger, connector_id, energy_wh, samples): energy per charger,
 *                     connector and local day, from the Energy.Active.Import.Register readings
 *                     (last minus first reading of the day; energy between a day's last reading
 *                     and the next day's first is counted in neither).
 *  ocpp_daily_faults  (day, charger, faults): Faulted StatusNotifications per charger and local day.
 *
 * On TimescaleDB both are continuous aggregates (time_bucket in the configured
 * zone, real-time: the newest data is included before it is materialised), refreshed
 * hourly; retention is a TimescaleDB retention policy on ocpp_meter_values,
 * and the energy aggregate's refresh never reaches back as far as the retention,
 * so the daily figures of dropped days are kept.
 * On plain PostgreSQL (and PGlite) they are views with date_trunc in the zone;
 * retention is a scheduled delete (maintenanceSql) that first copies the daily
 * energy of the days it deletes into ocpp_daily_energy_kept, which the view reads.
 */
import { OCPP_TABLES } from "./ocpp";

export const OCPP_AGGREGATES = { energy: "ocpp_daily_energy", faults: "ocpp_daily_faults", kept: "ocpp_daily_energy_kept" } as const;

/** The shortest retention: the energy aggregate is refreshed over the last (days - 1) days, at least two buckets. */
export const MIN_RETENTION_DAYS = 3;

/** How far back the hourly refresh reaches when there is no retention: late data beyond it still shows in queries on plain PostgreSQL only. */
const REFRESH_DAYS_WITHOUT_RETENTION = 35;

export interface AggregateSettings {
  /** IANA zone the days are counted in (checked by the caller with isValidTimeZone). */
  timeZone: string;
  /** Drop raw meter values older than this many days; 0 keeps them. */
  retentionDays: number;
}

/** A zone name as an SQL literal (DDL takes no parameters). */
export function zoneLiteral(timeZone: string): string {
  if (!/^[A-Za-z0-9_+\-/]{1,64}$/.test(timeZone)) throw new Error(`Time zone "${timeZone}" is not an IANA name such as Europe/Oslo`);
  return `'${timeZone}'`;
}

export function checkRetentionDays(days: number): number {
  if (!Number.isInteger(days) || days < 0) throw new Error(`Keep meter values for ${days} days: use a whole number of days (0 keeps them forever)`);
  if (days > 0 && days < MIN_RETENTION_DAYS) throw new Error(`Keep meter values for at least ${MIN_RETENTION_DAYS} days (or 0 to keep them forever), so the daily figures are complete before raw values go`);
  return days;
}

const ENERGY_FILTER = "measurand = 'Energy.Active.Import.Register' AND phase IS NULL AND unit = 'Wh'";

/**
 * Continuous aggregates and policies (TimescaleDB); safe to run again,
 * policies follow the settings. `created` lists the aggregates that did not
 * exist before: they are filled from all the data already there, since the
 * hourly refresh reaches back only so far.
 */
export function timescaleAggregateSql(s: AggregateSettings, created: readonly string[] = []): string[] {
  const zone = zoneLiteral(s.timeZone);
  const { energy, faults } = OCPP_AGGREGATES;
  const refreshDays = s.retentionDays > 0 ? s.retentionDays - 1 : REFRESH_DAYS_WITHOUT_RETENTION;
  const statements = [
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${energy} WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
      SELECT time_bucket(INTERVAL '1 day', time, ${zone}) AS day, charger, connector_id,
             max(value) - min(value) AS energy_wh, count(*) AS samples
      FROM ${OCPP_TABLES.meters} WHERE ${ENERGY_FILTER} GROUP BY 1, 2, 3 WITH NO DATA`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${faults} WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
      SELECT time_bucket(INTERVAL '1 day', time, ${zone}) AS day, charger, count(*) AS faults
      FROM ${OCPP_TABLES.status} WHERE status = 'Faulted' GROUP BY 1, 2 WITH NO DATA`,
    ...created.map((view) => `CALL refresh_continuous_aggregate('${view}', NULL, NULL)`),
    `SELECT remove_continuous_aggregate_policy('${energy}', if_exists => TRUE)`,
    `SELECT add_continuous_aggregate_policy('${energy}', start_offset => INTERVAL '${refreshDays} days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour')`,
    `SELECT add_continuous_aggregate_policy('${faults}', start_offset => INTERVAL '${REFRESH_DAYS_WITHOUT_RETENTION} days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour', if_not_exists => TRUE)`,
    `SELECT remove_retention_policy('${OCPP_TABLES.meters}', if_exists => TRUE)`,
  ];
  if (s.retentionDays > 0) statements.push(`SELECT add_retention_policy('${OCPP_TABLES.meters}', drop_after => INTERVAL '${s.retentionDays} days')`);
  return statements;
}

/** Views (plain PostgreSQL, PGlite); safe to run again, the zone follows the settings. */
export function plainAggregateSql(s: AggregateSettings): string[] {
  const zone = zoneLiteral(s.timeZone);
  const { energy, faults, kept } = OCPP_AGGREGATES;
  return [
    `CREATE TABLE IF NOT EXISTS ${kept} (day timestamptz NOT NULL, charger text NOT NULL, connector_id integer NOT NULL,
      energy_wh double precision, samples bigint NOT NULL, PRIMARY KEY (day, charger, connector_id))`,
    `CREATE OR REPLACE VIEW ${energy} AS
      SELECT day, charger, connector_id, energy_wh, samples FROM ${kept}
      UNION ALL
      SELECT date_trunc('day', m.time, ${zone}) AS day, m.charger, m.connector_id,
             max(m.value) - min(m.value) AS energy_wh, count(*) AS samples
      FROM ${OCPP_TABLES.meters} m WHERE ${ENERGY_FILTER.replace(/(measurand|phase|unit) /g, "m.$1 ")}
        AND NOT EXISTS (SELECT 1 FROM ${kept} k WHERE k.day = date_trunc('day', m.time, ${zone}) AND k.charger = m.charger AND k.connector_id = m.connector_id)
      GROUP BY 1, 2, 3`,
    `CREATE OR REPLACE VIEW ${faults} AS
      SELECT date_trunc('day', time, ${zone}) AS day, charger, count(*) AS faults
      FROM ${OCPP_TABLES.status} WHERE status = 'Faulted' GROUP BY 1, 2`,
  ];
}

/**
 * The scheduled delete (plain PostgreSQL): keeps the daily energy of whole
 * local days before the cut, then deletes the raw values of those days.
 * The cut is the start of the local day N days ago, so nothing younger than
 * N days is deleted. Run in one transaction.
 */
export function maintenanceSql(s: AggregateSettings): string[] {
  if (s.retentionDays <= 0) return [];
  const zone = zoneLiteral(s.timeZone);
  const cut = `date_trunc('day', now() - INTERVAL '${s.retentionDays} days', ${zone})`;
  const { energy, kept } = OCPP_AGGREGATES;
  return [
    `INSERT INTO ${kept} (day, charger, connector_id, energy_wh, samples)
      SELECT day, charger, connector_id, energy_wh, samples FROM ${energy} e
      WHERE e.day < ${cut} AND NOT EXISTS (SELECT 1 FROM ${kept} k WHERE k.day = e.day AND k.charger = e.charger AND k.connector_id = e.connector_id)`,
    `DELETE FROM ${OCPP_TABLES.meters} WHERE time < ${cut}`,
  ];
}
