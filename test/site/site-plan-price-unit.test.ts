import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chooseWindows, clockText, parsePlan } from "../../nodes/lib/site/plan";
import { isCheapSlot, parsePriceInput, slotAt, type PriceSlot } from "../../nodes/lib/site/price";
import { tripSeconds } from "../../nodes/lib/site/protection";
import { normaliseConfig } from "../../nodes/lib/site/config";
import { SiteManager } from "../../nodes/lib/site/manager";
import { applySiteInput, SiteInputError } from "../../nodes/lib/site/input";

const H = 3_600_000;

describe("site manager: plan input", () => {
  const now = Date.parse("2026-12-06T20:00:00Z");

  it("reads energy or SoC targets, departures as ISO, epoch ms or the next HH:MM, and clears with null", () => {
    assert.deepEqual(parsePlan({ energyKWh: 12, by: "2026-12-07T07:00:00Z" }, now), { energyKWh: 12, soc: undefined, by: Date.parse("2026-12-07T07:00:00Z"), capacityKWh: undefined });
    const soc = parsePlan({ soc: 80, by: "07:00", capacityKWh: 60 }, now)!;
    assert.equal(soc.soc, 80);
    assert.equal(clockText(soc.by), "07:00");
    assert.ok(soc.by > now && soc.by - now <= 24 * H);
    assert.equal(parsePlan(null, now), undefined);
    assert.equal(parsePlan({}, now), undefined);
  });

  it("rejects plans that make no sense, in words", () => {
    assert.throws(() => parsePlan({ energyKWh: 12 }, now), /departure/);
    assert.throws(() => parsePlan({ energyKWh: 12, soc: 80, by: "07:00" }, now), /either energyKWh/);
    assert.throws(() => parsePlan({ soc: 180, by: "07:00" }, now), /between 1 and 100/);
    assert.throws(() => parsePlan({ energyKWh: 5, by: "2026-12-06T19:00:00Z" }, now), /has passed/);
    assert.throws(() => parsePlan({ energyKWh: 5, by: "25:00" }, now), /not a time of day/);
    const manager = new SiteManager(normaliseConfig({ chargers: [{ id: "car" }] }));
    assert.throws(() => applySiteInput(manager, { topic: "plan/car", payload: { energyKWh: -1, by: "07:00" } }, now), (err: Error) => err instanceof SiteInputError && /^plan\/car: energyKWh/.test(err.message));
    assert.throws(() => applySiteInput(manager, { topic: "plan/van", payload: { energyKWh: 5, by: "07:00" } }, now), /no charger "van"/);
  });
});

describe("site manager: price input", () => {
  it("reads a plain list, Tibber's startsAt/total, power-saver's hours and priceData; ends default to the next start", () => {
    const list = parsePriceInput([
      { start: "2026-12-06T01:00:00Z", price: 0.2 },
      { start: "2026-12-06T00:00:00Z", end: "2026-12-06T01:00:00Z", price: 0.3 },
    ]) as { slots: PriceSlot[] };
    assert.deepEqual(list.slots.map((s) => s.price), [0.3, 0.2]);
    assert.equal(list.slots[1].end - list.slots[1].start, H, "the last slot lasts as long as the one before");
    const tibber = parsePriceInput([{ startsAt: "2026-12-06T00:00:00+01:00", total: 0.25 }]) as { slots: PriceSlot[] };
    assert.equal(tibber.slots[0].price, 0.25);
    const saver = parsePriceInput({ schedule: [], hours: [{ start: "2026-12-06T00:00:00Z", price: 0.1, onOff: true, saving: null }] }) as { slots: PriceSlot[] };
    assert.equal(saver.slots[0].onOff, true);
    const minutes = parsePriceInput({ minutes: [{ start: "2026-12-06T00:00:00Z", price: 0.1, onOff: false }] }) as { slots: PriceSlot[] };
    assert.equal(minutes.slots.length, 1);
    const receiver = parsePriceInput({ priceData: [{ start: "2026-12-06T00:00:00Z", value: 0.4 }] }) as { slots: PriceSlot[] };
    assert.equal(receiver.slots[0].price, 0.4);
    assert.deepEqual(parsePriceInput(true), { cheap: true });
    assert.deepEqual(parsePriceInput({ cheap: false }), { cheap: false });
    assert.throws(() => parsePriceInput("cheap"), /power-saver/);
    assert.throws(() => parsePriceInput([{ price: 1 }]), /start time/);
    assert.throws(() => parsePriceInput(Array.from({ length: 3000 }, (_, i) => ({ start: i * 1000, price: 1 }))), /at most/);
  });

  it("cheap: at or below the limit; without a limit, power-saver's on/off", () => {
    const slot: PriceSlot = { start: 0, end: H, price: 0.1, onOff: false };
    assert.equal(isCheapSlot(slot, 0.1), true);
    assert.equal(isCheapSlot(slot, 0.09), false);
    assert.equal(isCheapSlot(slot, undefined), false);
    assert.equal(isCheapSlot({ ...slot, onOff: true }, undefined), true);
    assert.equal(isCheapSlot(slotAt([slot], H), 1), false, "no slot: not cheap");
  });
});

describe("site manager: plan windows", () => {
  it("without prices: the last stretch before the departure", () => {
    assert.deepEqual(chooseWindows(0, 10 * H, 2 * H, []), [{ start: 8 * H, end: 10 * H }]);
  });

  it("with prices: the cheapest slots, unknown prices (gaps) last, and the later of equal slots", () => {
    const slots: PriceSlot[] = [
      { start: 2 * H, end: 3 * H, price: 0.2 },
      { start: 3 * H, end: 4 * H, price: 0.1 },
      { start: 5 * H, end: 6 * H, price: 0.2 },
    ];
    assert.deepEqual(chooseWindows(0, 10 * H, 1.5 * H, slots), [{ start: 3 * H, end: 4 * H }, { start: 5.5 * H, end: 6 * H }]);
    // More than the priced slots hold: the rest comes last before the departure.
    assert.deepEqual(chooseWindows(0, 10 * H, 4 * H, slots), [{ start: 2 * H, end: 3 * H }, { start: 3 * H, end: 4 * H }, { start: 5 * H, end: 6 * H }, { start: 9 * H, end: 10 * H }]);
  });
});

describe("site manager: breaker model", () => {
  it("holds 1.13 x for ever, trips faster the larger the overload (about a minute at 1.45 x, 10 s at 2.55 x)", () => {
    assert.equal(tripSeconds(1.1), Infinity);
    assert.ok(tripSeconds(1.45) > 50 && tripSeconds(1.45) < 70);
    assert.ok(tripSeconds(2.55) > 8 && tripSeconds(2.55) < 12);
    assert.ok(tripSeconds(2) < tripSeconds(1.5));
  });

  it("saved flows keep cutting at once: immediate is the default", () => {
    assert.equal(normaliseConfig({ chargers: [] }).protection, "immediate");
    assert.throws(() => normaliseConfig({ protection: "lazy" as "immediate", chargers: [] }), /immediate or tolerant/);
  });
});
