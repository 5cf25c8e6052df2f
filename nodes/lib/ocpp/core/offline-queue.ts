/**
 * What happens to a command for a charger that is not connected: fail at
 * once with a clear error, or wait (up to a time-to-live) and send it when
 * the charger reconnects. Queued commands keep their order per charger; a
 * command whose time-to-live runs out fails with kind "expired", so nothing
 * is dropped silently.
 */
import type { ChargerDirectory, ChargerLink } from "./contract";
import { CommandError } from "./command-error";

export interface OfflinePolicy {
  mode: "fail" | "queue";
  /** How long a queued command may wait for the charger (default 5 min). */
  ttlMs?: number;
  /** Most commands waiting per charger; more fail at once (default 50). */
  maxPerCharger?: number;
}

interface Queued {
  action: string;
  /** Runs the task; settles (never rejects) when it is finished. */
  start: (link: ChargerLink) => Promise<void>;
  fail: (error: CommandError) => void;
  timer: NodeJS.Timeout;
}

export class CommandQueue {
  private readonly queues = new Map<string, Queued[]>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly directory: ChargerDirectory,
    private readonly policy: OfflinePolicy,
  ) {
    this.unsubscribe = directory.onConnected((link) => this.flush(link));
  }

  /** Commands waiting for `chargerId` (or for all chargers). */
  pending(chargerId?: string): number {
    if (chargerId !== undefined) return this.queues.get(chargerId)?.length ?? 0;
    let total = 0;
    for (const q of this.queues.values()) total += q.length;
    return total;
  }

  /**
   * Runs `task` with the charger's link now, or once it reconnects.
   * `onQueued` is called when the command has to wait (e.g. to show a status).
   */
  run<T>(chargerId: string, action: string, task: (link: ChargerLink) => Promise<T>, options: { onQueued?: () => void } = {}): Promise<T> {
    if (this.closed) return Promise.reject(new CommandError("closed", `${action} to charger ${chargerId} was not sent: the node is stopping`, { chargerId, action }));
    const link = this.directory.link(chargerId);
    if (link) return task(link);
    const known = this.directory.snapshot(chargerId) !== undefined;
    const why = known ? `Charger ${chargerId} is not connected` : `Charger ${chargerId} has never connected to this central system`;
    if (this.policy.mode === "fail") {
      return Promise.reject(new CommandError("offline", `${why}; ${action} was not sent`, { chargerId, action }));
    }
    const queue = this.queues.get(chargerId) ?? [];
    const max = this.policy.maxPerCharger ?? 50;
    if (queue.length >= max) {
      return Promise.reject(new CommandError("offline", `${why} and ${max} commands are already waiting for it; ${action} was not queued`, { chargerId, action }));
    }
    const ttlMs = this.policy.ttlMs ?? 300_000;
    return new Promise<T>((resolve, reject) => {
      const item: Queued = {
        action,
        start: (l) => {
          // A task that throws before returning a promise must not break the flush chain.
          const running = Promise.resolve().then(() => task(l));
          running.then(resolve, reject);
          return running.then(
            () => undefined,
            () => undefined,
          );
        },
        fail: reject,
        timer: setTimeout(() => {
          this.remove(chargerId, item);
          reject(new CommandError("expired", `${why} and did not reconnect within ${ttlMs >= 1000 ? `${Math.round(ttlMs / 1000)} s` : `${ttlMs} ms`}; ${action} was not sent`, { chargerId, action }));
        }, ttlMs),
      };
      queue.push(item);
      this.queues.set(chargerId, queue);
      options.onQueued?.();
    });
  }

  private remove(chargerId: string, item: Queued): void {
    const queue = this.queues.get(chargerId);
    if (!queue) return;
    const index = queue.indexOf(item);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) this.queues.delete(chargerId);
  }

  private flush(link: ChargerLink): void {
    const queue = this.queues.get(link.identity);
    if (!queue || this.closed) return;
    this.queues.delete(link.identity);
    // One after another, in the order they were asked for (chargers handle one call at a time anyway).
    let chain: Promise<void> = Promise.resolve();
    for (const item of queue) {
      clearTimeout(item.timer);
      chain = chain.then(() => item.start(link));
    }
  }

  /** Fails every waiting command (kind "closed") and stops listening for reconnects. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const [chargerId, queue] of this.queues) {
      for (const item of queue) {
        clearTimeout(item.timer);
        item.fail(new CommandError("closed", `${item.action} to charger ${chargerId} was not sent: the node was stopped before the charger reconnected`, { chargerId, action: item.action }));
      }
    }
    this.queues.clear();
  }
}
