/**
 * Runs a task on an interval without ever overlapping two runs. Failures
 * stretch the next delay with backoff and the poller recovers by itself;
 * `trigger()` runs at once (joining a run already in progress) and `stop()`
 * aborts the running task and cancels the timer.
 */
import { backoffDelay, type BackoffOptions, timerDelay } from "./backoff";
import { toError } from "./errors";

export interface PollerOptions {
  intervalMs: number;
  /** Random extra delay 0..jitterMs so many pollers do not fire together. */
  jitterMs?: number;
  /** Delay growth after consecutive failures; capped at max(intervalMs, backoff.maxMs). */
  backoff?: BackoffOptions;
  /** Start with a run instead of waiting one interval (default true). */
  runImmediately?: boolean;
  /**
   * Longest Retry-After honoured (default 24 h): a server asking for a month is
   * asked again after a day instead of being silenced until the next redeploy.
   */
  maxRetryAfterMs?: number;
}

export const DEFAULT_MAX_RETRY_AFTER_MS = 24 * 3600_000;

export interface PollerHandlers<T> {
  onResult?: (result: T) => void;
  /** `nextDelayMs` tells when the poller will try again. */
  onError?: (error: Error, consecutiveFailures: number, nextDelayMs: number) => void;
}

export type PollTask<T> = (signal: AbortSignal) => Promise<T>;

export class Poller<T> {
  private readonly task: PollTask<T>;
  private readonly options: PollerOptions;
  private readonly handlers: PollerHandlers<T>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T | undefined> | undefined;
  private controller: AbortController | undefined;
  private stopped = true;
  private failures = 0;
  /** A wait the failing service asked for (an error's `retryAfterMs`, e.g. from HTTP 429). */
  private retryAfterMs = 0;

  constructor(task: PollTask<T>, options: PollerOptions, handlers: PollerHandlers<T> = {}) {
    if (!(options.intervalMs > 0)) throw new Error("Poll interval must be a positive number of milliseconds");
    this.task = task;
    this.options = options;
    this.handlers = handlers;
  }

  get active(): boolean {
    return !this.stopped;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.options.runImmediately ?? true) void this.trigger();
    else this.schedule(this.options.intervalMs);
  }

  /**
   * Runs the task now unless a run is in progress, in which case that run's
   * outcome is returned. Never rejects: failures go to onError and yield undefined.
   */
  trigger(): Promise<T | undefined> {
    if (this.running) return this.running;
    this.clearTimer();
    const controller = new AbortController();
    this.controller = controller;
    const run = (async (): Promise<T | undefined> => {
      try {
        const result = await this.task(controller.signal);
        if (controller.signal.aborted) return undefined;
        this.failures = 0;
        this.retryAfterMs = 0;
        this.safely(() => this.handlers.onResult?.(result));
        return result;
      } catch (err) {
        if (controller.signal.aborted) return undefined;
        this.failures++;
        this.retryAfterMs = Math.min(retryAfterOf(err), this.options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS);
        const delay = this.nextDelay();
        this.safely(() => this.handlers.onError?.(toError(err), this.failures, delay));
        return undefined;
      } finally {
        this.running = undefined;
        if (this.controller === controller) this.controller = undefined;
        if (!this.stopped && !controller.signal.aborted) this.schedule(this.nextDelay());
      }
    })();
    this.running = run;
    return run;
  }

  /** Stops the timer and aborts a run in progress; resolves once that run has settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    this.controller?.abort();
    const running = this.running;
    if (running) await running;
  }

  /** Never more than setTimeout can wait (a longer delay would fire after 1 ms, in a loop). */
  private nextDelay(): number {
    const base = this.options.intervalMs;
    if (this.failures === 0 || !this.options.backoff) return timerDelay(Math.max(base, this.retryAfterMs) + this.jitter());
    const backoff = this.options.backoff;
    const cap = Math.max(base, backoff.maxMs);
    const delay = Math.min(cap, Math.max(base, backoffDelay(this.failures - 1, backoff)));
    return timerDelay(Math.max(delay, this.retryAfterMs) + this.jitter());
  }

  private jitter(): number {
    const jitter = this.options.jitterMs ?? 0;
    return jitter > 0 ? Math.round(Math.random() * jitter) : 0;
  }

  private schedule(delayMs: number): void {
    this.clearTimer();
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.trigger();
    }, timerDelay(delayMs));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // A handler that throws must not stop the polling loop.
    }
  }
}

/** The `retryAfterMs` an error carries (HttpError sets it from Retry-After), or 0. */
function retryAfterOf(err: unknown): number {
  const value = (err as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
}
