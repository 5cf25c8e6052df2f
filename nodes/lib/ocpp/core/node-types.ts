/**
 * Types shared by the three OCPP node files (config, events, reply), kept
 * here because a node file can only `export =` its initializer.
 */
import type { Node } from "node-red";
import type { ChargerDirectory, IdTagDirectory } from "./contract";
import type { DecisionKind, PendingDecision } from "./decisions";
import type { CentralEvent, CentralSystem, Problem, RawFrame } from "./server";
import type { CentralSettings } from "./settings";

/** What an events node tells the central system about itself. */
export interface CentralSubscriber {
  node: Node;
  /** `kind` is an event kind, or "raw" / "error" / "connect" / "rejected". */
  wants(kind: string, identity: string): boolean;
  decides(kind: DecisionKind, identity: string): boolean;
  wantsRaw(): boolean;
  onEvent(event: CentralEvent, decision?: PendingDecision<unknown>): void;
  onRaw(frame: RawFrame): void;
  onProblem(problem: Problem): void;
}

export interface CentralCredentials {
  passwords?: string;
  idTags?: string;
}

/** The runtime instance of an ev-ocpp-central-system config node: its public API. */
export interface CentralSystemNode extends Node<CentralCredentials> {
  /** The seam with the command side: live links, snapshots, connect listeners. Usable before the port is up. */
  directory: ChargerDirectory;
  /** The id-tag list (authorization and local-list sync). */
  idTags: IdTagDirectory;
  /** Resolves once the server listens; rejects with a plain-words error if it cannot. */
  ready: Promise<void>;
  /** The running server, once ready. */
  central?: CentralSystem;
  settings?: CentralSettings;
  subscribe(sub: CentralSubscriber): () => void;
  /** Answers a pending decision; false when it was already answered or timed out; throws on an unreadable answer. */
  reply(decisionId: string, answer: unknown): boolean;
  /** The URL to type into the wallbox, e.g. ws://<host>:9220/ocpp/<chargerId>. */
  chargerUrl(): string;
}

/** The `msg.ocpp` of an events-node message. */
export interface OcppMsgInfo {
  identity: string;
  kind: string;
  /** Set when a flow may answer this event with ev-ocpp-reply. */
  decisionId?: string;
  decisionKind?: DecisionKind;
  /** Milliseconds the flow has before the fallback answers. */
  decisionTimeoutMs?: number;
  /** The central-system config node id, so a reply reaches the right server. */
  centralSystem: string;
}
