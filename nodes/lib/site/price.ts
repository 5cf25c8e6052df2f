/**
 * Grid prices for the site manager: either a plain "cheap now" flag or a
 * schedule of priced slots. The schedule may come from a flow
 * (`[{start, end, price}]`), from node-red-contrib-power-saver (its schedule
 * output `{schedule, hours: [{start, price, onOff}]}`, `minutes` in 5.x, or
 * the `{priceData: [{start, value}]}` of its price receiver) or from Tibber
 * (`[{startsAt, total}]`).
 */
import { isObject, num, timeOf } from "./values";

export interface PriceSlot {
  start: number;
  end: number;
  price?: number;
  /** power-saver's own on/off decision for the slot, used when no price limit is set. */
  onOff?: boolean;
}

export class PriceScheduleError extends Error {
  override readonly name = "PriceScheduleError";
}

/** Nothing read from a flow is unbounded: 15-minute slots for three weeks. */
export const MAX_PRICE_SLOTS = 2016;
const HOUR_MS = 3_600_000;

export type PriceInput = { cheap: boolean } | { slots: PriceSlot[] };

/** Reads a `price` payload; throws PriceScheduleError with words a hobbyist understands. */
export function parsePriceInput(payload: unknown): PriceInput {
  if (typeof payload === "boolean") return { cheap: payload };
  if (isObject(payload) && typeof payload.cheap === "boolean") return { cheap: payload.cheap };
  const list = Array.isArray(payload)
    ? payload
    : isObject(payload)
      ? [payload.hours, payload.minutes, payload.priceData, payload.prices, payload.slots].find(Array.isArray)
      : undefined;
  if (!list) {
    throw new PriceScheduleError("payload must be true/false, {cheap: true|false}, a list [{start, end, price}] or the schedule of node-red-contrib-power-saver");
  }
  if (list.length > MAX_PRICE_SLOTS) throw new PriceScheduleError(`at most ${MAX_PRICE_SLOTS} price slots, got ${list.length}`);
  const raw = list.map((entry: unknown, i: number) => {
    if (!isObject(entry)) throw new PriceScheduleError(`slot ${i + 1} must be an object like {start, end, price}`);
    const start = timeOf(entry.start ?? entry.startsAt ?? entry.time);
    if (start === undefined) throw new PriceScheduleError(`slot ${i + 1} needs a start time (ISO text or epoch ms)`);
    const price = num(entry.price ?? entry.value ?? entry.total);
    const onOff = typeof entry.onOff === "boolean" ? entry.onOff : undefined;
    if (price === undefined && onOff === undefined) throw new PriceScheduleError(`slot ${i + 1} needs a price`);
    return { start, end: timeOf(entry.end ?? entry.endsAt), price, onOff };
  });
  raw.sort((a, b) => a.start - b.start);
  const slots: PriceSlot[] = raw.map((slot, i) => {
    // Without an end, a slot lasts until the next one, or as long as the one before it (an hour for a lone slot).
    const next = raw[i + 1]?.start;
    const previousLength = i > 0 ? slot.start - raw[i - 1].start : HOUR_MS;
    const end = slot.end ?? next ?? slot.start + previousLength;
    if (!(end > slot.start)) throw new PriceScheduleError(`slot ${i + 1} ends before it starts`);
    return { start: slot.start, end, price: slot.price, onOff: slot.onOff };
  });
  return { slots };
}

export function slotAt(slots: readonly PriceSlot[], time: number): PriceSlot | undefined {
  return slots.find((s) => s.start <= time && time < s.end);
}

/** Cheap: at or below the price limit; with no limit set, power-saver's on/off decision. */
export function isCheapSlot(slot: PriceSlot | undefined, priceLimit: number | undefined): boolean {
  if (!slot) return false;
  if (priceLimit !== undefined && slot.price !== undefined) return slot.price <= priceLimit;
  return priceLimit === undefined && slot.onOff === true;
}
