/**
 * Load-generator parts shared by the OCPP benchmark modes: a deliberately
 * thin OCPP-J charger, a bounded pool, percentiles, and the file-descriptor
 * limit that ten thousand websockets need.
 */
import { readFileSync } from "node:fs";
import WebSocket from "ws";

/** Called with the answer frame as text (no JSON parsing), or undefined when the socket closed first. */
export type Done = (ok: boolean, frame: string | undefined) => void;

interface Queued {
  action: string;
  /** The call's payload, already serialised. */
  json: string;
  done: Done;
}

/**
 * A deliberately thin OCPP-J charger (plain ws): on a 2-core machine the load
 * generator shares the CPU with the server, and a heavier client would
 * measure itself instead of the server. Calls go out as pre-serialised
 * payloads with a callback (no promise, no schema, no JSON parse of the
 * answer: only its message id is read). One call at a time, as OCPP-J
 * requires; a call made while one is in flight waits in a queue (so its
 * measured latency includes that wait, as a real charger's would).
 */
export class LightCharger {
  private seq = 0;
  private pendingId = "";
  private pendingDone?: Done;
  private readonly queue: Queued[] = [];
  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      const done = this.pendingDone;
      if (!done) return;
      // [3,"<id>",{…}] or [4,"<id>","<code>",…]: the id is between the first two quotes.
      const text = data.toString("latin1");
      const from = text.indexOf('"') + 1;
      const to = text.indexOf('"', from);
      if (text.slice(from, to) !== this.pendingId) return;
      this.pendingDone = undefined;
      done(text.charCodeAt(1) === 51 /* 3 */, text);
      this.next();
    });
    ws.on("close", () => {
      const done = this.pendingDone;
      this.pendingDone = undefined;
      done?.(false, undefined);
      for (const q of this.queue.splice(0)) q.done(false, undefined);
    });
  }

  static open(url: string): Promise<LightCharger> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ["ocpp1.6"], { perMessageDeflate: false });
      ws.once("open", () => resolve(new LightCharger(ws)));
      ws.once("error", reject);
    });
  }

  /** The cheap path: a payload serialised by the caller, answered through a callback. */
  send(action: string, json: string, done: Done): void {
    this.queue.push({ action, json, done });
    if (!this.pendingDone) this.next();
  }

  /** The convenient path (set-up): parses the answer. */
  call(action: string, payload: object): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.send(action, JSON.stringify(payload), (ok, frame) => {
        if (frame === undefined) return reject(new Error("closed"));
        const parsed = JSON.parse(frame) as [number, string, unknown, unknown?];
        if (ok) resolve(parsed[2]);
        else reject(new Error(`${String(parsed[2])}: ${String(parsed[3])}`));
      });
    });
  }

  private next(): void {
    const q = this.queue.shift();
    if (!q) return;
    const id = String(++this.seq);
    this.pendingId = id;
    this.pendingDone = q.done;
    this.ws.send(`[2,"${id}","${q.action}",${q.json}]`);
  }

  close(): void {
    this.ws.terminate();
  }
}

export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** p-th percentile of an ascending array (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** This process's open-files limit (soft, hard), from /proc (Linux); undefined elsewhere. */
export function fileLimit(): { soft: number; hard: number } | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const [soft, hard] = (line ?? "").split(/\s+/).slice(3, 5).map((v) => (v === "unlimited" ? Infinity : Number(v)));
    return Number.isFinite(soft) || soft === Infinity ? { soft, hard } : undefined;
  } catch {
    return undefined;
  }
}

/** Sockets each process holds for N chargers (the load generator holds N, the server N), plus room for the runtime. */
export function filesNeeded(chargers: number): number {
  return chargers + 1024;
}

/**
 * Time this process's main thread has spent runnable but waiting for a CPU, in ms
 * (/proc/self/schedstat, second field; Linux): the machine's other load, as it hits this process.
 */
export function runQueueWaitMs(): number {
  try {
    return Number(readFileSync("/proc/self/schedstat", "utf8").split(" ")[1]) / 1e6;
  } catch {
    return NaN;
  }
}
