/**
 * Timestamps on the MeterValues hot path. One call parses the same text
 * many times (sorting, late checks, picking the newest reading), and
 * Date.parse of an ISO string costs more than the rest of that work, so:
 * the last two texts are remembered, the UTC forms chargers send are read by hand,
 * and only the rest goes to Date.parse.
 */

// The last two texts: one call goes back and forth between a sample's time and the session's newest time.
let lastText = "";
let lastParsed = Number.NaN;
let otherText = "";
let otherParsed = Number.NaN;

/** Cumulative days before each month (non-leap year), index 1..12. */
const DAYS_BEFORE_MONTH = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/** Two ASCII digits at `at` as a number, or a value ≥ 100 when either is not a digit. */
function two(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48;
  const b = text.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : 100;
}

/**
 * "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DDTHH:MM:SS.sssZ", the forms chargers
 * send, for years 1970..2399 with every field plainly in range; NaN for
 * anything else (then Date.parse decides: offsets, other precisions, other
 * years, day overflow, leap seconds).
 */
function parseUtcFast(text: string): number {
  const len = text.length;
  if (len !== 20 && len !== 24) return Number.NaN;
  if (
    text.charCodeAt(len - 1) !== 90 /* Z */ ||
    text.charCodeAt(4) !== 45 /* - */ ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 /* T */ ||
    text.charCodeAt(13) !== 58 /* : */ ||
    text.charCodeAt(16) !== 58
  ) {
    return Number.NaN;
  }
  const century = two(text, 0);
  const yy = two(text, 2);
  const month = two(text, 5);
  const day = two(text, 8);
  const hour = two(text, 11);
  const minute = two(text, 14);
  const second = two(text, 17);
  let milli = 0;
  if (len === 24) {
    const m = two(text, 21);
    const first = text.charCodeAt(20) - 48;
    if (text.charCodeAt(19) !== 46 /* . */ || first < 0 || first > 9 || m > 99) return Number.NaN;
    milli = first * 100 + m;
  }
  if (century < 19 || century > 23 || yy > 99 || month < 1 || month > 12 || day < 1 || day > 28) return Number.NaN;
  if (hour > 23 || minute > 59 || second > 59) return Number.NaN;
  const year = century * 100 + yy;
  if (year < 1970) return Number.NaN;
  // Leap days before this date, counted from 1970 (1972 was the first leap year after it).
  const y = month <= 2 ? year - 1 : year;
  const leapDays = Math.floor((y - 1968) / 4) - Math.floor((y - 1900) / 100) + Math.floor((y - 1600) / 400);
  const days = (year - 1970) * 365 + leapDays + DAYS_BEFORE_MONTH[month] + day - 1;
  return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + milli;
}

/** Epoch ms of an ISO 8601 time, or NaN, exactly like Date.parse. */
export function parseTime(text: string): number {
  if (text === lastText) return lastParsed;
  if (text === otherText) return otherParsed;
  let t = parseUtcFast(text);
  if (Number.isNaN(t)) t = Date.parse(text);
  otherText = lastText;
  otherParsed = lastParsed;
  lastText = text;
  lastParsed = t;
  return t;
}

let lastMs = Number.NaN;
let lastIso = "";
let lastSecond = Number.NaN;
let secondPrefix = "";

/** "000Z" … "999Z": the end of an ISO time within its second. */
const MILLIS_Z = Array.from({ length: 1000 }, (_, ms) => `${String(ms).padStart(3, "0")}Z`);

/**
 * date.toISOString(), remembered for the last millisecond, and within the
 * last second made from that second's text: a busy server stamps many calls
 * within the same second, and toISOString costs about as much as the rest of
 * a MeterValues event.
 */
export function isoTime(date: Date): string {
  const ms = date.getTime();
  if (ms === lastMs) return lastIso;
  const second = Math.floor(ms / 1000);
  if (second === lastSecond) {
    lastIso = secondPrefix + MILLIS_Z[ms - second * 1000];
  } else {
    lastIso = date.toISOString();
    lastSecond = second;
    secondPrefix = lastIso.slice(0, -4);
  }
  lastMs = ms;
  return lastIso;
}
