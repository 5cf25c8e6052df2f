/**
 * Charging plans and grid prices against night and day traces: late
 * charging that reaches its target by the departure, solar first, the fuse
 * winning over the plan, the cheapest slots with a price schedule, SoC plans,
 * and cheap grid charging for solar chargers.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HouseModel, pvCurve, type Phases3, type SimCar } from "../servers/house-model";
import { applySiteInput } from "../../nodes/lib/site/input";
import { clockText } from "../../nodes/lib/site/plan";
import { assertFuseHeld, assertRateLimited, commandsOf, runTrace, type TraceRow } from "./trace";

const H = 3600;
const car = (id: string, extra: Partial<SimCar> = {}): SimCar => ({ id, carPhases: 3, phase: 0, carMaxA: 16, connected: true, limitA: 0, phases: 3, ...extra });
const flat = (a: number): (() => Phases3) => () => [a, a, a];
const night = (houseA = 3): HouseModel => new HouseModel({ pvW: () => 0, houseA: flat(houseA) }, [car("car")]);

/** kWh the car drew between two times (s), from the meter samples. */
function energyKWh(rows: TraceRow[], id: string, from: number, to: number, tickS: number): number {
  return rows.filter((r) => r.t >= from && r.t < to).reduce((sum, r) => sum + (r.sample.cars[id]?.powerW ?? 0) * tickS, 0) / H / 1000;
}
const charging = (rows: TraceRow[], id: string): number[] => rows.filter((r) => (r.sample.cars[id]?.powerW ?? 0) > 0).map((r) => r.t);

// Nights run from 22:00 (day 1) to 07:00 (day 2), in trace seconds.
const EVENING = 24 * H + 22 * H;
const MORNING = 48 * H + 7 * H;
const TICK = 10;

