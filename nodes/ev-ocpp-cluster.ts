/**
 * Config node: joins the central systems of several Node-RED instances into
 * one, through an MQTT v5 broker. It owns the broker connection (as the core
 * mqtt broker node does) and the backplane; central systems that select it
 * use its backplane, and its state shows under every node that uses them.
 */
import type { IClientOptions, MqttClient } from "mqtt";
import type { Node, NodeAPI, NodeDef } from "node-red";
import { ClusterBackplane, type BackplaneStatus } from "./lib/cluster/backplane";
import type { ClusterNode } from "./lib/cluster/node-types";
import { readClusterSettings, type ClusterDef, type ClusterSettings } from "./lib/cluster/settings";
import { StripedIds } from "./lib/cluster/striped-ids";
import { errorMessage } from "./lib/errors";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { lazyRequire } from "./lib/lazy";

interface Def extends NodeDef, ClusterDef {
  tls?: string;
}

interface TlsConfigNode extends Node {
  addTLSOptions(opts: Record<string, unknown>): Record<string, unknown>;
}

// Loaded only when a cluster is deployed: single-instance users never pay for the MQTT client (an optional dependency).
const loadMqtt = lazyRequire<{ connect(url: string, options: IClientOptions): MqttClient }>("mqtt");

export = (RED: NodeAPI) => {
  function OcppCluster(this: ClusterNode, def: Def) {
    RED.nodes.createNode(this, def);
    const life = new Lifecycle(this);
    const listeners = new Set<(status: BackplaneStatus, settings: ClusterSettings | undefined) => void>();
    const offline: BackplaneStatus = { connected: false, instances: 0, queuedEvents: 0, droppedEvents: 0 };
    let last: BackplaneStatus = offline;
    this.onStatus = (listener) => {
      listeners.add(listener);
      listener(last, this.settings);
      return () => listeners.delete(listener);
    };
    const tell = (status: BackplaneStatus): void => {
      last = status;
      for (const listener of listeners) listener(status, this.settings);
    };

    try {
      const settings = readClusterSettings(def);
      const mqtt = loadMqtt();
      const creds = this.credentials ?? {};
      const tlsNode = def.tls ? (RED.nodes.getNode(def.tls) as TlsConfigNode | null) : null;
      const tls = tlsNode ? tlsNode.addTLSOptions({}) : {};
      const backplane = new ClusterBackplane({
        cluster: settings.cluster,
        instance: settings.instance,
        index: settings.index,
        rootPrefix: settings.prefix,
        connect: (options) =>
          mqtt.connect(settings.brokerUrl, {
            ...(tls as IClientOptions),
            ...options,
            username: creds.user || undefined,
            password: creds.password || undefined,
          }),
        warn: (text) => this.warn(text),
      });
      this.settings = settings;
      this.ids = new StripedIds(settings.index);
      this.backplane = backplane;
      if (settings.indexDefaulted) this.log(`OCPP cluster ${settings.cluster}: instance "${settings.instance}" uses number 0 (EVKIT_INSTANCE_INDEX is not set); give every instance its own number`);
      const off = backplane.onStatus(tell);
      backplane.start();
      life.onClose(async () => {
        off();
        await backplane.stop();
      });
    } catch (err) {
      this.failure = errorMessage(err);
      this.error(`OCPP cluster not started: ${this.failure}`);
      tell({ ...offline, error: this.failure });
    }
  }

  RED.nodes.registerType("ev-ocpp-cluster", OcppCluster as unknown as Parameters<typeof RED.nodes.registerType>[1], {
    credentials: { user: { type: "text" }, password: { type: "password" } },
  });
};
