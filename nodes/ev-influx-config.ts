/**
 * ev-influx-config: where and how to write (URL, organisation, bucket,
 * precision, token as a credential). Write nodes ask it for a writer.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import type { WritePrecisionType } from "@influxdata/influxdb-client";
import { InfluxLineWriter, PRECISIONS } from "./lib/influx/writer";
import type { InfluxConfigCredentials, InfluxConfigNode } from "./lib/influx/config-node";

interface InfluxConfigDef extends NodeDef {
  url: string;
  org: string;
  bucket: string;
  precision: WritePrecisionType;
  timeout: number | string;
  tlsVerify: boolean;
}

export = (RED: NodeAPI): void => {
  function InfluxConfig(this: Node<InfluxConfigCredentials>, def: InfluxConfigDef): void {
    RED.nodes.createNode(this, def);
    const node = this as InfluxConfigNode;
    const precision = PRECISIONS.includes(def.precision) ? def.precision : "ms";
    const timeoutS = Number(def.timeout);
    node.createWriter = () => {
      try {
        return new InfluxLineWriter({
          url: (def.url || "").trim(),
          org: (def.org || "").trim(),
          bucket: (def.bucket || "").trim(),
          token: node.credentials?.token,
          precision,
          timeoutMs: Number.isFinite(timeoutS) && timeoutS > 0 ? timeoutS * 1000 : 10_000,
          rejectUnauthorized: def.tlsVerify !== false,
        });
      } catch (err) {
        return err as Error;
      }
    };
  }
  RED.nodes.registerType<Node<InfluxConfigCredentials>, InfluxConfigDef, unknown, InfluxConfigCredentials>("ev-influx-config", InfluxConfig, {
    credentials: { token: { type: "password" } },
  });
};
