/**
 * ev-timescale-write: writes msg.payload (a row or an array of rows) into a
 * PostgreSQL / TimescaleDB table through the shared write buffer: batches
 * sent with COPY (INSERT where the server cannot), one transaction per
 * batch, bounded retry, drop counter.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import type { TimescaleConfigNode } from "./lib/timescale/config-node";
import { CREATE_MODES, type CreateMode } from "./lib/timescale/schema";
import { checkIdentifier, parseTableName, tableKey, type TableName } from "./lib/timescale/sql";
import { evReadingRows, toRows } from "./lib/timescale/rows";
import { ocppRows, OCPP_TABLES } from "./lib/timescale/ocpp";
import { isPermanentPgError, TimescaleWriter, WRITE_METHODS, type RowItem, type WriteMethod } from "./lib/timescale/writer";
import { BufferedWriter } from "./lib/node-red/buffered-writer";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { Status } from "./lib/node-red/status";
import { backoffDelay, type BackoffOptions } from "./lib/backoff";
import { shortText } from "./lib/errors";
import { isValidTimeZone } from "./lib/time";
import { checkRetentionDays, type AggregateSettings } from "./lib/timescale/ocpp-aggregates";

interface TimescaleWriteDef extends NodeDef {
  timescale: string;
  table: string;
  create: CreateMode;
  timeColumn: string;
  batchSize: number | string;
  flushInterval: number | string;
  maxBuffered: number | string;
  /** Absent in flows saved before the option existed: "auto". */
  method?: WriteMethod;
  /** OCPP layout: zone of the daily figures ("" = this machine's). */
  timeZone?: string;
  /** OCPP layout: days raw meter values are kept (0 or absent = forever). */
  retentionDays?: number | string;
}

interface TimescaleWriteMsg extends NodeMessageInFlow {
  table?: unknown;
  timestamp?: unknown;
  charger?: unknown;
  reading?: unknown;
}

function positive(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : fallback;
}

function describeRow(item: RowItem): string {
  let text: string;
  try {
    text = JSON.stringify(item.row);
  } catch {
    text = "(row)";
  }
  return `row for ${tableKey(item.table)}: ${shortText(text, 200)}`;
}

/** How often the deploy-time login is tried again while it fails and no rows have come. */
const DEPLOY_CHECK_BACKOFF: BackoffOptions = { initialMs: 5000, maxMs: 60_000, factor: 2, jitter: 0.2 };

/** How often the OCPP layout's upkeep (retention's delete on plain PostgreSQL) runs. */
const MAINTENANCE_INTERVAL_MS = 60 * 60 * 1000;

/** A row waiting to be written, with the message it came from. */
interface QueuedRow extends RowItem {
  msg: NodeMessage;
}

