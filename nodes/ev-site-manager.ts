/**
 * ev-site-manager: charges from solar surplus and shares the house fuse
 * between chargers of any brand. Node-RED glue only; the algorithm is
 * nodes/lib/site/manager.ts. Output 1: the site summary for dashboards;
 * outputs 2..n+1: one limit message per charger, in the order configured,
 * ready for the "limit" input of ev-ocpp-command, ev-chargeamps or ev-amtron.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import { errorMessage, shortText } from "./lib/errors";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { Status } from "./lib/node-red/status";
import { normaliseConfig, splitConnector, type CircuitSetup, type SiteConfigInput } from "./lib/site/config";
import { applySiteInput, type SiteInputMessage } from "./lib/site/input";
import { SiteManager, statusText } from "./lib/site/manager";
import type { ChargerCommand, SiteDecision } from "./lib/site/types";

const NUMBER_SETTINGS = [
  "fuseA", "phases", "voltageV", "marginA", "residualPowerW", "enableThresholdW", "enableDelayS", "disableThresholdW", "disableDelayS",
  "phaseDwellS", "phasePauseS", "minStepA", "rampStepA", "commandIntervalS", "refreshS", "leaseS", "rotationS", "failsafeA", "meterTimeoutS",
  "recoverSamples", "followToleranceA", "followAfterS", "toleranceS", "recoverS", "priceLimit", "planMarginPct",
] as const;

interface SiteManagerDef extends NodeDef, Partial<Record<(typeof NUMBER_SETTINGS)[number], number | string>> {
  fairness?: string;
  /** Left out in flows saved before it existed: immediate, as then. */
  protection?: string;
  tripCurve?: string;
  chargers?: string;
  circuits?: string;
  /** Saved by the editor: 1 + the number of chargers. */
  outputs?: number | string;
}

/** How often the node re-runs the algorithm without a meter sample (stale meter, delays). */
const TICK_MS = 5_000;

export = function register(RED: NodeAPI): void {
  function SiteManagerNode(this: Node, def: SiteManagerDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const life = new Lifecycle(node);

    let manager: SiteManager;
    let order: string[];
    let lease: { leaseS: number; safeA: number } | undefined;
    try {
      const config = normaliseConfig(settingsOf(def));
      manager = new SiteManager(config);
      lease = config.leaseS > 0 ? { leaseS: config.leaseS, safeA: config.failsafeA } : undefined;
      order = config.chargers.map((c) => c.id);
      if (def.outputs !== undefined && Number(def.outputs) !== order.length + 1) {
        node.warn(`The node has ${Number(def.outputs) - 1} charger output(s) but ${order.length} charger(s) in its list: open the node and press Done to update the outputs`);
      }
    } catch (err) {
      life.refuse("bad settings", new Error(`Site charging manager settings: ${errorMessage(err)}`));
      return;
    }

    const run = (): void => {
      const decision = manager.update(Date.now());
      life.send(outputs(decision, order, lease));
      node.status(statusOf(decision));
    };

    life.onInput<NodeMessageInFlow & SiteInputMessage>((msg) => {
      const kind = applySiteInput(manager, msg, Date.now());
      // The meter drives the algorithm; other inputs wait for the next sample or tick.
      if (kind === "grid" || kind === "mode" || kind === "price" || kind === "plan") run();
    });
    life.setInterval(run, TICK_MS);
    node.status(Status.idle("waiting for the grid meter"));
  }

  RED.nodes.registerType("ev-site-manager", SiteManagerNode);
};

function settingsOf(def: SiteManagerDef): SiteConfigInput {
  const input: Record<string, unknown> = {};
  for (const key of NUMBER_SETTINGS) {
    const value = def[key];
    if (value === undefined || value === "") continue;
    const n = Number(value);
    if (!Number.isFinite(n)) throw new Error(`${key} must be a number, got "${String(value)}"`);
    input[key] = n;
  }
  if (def.fairness) input.fairness = def.fairness;
  if (def.protection) input.protection = def.protection;
  if (def.tripCurve) input.tripCurve = def.tripCurve;
  input.chargers = parseList(def.chargers, "Chargers");
  input.circuits = parseList(def.circuits, "Circuits") as unknown as CircuitSetup[];
  return input as unknown as SiteConfigInput;
}

function parseList(text: string | undefined, what: string): Array<{ id: string }> {
  if (!text || text.trim() === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not valid JSON (${errorMessage(err)})`, { cause: err });
  }
  if (!Array.isArray(value) || value.some((v) => !v || typeof v !== "object" || typeof (v as { id?: unknown }).id !== "string")) {
    throw new Error(`${what} must be a list like [{"id": "garage"}]`);
  }
  return value as Array<{ id: string }>;
}

function outputs(decision: SiteDecision, order: string[], lease: { leaseS: number; safeA: number } | undefined): Array<NodeMessage | null> {
  const { commands, ...site } = decision;
  const byCharger = new Map<string, ChargerCommand>(commands.map((c) => [c.chargerId, c]));
  const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
  // Times on the site message are ISO text, like msg.timestamp elsewhere in the package.
  const chargers = Object.fromEntries(
    Object.entries(site.chargers).map(([id, view]) => [id, view.plan ? { ...view, plan: { ...view.plan, by: iso(view.plan.by), startsAt: iso(view.plan.startsAt) } } : view]),
  );
  const payload = {
    ...site,
    time: iso(site.time),
    chargers,
    nextAction: site.nextAction && { ...site.nextAction, at: iso(site.nextAction.at) },
    protection: site.protection && { ...site.protection, raiseAfter: iso(site.protection.raiseAfter) },
  };
  const siteMsg = { topic: "site", payload } as NodeMessage;
  return [siteMsg, ...order.map((id) => limitMessage(byCharger.get(id), lease))];
}

/** The common limit contract: topic "limit", payload {amps, phases}; 0 = pause. */
function limitMessage(command: ChargerCommand | undefined, lease: { leaseS: number; safeA: number } | undefined): NodeMessage | null {
  if (!command) return null;
  // "CP1/2" is connector (EVSE) 2 of CP1: the OCPP command node limits that connector only (TxDefaultProfile there).
  // Its lease falls back to a TxDefaultProfile on connector 0 at the safe current, not a whole-charger maximum.
  const { chargerId, connector } = splitConnector(command.chargerId);
  return {
    topic: "limit",
    command: "limit",
    chargerId,
    // leaseS/safeA: OCPP chargers keep the limit for leaseS only, then fall back to safeA (the others ignore them).
    payload: connector === undefined ? { amps: command.amps, phases: command.phases, ...lease } : { amps: command.amps, phases: command.phases, connector, ...lease },
    site: { watts: command.watts, state: command.state, reason: command.reason, urgent: command.urgent, refresh: command.refresh },
  } as NodeMessage;
}

/** The status in words; longer than other nodes' (up to 60 characters) because it carries the whole site. */
function statusOf(decision: SiteDecision): NodeStatus {
  const text = shortText(statusText(decision), 60);
  const charging = Object.values(decision.chargers).some((c) => c.state === "charging");
  if (decision.failsafe) return { fill: "red", shape: "dot", text };
  if (Object.values(decision.chargers).some((c) => c.notFollowing)) return { fill: "yellow", shape: "dot", text };
  return charging && !decision.failsafeReason ? { fill: "green", shape: "dot", text } : { fill: "grey", shape: "ring", text };
}
