/** Exponential backoff with jitter, and an abortable sleep. */

export interface BackoffOptions {
  /** First delay in ms. */
  initialMs: number;
  /** Upper bound for any delay in ms. */
  maxMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** 0..1: the share of the delay that is randomised (default 0.2). */
  jitter?: number;
}

/**
 * The longest delay setTimeout accepts (2^31-1 ms, about 24.8 days). Node fires
 * a longer one after 1 ms, which turns a long wait into a tight loop.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** A delay setTimeout will really wait: 0..MAX_TIMER_MS (NaN and negatives become 0). */
export function timerDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(MAX_TIMER_MS, ms);
}

/** A wait in words for a status or log line: "45 s", "12 min", "3 h", "2 d". */
export function formatDelay(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.2 };

/** Delay before retry number `attempt` (0 = first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const factor = options.factor ?? 2;
  const jitter = Math.min(Math.max(options.jitter ?? 0.2, 0), 1);
  const base = Math.min(options.maxMs, options.initialMs * Math.pow(factor, Math.max(0, attempt)));
  // Jitter spreads retries of many nodes so they do not hit a recovering server at once.
  const spread = base * jitter;
  return timerDelay(Math.round(base - spread + random() * 2 * spread));
}

export class AbortedError extends Error {
  constructor(message = "Stopped") {
    super(message);
    this.name = "AbortedError";
  }
}

/** Resolves after `ms`, or rejects with AbortedError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, timerDelay(ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Parses an HTTP Retry-After header (seconds or an HTTP date) into ms.
 * Returns undefined when absent or unreadable.
 */
export function parseRetryAfter(header: unknown, now = Date.now()): number | undefined {
  if (typeof header !== "string" && typeof header !== "number") return undefined;
  const text = String(header).trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
