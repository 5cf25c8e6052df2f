/**
 * ev-ocpp-command: sends one central-system command to a charger of an
 * ev-ocpp-central-system (start/stop a session, limit current, reset, …)
 * and outputs the charger's answer. Every failure (bad input, offline,
 * timeout, CALLERROR, Rejected) is a catchable error with msg.ocpp.error.kind.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { Status } from "./lib/node-red/status";
import { errorMessage } from "./lib/errors";
import { LIMIT_TOPIC, ocppLimitAnswer, parseLimit, type OcppLimitOutcome } from "./lib/limit";
import type { ChargerDirectory, IdTagDirectory } from "./lib/ocpp/core/contract";
import { CommandError } from "./lib/ocpp/core/command-error";
import { CommandRunner } from "./lib/ocpp/core/command-runner";
import { localListSyncFor, startAutoSync } from "./lib/ocpp/core/local-list";
import { inputFromConfig, type CommandConfig } from "./lib/ocpp/core/command-config";
import { resolveCommand } from "./lib/ocpp/v16/commands";

interface CommandDef extends NodeDef, CommandConfig {
  server: string;
  chargerId: string;
  command: string;
  action: string;
  timeout: string | number;
  offline: "fail" | "queue";
  queueTtl: string | number;
  stackLevelZero: boolean;
  relativeProfile: boolean;
  noNumberPhases: boolean;
  defaultPhases: string | number;
  autoSync: boolean;
}

/** The part of the ev-ocpp-central-system runtime node this node uses (see contract.ts). */
interface CentralSystemLike extends Node {
  directory?: ChargerDirectory;
  idTags?: IdTagDirectory;
}

interface CommandMessage extends NodeMessageInFlow {
  chargerId?: unknown;
  command?: unknown;
  action?: unknown;
  ocpp?: unknown;
}

const positive = (value: unknown, fallback: number): number => {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
};

export = function register(RED: NodeAPI): void {
  function OcppCommandNode(this: Node, def: CommandDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const life = new Lifecycle(node);
    const server = RED.nodes.getNode(def.server) as CentralSystemLike | null;
    const directory = server?.directory;
    if (!directory) {
      life.refuse("no central system", new CommandError("bad_input", "Choose an OCPP central system in this node's settings"));
      return;
    }

    const runner = new CommandRunner({
      directory,
      idTags: server.idTags,
      offline: { mode: def.offline === "queue" ? "queue" : "fail", ttlMs: positive(def.queueTtl, 300) * 1000 },
      timeoutMs: positive(def.timeout, 30) * 1000,
      quirks: { stackLevelZero: def.stackLevelZero === true, relativeProfile: def.relativeProfile === true, numberPhasesUnsupported: def.noNumberPhases === true },
      defaultPhases: positive(def.defaultPhases, 3),
    });
    life.onClose(() => runner.close());
    let inFlight = 0;

    life.onInput<CommandMessage>(async (msg, send) => {
      // The common limit contract of every charger node: topic "limit", the charger from the node or msg.chargerId.
      const common = msg.topic === LIMIT_TOPIC ? parseLimit(msg.payload) : undefined;
      const chargerId = String(def.chargerId || (msg.chargerId ?? "") || (common ? "" : (msg.topic ?? ""))).trim();
      const command = common ? "limit" : typeof msg.command === "string" && msg.command.trim() !== "" ? msg.command.trim() : def.command || "RemoteStartTransaction";
      if (common && typeof msg.payload !== "object") msg.payload = { amps: common.amps };
      const action = typeof msg.action === "string" ? msg.action : def.action;
      inFlight++;
      node.status(Status.busy(`${command} → ${chargerId || "?"}`));
      try {
        const outcome = await runner.run(
          { chargerId, command, input: commandInput(command, def, msg.payload), action },
          { onQueued: () => node.status(Status.warning(`queued for ${chargerId} (${runner.pending()})`)) },
        );
        msg.payload = common ? ocppLimitAnswer(outcome.answer as OcppLimitOutcome, common.requested, common.amps) : outcome.answer;
        msg.ocpp = { chargerId, action: outcome.action, request: outcome.request, ...(common ? { result: outcome.answer } : {}) };
        const warning = (outcome.answer as { warning?: unknown } | undefined)?.warning;
        node.status(typeof warning === "string" ? Status.warning(`${chargerId}: ${summary(outcome.answer)} (see warning)`) : Status.ok(`${chargerId}: ${summary(outcome.answer)}`));
        send(msg);
      } catch (err) {
        const error = err instanceof CommandError ? err : new CommandError("failed", errorMessage(err));
        msg.ocpp = {
          chargerId,
          action: error.action ?? command,
          error: { kind: error.kind, rpcErrorCode: error.rpcErrorCode, answer: error.answer },
        };
        node.status(Status.error(`${chargerId || "?"}: ${error.kind.replace("_", " ")}`));
        throw error;
      } finally {
        inFlight--;
      }
    });

    if (def.command === "syncLocalList" && def.autoSync === true) {
      const idTags = server.idTags;
      if (!idTags) {
        node.warn("Automatic local-list sync needs a central system with an id-tag list");
      } else {
        const sync = localListSyncFor(idTags, { directory, timeoutMs: positive(def.timeout, 30) * 1000 });
        const stop = startAutoSync(directory, sync, idTags, {
          onResult: (result) => {
            if (inFlight === 0) node.status(Status.ok(`${result.chargerId}: list v${result.listVersion}`));
            life.send({ payload: result, ocpp: { chargerId: result.chargerId, action: "syncLocalList", request: { auto: true } } } as never);
          },
          onError: (error, chargerId) => {
            node.status(Status.error(`${chargerId}: ${error.kind.replace("_", " ")}`));
            life.reportError(error, { payload: undefined, ocpp: { chargerId, action: "syncLocalList", error: { kind: error.kind } } } as never);
          },
        });
        life.onClose(stop);
      }
    }
  }

  RED.nodes.registerType("ev-ocpp-command", OcppCommandNode);
};

