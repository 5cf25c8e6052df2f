/**
 * Every feed's own status words mapped onto the common model. Unknown values
 * never throw: they become UNKNOWN, and the caller keeps the raw value.
 */
import { AVAILABILITY_STATUSES, type AvailabilityStatus } from "../types";

export function isAvailabilityStatus(value: unknown): value is AvailabilityStatus {
  return typeof value === "string" && (AVAILABILITY_STATUSES as readonly string[]).includes(value);
}

/** OCPI 2.2.1 EVSE status. PLANNED/REMOVED are not usable chargers. */
export function ocpiStatus(raw: unknown): AvailabilityStatus {
  const text = typeof raw === "string" ? raw.trim().toUpperCase() : "";
  if (isAvailabilityStatus(text)) return text;
  if (text === "PLANNED" || text === "REMOVED") return "INOPERATIVE";
  return "UNKNOWN";
}

/** The three classes the Chargy exporter exports one-hot. */
export type ChargyClass = "available" | "charging" | "unavailable";
export const CHARGY_CLASSES: readonly ChargyClass[] = ["charging", "available", "unavailable"];

/** chargy_exporter's MAP_STATES; anything else is "unavailable" as in its non-strict mode. */
const CHARGY_MAP: Record<string, ChargyClass> = {
  CHARGING: "charging",
  AVAILABLE: "available",
  UNAVAILABLE: "unavailable",
  OFFLINE: "unavailable",
  FAULT: "unavailable",
  SUSPENDED_EV: "charging",
  SUSPENDED_EVSE: "charging",
  FINISHING: "charging",
  PREPARING: "charging",
};

export function chargyClass(raw: unknown): ChargyClass {
  const text = typeof raw === "string" ? raw.trim().toUpperCase() : "";
  return Object.prototype.hasOwnProperty.call(CHARGY_MAP, text) ? CHARGY_MAP[text] : "unavailable";
}

/** Chargy's connector description in the common model (finer than the exporter's classes). */
export function chargyStatus(raw: unknown): AvailabilityStatus {
  const text = typeof raw === "string" ? raw.trim().toUpperCase() : "";
  switch (text) {
    case "AVAILABLE":
      return "AVAILABLE";
    case "CHARGING":
    case "SUSPENDED_EV":
    case "SUSPENDED_EVSE":
    case "FINISHING":
    case "PREPARING":
    case "OCCUPIED":
      return "CHARGING";
    case "RESERVED":
      return "RESERVED";
    case "FAULT":
      return "OUTOFORDER";
    case "UNAVAILABLE":
      return "INOPERATIVE";
    default:
      // OFFLINE means "not heartbeating": like OCPI, that is UNKNOWN, not broken.
      return "UNKNOWN";
  }
}

/** Chargefinder: only 2 = free is certain; 3 = occupied per one public script. */
export function chargefinderStatus(raw: unknown): AvailabilityStatus {
  const code = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
  if (code === 2) return "AVAILABLE";
  if (code === 3) return "CHARGING";
  return "UNKNOWN";
}

/** DATEX II RefillPointStatusEnum. */
export function datexStatus(raw: unknown): AvailabilityStatus {
  const text = typeof raw === "string" ? raw.trim().toLowerCase() : "";
  switch (text) {
    case "available":
      return "AVAILABLE";
    case "charging":
    case "occupied":
      return "CHARGING";
    case "reserved":
      return "RESERVED";
    case "blocked":
      return "BLOCKED";
    case "faulted":
    case "outoforder":
      return "OUTOFORDER";
    case "inoperative":
    case "unavailable":
    case "outofstock":
    case "planned":
    case "removed":
      return "INOPERATIVE";
    default:
      return "UNKNOWN";
  }
}

/**
 * Generic feeds: a user map first (raw → status), then the common names
 * themselves (any case), then a few widespread words.
 */
export function genericStatus(raw: unknown, map?: Readonly<Record<string, string>>): AvailabilityStatus {
  const key = typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean" ? String(raw) : undefined;
  if (key !== undefined && map) {
    const mapped = map[key] ?? map[key.toLowerCase()] ?? map[key.toUpperCase()];
    const upper = typeof mapped === "string" ? mapped.toUpperCase() : undefined;
    if (isAvailabilityStatus(upper)) return upper;
  }
  if (key === undefined) return "UNKNOWN";
  const upper = key.trim().toUpperCase().replace(/[\s-]+/g, "_");
  if (isAvailabilityStatus(upper)) return upper;
  const fromOcpi = ocpiStatus(upper);
  if (fromOcpi !== "UNKNOWN") return fromOcpi;
  switch (upper) {
    case "FREE":
    case "TRUE":
      return "AVAILABLE";
    case "OCCUPIED":
    case "IN_USE":
    case "BUSY":
    case "FALSE":
      return "CHARGING";
    case "OUT_OF_ORDER":
    case "FAULTED":
    case "FAULT":
    case "ERROR":
      return "OUTOFORDER";
    case "UNAVAILABLE":
      return "INOPERATIVE";
    default:
      return "UNKNOWN";
  }
}
