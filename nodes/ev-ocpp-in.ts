/**
 * Events node: emits what chargers do, as normalised events, filtered by
 * charger and kind. With "let this flow decide" on, Authorize,
 * StartTransaction and unknown-charger events carry a decision id that an
 * ev-ocpp-reply node answers. Any input message asks for the charger list.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { nextMessageId } from "./lib/node-red/message-id";
import type { CentralSubscriber, CentralSystemNode, OcppMsgInfo } from "./lib/ocpp/core/node-types";
import type { CentralEvent, Problem, RawFrame } from "./lib/ocpp/core/server";
import type { PendingDecision } from "./lib/ocpp/core/decisions";
import { splitList } from "./lib/ocpp/core/settings";
import { matchesFilter, OPT_IN_KINDS, type OcppEventKind } from "./lib/ocpp/core/events";

interface Def extends NodeDef {
  server: string;
  chargers?: string;
  kinds?: string;
  decide?: boolean;
  raw?: boolean;
  /** "local" (chargers connected to this Node-RED) or "cluster" (also those on the other instances of its cluster). */
  scope?: string;
}

/** Not in the kind list: only the charger filter applies to them. */
const UNFILTERED_KINDS: ReadonlySet<string> = new Set(["error", "raw", "connect", "rejected"]);

export = (RED: NodeAPI) => {
  function OcppIn(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const life = new Lifecycle(this);
    const server = RED.nodes.getNode(def.server) as CentralSystemNode | null;
    if (!server) {
      life.refuse("no central system", new Error("Choose a central system (ev-ocpp-central-system) in this node's settings"));
      return;
    }
    const identities = splitList(def.chargers);
    const kinds = splitList(def.kinds);
    const decide = def.decide === true;
    const raw = def.raw === true;
    const matches = (kind: string, identity: string): boolean => matchesFilter({ kind: kind as OcppEventKind, identity }, { identities, kinds });
    // Asked for every event of every charger: no filter, no work (opt-in kinds such as charger.state only when ticked).
    const everything = identities.length === 0 && kinds.length === 0;

    const sub: CentralSubscriber = {
      node: this,
      wants: (kind, identity) =>
        everything ? !OPT_IN_KINDS.has(kind) : UNFILTERED_KINDS.has(kind) ? matchesFilter({ kind: "boot", identity }, { identities }) : matches(kind, identity),
      decides: (kind, identity) => decide && matchesFilter({ kind: "boot", identity }, { identities }) && (kind === "connect" || matches("authorize", identity)),
      wantsRaw: () => raw,
      onEvent: (event: CentralEvent, decision?: PendingDecision<unknown>) => {
        const ocpp: OcppMsgInfo = { identity: event.identity, kind: event.kind, centralSystem: server.id };
        if (decision && decide) {
          ocpp.decisionId = decision.id;
          ocpp.decisionKind = decision.kind;
          ocpp.decisionTimeoutMs = server.settings?.decisionTimeoutMs;
        }
        life.send({ _msgid: nextMessageId(), topic: `${event.identity}/${event.kind}`, payload: event, ocpp } as NodeMessage);
      },
      onRaw: (frame: RawFrame) => {
        life.send({ topic: `${frame.identity}/raw`, payload: frame, ocpp: { identity: frame.identity, kind: "raw", centralSystem: server.id } } as NodeMessage);
      },
      onProblem: (problem: Problem) => {
        if (problem.level === "warn") {
          if (!life.closed) this.warn(problem.message);
          return;
        }
        life.reportError(new Error(problem.message), { topic: `${problem.identity ?? "server"}/error`, payload: problem } as NodeMessage);
      },
    };
    life.onClose(server.subscribe(sub));
    if (def.scope === "cluster" && typeof server.onClusterEvent === "function") {
      // Chargers held by other instances: their events, without decisions (those are made on the instance that holds the charger).
      life.onClose(
        server.onClusterEvent((clusterEvent) => {
          if (!sub.wants(clusterEvent.kind, clusterEvent.identity)) return;
          const ocpp: OcppMsgInfo = { identity: clusterEvent.identity, kind: clusterEvent.kind, centralSystem: server.id, origin: clusterEvent.origin };
          life.send({ _msgid: nextMessageId(), topic: `${clusterEvent.identity}/${clusterEvent.kind}`, payload: clusterEvent.event, ocpp } as NodeMessage);
        }),
      );
    }

    life.onInput((msg: NodeMessageInFlow & { charger?: unknown }, send) => {
      const wanted = typeof msg.charger === "string" ? msg.charger : undefined;
      if (wanted !== undefined) {
        const snapshot = server.directory.snapshot(wanted);
        if (!snapshot) throw new Error(`No charger "${wanted}" has connected since Node-RED started`);
        send({ ...msg, topic: `${wanted}/state`, payload: snapshot });
        return;
      }
      send({ ...msg, topic: "chargers", payload: server.directory.list() });
    });
  }

  RED.nodes.registerType("ev-ocpp-in", OcppIn);
};