describe("site manager: plans", () => {
  it("late charging: 12 kWh by 07:00 starts at the last moment (plus margin) and reaches the target", () => {
    const { rows } = runTrace({ fuseA: 25, chargers: [{ id: "car", mode: "pv" }] }, night(), {
      fromS: EVENING,
      durationS: MORNING - EVENING,
      tickS: TICK,
      before: (t, _house, manager) => {
        if (t === EVENING) applySiteInput(manager, { topic: "plan/car", payload: { energyKWh: 12, by: new Date(MORNING * 1000).toISOString() } }, t * 1000);
      },
    });
    // 12 kWh at 16 A x 3 x 230 V = 11.04 kW takes 65 min; with the 20 % margin the plan starts 78 min before 07:00.
    const startsAt = Math.floor((MORNING * 1000 - (12_000 / 11_040) * 1.2 * H * 1000) / 1000) * 1000;
    const first = rows[0].decision.chargers.car;
    assert.equal(first.state, "idle");
    assert.equal(first.reason, `waiting for solar surplus; plan: 12 kWh by ${clockText(MORNING * 1000)}, starts ${clockText(startsAt)}`);
    assert.equal(first.plan?.startsAt, startsAt);
    assert.equal(rows[0].decision.nextAction?.action, "plan starts");

    const start = commandsOf(rows, "car").find((c) => c.amps > 0);
    assert.ok(start && start.t * 1000 >= startsAt && start.t * 1000 < startsAt + TICK * 1000, `started at ${start?.t}, planned ${startsAt / 1000}`);
    assert.match(start.reason, /^plan: 12 kWh by \d\d:\d\d, started \d\d:\d\d$/);
    assert.equal(energyKWh(rows, "car", EVENING, startsAt / 1000, TICK), 0, "nothing before the plan starts (no sun, no cheap power)");
    const charged = energyKWh(rows, "car", EVENING, MORNING, TICK);
    assert.ok(charged >= 12 && charged < 12.3, `charged ${charged.toFixed(2)} kWh for a 12 kWh plan`);
    // Reached before the departure, then the charger goes back to its mode (pv: no sun, so it stops).
    const done = rows.find((r) => r.decision.chargers.car.plan?.done);
    assert.ok(done && done.t < MORNING, "reached before 07:00");
    assert.match(done.decision.chargers.car.plan!.text, /^plan reached: 12 kWh by/);
    assert.ok(charging(rows, "car").every((t) => t <= done.t + TICK), "stops once reached");
    assertRateLimited(rows, ["car"], 10);
  });

  it("the fuse wins over the plan: it charges within the headroom and ends at the departure, saying what is missing", () => {
    // House at 15 A per phase: 25 - 1 - 15 leaves 9 A for the car, far from the 16 A the plan counts on.
    const { rows } = runTrace({ fuseA: 25, chargers: [{ id: "car", mode: "pv" }] }, night(15), {
      fromS: EVENING,
      durationS: MORNING - EVENING + 60,
      tickS: TICK,
      before: (t, _house, manager) => {
        if (t === EVENING) manager.setPlan("car", { energyKWh: 12, by: MORNING * 1000 });
      },
    });
    assertFuseHeld(rows, 25, 0, 0);
    assert.ok(rows.every((r) => r.decision.chargers.car.limitA <= 9), "never above the headroom");
    const ended = rows.find((r) => r.t >= MORNING)!.decision.chargers.car;
    assert.match(ended.plan?.text ?? "", /^plan ended at \d\d:\d\d, \d+(\.\d)? kWh short$/);
    assert.ok(charging(rows, "car").every((t) => t < MORNING + TICK), "the plan ends at the departure");
  });

  it("solar first: a plan set in the morning charges from surplus while there is time, and starts later for it", () => {
    const DAY = 24 * H;
    const house = new HouseModel({ pvW: pvCurve(9000), houseA: flat(2) }, [car("car")]);
    const by = (DAY + 15 * H) * 1000;
    const { rows } = runTrace({ fuseA: 25, chargers: [{ id: "car", mode: "pv" }] }, house, {
      fromS: DAY + 8 * H,
      durationS: 8 * H,
      tickS: TICK,
      before: (t, _house, manager) => {
        if (t === DAY + 8 * H) manager.setPlan("car", { energyKWh: 40, by });
      },
    });
    const plannedAt8 = rows[0].decision.chargers.car.plan?.startsAt;
    assert.ok(plannedAt8 !== undefined);
    const started = rows.find((r) => r.decision.chargers.car.plan?.active);
    assert.ok(started, "the plan had to start");
    const solarBefore = energyKWh(rows, "car", DAY + 8 * H, started.t, TICK);
    assert.ok(solarBefore > 5, `only ${solarBefore.toFixed(1)} kWh from solar before the plan started`);
    assert.ok(started.t * 1000 > plannedAt8 + 20 * 60_000, `solar moved the start from ${clockText(plannedAt8)} to ${clockText(started.t * 1000)}`);
    const done = rows.find((r) => r.decision.chargers.car.plan?.done);
    assert.ok(done && done.t * 1000 <= by, "40 kWh by 15:00");
    assert.ok(energyKWh(rows, "car", DAY + 8 * H, by / 1000, TICK) >= 40);
  });

  it("a SoC plan needs the car's SoC: without it, it says so and follows the mode; with it, it plans", () => {
    let soc: number | undefined;
    let chargedWh = 0;
    const { rows } = runTrace({ fuseA: 25, chargers: [{ id: "car", mode: "pv", batteryKWh: 60 }] }, night(), {
      fromS: EVENING,
      durationS: MORNING - EVENING,
      tickS: TICK,
      before: (t, house, manager) => {
        if (t === EVENING) applySiteInput(manager, { topic: "plan/car", payload: { soc: 80, by: "07:00" } }, t * 1000);
        if (t === EVENING + H) soc = 60;
        const c = house.cars.get("car")!;
        chargedWh += (house.carCurrents(c).reduce((a, b) => a + b, 0) * 230 * TICK) / H;
        if (soc !== undefined) applySiteInput(manager, { topic: "soc/car", payload: Math.min(100, soc + chargedWh / 600) }, t * 1000);
      },
    });
    const early = rows.find((r) => r.t === EVENING + 600)!.decision.chargers.car;
    assert.match(early.reason, /plan: cannot plan 80 % by \d\d:\d\d without the car's SoC; charging in pv mode$/);
    assert.equal(early.plan?.unplannable, true);
    assert.equal(energyKWh(rows, "car", EVENING, EVENING + H, TICK), 0, "no charging while it cannot plan (pv, no sun)");
    // 60 % -> 80 % of 60 kWh is 12 kWh, the same plan as above.
    const later = rows.find((r) => r.t === EVENING + H + 60)!.decision.chargers.car;
    assert.match(later.plan?.text ?? "", /^plan: 80 % by \d\d:\d\d, starts \d\d:\d\d$/);
    assert.equal(later.plan?.remainingKWh, 12);
    const done = rows.find((r) => r.decision.chargers.car.plan?.done);
    assert.ok(done && done.t < MORNING, "80 % before 07:00");
  });

  it("with a price schedule the plan charges in the cheapest slots before the departure", () => {
    // Hourly prices from 22:00: 0.30, except 01:00-02:00 (0.10) and 03:00-04:00 (0.12).
    const slots = Array.from({ length: 9 }, (_, i) => {
      const start = (EVENING + i * H) * 1000;
      const hour = (22 + i) % 24;
      return { start: new Date(start).toISOString(), price: hour === 1 ? 0.1 : hour === 3 ? 0.12 : 0.3 };
    });
    const { rows } = runTrace({ fuseA: 25, chargers: [{ id: "car", mode: "pv" }] }, night(), {
      fromS: EVENING,
      durationS: MORNING - EVENING,
      tickS: TICK,
      before: (t, _house, manager) => {
        if (t === EVENING) {
          applySiteInput(manager, { topic: "price", payload: slots }, t * 1000);
          applySiteInput(manager, { topic: "plan/car", payload: { energyKWh: 12, by: MORNING * 1000 } }, t * 1000);
        }
      },
    });
    const one = EVENING + 3 * H;
    const three = EVENING + 5 * H;
    assert.equal(rows[0].decision.chargers.car.plan?.startsAt, one * 1000, "starts at 01:00, the cheapest hour");
    const times = charging(rows, "car");
    assert.ok(times.length > 0);
    for (const t of times) assert.ok((t > one && t <= one + H + TICK) || (t > three && t <= three + H + TICK), `charged at ${t - EVENING}s after 22:00, outside the cheap hours`);
    assert.ok(energyKWh(rows, "car", one, one + H + TICK, TICK) > 10, "most of it in the cheapest hour");
    assert.ok(energyKWh(rows, "car", EVENING, MORNING, TICK) >= 12);
  });
});

describe("site manager: cheap grid power", () => {
  const cheapNight = (houseA: number) => new HouseModel({ pvW: () => 0, houseA: flat(houseA) }, [car("car")]);

  it("a price schedule with a price limit: solar chargers charge from the grid while cheap, within the fuse", () => {
    const slots = [
      { start: (EVENING + 0 * H) * 1000, end: (EVENING + 4 * H) * 1000, price: 0.3 },
      { start: (EVENING + 4 * H) * 1000, end: (EVENING + 5 * H) * 1000, price: 0.08 },
      { start: (EVENING + 5 * H) * 1000, end: (EVENING + 9 * H) * 1000, price: 0.3 },
    ];
    const { rows } = runTrace({ fuseA: 25, priceLimit: 0.1, chargers: [{ id: "car", mode: "pv" }] }, cheapNight(12), {
      fromS: EVENING,
      durationS: 6 * H,
      tickS: TICK,
      before: (t, _house, manager) => {
        if (t === EVENING) applySiteInput(manager, { topic: "price", payload: slots }, t * 1000);
      },
    });
    const cheapFrom = EVENING + 4 * H;
    const times = charging(rows, "car");
    assert.ok(times.length > 300, "charged in the cheap hour");
    for (const t of times) assert.ok(t > cheapFrom && t <= cheapFrom + H + TICK, `charged at ${t}, outside the cheap hour`);
    assert.ok(rows.filter((r) => r.t > cheapFrom + 300 && r.t < cheapFrom + H).every((r) => r.decision.chargers.car.limitA === 12), "as much as the fuse allows (25 - 1 - 12)");
    assert.equal(rows.find((r) => r.t === cheapFrom + 600)!.decision.chargers.car.reason, "cheap grid power");
    assert.equal(rows.find((r) => r.t === cheapFrom + 600)!.decision.cheap, true);
    assertFuseHeld(rows, 25, 0, 0);
  });

  it("node-red-contrib-power-saver's schedule output: without a price limit its on/off hours decide", () => {
    const start = (i: number): string => new Date((EVENING + i * H) * 1000).toISOString();
    const powerSaver = {
      schedule: [{ time: start(0), value: false, countMinutes: 120 }, { time: start(2), value: true, countMinutes: 60 }, { time: start(3), value: false, countMinutes: null }],
      hours: [0, 1, 2, 3, 4].map((i) => ({ start: start(i), price: i === 2 ? 0.05 : 0.4, onOff: i === 2, saving: null })),
      source: "Tibber",
    };
    const { rows } = runTrace({ fuseA: 25, chargers: [{ id: "car", mode: "minpv" }] }, cheapNight(3), {
      fromS: EVENING,
      durationS: 5 * H,
      tickS: TICK,
      before: (t, _house, manager) => {
        if (t === EVENING) applySiteInput(manager, { topic: "price", payload: powerSaver }, t * 1000);
      },
    });
    const on = EVENING + 2 * H;
    // minpv: the minimum all night, full power only in power-saver's "on" hour.
    const limits = (from: number, to: number): number[] => [...new Set(rows.filter((r) => r.t > from && r.t < to).map((r) => r.decision.chargers.car.limitA))];
    assert.deepEqual(limits(EVENING + 600, on), [6]);
    assert.deepEqual(limits(on + 300, on + H), [16]);
    assert.deepEqual(limits(on + H + 60, EVENING + 5 * H), [6]);
  });
});
