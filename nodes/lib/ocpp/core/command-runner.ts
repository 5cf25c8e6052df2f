/**
 * What the ev-ocpp-command node does for one message, without Node-RED:
 * picks the command (OCPP action, a helper such as "limit", or raw), builds
 * the request, gets the link (now, or queued until the charger reconnects)
 * and returns the charger's answer. Everything that goes wrong is a
 * CommandError.
 */
import type { ChargerDirectory, ChargerLink, IdTagDirectory } from "./contract";
import { CommandError } from "./command-error";
import { buildCommand, checkAnswer, resolveCommand, sendCall, type BuiltCall, type CommandInput } from "../v16/commands";
import { applyLimit, clearLimit, type LimitRequest, type SmartChargingQuirks } from "../v16/smart-charging";
import { localListSyncFor } from "./local-list";
import { discoverAndRecord } from "../v16/discovery";
import { CommandQueue, type OfflinePolicy } from "./offline-queue";
import { isOcpp2 } from "../v201/commands";
import { runOcpp201 } from "../v201/command-runner";
import type { Limit201Request } from "../v201/smart-charging";

/** Commands beyond the 19 OCPP actions. */
export const HELPER_COMMANDS = ["limit", "pause", "clearLimit", "syncLocalList", "discover", "raw"] as const;
export type HelperCommand = (typeof HELPER_COMMANDS)[number];

export interface RunnerOptions {
  directory: ChargerDirectory;
  idTags?: IdTagDirectory;
  offline: OfflinePolicy;
  timeoutMs?: number;
  quirks?: SmartChargingQuirks;
  defaultPhases?: number;
}

export interface RunRequest {
  chargerId: string;
  /** An OCPP action (RemoteStartTransaction, …), a short alias (start, stop) or a helper command. */
  command: string;
  input: CommandInput;
  /** For raw: the OCPP action to send as it is. */
  action?: string;
}

export interface RunOutcome {
  /** The OCPP action sent, or the helper command. */
  action: string;
  /** The exact OCPP payload, or the helper's input. */
  request: unknown;
  answer: unknown;
}

const helper = (name: string): HelperCommand | undefined => HELPER_COMMANDS.find((h) => h.toLowerCase() === name.trim().toLowerCase());

function limitRequest(input: CommandInput, pause: boolean): Limit201Request {
  const num = (v: unknown): number | undefined => (v === undefined || v === null || v === "" ? undefined : typeof v === "string" ? Number(v) : (v as number));
  const request: Limit201Request = {
    amps: num(input.amps),
    watts: num(input.watts),
    phases: num(input.phases),
    connector: num(input.connector ?? input.connectorId),
    pause: pause || input.pause === true,
    leaseS: num(input.leaseS),
    safeA: num(input.safeA),
    // OCPP 2.0.1 only: the phase for one-phase charging, on a charger that can pick it.
    phaseToUse: num(input.phaseToUse),
  };
  for (const [key, max] of [
    ["amps", 1000],
    ["watts", 1_000_000],
  ] as const) {
    const value = request[key];
    if (value !== undefined && value > max) {
      throw new CommandError("bad_input", `limit: ${value} ${key === "amps" ? "A" : "W"} is not a sensible limit (is msg.payload a timestamp from an inject node?)`, { action: "limit" });
    }
  }
  return Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined && v !== false)) as Limit201Request;
}

export class CommandRunner {
  private readonly queue: CommandQueue;

  constructor(private readonly options: RunnerOptions) {
    this.queue = new CommandQueue(options.directory, options.offline);
  }

  /** Commands waiting for offline chargers. */
  pending(chargerId?: string): number {
    return this.queue.pending(chargerId);
  }

