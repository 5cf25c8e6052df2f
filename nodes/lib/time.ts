/** Calendar fields of an instant in a given IANA time zone. */

export interface LocalTimeParts {
  weekday: string;
  hourOfDay: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    // Throws RangeError for an unknown zone; callers validate the zone up front.
    formatter = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "long", hour: "numeric", hourCycle: "h23" });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Weekday name ("Monday") and hour (0-23) of `date` in `timeZone` (default: the machine's zone). */
export function localTimeParts(date: Date, timeZone?: string): LocalTimeParts {
  const zone = timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  const parts = formatterFor(zone).formatToParts(date);
  const weekday = parts.find((p) => p.type === "weekday")?.value ?? "";
  const hour = Number(parts.find((p) => p.type === "hour")?.value ?? "0");
  return { weekday, hourOfDay: hour === 24 ? 0 : hour };
}
