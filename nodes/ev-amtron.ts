/**
 * ev-amtron: polls a Mennekes AMTRON wallbox over its local MHCP API and
 * controls it from msg.topic. Output 1: the ChargerState on every poll and
 * after every confirmed write; output 2: answers to requests (devinfo, control results).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import {
  AmtronClient,
  chargeCommand,
  chargerIdFrom,
  ControlError,
  type ControlResult,
  type ChargeCommand,
  type DevInfo,
  demand,
  DEFAULT_PORT,
  DEFAULT_TIMEOUT_MS,
  isChargeState,
  isDevMode,
  SerialQueue,
  setCurrent,
  setMode,
  toChargerState,
  type AmtronChargerState,
  UnexpectedDocumentError,
} from "./lib/amtron";
import { LIMIT_TOPIC, parseLimit } from "./lib/limit";
import { applyAmtronLimit } from "./lib/amtron/limit";
import { errorMessage } from "./lib/errors";
import { HttpError } from "./lib/http-client";
import { DependencyError } from "./lib/lazy";
import { Lifecycle, type SendFn } from "./lib/node-red/lifecycle";
import { Status } from "./lib/node-red/status";
import { Poller } from "./lib/poller";
import { formatDelay } from "./lib/backoff";

interface AmtronNodeDef extends NodeDef {
  host: string;
  port: string | number;
  interval: string | number;
  charger: string;
  devInfoEvery: string | number;
  timeout: string | number;
  /** Also send totalEnergyWh (= session energy). Absent in nodes saved before 0.2: on; new nodes: off. */
  legacyTotalEnergy?: boolean;
}

interface AmtronCredentials {
  devKey?: string;
}

const DEFAULT_INTERVAL_S = 10;
/** The wallbox does not like being stressed; settings.evAmtronMinPollInterval can lower this (tests). */
const MIN_INTERVAL_S = 5;
const DEFAULT_DEVINFO_EVERY = 6;

const COMMANDS: Record<string, ChargeCommand> = { pause: "Pause", continue: "Continue", start: "Start", terminate: "Terminate" };
const TOPICS = ["poll", "devinfo", "current", "limit", "pause", "continue", "start", "terminate", "demand", "mode"];

function numberOr(value: unknown, fallback: number): number {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return Number.isFinite(n) ? n : fallback;
}

/** A short status text for a failure, in words a hobbyist recognises. */
function failureStatus(err: unknown): string {
  if (err instanceof HttpError) {
    switch (err.kind) {
      case "forbidden":
      case "unauthorized":
        return "DevKey refused";
      case "timeout":
        return "no answer (timeout)";
      case "unreachable":
        return "wallbox offline";
      case "bad_response":
        return "unexpected answer";
      case "too_large":
        return "answer too large";
      case "rate_limited":
        return "rate limited";
      case "aborted":
        return "stopped";
      default:
        return `error HTTP ${err.status ?? ""}`.trim();
    }
  }
  if (err instanceof UnexpectedDocumentError) return "unexpected answer";
  return "error";
}

function stateStatus(state: AmtronChargerState): NodeStatus {
  // A wallbox that sends no power (or null) is "unknown", not 0 kW.
  const kw = state.powerW !== undefined ? ` · ${(state.powerW / 1000).toFixed(1)} kW` : " · power unknown";
  const text = `${state.operationState.replace(/_/g, " ")}${kw}`;
  // A wallbox fault is not a node error, but it should not look healthy either.
  if (state.operationState === "fault") return Status.warning(state.errorCode ? `fault ${state.errorCode}${kw}` : text);
  return Status.ok(text);
}

/** What goes to output 2 after a control request: no documents, just the outcome. */
function controlPayload(result: ControlResult): Record<string, unknown> {
  const out: Record<string, unknown> = { action: result.action, requested: result.requested, applied: result.applied };
  if (result.modeSwitched !== undefined) out.modeSwitched = result.modeSwitched;
  if (result.clamped !== undefined) out.clamped = result.clamped;
  return out;
}

