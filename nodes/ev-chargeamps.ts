/**
 * Charge Amps node: one operation per message (chosen in the dialog or by
 * msg.topic) against the account's session, or a poll of every owned charge
 * point that emits one ChargerState per connector (output 1) and the rows of
 * the thesis's three tables (output 2).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { ACCOUNT_TYPE, type ChargeAmpsAccountNode } from "./lib/chargeamps/account";
import { operationOf, readStatus, runOperation, type Operation, type OperationResult } from "./lib/chargeamps/operations";
import { shortReason } from "./lib/chargeamps/reasons";
import { TABLES, type ThesisRows } from "./lib/chargeamps/rows";
import { Lifecycle, type OutMessage } from "./lib/node-red/lifecycle";
import { Status } from "./lib/node-red/status";
import { Poller } from "./lib/poller";
import { formatDelay } from "./lib/backoff";

interface ChargeAmpsDef extends NodeDef {
  account: string;
  operation?: string;
  chargePointId?: string;
  connectorId?: number | string;
  interval?: number | string;
  rfid?: string;
  sessionsHours?: number | string;
}

interface ChargeAmpsMsg extends NodeMessageInFlow {
  chargePointId?: unknown;
  connectorId?: unknown;
}

const WRITES = new Set<Operation>(["setConnectorSettings", "limit", "setChargePointSettings", "remoteStart", "remoteStop", "reboot"]);
const DEFAULT_INTERVAL_S = 30;
const MIN_INTERVAL_S = 10;

export = (RED: NodeAPI): void => {
  function ChargeAmps(this: Node, def: ChargeAmpsDef) {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: ChargeAmpsDef): void {
    const life = new Lifecycle(node);
    const operation: Operation = operationOf(def.operation) ?? "status";
    const account = RED.nodes.getNode(def.account) as ChargeAmpsAccountNode | null;
    const settings = RED.settings as unknown as { evChargeampsMinPollSeconds?: unknown };
    // The 10 s floor protects the cloud; tests may lower it through a runtime setting.
    const floorS = typeof settings.evChargeampsMinPollSeconds === "number" ? settings.evChargeampsMinPollSeconds : MIN_INTERVAL_S;
    const intervalS = Math.max(floorS, Number(def.interval) > 0 ? Number(def.interval) : DEFAULT_INTERVAL_S);

    if (!account || account.type !== ACCOUNT_TYPE) {
      node.status(Status.error("no account"));
      life.onInput(() => {
        throw new Error("This Charge Amps node has no account: open it and choose or add a Charge Amps account.");
      });
      return;
    }
    account.register(node);
    // Requests this node started are cancelled when it stops, even if the account lives on.
    const stopping = new AbortController();
    life.onClose(() => {
      stopping.abort();
      account.deregister(node);
    });

    const params = (msg?: ChargeAmpsMsg) => ({
      chargePointId: textOf(msg?.chargePointId) ?? (def.chargePointId ?? "").trim(),
      connectorId: msg?.connectorId !== undefined && msg.connectorId !== "" ? msg.connectorId : Number(def.connectorId) || 1,
      payload: msg?.payload,
      rfid: def.rfid,
      sessionsHours: Number(def.sessionsHours) > 0 ? Number(def.sessionsHours) : 24,
    });

    const failStatus = (err: unknown, retryMs?: number) => {
      const retry = retryMs !== undefined ? ` · retry ${formatDelay(retryMs)}` : "";
      node.status(Status.error(`${shortReason(err)}${retry}`));
    };

    let poller: Poller<OperationResult> | undefined;
    if (operation === "poll") {
      poller = new Poller<OperationResult>(
        (signal) => readStatus(account.getClient(), params().chargePointId || undefined, new Date(), signal),
        {
          intervalMs: intervalS * 1000,
          jitterMs: Math.min(2000, intervalS * 100),
          backoff: { initialMs: intervalS * 1000, maxMs: Math.max(intervalS * 1000, 10 * 60_000), factor: 2, jitter: 0.1 },
        },
        {
          onResult: (result) => {
            life.send(pollMessages(result));
            node.status(Status.ok(`${result.states?.length ?? 0} conn · ${clock(new Date())}`));
          },
          onError: (err, _failures, nextMs) => {
            failStatus(err, nextMs);
            life.reportError(new Error(`Charge Amps poll failed: ${err.message}`), { topic: "poll", payload: undefined });
          },
        },
      );
      // Let the flow settle first, so the first messages are not lost to nodes still starting.
      life.setTimeout(() => poller?.start(), 50);
      life.onClose(() => poller?.stop());
    }

    life.onInput<ChargeAmpsMsg>(async (msg, send) => {
      const op = operationOf(msg.topic) ?? operation;
      if (op === "poll") {
        if (!poller) throw new Error('The "poll" operation runs only when chosen in the node dialog; this node is set to "' + operation + '"');
        await poller.trigger();
        return;
      }
      node.status(Status.busy(op));
      let result: OperationResult;
      try {
        result = await runOperation(account.getClient(), op, params(msg), stopping.signal);
      } catch (err) {
        failStatus(err);
        throw err;
      }
      node.status(Status.ok(`${op} ok ${clock(new Date())}`));
      const out: NodeMessage & Record<string, unknown> = msg as NodeMessage & Record<string, unknown>;
      out.topic = msg.topic ?? op;
      out.operation = op;
      out.payload = result.payload;
      if (result.raw !== undefined) out.raw = result.raw;
      for (const [key, value] of Object.entries(result.extra ?? {})) out[key] = value;
      send([out, result.rows ? rowMessages(result.rows) : null]);
      // Show the effect of a change in the next poll right away instead of up to an interval later.
      if (poller && WRITES.has(op)) void poller.trigger();
    });
  }

  RED.nodes.registerType("ev-chargeamps", ChargeAmps);
};

/** Output 1: one message per connector; output 2: one message per non-empty table. */
function pollMessages(result: OperationResult): OutMessage {
  const states: NodeMessage[] = (result.states ?? []).map((s) => ({
    topic: `chargeamps/${s.chargePointId}/${s.state.connectorId ?? 0}`,
    payload: s.state,
    chargePoint: { id: s.chargePointId, name: s.chargePointName, status: s.chargePointStatus },
    raw: s.raw,
  }) as NodeMessage);
  return [states, result.rows ? rowMessages(result.rows) : []];
}

function rowMessages(rows: ThesisRows): NodeMessage[] {
  return Object.values(TABLES)
    .filter((table) => rows[table].length > 0)
    .map((table) => ({ topic: table, table, payload: rows[table] }) as NodeMessage);
}

function clock(d: Date): string {
  return d.toTimeString().slice(0, 8);
}

function textOf(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}


