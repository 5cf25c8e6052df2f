/**
 * The seam between the version-neutral core and one OCPP version. An
 * adapter answers the calls a charger of its version may send, one small
 * handler per action, and turns them into the core's normalised events and
 * state (registry, sessions, id-tag policy). The core never asks "which
 * version is this?": it picks the adapter by the negotiated subprotocol.
 * Adding a version means one more adapter folder and one line in
 * ../protocols.ts.
 */
import type { ChargerRegistry, ConnectorHint } from "./registry";
import type { MeterHint, TransactionStore } from "./transactions";
import type { PendingDecision } from "./decisions";
import type { CentralEvent, Problem, StartAuthorizeEvent } from "./server";
import type { AuthorizeEvent } from "./events";
import type { IdTagInfo } from "../v16/messages";
import type { ChargerCapabilities } from "./capabilities";

/** What a handler may use of the core. */
export interface CentralCore {
  readonly directory: ChargerRegistry;
  readonly transactions: TransactionStore;
  readonly heartbeatIntervalS: number;
  emit(event: CentralEvent, decision?: PendingDecision<unknown>): void;
  problem(problem: Problem): void;
  /** Whether anyone wants this kind of event from this charger (events nobody wants need not be built). */
  wants(kind: CentralEvent["kind"], identity: string): boolean;
  /** The one authorization policy of every version: a flow decision if a flow decides, else the fallback (list / accept / reject). */
  decideIdTag(kind: "authorize" | "start", identity: string, event: AuthorizeEvent | StartAuthorizeEvent, idTag: string): Promise<IdTagInfo>;
  /** The id-tag list alone (no flow question); never throws. */
  checkIdTag(idTag: string, now: Date): IdTagInfo;
}

/** The charger a call came from, on this connection. */
export interface ChargerContext {
  readonly identity: string;
  /** Negotiated subprotocol, undefined when the charger offered none. */
  readonly protocol: string | undefined;
  /** Marks the charger usable for commands (once, for the current connection). */
  announce(): void;
  /** What MeterValues found on this connection last time (its session, its connector snapshot), checked before use. */
  readonly meterHint?: MeterHint;
  readonly connectorHint?: ConnectorHint;
}

/**
 * Answers one charger-initiated call. May return the answer directly (the
 * hot path, MeterValues, stays synchronous) or a promise. A thrown error
 * becomes a CALLERROR: an ocpp-rpc RPC error passes through, anything else
 * is reported and answered with InternalError.
 */
export type ActionHandler = (core: CentralCore, charger: ChargerContext, params: unknown, now: Date) => unknown;

export interface ProtocolAdapter {
  /** The websocket subprotocol, e.g. "ocpp1.6". */
  readonly protocol: string;
  /** One handler per action the charger may send; actions missing here are answered NotImplemented by ocpp-rpc. */
  readonly handlers: Readonly<Record<string, ActionHandler>>;
  /** Called once per connection, after the core registered the handlers. */
  onConnected?(core: CentralCore, charger: ChargerContext): void;
  /** What the charger can do, from what this version learnt into its `configuration` (shown in the charger's state). */
  describe?(configuration: Readonly<Record<string, string>>): ChargerCapabilities;
}
