/**
 * A minimal OCPP 2.0.1 charge point written directly on `ws` from the
 * OCPP-J framing and the official 2.0.1 message shapes. It shares no code
 * with ocpp-rpc, so a bug common to our server and ocpp-rpc cannot hide.
 */
import { once } from "node:events";
import WebSocket from "ws";

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

  call<T = Record<string, unknown>>(action: string, payload: object): Promise<T> {
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
