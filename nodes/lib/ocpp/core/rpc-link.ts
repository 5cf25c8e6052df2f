/**
 * The narrow slice of ocpp-rpc's server-side client we use (its bundled
 * typings are loose), and the ChargerLink the command side sees.
 */
import type { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import type { ChargerLink } from "./contract";
import { errorMessage } from "../../errors";

export interface RpcHandshake {
  remoteAddress: string | undefined;
  headers: IncomingMessage["headers"];
  protocols: Set<string>;
  endpoint: string;
  identity: string;
  query: URLSearchParams;
  request: IncomingMessage;
  password: Buffer | undefined;
}

export interface RpcCallContext {
  method: string;
  params: unknown;
  messageId: string;
  signal: AbortSignal;
}

export interface RpcServerClient extends EventEmitter {
  readonly identity: string;
  readonly protocol: string | undefined;
  readonly handshake: RpcHandshake;
  readonly session: Record<string, unknown>;
  readonly state: number;
  handle(method: string, handler: (ctx: RpcCallContext) => unknown): void;
  call(method: string, params: unknown, options?: { callTimeoutMs?: number; signal?: AbortSignal }): Promise<unknown>;
  close(options?: { code?: number; reason?: string; awaitPending?: boolean; force?: boolean }): Promise<unknown>;
  reconfigure(options: Record<string, unknown>): void;
}

/** An Error that carries the OCPP CALLERROR code, as the contract promises. */
export class ChargerCallError extends Error {
  constructor(
    message: string,
    readonly rpcErrorCode?: string,
  ) {
    super(message);
    this.name = "ChargerCallError";
  }
}

export class RpcLink implements ChargerLink {
  constructor(
    private readonly client: RpcServerClient,
    private readonly defaultTimeoutMs: number,
  ) {}

  get identity(): string {
    return this.client.identity;
  }

  get protocol(): string | undefined {
    return this.client.protocol || undefined;
  }

  async call<T = unknown>(action: string, payload: object, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<T> {
    const timeoutMs = options?.timeoutMs ?? this.defaultTimeoutMs;
    try {
      return (await this.client.call(action, payload, { callTimeoutMs: timeoutMs, signal: options?.signal })) as T;
    } catch (err) {
      throw describeCallFailure(this.identity, action, timeoutMs, err);
    }
  }
}

function describeCallFailure(identity: string, action: string, timeoutMs: number, err: unknown): ChargerCallError {
  const e = err as { name?: string; rpcErrorCode?: string; message?: string; details?: { errors?: unknown; data?: unknown } };
  // ocpp-rpc's own schema check of our outgoing call fails before anything is sent (ajv errors + the data).
  if (e?.rpcErrorCode && Array.isArray(e.details?.errors) && e.details && "data" in e.details) {
    return new ChargerCallError(`${action} was not sent to charger ${identity}: it is not valid OCPP 1.6 (${e.message ?? e.rpcErrorCode})`, e.rpcErrorCode);
  }
  if (e?.rpcErrorCode) {
    const detail = e.message ? `: ${e.message}` : "";
    return new ChargerCallError(`Charger ${identity} refused ${action} with ${e.rpcErrorCode}${detail}`, e.rpcErrorCode);
  }
  if (e?.name === "TimeoutError" || e?.message === "Call timeout") {
    return new ChargerCallError(`Charger ${identity} did not answer ${action} within ${Math.round(timeoutMs / 100) / 10} s`);
  }
  if (e?.name === "AbortError") return new ChargerCallError(`${action} to charger ${identity} was cancelled`);
  const text = errorMessage(err);
  if (/socket not open|disconnected|going away/i.test(text)) {
    return new ChargerCallError(`Charger ${identity} is not connected (${action} not sent or not answered)`);
  }
  return new ChargerCallError(`${action} to charger ${identity} failed: ${text}`);
}
