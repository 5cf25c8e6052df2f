/**
 * Limits on what an abusive (or broken) peer can make the central system
 * do: identities made safe for logs, repeated problems rate-limited with a
 * count of what was suppressed, and a per-address brake on password
 * guessing (issue 13 items 9 and 10). Each map is capped, so a flood of new
 * identities or addresses cannot grow memory.
 */

/** OCPP 2.0.1 caps the charging station identity at 48 characters; 1.6 chargers stay well below. */
export const MAX_IDENTITY = 48;

/** Control characters (new lines forge log lines), and the Unicode line and paragraph separators. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** An identity (or any text from a peer) safe for one log or status line: control characters shown as "?", cut to `max`. */
export function safeText(text: string, max = MAX_IDENTITY): string {
  const clean = text.replace(UNSAFE, "?");
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** Whether an identity may connect: 1–48 characters, none of them a control character. */
export function isAcceptableIdentity(identity: string): boolean {
  return identity.length >= 1 && identity.length <= MAX_IDENTITY && safeText(identity) === identity;
}

export interface ThrottleOptions {
  /** Problems let through per key and window. */
  perKey?: number;
  /** Problems let through per window over all keys. */
  overall?: number;
  windowMs?: number;
  maxKeys?: number;
}

interface Bucket {
  windowStart: number;
  passed: number;
  suppressed: number;
}

/**
 * Lets the first few problems of a kind through per window and counts the
 * rest; the next one let through says how many were suppressed.
 */
export class ProblemThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly all: Bucket = { windowStart: 0, passed: 0, suppressed: 0 };
  private readonly perKey: number;
  private readonly overall: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;

  constructor(options: ThrottleOptions = {}) {
    this.perKey = options.perKey ?? 3;
    this.overall = options.overall ?? 60;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxKeys = options.maxKeys ?? 1000;
  }

  /** undefined: suppress it; a number: let it through, with that many suppressed since the last one of this key. */
  admit(key: string, nowMs = Date.now()): number | undefined {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
      bucket = { windowStart: nowMs, passed: 0, suppressed: 0 };
      this.buckets.set(key, bucket);
    }
    for (const b of [bucket, this.all]) {
      if (nowMs - b.windowStart >= this.windowMs) {
        b.windowStart = nowMs;
        b.passed = 0;
      }
    }
    if (bucket.passed >= this.perKey || this.all.passed >= this.overall) {
      bucket.suppressed++;
      return undefined;
    }
    bucket.passed++;
    this.all.passed++;
    const suppressed = bucket.suppressed;
    bucket.suppressed = 0;
    return suppressed;
  }
}

export interface LoginBackoffOptions {
  /** Failed logins from one address before the brake starts. */
  freeFailures?: number;
  /** First delay; doubles with each further failure. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Upgrades held back at once per address; more are refused with 429 at once. */
  maxHeld?: number;
  /** Failures are forgotten after this long without one. */
  forgetAfterMs?: number;
  maxAddresses?: number;
}

interface AddressRecord {
  failures: number;
  lastFailureMs: number;
  held: number;
}

/**
 * A brake on password guessing, per remote address: after a few failed
 * logins each further attempt from that address waits (1 s, 2 s, 4 s …
 * 30 s) before its password is checked. The right charger is never locked
 * out: from another address it is not slowed at all, and from the same
 * address (NAT) its correct password is still accepted after the wait,
 * which clears the record.
 */
export class LoginBackoff {
  private readonly records = new Map<string, AddressRecord>();
  private readonly freeFailures: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxHeld: number;
  private readonly forgetAfterMs: number;
  private readonly maxAddresses: number;

  constructor(options: LoginBackoffOptions = {}) {
    this.freeFailures = options.freeFailures ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.maxHeld = options.maxHeld ?? 3;
    this.forgetAfterMs = options.forgetAfterMs ?? 10 * 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
  }

  private record(address: string, nowMs: number): AddressRecord | undefined {
    const record = this.records.get(address);
    if (record && record.held === 0 && nowMs - record.lastFailureMs > this.forgetAfterMs) {
      this.records.delete(address);
      return undefined;
    }
    return record;
  }

  /** How long an attempt from this address waits before its check (0: none). */
  delayMs(address: string, nowMs = Date.now()): number {
    const record = this.record(address, nowMs);
    if (!record || record.failures < this.freeFailures) return 0;
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (record.failures - this.freeFailures));
  }

  /** Takes a place in the waiting room; false when this address already has too many waiting. */
  hold(address: string): boolean {
    const record = this.records.get(address);
    if (!record) return true;
    if (record.held >= this.maxHeld) return false;
    record.held++;
    return true;
  }

  release(address: string): void {
    const record = this.records.get(address);
    if (record && record.held > 0) record.held--;
  }

  failed(address: string, nowMs = Date.now()): void {
    let record = this.record(address, nowMs);
    if (!record) {
      if (this.records.size >= this.maxAddresses) {
        // The oldest entry nobody is waiting on (Map order is insertion order).
        for (const [oldest, r] of this.records) {
          if (r.held > 0) continue;
          this.records.delete(oldest);
          break;
        }
      }
      record = { failures: 0, lastFailureMs: nowMs, held: 0 };
      this.records.set(address, record);
    }
    record.failures++;
    record.lastFailureMs = nowMs;
  }

  succeeded(address: string): void {
    const record = this.records.get(address);
    if (record && record.held === 0) this.records.delete(address);
    else if (record) record.failures = 0;
  }
}