  /** Validates and builds at once (so bad input fails before anything is queued), then sends. */
  run(request: RunRequest, hooks: { onQueued?: () => void } = {}): Promise<RunOutcome> {
    const { chargerId, input } = request;
    if (!chargerId) {
      return Promise.reject(new CommandError("bad_input", "No charger id: set one in the node or send msg.chargerId (or msg.topic)"));
    }
    const timeoutMs = this.options.timeoutMs;
    const name = helper(request.command);
    const queued = <T>(action: string, task: Parameters<CommandQueue["run"]>[2]) => this.queue.run(chargerId, action, task, hooks) as Promise<T>;

    // The local list: one sync for every version, which picks the adapter by the live link's protocol.
    if (name === "syncLocalList") {
      const idTags = this.options.idTags;
      if (!idTags) return Promise.reject(new CommandError("bad_input", "syncLocalList: this central system has no id-tag list"));
      const sync = localListSyncFor(idTags, { timeoutMs, directory: this.options.directory });
      if (input.full === true) sync.forget(chargerId);
      return queued(name, async (link) => ({ action: name, request: { full: input.full === true }, answer: await sync.sync(link) }));
    }

    // An OCPP 2.0.1 charger (as last connected): the same commands, built by the 2.0.1 adapter.
    const { directory } = this.options;
    if (isOcpp2(directory.link(chargerId)?.protocol ?? directory.snapshot(chargerId)?.protocol)) {
      let limit: LimitRequest | undefined;
      try {
        if (name === "limit" || name === "pause") limit = limitRequest(input, name === "pause");
      } catch (err) {
        return Promise.reject(err);
      }
      const ctx = { directory, timeoutMs, quirks: this.options.quirks, defaultPhases: this.options.defaultPhases, queued: <T>(action: string, task: (link: ChargerLink) => Promise<T>) => queued<T>(action, task) };
      const outcome = runOcpp201(ctx, chargerId, request.command, input, name, request.action, limit);
      return limit ? outcome.then((o) => this.recordLimit(chargerId, o)) : outcome;
    }

    if (!name) {
      if (!resolveCommand(request.command)) {
        return Promise.reject(new CommandError("bad_input", `Unknown command "${request.command}". Use an OCPP action (RemoteStartTransaction, Reset, …), one of ${HELPER_COMMANDS.join(", ")}`));
      }
      let call: BuiltCall;
      try {
        call = buildCommand(request.command, input, { chargerId, snapshot: this.options.directory.snapshot(chargerId) });
      } catch (err) {
        return Promise.reject(err);
      }
      return queued(call.action, async (link) => {
        // "the session on connector N" is looked up again at send time: a queued stop must find the current session.
        const fresh = call.action === "RemoteStopTransaction" ? buildCommand(request.command, input, { chargerId, snapshot: this.options.directory.snapshot(chargerId) }) : call;
        return { action: fresh.action, request: fresh.payload, answer: await sendCall(link, fresh, { timeoutMs }) };
      });
    }

    switch (name) {
      case "raw": {
        const action = (request.action ?? "").trim();
        if (!/^[A-Za-z][A-Za-z0-9]*$/.test(action)) {
          return Promise.reject(new CommandError("bad_input", `raw: needs the OCPP action name (msg.action or the node's action), e.g. "Reset"; got ${JSON.stringify(request.action ?? "")}`));
        }
        const call = { action, payload: input };
        return queued(action, async (link) => {
          const answer = await sendCall(link, call, { timeoutMs, check: false });
          checkAnswer(call, answer, chargerId);
          return { action, request: input, answer };
        });
      }
      case "limit":
      case "pause": {
        let limit: LimitRequest;
        try {
          limit = limitRequest(input, name === "pause");
        } catch (err) {
          return Promise.reject(err);
        }
        return queued<RunOutcome>(name, async (link) => ({
          action: name,
          request: limit,
          answer: await applyLimit(link, limit, {
            directory: this.options.directory,
            quirks: this.options.quirks,
            defaultPhases: this.options.defaultPhases,
            timeoutMs,
          }),
        })).then((o) => this.recordLimit(chargerId, o));
      }
      case "clearLimit": {
        const connector = input.connector ?? input.connectorId;
        const scope = connector === undefined || connector === "" ? undefined : Number(connector);
        if (scope !== undefined && !(Number.isInteger(scope) && scope >= 0)) {
          return Promise.reject(new CommandError("bad_input", `clearLimit: connector must be a whole number, not ${JSON.stringify(connector)}`));
        }
        const request = scope === undefined ? {} : { connector: scope };
        return queued(name, async (link) => ({ action: name, request, answer: await clearLimit(link, { timeoutMs, directory: this.options.directory, connector: scope }) }));
      }
      case "discover": {
        const set = {
          meterValuesSampledData: input.measurands as string | string[] | undefined,
          meterValueSampleInterval: input.sampleInterval === undefined || input.sampleInterval === "" ? undefined : Number(input.sampleInterval),
          heartbeatInterval: input.heartbeatInterval === undefined || input.heartbeatInterval === "" ? undefined : Number(input.heartbeatInterval),
        };
        for (const [key, value] of Object.entries(set)) {
          if (typeof value === "number" && !(Number.isInteger(value) && value > 0)) {
            return Promise.reject(new CommandError("bad_input", `discover: ${key} must be a whole number of seconds above 0`));
          }
        }
        return queued(name, async (link) => ({ action: name, request: set, answer: await discoverAndRecord(this.options.directory, link, { set, timeoutMs }) }));
      }
    }
  }

  /** Tells the central system the limit now in force (read back, else as sent), for the offered current of charger.state. */
  private recordLimit<T extends { answer: unknown }>(chargerId: string, outcome: T): T {
    const answer = outcome.answer as { connectorId?: number; sent?: { limit: number; unit: string; numberPhases?: number }; applied?: { amps?: number }; voltage?: number; phases?: number } | undefined;
    const sent = answer?.sent;
    const phases = sent?.numberPhases ?? answer?.phases ?? 3;
    const amps = answer?.applied?.amps ?? (sent ? (sent.unit === "W" ? sent.limit / ((answer?.voltage ?? 230) * phases) : sent.limit) : undefined);
    if (amps !== undefined && Number.isFinite(amps)) this.options.directory.recordLimit?.(chargerId, answer?.connectorId, Math.round(amps * 10) / 10);
    return outcome;
  }

  /** Fails queued commands (kind "closed") and stops listening for reconnects. */
  close(): void {
    this.queue.close();
  }
}
