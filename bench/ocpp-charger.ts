/**
 * Load-generator parts shared by the OCPP benchmark modes: a deliberately
 * thin OCPP-J charger, a bounded pool, percentiles, and the file-descriptor
 * limit that ten thousand websockets need.
 */
import { readFileSync } from "node:fs";
import WebSocket from "ws";

interface Pending {
  id: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface Queued {
  action: string;
  payload: object;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/**
 * A deliberately thin OCPP-J charger (plain ws): on a 2-core machine the load
 * generator shares the CPU with the server, and a heavier client would
 * measure itself instead of the server. One call at a time, as OCPP-J
 * requires; a call made while one is in flight waits in a queue (so its
 * measured latency includes that wait, as a real charger's would).
 */
export class LightCharger {
  private seq = 0;
  private pending?: Pending;
  private readonly queue: Queued[] = [];
  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data)) as [number, string, unknown, unknown?];
      const p = this.pending;
      if (!p || frame[1] !== p.id) return;
      this.pending = undefined;
      if (frame[0] === 3) p.resolve(frame[2]);
      else p.reject(new Error(`${String(frame[2])}: ${String(frame[3])}`));
      this.next();
    });
    ws.on("close", () => {
      this.pending?.reject(new Error("closed"));
      this.pending = undefined;
      for (const q of this.queue.splice(0)) q.reject(new Error("closed"));
    });
  }

  static open(url: string): Promise<LightCharger> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ["ocpp1.6"], { perMessageDeflate: false });
      ws.once("open", () => resolve(new LightCharger(ws)));
      ws.once("error", reject);
    });
  }

  call(action: string, payload: object): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ action, payload, resolve, reject });
      if (!this.pending) this.next();
    });
  }

  private next(): void {
    const q = this.queue.shift();
    if (!q) return;
    const id = String(++this.seq);
    this.pending = { id, resolve: q.resolve, reject: q.reject };
    this.ws.send(JSON.stringify([2, id, q.action, q.payload]));
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
