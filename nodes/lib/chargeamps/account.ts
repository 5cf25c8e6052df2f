/** What the account config node offers to the nodes that use it (types and pure helpers only). */
import type { Node } from "node-red";
import type { ChargeAmpsClient } from "./client";
import { DEFAULT_BASE_URL } from "./models";

export const ACCOUNT_TYPE = "ev-chargeamps-account";

export interface ChargeAmpsAccountCredentials {
  email?: string;
  password?: string;
  apiKey?: string;
}

export interface ChargeAmpsAccountNode extends Node<ChargeAmpsAccountCredentials> {
  /** The shared client (created on first use); throws when the account is closed. */
  getClient(): ChargeAmpsClient;
  register(user: Node): void;
  deregister(user: Node): void;
}

export function baseUrlOf(value: string | undefined): string {
  const url = (value ?? "").trim();
  return url === "" ? DEFAULT_BASE_URL : url;
}

export function timeoutMsOf(value: number | string | undefined): number {
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 10_000;
}
