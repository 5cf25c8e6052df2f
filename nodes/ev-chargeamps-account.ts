/**
 * Config node for a Charge Amps cloud account. It owns the session (one
 * login shared by every node that uses the account) and shows the login
 * state on those nodes, since config nodes have no status of their own.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import { ChargeAmpsClient } from "./lib/chargeamps/client";
import { ACCOUNT_TYPE, baseUrlOf, timeoutMsOf, type ChargeAmpsAccountCredentials, type ChargeAmpsAccountNode } from "./lib/chargeamps/account";
import type { SessionState } from "./lib/chargeamps/session";
import { shortReason } from "./lib/chargeamps/reasons";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { Status, StatusFanout } from "./lib/node-red/status";

interface ChargeAmpsAccountDef extends NodeDef {
  baseUrl?: string;
  /** Seconds to wait for one answer from the cloud. */
  timeout?: number | string;
}

function stateStatus(state: SessionState, error?: Error) {
  switch (state) {
    case "logging-in":
      return Status.connecting("logging in");
    case "logged-in":
      return Status.connected();
    case "failed":
      return Status.error(shortReason(error));
    default:
      return Status.clear();
  }
}

export = (RED: NodeAPI): void => {
  function ChargeAmpsAccount(this: Node<ChargeAmpsAccountCredentials>, def: ChargeAmpsAccountDef) {
    RED.nodes.createNode(this, def);
    const node = this as ChargeAmpsAccountNode;
    const life = new Lifecycle(node);
    const fanout = new StatusFanout();
    const baseUrl = baseUrlOf(def.baseUrl);
    const timeoutMs = timeoutMsOf(def.timeout);
    let client: ChargeAmpsClient | undefined;

    node.getClient = () => {
      if (life.closed) throw new Error("The Charge Amps account is being stopped");
      if (!client) {
        const creds = node.credentials ?? {};
        client = new ChargeAmpsClient({
          baseUrl,
          timeoutMs,
          credentials: { email: creds.email ?? "", password: creds.password ?? "", apiKey: creds.apiKey ?? "" },
          onSessionState: (state, error) => {
            if (!life.closed) fanout.set(stateStatus(state, error));
          },
        });
      }
      return client;
    };
    node.register = (user) => fanout.add(user);
    node.deregister = (user) => fanout.remove(user);

    life.onClose(() => {
      // Aborts every request in flight, so no user node waits on a dead session.
      client?.close();
      client = undefined;
    });
  }

  RED.nodes.registerType<Node<ChargeAmpsAccountCredentials>, ChargeAmpsAccountDef, object, ChargeAmpsAccountCredentials>(ACCOUNT_TYPE, ChargeAmpsAccount, {
    credentials: {
      email: { type: "text" },
      password: { type: "password" },
      apiKey: { type: "password" },
    },
  });
};