export = (RED: NodeAPI): void => {
  function EvAmtronNode(this: Node<AmtronCredentials>, def: AmtronNodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const life = new Lifecycle(node);

    const settings = RED.settings as unknown as Record<string, unknown>;
    const minInterval = numberOr(settings.evAmtronMinPollInterval, MIN_INTERVAL_S);
    let intervalS = numberOr(def.interval, DEFAULT_INTERVAL_S);
    if (intervalS < minInterval) {
      node.warn(`Poll interval ${intervalS} s is below the ${minInterval} s the wallbox tolerates; using ${minInterval} s`);
      intervalS = minInterval;
    }
    const devInfoEvery = Math.max(0, Math.floor(numberOr(def.devInfoEvery, DEFAULT_DEVINFO_EVERY)));
    const host = (def.host ?? "").trim();

    let client: AmtronClient;
    try {
      client = new AmtronClient({
        host,
        port: numberOr(def.port, DEFAULT_PORT),
        devKey: node.credentials?.devKey ?? "",
        timeoutMs: Math.max(0.1, numberOr(def.timeout, DEFAULT_TIMEOUT_MS / 1000)) * 1000,
      });
    } catch (err) {
      // A missing setting is permanent until the user edits the node: say so once, fail every input clearly.
      const message = errorMessage(err);
      node.status(Status.error(err instanceof DependencyError ? message : host ? "no DevKey" : "no address"));
      node.error(message);
      life.onInput(() => {
        throw new Error(message);
      });
      return;
    }

    let devInfo: DevInfo | undefined;
    let pollsSinceDevInfo = 0;
    let chargerId: string | undefined;
    let lastReported: string | undefined;
    const controls = new SerialQueue();

    const emitState = (state: AmtronChargerState, send: SendFn = (m) => life.send(m)): void => {
      node.status(stateStatus(state));
      send([{ topic: state.chargerId, charger: state.chargerId, payload: state } as NodeMessage, null]);
    };

    const unknownStates = new Set<string>();
    const stateFrom = (chargeData: Parameters<typeof toChargerState>[0]): AmtronChargerState => {
      chargerId ??= chargerIdFrom(def.charger, devInfo, host);
      if (!isChargeState(chargeData.ChgState) && !unknownStates.has(chargeData.ChgState)) {
        // Newer firmware may add states; say so once instead of silently reporting "unknown".
        unknownStates.add(chargeData.ChgState);
        node.warn(`The wallbox reports the charging state "${chargeData.ChgState}", which this node does not know yet; operationState is "unknown" (the raw value is in chargeState)`);
      }
      return toChargerState(chargeData, devInfo, { chargerId, legacyTotalEnergy: def.legacyTotalEnergy !== false });
    };

    const refreshDevInfo = async (signal?: AbortSignal): Promise<DevInfo> => {
      devInfo = await client.getDevInfo(signal);
      pollsSinceDevInfo = 0;
      return devInfo;
    };

    const poller = new Poller<AmtronChargerState>(
      async (signal) => {
        // DevInfo carries Err (faults), DevMode and Phases; ChargeData alone does not.
        if (devInfo === undefined || (devInfoEvery > 0 && pollsSinceDevInfo >= devInfoEvery)) await refreshDevInfo(signal);
        pollsSinceDevInfo++;
        return stateFrom(await client.getChargeData(signal));
      },
      {
        intervalMs: intervalS * 1000,
        jitterMs: Math.min(1000, intervalS * 100),
        backoff: { initialMs: intervalS * 1000, maxMs: Math.max(intervalS * 1000, 300_000), factor: 2, jitter: 0.1 },
      },
      {
        onResult: (state) => {
          if (lastReported !== undefined) node.log("The wallbox answers again");
          lastReported = undefined;
          emitState(state);
        },
        onError: (err, failures, nextDelayMs) => {
          node.status(Status.error(failureStatus(err)));
          // The same failure every interval would flood the log; report it once, and again when it changes.
          if (err.message === lastReported) return;
          lastReported = err.message;
          life.reportError(new Error(`${err.message} (attempt ${failures}; trying again in ${formatDelay(nextDelayMs)})`));
        },
      },
    );

    life.onClose(() => client.close());
    life.onClose(() => poller.stop());

    const control = async (msg: NodeMessageInFlow, topic: string, send: SendFn): Promise<void> => {
      const payload = msg.payload as unknown;
      const options = { readBackAttempts: 3, readBackDelayMs: 1000 };
      const asObject = payload !== null && typeof payload === "object" ? (payload as Record<string, unknown>) : undefined;
      const extra = msg as unknown as Record<string, unknown>;
      let result: ControlResult;
      if (topic === LIMIT_TOPIC) {
        // The common limit contract, the same on every charger node.
        const limit = parseLimit(payload);
        node.status(Status.busy(limit.pause ? "pausing" : `limit ${limit.amps} A`));
        const applied = await applyAmtronLimit(client, limit, options);
        const state = stateFrom(applied.result.chargeData ?? (await client.getChargeData()));
        send([{ topic: state.chargerId, charger: state.chargerId, payload: state } as NodeMessage, { ...msg, payload: { ...applied.answer, chargerId: state.chargerId } }]);
        node.status(stateStatus(state));
        return;
      }
      if (topic === "current") {
        node.status(Status.busy(`setting ${String(asObject?.amps ?? payload)} A`));
        result = await setCurrent(client, asObject ? asObject.amps : payload, {
          ...options,
          permanent: (asObject?.permanent ?? extra.permanent) === true,
          clamp: (asObject?.clamp ?? extra.clamp) === true,
        });
      } else if (topic in COMMANDS) {
        node.status(Status.busy(topic));
        result = await chargeCommand(client, COMMANDS[topic], options);
      } else if (topic === "demand") {
        if (!asObject) throw new ControlError("invalid", 'topic "demand" needs msg.payload like {"energyWh": 15000, "minutes": 480}');
        node.status(Status.busy("energy demand"));
        result = await demand(
          client,
          { energyWh: asObject.energyWh, minutes: asObject.minutes, excessEnergy: asObject.excessEnergy, permanent: asObject.permanent === true },
          options,
        );
      } else {
        const mode = asObject ? asObject.mode : payload;
        if (!isDevMode(mode)) throw new ControlError("invalid", `topic "mode" needs msg.payload "Remote" (app control), "HomeManager" or "Time" (got ${JSON.stringify(mode) ?? String(mode)})`);
        const switched = await setMode(client, mode, options);
        result = { action: "mode", requested: mode, applied: switched.devInfo.DevMode, modeSwitched: switched.switched, devInfo: switched.devInfo };
      }
      if (result.devInfo) devInfo = result.devInfo;
      const chargeData = result.chargeData ?? (await client.getChargeData());
      const state = stateFrom(chargeData);
      send([{ topic: state.chargerId, charger: state.chargerId, payload: state } as NodeMessage, { ...msg, payload: controlPayload(result) }]);
      node.status(stateStatus(state));
    };

    life.onInput(async (msg, send) => {
      const topic = typeof msg.topic === "string" ? msg.topic.trim().toLowerCase() : "";
      if (topic === "" || topic === "poll") {
        await poller.trigger();
        return;
      }
      if (!TOPICS.includes(topic)) {
        throw new Error(`Unknown msg.topic "${String(msg.topic)}". Use one of: ${TOPICS.join(", ")} (or no topic to poll now).`);
      }
      try {
        if (topic === "devinfo") {
          const info = await controls.run(() => refreshDevInfo());
          send([null, { ...msg, topic: "devinfo", charger: chargerId ?? chargerIdFrom(def.charger, info, host), payload: info } as NodeMessage]);
          return;
        }
        // Two writes must not interleave their read-backs.
        await controls.run(() => control(msg, topic, send));
      } catch (err) {
        // Stopped mid-request by a redeploy: nothing to report, the flow is gone.
        if (life.closed) return;
        node.status(err instanceof ControlError ? Status.warning(`${topic} not applied`) : Status.error(failureStatus(err)));
        // A plain Error, so the debug sidebar shows the words, not a class name.
        throw new Error(errorMessage(err), { cause: err });
      }
    });

    node.status(Status.connecting());
    poller.start();
  }

  RED.nodes.registerType<Node<AmtronCredentials>, AmtronNodeDef, { evAmtronMinPollInterval: number }, AmtronCredentials>("ev-amtron", EvAmtronNode, {
    settings: { evAmtronMinPollInterval: { value: MIN_INTERVAL_S, exportable: true } }, credentials: { devKey: { type: "password" } } });
};
