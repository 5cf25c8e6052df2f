/**
 * ev-change-detector: passes on only the fields of a state that changed, one
 * message per field (topic <prefix>/<charger>/<field>, retained), ready for
 * the core mqtt out node; optionally one combined message on output 2.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { ChangeDetector, type ChangeDetectorOptions, parseDeadbands, parseFieldList, topicLevel } from "./lib/change-detector";
import { errorMessage } from "./lib/errors";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { Status } from "./lib/node-red/status";

interface ChangeDetectorDef extends NodeDef {
  charger: string;
  prefix: string;
  timeKey: string;
  valueKey: string;
  deadbands: string;
  ignore: string;
  refreshAfter: number | string;
  store: string;
}

interface ChangeDetectorMessage extends NodeMessageInFlow {
  charger?: string;
  samplingTime?: unknown;
  reset?: boolean;
}

const MEMORY_KEY = "changeDetectorMemory";

export = function register(RED: NodeAPI): void {
  function ChangeDetectorNode(this: Node, def: ChangeDetectorDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const life = new Lifecycle(node);
    const prefix = (def.prefix ?? "chargers").replace(/\/+$/, "");
    const timeKey = def.timeKey || "samplingTime";
    const valueKey = def.valueKey || "value";
    const store = def.store || undefined;

    let detector: ChangeDetector;
    try {
      const options: ChangeDetectorOptions = {
        deadbands: parseDeadbands(def.deadbands ?? ""),
        ignore: parseFieldList(def.ignore ?? "raw, samplingTime"),
        refreshAfterMs: Math.max(0, Number(def.refreshAfter) || 0) * 1000,
      };
      detector = new ChangeDetector(options);
    } catch (err) {
      node.status(Status.error("bad settings"));
      node.error(`Change detector settings: ${errorMessage(err)}`);
      return;
    }

    const context = node.context();
    const ready = new Promise<void>((resolve) => {
      context.get(MEMORY_KEY, store as string, (err: Error | undefined, value: unknown) => {
        if (err) node.warn(`Could not read the last state from context: ${err.message}`);
        else detector.importMemory(value);
        resolve();
      });
    });

    const persist = (): void => {
      context.set(MEMORY_KEY, detector.exportMemory(), store as string, (err?: Error) => {
        if (err) life.reportError(new Error(`Could not save the last state to context: ${err.message}`));
      });
    };

    let emitted = 0;
    life.onInput<ChangeDetectorMessage>(async (msg, send) => {
      await ready;
      const payload = msg.payload;
      const charger = topicLevel(String(chargerName(msg, def.charger, payload) ?? "charger"));

      if (msg.reset === true || msg.topic === "reset") {
        detector.reset(msg.charger !== undefined || def.charger ? charger : undefined);
        persist();
        node.status(Status.idle("reset"));
        return;
      }
      if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
        throw new Error(`Expected msg.payload to be an object of fields (such as a charger state), got ${describe(payload)}`);
      }

      const samplingTime = toIsoTime(msg.samplingTime ?? (payload as Record<string, unknown>).samplingTime);
      const changes = detector.detect(charger, payload as Record<string, unknown>, Date.now());
      if (changes.length === 0) {
        node.status(Status.idle(`no change · ${charger}`));
        return;
      }
      persist();
      const perField: NodeMessage[] = changes.map((change) => ({
        topic: `${prefix}/${charger}/${topicLevel(change.field)}`,
        payload: { [timeKey]: samplingTime, [valueKey]: change.value },
        retain: true,
        charger,
        field: change.field,
        reason: change.reason,
      }) as NodeMessage);
      const combined: NodeMessage = {
        topic: `${prefix}/${charger}`,
        payload: {
          charger,
          [timeKey]: samplingTime,
          changes: Object.fromEntries(changes.map((c) => [c.field, c.value])),
        },
      };
      emitted += changes.length;
      send([perField, combined]);
      node.status(Status.ok(`${changes.length} changed · ${emitted} sent`));
    });
  }

  RED.nodes.registerType("ev-change-detector", ChangeDetectorNode);
};

function chargerName(msg: ChangeDetectorMessage, configured: string, payload: unknown): unknown {
  if (typeof msg.charger === "string" && msg.charger !== "") return msg.charger;
  if (configured) return configured;
  const fromPayload = (payload as { chargerId?: unknown } | null)?.chargerId;
  if (typeof fromPayload === "string" && fromPayload !== "") return fromPayload;
  return typeof msg.topic === "string" && msg.topic !== "" ? msg.topic : undefined;
}

function toIsoTime(value: unknown): string {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  if (typeof value === "number" && Number.isFinite(value)) return new Date(value).toISOString();
  if (typeof value === "string" && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  return new Date().toISOString();
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
