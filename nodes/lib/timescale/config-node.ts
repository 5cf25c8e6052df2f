/** What an ev-timescale-config node offers to the nodes that use it. */
import type { Node } from "node-red";
import type { Pool } from "pg";

export interface TimescaleConfigCredentials {
  password?: string;
}

export interface TimescaleConfigNode extends Node<TimescaleConfigCredentials> {
  /** The shared pool (created on first use), or an Error saying what is wrong with the settings. */
  getPool(): Pool | Error;
  /** Keeps the pool open until `flush` settles (a user's last flush on close). */
  hold(flush: Promise<unknown>): void;
  /** host:port/database, for messages (no secrets). */
  target: string;
}
