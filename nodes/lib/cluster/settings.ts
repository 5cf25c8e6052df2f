/**
 * The cluster config node's settings, read and checked in one place. The
 * same flow is deployed on every instance, so the instance name and index
 * usually come from environment variables (Node-RED replaces ${VAR} in
 * node properties): they must differ per instance.
 */
import os from "node:os";

export interface ClusterDef {
  broker?: string;
  cluster?: string;
  instance?: string;
  index?: string | number;
  prefix?: string;
  publishEvents?: boolean | string;
}

export interface ClusterSettings {
  brokerUrl: string;
  cluster: string;
  instance: string;
  index: number;
  /** The number was not set (no EVKIT_INSTANCE_INDEX): 0 is used, fine for one instance; the cluster warns if another instance uses it too. */
  indexDefaulted: boolean;
  prefix: string;
  publishEvents: boolean;
}

export const MAX_INSTANCES = 16;

export function readClusterSettings(def: ClusterDef, hostname = os.hostname()): ClusterSettings {
  const brokerUrl = (def.broker ?? "").trim();
  if (!/^(mqtts?|wss?|tcp|ssl):\/\/[^/]+/i.test(brokerUrl)) {
    throw new Error(`The broker URL "${brokerUrl}" is not an MQTT URL; write for example mqtt://192.168.1.10:1883 or mqtts://broker:8883`);
  }
  if (/^\w+:\/\/[^/@]*:[^/@]*@/.test(brokerUrl)) {
    throw new Error("Put the broker's user name and password in the User and Password fields, not in the URL (the URL is saved in the flow)");
  }
  const cluster = (def.cluster ?? "").trim() || "evkit";
  // Node-RED leaves "${VAR}" as it is when the variable is not set: treat that as not set.
  const unset = (value: unknown): boolean => String(value ?? "").trim() === "" || /^\$\{\w+\}$/.test(String(value).trim());
  const instance = unset(def.instance) ? hostname : String(def.instance).trim();
  const indexDefaulted = unset(def.index);
  const index = indexDefaulted ? 0 : Number(def.index);
  if (!Number.isInteger(index) || index < 0 || index >= MAX_INSTANCES) {
    throw new Error(
      `The instance number must be a whole number from 0 to ${MAX_INSTANCES - 1}, different on every instance (got "${def.index ?? ""}"); ` +
        "it keeps OCPP 1.6 transaction ids unique across the cluster. Tip: set it to ${EVKIT_INSTANCE_INDEX} and give each Node-RED that environment variable",
    );
  }
  if (/[+#/]/.test(cluster)) throw new Error(`The cluster name "${cluster}" must not contain / + or #`);
  const prefix = (def.prefix ?? "").trim().replace(/^\/+|\/+$/g, "") || "ocpp";
  if (/[+#]/.test(prefix)) throw new Error(`The topic prefix "${prefix}" must not contain + or #`);
  return {
    brokerUrl,
    cluster,
    instance,
    index,
    indexDefaulted,
    prefix,
    publishEvents: def.publishEvents !== false && def.publishEvents !== "false",
  };
}
