/**
 * Response cache with a time to live, per provider. Concurrent requests for
 * the same key share one load, and failures are never cached, so the next
 * poll tries again.
 */
interface Entry<T> {
  expiresAt: number;
  value: Promise<T>;
  settled: boolean;
}

export class TtlCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly now: () => number;
  private loads = 0;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** How many times a loader actually ran (for status and tests). */
  get loadCount(): number {
    return this.loads;
  }

  /**
   * The cached value for `key`, or the result of `load()`. With ttlMs <= 0
   * nothing is kept, but concurrent callers still share one load.
   */
  async get(key: string, ttlMs: number, load: () => Promise<T>): Promise<{ value: T; cached: boolean }> {
    const existing = this.entries.get(key);
    if (existing && (!existing.settled || existing.expiresAt > this.now())) {
      return { value: await existing.value, cached: existing.settled };
    }
    this.loads++;
    const entry: Entry<T> = { expiresAt: Infinity, value: load(), settled: false };
    this.entries.set(key, entry);
    try {
      const value = await entry.value;
      entry.settled = true;
      entry.expiresAt = this.now() + Math.max(0, ttlMs);
      if (ttlMs <= 0 && this.entries.get(key) === entry) this.entries.delete(key);
      return { value, cached: false };
    } catch (err) {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw err;
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
