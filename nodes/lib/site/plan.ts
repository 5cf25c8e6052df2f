/**
 * Charging plans: a target energy or SoC by a departure time, as evcc's
 * "late charging" without a tariff. Until the plan starts the charger follows
 * its mode (solar surplus counts towards the target); the plan starts when
 * what is left, at the charger's full power plus a margin, just fits before
 * the departure. With a price schedule the charge goes into the cheapest
 * slots before the departure instead (unknown prices count as dearest, and
 * among equals the later slot wins). The fuse still wins: a plan charges as
 * "now", never above the headroom.
 */
import type { PriceSlot } from "./price";
import { isObject, num } from "./values";

export interface PlanRequest {
  energyKWh?: number;
  soc?: number;
  /** Departure, epoch ms. */
  by: number;
  /** Battery size for a SoC plan, when the charger's setup has none. */
  capacityKWh?: number;
}

export interface PlanState extends PlanRequest {
  /** Energy the charger had delivered when the plan was set, Wh. */
  startWh: number;
  /** Once running, the plan keeps running until this time (end of the chosen slot). */
  activeUntil?: number;
  startedAt?: number;
}

export interface PlanView {
  /** "plan: 12 kWh by 07:00, starts 03:40" */
  text: string;
  by: number;
  /** Energy still needed, kWh; left out when it cannot be known. */
  remainingKWh?: number;
  startsAt?: number;
  active: boolean;
  /** The plan cannot work (SoC plan without the car's SoC): the charger follows its mode. */
  unplannable?: boolean;
  done?: boolean;
}

export class PlanInputError extends Error {
  override readonly name = "PlanInputError";
}

const DAY_MS = 86_400_000;
/** A departure further away than this is a mistake, not a plan. */
const MAX_AHEAD_MS = 7 * DAY_MS;

/** Reads a `plan/<id>` payload; undefined clears the plan. */
export function parsePlan(payload: unknown, now: number): PlanRequest | undefined {
  if (payload === null || payload === false || payload === "" || payload === "off" || payload === "clear") return undefined;
  if (!isObject(payload)) throw new PlanInputError(`payload must be {energyKWh, by} or {soc, by} (or null to clear), got ${JSON.stringify(payload)}`);
  if (Object.keys(payload).length === 0) return undefined;
  const energyKWh = num(payload.energyKWh ?? payload.kWh);
  const soc = num(payload.soc);
  if ((energyKWh === undefined) === (soc === undefined)) throw new PlanInputError("give either energyKWh (kWh to add) or soc (target %), not both or neither");
  if (energyKWh !== undefined && !(energyKWh > 0 && energyKWh <= 500)) throw new PlanInputError(`energyKWh must be between 0 and 500 kWh, got ${energyKWh}`);
  if (soc !== undefined && !(soc > 0 && soc <= 100)) throw new PlanInputError(`soc must be a target between 1 and 100 %, got ${soc}`);
  const by = departureOf(payload.by ?? payload.departure, now);
  const capacityKWh = num(payload.capacityKWh ?? payload.batteryKWh);
  if (capacityKWh !== undefined && !(capacityKWh > 0)) throw new PlanInputError(`capacityKWh must be the car's battery size in kWh, got ${capacityKWh}`);
  return { energyKWh, soc, by, capacityKWh };
}

/** "07:00" (the next one, local time), ISO text or epoch ms. */
function departureOf(value: unknown, now: number): number {
  let by: number | undefined;
  const clock = typeof value === "string" ? /^(\d{1,2}):(\d{2})$/.exec(value.trim()) : null;
  if (clock) {
    const [hours, minutes] = [Number(clock[1]), Number(clock[2])];
    if (hours > 23 || minutes > 59) throw new PlanInputError(`by: ${String(value)} is not a time of day`);
    const at = new Date(now);
    at.setHours(hours, minutes, 0, 0);
    by = at.getTime() <= now ? at.getTime() + DAY_MS : at.getTime();
  } else if (typeof value === "number" && Number.isFinite(value)) by = value;
  else if (typeof value === "string" && !Number.isNaN(Date.parse(value))) by = Date.parse(value);
  else if (value instanceof Date && !Number.isNaN(value.getTime())) by = value.getTime();
  if (by === undefined) throw new PlanInputError(`by must be the departure: "07:00", an ISO time or epoch ms, got ${value === undefined ? "nothing" : JSON.stringify(value)}`);
  if (by <= now) throw new PlanInputError(`the departure ${new Date(by).toISOString()} has passed`);
  if (by - now > MAX_AHEAD_MS) throw new PlanInputError("the departure must be within 7 days");
  return by;
}

/** What a plan still needs, Wh; undefined when a SoC plan lacks the car's SoC or battery size. */
export function remainingWh(plan: PlanState, servedWh: number, soc: number | undefined, batteryKWh: number | undefined): number | undefined {
  if (plan.energyKWh !== undefined) return plan.energyKWh * 1000 - (servedWh - plan.startWh);
  const capacity = plan.capacityKWh ?? batteryKWh;
  if (soc === undefined || capacity === undefined || plan.soc === undefined) return undefined;
  return ((plan.soc - soc) / 100) * capacity * 1000;
}

interface Segment {
  start: number;
  end: number;
  price: number;
}

/**
 * The windows to charge in between now and `by` to get `needMs` of charging
 * at full power: the cheapest first, later before earlier among equal prices
 * (so without prices, the last `needMs` before the departure).
 */
export function chooseWindows(now: number, by: number, needMs: number, slots: readonly PriceSlot[]): Array<{ start: number; end: number }> {
  const segments: Segment[] = [];
  let at = now;
  for (const slot of [...slots].sort((a, b) => a.start - b.start)) {
    if (slot.end <= at || slot.start >= by) continue;
    if (slot.start > at) segments.push({ start: at, end: slot.start, price: Infinity });
    const start = Math.max(at, slot.start);
    const end = Math.min(by, slot.end);
    segments.push({ start, end, price: slot.price ?? Infinity });
    at = end;
  }
  if (at < by) segments.push({ start: at, end: by, price: Infinity });
  // Not a.price - b.price: Infinity - Infinity is NaN, which breaks the sort.
  segments.sort((a, b) => (a.price === b.price ? b.start - a.start : a.price < b.price ? -1 : 1));
  const chosen: Array<{ start: number; end: number }> = [];
  let left = needMs;
  for (const segment of segments) {
    // Under a millisecond left is rounding, not charging time (it would add empty windows).
    if (left < 1) break;
    const length = segment.end - segment.start;
    if (length <= 0) continue;
    // Partly used: its last part (from a whole second), so the charge ends with the slot.
    const start = length > left ? Math.max(segment.start, Math.floor((segment.end - left) / 1000) * 1000) : segment.start;
    chosen.push({ start, end: segment.end });
    left -= segment.end - start;
  }
  return chosen.sort((a, b) => a.start - b.start);
}

/** "07:00" in the machine's local time, as the user sees the clock. */
export function clockText(time: number): string {
  const d = new Date(time);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

export function targetText(plan: PlanRequest): string {
  const target = plan.energyKWh !== undefined ? `${round1(plan.energyKWh)} kWh` : `${plan.soc} %`;
  return `${target} by ${clockText(plan.by)}`;
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
