/**
 * Date.parse with a small memory of recent strings. One MeterValues call
 * parses the same timestamp many times (sorting, late checks, picking the
 * newest reading), and Date.parse of an ISO string is costly next to the
 * rest of that work. Bounded, so a long-running server does not grow.
 */
const MAX_ENTRIES = 256;
const recent = new Map<string, number>();

/** Epoch ms of an ISO 8601 time, or NaN, exactly like Date.parse. */
export function parseTime(text: string): number {
  let t = recent.get(text);
  if (t === undefined) {
    t = Date.parse(text);
    // Oldest first out: Map keeps insertion order.
    if (recent.size >= MAX_ENTRIES) recent.delete(recent.keys().next().value as string);
    recent.set(text, t);
  }
  return t;
}
