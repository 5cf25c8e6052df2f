/** What an ev-influx-config node offers to the write nodes that use it. */
import type { Node } from "node-red";
import type { InfluxLineWriter } from "./writer";

export interface InfluxConfigCredentials {
  token?: string;
}

export interface InfluxConfigNode extends Node<InfluxConfigCredentials> {
  /** A writer for this server, or an Error saying what is wrong with the settings. */
  createWriter(): InfluxLineWriter | Error;
}
