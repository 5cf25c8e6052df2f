/**
 * Runs one task per site in parallel: at most `concurrency` at once, starts
 * spaced by `staggerMs` (so a rate limiter does not trip), and all of it
 * inside one overall time budget. Each task ends on its own: a slow or
 * failing site never holds back the others, and its outcome says why.
 */
import { setMaxListeners } from "node:events";
import { AbortedError, sleep, timerDelay } from "../backoff";
import { anySignal } from "../http-client";
import { toError } from "../errors";

export interface ScheduleOptions {
  concurrency: number;
  /** Least time between two starts (default 100 ms). */
  staggerMs?: number;
  /** Everything must be done within this many ms; unfinished tasks are aborted. */
  budgetMs: number;
  signal?: AbortSignal;
}

export type TaskOutcome<R> =
  | { ok: true; value: R; elapsedMs: number }
  | { ok: false; error: Error; elapsedMs: number; started: boolean };

export class BudgetExceededError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BudgetExceededError";
  }
}

export const DEFAULT_STAGGER_MS = 100;

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

export async function runScheduled<T, R>(
  items: readonly T[],
  worker: (item: T, signal: AbortSignal) => Promise<R>,
  options: ScheduleOptions,
): Promise<Array<TaskOutcome<R>>> {
  const concurrency = Math.max(1, Math.floor(options.concurrency) || 1);
  const stagger = Math.max(0, options.staggerMs ?? DEFAULT_STAGGER_MS);
  const budget = new AbortController();
  const budgetTimer = setTimeout(() => budget.abort(), timerDelay(options.budgetMs));
  const stop = anySignal([budget.signal, options.signal]);
  // Every running task (and each of its requests) listens on this one signal.
  setMaxListeners(0, stop);
  const outcomes: Array<TaskOutcome<R>> = new Array(items.length);
  const running = new Set<Promise<void>>();
  let lastStart = -Infinity;

  const stopReason = (): Error =>
    options.signal?.aborted
      ? new AbortedError("Cancelled because the node stopped")
      : new BudgetExceededError(`did not finish within the overall time budget of ${seconds(options.budgetMs)}`);

  // Resolves when the signal aborts, so a task that ignores its signal still ends on time.
  const stopped = new Promise<never>((_, reject) => {
    const onStop = (): void => reject(stopReason());
    if (stop.aborted) onStop();
    else stop.addEventListener("abort", onStop, { once: true });
  });
  stopped.catch(() => undefined);

  try {
    for (let index = 0; index < items.length; index++) {
      try {
        while (running.size >= concurrency) await Promise.race([Promise.race(running), stopped]);
        const wait = lastStart + stagger - Date.now();
        if (wait > 0) await sleep(wait, stop);
        if (stop.aborted) throw stopReason();
      } catch {
        for (let rest = index; rest < items.length; rest++) {
          const reason = stopReason();
          reason.message = options.signal?.aborted
            ? reason.message
            : `was not started: the overall time budget of ${seconds(options.budgetMs)} ran out`;
          outcomes[rest] = { ok: false, error: reason, elapsedMs: 0, started: false };
        }
        break;
      }
      lastStart = Date.now();
      const started = lastStart;
      const item = items[index];
      const slot = index;
      const task = (async () => {
        try {
          const value = await Promise.race([worker(item, stop), stopped]);
          outcomes[slot] = { ok: true, value, elapsedMs: Date.now() - started };
        } catch (err) {
          // A task cancelled by the budget reports the budget, not the abort it caused.
          const error = stop.aborted ? stopReason() : toError(err);
          outcomes[slot] = { ok: false, error, elapsedMs: Date.now() - started, started: true };
        }
      })();
      running.add(task);
      task.finally(() => running.delete(task));
    }
    await Promise.all(running);
  } finally {
    clearTimeout(budgetTimer);
    // Releases the listeners this run put on the caller's signal.
    budget.abort();
  }
  return outcomes;
}
