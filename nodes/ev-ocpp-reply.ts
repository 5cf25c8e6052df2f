/**
 * Reply node: answers a decision an ev-ocpp-in node handed to the flow
 * (Authorize, StartTransaction's id tag, an unknown charger asking to
 * connect). The answer is msg.payload; msg.ocpp.decisionId says which
 * question it answers.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { Status } from "./lib/node-red/status";
import type { CentralSystemNode, OcppMsgInfo } from "./lib/ocpp/core/node-types";

interface Def extends NodeDef {
  server: string;
}

type ReplyMsg = NodeMessageInFlow & { ocpp?: Partial<OcppMsgInfo> };

export = (RED: NodeAPI) => {
  function OcppReply(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const life = new Lifecycle(this);
    const server = RED.nodes.getNode(def.server) as CentralSystemNode | null;
    if (!server) {
      life.refuse("no central system", new Error("Choose a central system (ev-ocpp-central-system) in this node's settings"));
      return;
    }
    life.onInput((msg: ReplyMsg) => {
      const id = msg.ocpp?.decisionId;
      if (typeof id !== "string" || !id) {
        throw new Error(
          'msg.ocpp.decisionId is missing: wire this node after an "OCPP in" node that has "let this flow decide" switched on, and keep msg.ocpp',
        );
      }
      if (msg.ocpp?.centralSystem && msg.ocpp.centralSystem !== server.id) {
        throw new Error("This question came from another central system than the one this reply node uses");
      }
      if (!server.central) throw new Error("The central system is not running (see its status), so there is nothing to answer");
      const answered = server.reply(id, msg.payload);
      if (!answered) {
        this.status(Status.warning("too late: fallback answered"));
        throw new Error(
          `Answered too late: the ${msg.ocpp?.decisionKind ?? ""} question of ${msg.ocpp?.identity ?? "the charger"} was already answered by the fallback (raise the decision timeout if the flow needs longer)`,
        );
      }
      this.status(Status.ok(`${msg.ocpp?.identity ?? ""}: ${describe(msg.payload)}`));
    });
  }

  RED.nodes.registerType("ev-ocpp-reply", OcppReply);
};

function describe(answer: unknown): string {
  if (typeof answer === "string" || typeof answer === "boolean") return String(answer);
  if (answer && typeof answer === "object") {
    const obj = answer as { status?: unknown; idTagInfo?: { status?: unknown } };
    return String(obj.status ?? obj.idTagInfo?.status ?? "answered");
  }
  return "answered";
}
