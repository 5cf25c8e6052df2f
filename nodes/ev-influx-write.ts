/**
 * ev-influx-write: writes msg.payload (one point or an array) to InfluxDB
 * through the shared write buffer (batches, bounded retry, drop counter).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import type { InfluxConfigNode } from "./lib/influx/config-node";
import { isPermanentInfluxError } from "./lib/influx/writer";
import { toLines, type PointDefaults } from "./lib/influx/points";
import { BufferedWriter, spoolDir } from "./lib/node-red/buffered-writer";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { Status } from "./lib/node-red/status";
import { isValidTimeZone } from "./lib/time";
import { shortText } from "./lib/errors";
import { isOcppInMessage } from "./lib/ocpp-records/records";
import { ocppPoints } from "./lib/influx/ocpp";

interface InfluxWriteDef extends NodeDef {
  influx: string;
  measurement: string;
  timeTags: boolean;
  timeZone: string;
  integers: "float" | "integer";
  batchSize: number | string;
  flushInterval: number | string;
  maxBuffered: number | string;
  /** Absent in flows saved before the option existed: on. */
  spool?: boolean;
}

interface InfluxWriteMsg extends NodeMessageInFlow {
  measurement?: unknown;
  tags?: unknown;
  timestamp?: unknown;
  ocpp?: unknown;
}

function positive(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : fallback;
}

interface QueuedLine {
  line: string;
  msg: NodeMessage;
}

/** A point on disk is its line; the message it came from is not kept (it is gone after a restart anyway). */
function diskSpool(RED: NodeAPI, enabled: boolean | undefined) {
  const dir = spoolDir((RED.settings as { userDir?: string }).userDir, enabled);
  if (!dir) return undefined;
  return {
    dir,
    codec: {
      encode: (q: QueuedLine): unknown => q.line,
      decode: (value: unknown): QueuedLine => ({ line: String(value), msg: { payload: undefined } }),
    },
  };
}

export = (RED: NodeAPI): void => {
  function InfluxWrite(this: Node, def: InfluxWriteDef): void {
    RED.nodes.createNode(this, def);
    const life = new Lifecycle(this);
    const config = RED.nodes.getNode(def.influx) as InfluxConfigNode | null;
    if (!config) {
      life.refuse("no InfluxDB config", new Error("Choose an InfluxDB server (ev-influx-config) in this node"));
      return;
    }
    const writer = config.createWriter();
    if (writer instanceof Error) {
      this.status(Status.error(writer.message));
      life.onInput(() => {
        throw writer;
      });
      return;
    }
    const timeZone = (def.timeZone || "").trim();
    if (def.timeTags && timeZone && !isValidTimeZone(timeZone)) {
      this.status(Status.error(`unknown time zone ${timeZone}`));
      life.onInput(() => {
        throw new Error(`Unknown time zone "${timeZone}" (use an IANA name such as Europe/Oslo)`);
      });
      return;
    }
    const batchSize = positive(def.batchSize, 5000);
    const buffered = new BufferedWriter<QueuedLine>(this, life, (queued, signal) => writer.write(queued.map((q) => q.line), signal), {
      batchSize,
      flushIntervalMs: positive(def.flushInterval, 1000),
      maxBuffered: Math.max(batchSize, positive(def.maxBuffered, 50_000)),
      isPermanent: isPermanentInfluxError,
      describe: (q) => `point: ${shortText(q.line, 200)}`,
      disk: diskSpool(RED, def.spool),
    });

    life.onInput<InfluxWriteMsg>((msg) => {
      if (msg.payload === undefined || msg.payload === null) throw new Error("msg.payload is empty: send a point, an array of points or a number");
      if (msg.measurement !== undefined && typeof msg.measurement !== "string") throw new Error("msg.measurement must be text");
      if (msg.tags !== undefined && (typeof msg.tags !== "object" || msg.tags === null || Array.isArray(msg.tags))) {
        throw new Error("msg.tags must be an object of tag names to values");
      }
      const timestamp = msg.timestamp;
      if (timestamp !== undefined && !(timestamp instanceof Date) && typeof timestamp !== "string" && typeof timestamp !== "number") {
        throw new Error("msg.timestamp must be a Date, ISO 8601 text or epoch milliseconds");
      }
      const defaults: PointDefaults = {
        measurement: msg.measurement || def.measurement || undefined,
        tags: msg.tags as Record<string, string> | undefined,
        timestamp,
        integers: def.integers === "integer" ? "integer" : "float",
        timeTags: def.timeTags ? { timeZone } : undefined,
        precision: writer.precision,
        topic: typeof msg.topic === "string" ? msg.topic : undefined,
      };
      // ev-ocpp-in's messages that are not events to store (connection decisions, raw frames, the charger list): nothing to write.
      if (isOcppInMessage(msg) && ocppPoints(msg.payload) === undefined) return;
      // Converted now so a bad payload fails this msg at once (done(err)), not a later batch.
      buffered.push(toLines(msg.payload, defaults).map((line) => ({ line, msg })));
    });
  }
  RED.nodes.registerType("ev-influx-write", InfluxWrite);
};