export = (RED: NodeAPI): void => {
  function TimescaleWrite(this: Node, def: TimescaleWriteDef): void {
    RED.nodes.createNode(this, def);
    const life = new Lifecycle(this);
    const fail = (text: string, error: Error): void => life.refuse(text, error);
    const config = RED.nodes.getNode(def.timescale) as TimescaleConfigNode | null;
    if (!config) return fail("no database config", new Error("Choose a PostgreSQL / TimescaleDB server (ev-timescale-config) in this node"));
    const pool = config.getPool();
    if (pool instanceof Error) return fail(pool.message, pool);
    const create: CreateMode = CREATE_MODES.includes(def.create) ? def.create : "none";
    let timeColumn = "";
    let defaultTable: TableName | undefined;
    try {
      const timeText = (def.timeColumn ?? "time").trim();
      timeColumn = timeText ? checkIdentifier(timeText, "Time column") : "";
      const tableText = (def.table || "").trim() || (create === "ev_readings" ? "ev_readings" : "");
      defaultTable = tableText ? parseTableName(tableText) : undefined;
    } catch (err) {
      return fail("invalid table or column", err as Error);
    }

    let ocpp: AggregateSettings | undefined;
    if (create === "ocpp") {
      const timeZone = (def.timeZone || "").trim() || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
      if (!isValidTimeZone(timeZone)) return fail(`unknown time zone ${timeZone}`, new Error(`Unknown time zone "${timeZone}" (use an IANA name such as Europe/Oslo)`));
      try {
        ocpp = { timeZone, retentionDays: checkRetentionDays(Number(def.retentionDays || 0)) };
      } catch (err) {
        return fail("invalid retention", err as Error);
      }
    }

    const method: WriteMethod = def.method && WRITE_METHODS.includes(def.method) ? def.method : "auto";
    const writer = new TimescaleWriter(pool, { create, method, timeColumn, target: config.target, password: config.credentials?.password, ocpp });
    const batchSize = positive(def.batchSize, 10_000);
    const buffered = new BufferedWriter<QueuedRow>(this, life, (items) => writer.write(items), {
      batchSize,
      flushIntervalMs: positive(def.flushInterval, 1000),
      maxBuffered: Math.max(batchSize, positive(def.maxBuffered, 50_000)),
      isPermanent: isPermanentPgError,
      describe: describeRow,
      note: () => writer.note,
      onClosing: (lastFlush) => config.hold(lastFlush),
    });

    // Log in now: a wrong password or an unreachable server shows at deploy, not at the first row.
    // Until it works the check is repeated, so a red status does not outlive the problem; once
    // rows flow, the writer's own status (and retries) take over.
    const check = async (attempt: number): Promise<void> => {
      const problem = await writer.check();
      const stats = buffered.getStats();
      if (life.closed || stats.written > 0 || stats.buffered > 0) return;
      if (!problem) {
        if (attempt > 0) buffered.showStatus();
        maintain();
        return;
      }
      this.status(Status.error(problem.message));
      life.setTimeout(() => life.run(() => check(attempt + 1)), backoffDelay(attempt, DEPLOY_CHECK_BACKOFF));
    };
    // OCPP layout: tables, daily figures and policies at deploy; the retention's delete hourly (plain PostgreSQL).
    let lastMaintenanceProblem = "";
    const maintain = (): void => {
      if (create !== "ocpp" || life.closed) return;
      writer.maintain().then(
        () => {
          lastMaintenanceProblem = "";
        },
        (err: Error) => {
          // Said once per problem: the write path reports outages already.
          if (life.closed || err.message === lastMaintenanceProblem) return;
          lastMaintenanceProblem = err.message;
          this.warn(`OCPP tables upkeep (daily figures, retention) failed: ${err.message}`);
        },
      );
    };
    if (create === "ocpp") life.setInterval(maintain, MAINTENANCE_INTERVAL_MS);
    life.run(() => check(0));

    // One TableName object per preset table: the writer groups rows of a run by identity.
    const ocppTables = new Map<string, TableName>(Object.values(OCPP_TABLES).map((name) => [name, { table: name }]));

    life.onInput<TimescaleWriteMsg>((msg) => {
      if (msg.payload === undefined || msg.payload === null) throw new Error("msg.payload is empty: send a row (an object of column names to values) or an array of rows");
      if (create === "ocpp") {
        // An ev-ocpp-in event: its rows go to the preset's tables; kinds that are not stored are passed over.
        const rows = ocppRows(msg.payload);
        if (rows) {
          if (rows.length > 0) buffered.push(rows.map(({ table, row }) => ({ table: ocppTables.get(table)!, row, msg })));
          return;
        }
      }
      const table = msg.table !== undefined ? parseTableName(msg.table) : defaultTable;
      if (!table) throw new Error("No table: set one in the node or send msg.table");
      const timestamp = msg.timestamp;
      if (timestamp !== undefined && !(timestamp instanceof Date) && typeof timestamp !== "string" && typeof timestamp !== "number") {
        throw new Error("msg.timestamp must be a Date, ISO 8601 text or epoch milliseconds");
      }
      const readings = create === "ev_readings" && table.table === "ev_readings" ? evReadingRows(msg.payload, msg) : undefined;
      const rows = toRows(readings ?? msg.payload, { timeColumn, timestamp });
      buffered.push(rows.map((row) => ({ table, row, msg })));
    });
  }
  RED.nodes.registerType("ev-timescale-write", TimescaleWrite);
};
