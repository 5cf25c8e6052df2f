/**
 * Questions the central system lets a flow answer (may this tag charge? may
 * this unknown charger connect?). Each question has a deadline: if no
 * answer arrives in time, the fallback answers, so a charger never waits
 * into its own timeout because a flow is unwired or slow.
 */
import { randomUUID } from "node:crypto";

export type DecisionKind = "authorize" | "start" | "connect";

export interface PendingDecision<T> {
  readonly id: string;
  readonly kind: DecisionKind;
  readonly identity: string;
  /** Resolves with the flow's answer, or the fallback after the timeout. */
  readonly answer: Promise<{ value: T; by: "flow" | "fallback" }>;
}

interface Entry {
  kind: DecisionKind;
  resolve(value: unknown): boolean;
  expire(): void;
}

export class DecisionBroker {
  private readonly pending = new Map<string, Entry>();

  /**
   * `parse` turns what the flow sent into an answer, or throws with a
   * message for the flow author; `fallback` is computed only when needed
   * (if it fails, `answer` rejects).
   */
  ask<T>(
    kind: DecisionKind,
    identity: string,
    timeoutMs: number,
    parse: (reply: unknown) => T,
    fallback: () => T | Promise<T>,
  ): PendingDecision<T> {
    const id = randomUUID();
    let settle!: (v: { value: T; by: "flow" | "fallback" }) => void;
    let fail!: (err: unknown) => void;
    const answer = new Promise<{ value: T; by: "flow" | "fallback" }>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    let done = false;
    const expire = (): void => {
      if (done) return;
      clearTimeout(timer);
      done = true;
      this.pending.delete(id);
      Promise.resolve()
        .then(fallback)
        .then(
          (value) => settle({ value, by: "fallback" }),
          (err: unknown) => fail(err),
        );
    };
    const timer = setTimeout(expire, timeoutMs);
    this.pending.set(id, {
      kind,
      expire,
      resolve: (reply) => {
        if (done) return false;
        const value = parse(reply);
        done = true;
        clearTimeout(timer);
        this.pending.delete(id);
        settle({ value, by: "flow" });
        return true;
      },
    });
    return { id, kind, identity, answer };
  }

  /**
   * Answers a pending decision (the string "fallback" hands it to the
   * fallback at once). Returns false when it was already answered or timed
   * out; throws when the reply cannot be understood.
   */
  reply(id: string, value: unknown): boolean {
    const entry = this.pending.get(id);
    if (!entry) return false;
    // "fallback": the flow has no opinion; let the configured fallback answer now.
    if (typeof value === "string" && value.trim().toLowerCase() === "fallback") {
      entry.expire();
      return true;
    }
    return entry.resolve(value);
  }

  has(id: string): boolean {
    return this.pending.has(id);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Answers every open question with its fallback now (shutdown). */
  flush(): void {
    for (const entry of [...this.pending.values()]) entry.expire();
  }
}
