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

let lastMs = Number.NaN;
let lastIso = "";

/**
 * date.toISOString(), remembered for the last millisecond: a busy server
 * stamps many calls within the same millisecond, and toISOString costs
 * about as much as the rest of a MeterValues event.
 */
export function isoTime(date: Date): string {
  const ms = date.getTime();
  if (ms !== lastMs) {
    lastIso = date.toISOString();
    lastMs = ms;
  }
  return lastIso;
}