/** Dialog fields for the command, overridden by msg.payload (an object, or a bare number for limit). */
function commandInput(command: string, def: CommandDef, payload: unknown): Record<string, unknown> {
  const isObject = payload !== null && typeof payload === "object" && !Array.isArray(payload);
  if (command === "raw") return isObject ? (payload as Record<string, unknown>) : parseRaw(def.rawPayload);
  const input = inputFromConfig(command, def);
  if (command === "limit") {
    const numeric = typeof payload === "number" || (typeof payload === "string" && payload.trim() !== "" && !Number.isNaN(Number(payload)));
    const overrides = isObject && ("amps" in payload || "watts" in payload);
    if (numeric || overrides) {
      delete input.amps;
      delete input.watts;
    }
    // A bare number is the limit in the unit chosen in the node (solar surplus flows send numbers).
    if (numeric) input[def.limitUnit === "W" ? "watts" : "amps"] = Number(payload);
  }
  // A dashboard switch sends true/false: enable / disable the charger.
  if (typeof payload === "boolean" && resolveCommand(command) === "ChangeAvailability") {
    delete input.type;
    input.available = payload;
  }
  if (isObject) Object.assign(input, payload);
  return input;
}

function parseRaw(text: string | undefined): Record<string, unknown> {
  if (!text || text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CommandError("bad_input", `raw: the payload in the node is not valid JSON (${errorMessage(err)})`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new CommandError("bad_input", "raw: the payload must be a JSON object");
  return value as Record<string, unknown>;
}

/** A few words for the status line. */
function summary(answer: unknown): string {
  const a = answer as Record<string, unknown> | undefined;
  if (!a || typeof a !== "object") return "done";
  if (typeof a.status === "string") return a.status;
  const applied = a.applied as { limit?: number; unit?: string } | undefined;
  if (applied) return `${applied.limit} ${applied.unit}`;
  if (typeof a.updateType === "string") return `list ${a.updateType}`;
  if (Array.isArray(a.configurationKey)) return `${a.configurationKey.length} keys`;
  if (typeof a.listVersion === "number") return `list v${a.listVersion}`;
  return "done";
}
