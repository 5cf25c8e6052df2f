/**
 * The site manager against recorded-style traces, with properties asserted
 * over every tick of the trace rather than at a few chosen moments.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HouseModel, cloudFactor, pvCurve, type Phases3, type SimCar } from "../servers/house-model";
import { assertFuseHeld, assertRateLimited, commandsOf, runTrace, stateRuns, type TraceRow } from "./trace";

const V = 230;
const car = (id: string, extra: Partial<SimCar> = {}): SimCar => ({ id, carPhases: 3, phase: 0, carMaxA: 16, connected: true, limitA: 0, phases: 3, ...extra });
const flat = (a: number): (() => Phases3) => () => [a, a, a];
const constantPv = (watts: number) => (): number => watts;

/** Every start was preceded by waitingEnable for the delay, every surplus stop by waitingDisable. */
function assertNoFlapping(rows: TraceRow[], id: string, enableS: number, disableS: number, tickS = 5): void {
  const runs = stateRuns(rows, id);
  for (let i = 1; i < runs.length; i++) {
    const previous = runs[i - 1];
    const run = runs[i];
    if (run.state === "charging" && previous.state === "idle" && i > 1) {
      assert.fail(`${id} started at ${run.from}s without waiting (from idle)`);
    }
    if (run.state === "charging" && previous.state === "waitingEnable") {
      assert.ok(run.from - previous.from >= enableS, `${id} started ${run.from - previous.from}s after the surplus appeared (< ${enableS}s)`);
    }
    if (run.state === "idle" && previous.state === "waitingDisable") {
      const reason = rows.find((r) => r.t === run.from)?.decision.chargers[id].reason ?? "";
      if (reason === "not enough solar surplus") {
        assert.ok(run.from - previous.from >= disableS - tickS, `${id} stopped ${run.from - previous.from}s after the surplus went (< ${disableS}s)`);
      }
    }
  }
}

describe("site manager traces", () => {
  it("a cloudy day: two cars (3-phase and 1-phase) follow the sun without flapping, share equally, never trip the fuse", () => {
    const house = new HouseModel({ pvW: pvCurve(11_000, 6 * 3600, 20 * 3600, cloudFactor(3)), houseA: flat(2) }, [
      car("garage"),
      car("drive", { carPhases: 1, phase: 1 }),
    ]);
    const config = {
      fuseA: 25,
      chargers: [{ id: "garage" }, { id: "drive", phases: 1 as const, phase: 1 as const }],
    };
    const { rows } = runTrace(config, house, { fromS: 8 * 3600, durationS: 9 * 3600 });
    assertFuseHeld(rows, 25, 0, 0);
    assertRateLimited(rows, ["garage", "drive"], 10);
    assertNoFlapping(rows, "garage", 60, 180);
    assertNoFlapping(rows, "drive", 60, 180);

    // Fair shares within a step whenever both share the surplus.
    let shared = 0;
    for (const row of rows) {
      const a = row.decision.chargers.garage;
      const b = row.decision.chargers.drive;
      if (a.state !== "charging" || b.state !== "charging" || a.targetA >= 16 || b.targetA >= 16) continue;
      shared++;
      assert.ok(Math.abs(a.targetA - b.targetA) <= 1, `at ${row.t}s shares ${a.targetA} A and ${b.targetA} A differ by more than a step`);
    }
    assert.ok(shared > 100, `both cars shared the surplus in only ${shared} ticks`);

    // Mostly solar: the cars' energy came from the roof, not the grid.
    let carWh = 0;
    let importWh = 0;
    for (const row of rows) {
      const carsW = Object.values(row.sample.cars).reduce((s, c) => s + c.powerW, 0);
      carWh += (carsW * 5) / 3600;
      if (carsW > 0) importWh += (Math.max(0, Math.min(carsW, row.sample.gridW)) * 5) / 3600;
    }
    assert.ok(carWh > 20_000, `cars charged only ${Math.round(carWh)} Wh`);
    assert.ok(importWh / carWh < 0.15, `${Math.round((100 * importWh) / carWh)} % of the car energy came from the grid`);
  });

  it("a heat pump start: the car is cut in the same meter sample, and stopped when even the minimum no longer fits", () => {
    let heatPumpA = 0;
    const house = new HouseModel({ pvW: () => 0, houseA: () => [5 + heatPumpA, 5 + heatPumpA, 5 + heatPumpA] }, [car("car")]);
    const { rows } = runTrace({ fuseA: 25, chargers: [{ id: "car", mode: "now" }] }, house, {
      durationS: 1200,
      before: (t) => {
        // Starts 5 s after a ramp step, so the cut has to skip the command interval.
        heatPumpA = t >= 45 && t < 900 ? 12 : t >= 900 ? 18 : 0;
      },
    });
    const commands = commandsOf(rows, "car");
    assert.deepEqual(commands.filter((c) => c.t < 45).map((c) => c.amps), [6, 8, 10, 12, 14], "ramps up in steps of 2 A");
    const cut = commands.find((c) => c.t >= 45);
    assert.ok(cut && cut.t === 45 && cut.urgent && cut.amps === 7, `cut to 7 A at once, got ${JSON.stringify(cut)}`);
    const stop = commands.find((c) => c.t >= 900);
    assert.ok(stop && stop.t === 900 && stop.amps === 0, `stopped at once when 6 A no longer fits, got ${JSON.stringify(stop)}`);
    // Over the fuse only in the one sample that showed the heat pump, never longer.
    assertFuseHeld(rows, 25, 0, 0);
    assertRateLimited(rows, ["car"], 10);
  });

  it("a stale meter: failsafe limit within the timeout, held until fresh samples return", () => {
    const house = new HouseModel({ pvW: () => 0, houseA: flat(3) }, [car("a"), car("b")]);
    const alive = (t: number): boolean => t < 300 || t >= 420;
    const { rows } = runTrace({ fuseA: 32, failsafeA: 6, meterTimeoutS: 30, chargers: [{ id: "a", mode: "now" }, { id: "b", mode: "now" }] }, house, {
      durationS: 600,
      meterAlive: alive,
    });
    let lastSample = -Infinity;
    const limits: Record<string, number> = {};
    for (const row of rows) {
      if (row.meterSent) lastSample = row.t;
      for (const c of row.decision.commands) limits[c.chargerId] = c.amps;
      if (row.t - lastSample > 30) {
        assert.equal(row.decision.failsafe, true, `failsafe at ${row.t}s`);
        for (const id of ["a", "b"]) assert.ok(limits[id] <= 6, `${id} at ${limits[id]} A while the meter is stale (${row.t}s)`);
      }
    }
    assert.ok(rows.some((r) => r.t > 300 && r.t < 420 && r.decision.failsafe));
    // Back to normal only after two fresh samples.
    const back = rows.find((r) => r.t >= 420 && !r.decision.failsafe);
    assert.equal(back?.t, 425);
    assert.ok(rows.at(-1)!.decision.chargers.a.limitA > 6, "recovers after the meter returns");
    assertRateLimited(rows, ["a", "b"], 10);
  });

  it("a car ignoring its limit is flagged and the other car shrinks so the fuse holds", () => {
    const house = new HouseModel({ pvW: () => 0, houseA: flat(4) }, [car("rogue"), car("good")]);
    const { rows } = runTrace({ fuseA: 32, followAfterS: 30, chargers: [{ id: "rogue", mode: "now" }, { id: "good", mode: "now" }] }, house, {
      durationS: 600,
      before: (t, h) => {
        if (t === 200) h.cars.get("rogue")!.ignoresLimitA = 16;
      },
    });
    const before = rows.find((r) => r.t === 195)!.decision.chargers;
    assert.equal(before.rogue.limitA, 13);
    assert.equal(before.good.limitA, 13);
    const flagged = rows.find((r) => r.decision.chargers.rogue.notFollowing);
    assert.ok(flagged && flagged.t >= 230 && flagged.t <= 240, `flagged after the tolerance, at ${flagged?.t}`);
    const end = rows.at(-1)!;
    assert.equal(end.decision.chargers.good.limitA, 11, "the other car makes room for the rogue's 16 A");
    assert.ok(Math.max(...end.sample.gridA) <= 31, `grid ${end.sample.gridA} within fuse minus margin`);
    assertFuseHeld(rows, 32, 0, 60);
  });

  it("a 1-phase and a 3-phase car on one fuse: the 1-phase car is placed on the phase it loads", () => {
    // L1 is busy in the house; the single-phase car is wired to L3 (configured as L1, measured on L3).
    const house = new HouseModel({ pvW: () => 0, houseA: () => [12, 2, 2] }, [car("three", { connected: false }), car("one", { carPhases: 1, phase: 2 })]);
    const { rows } = runTrace({ fuseA: 25, chargers: [{ id: "three", mode: "now" }, { id: "one", mode: "now", phases: 1, phase: 0 }] }, house, {
      durationS: 600,
      before: (t, h) => {
        if (t === 120) h.cars.get("three")!.connected = true;
      },
    });
    const end = rows.at(-1)!.decision.chargers;
    assert.equal(end.three.limitA, 11, "three-phase car limited by L1 (25 - 1 margin - 12 house - 1 step)");
    assert.equal(end.one.limitA, 11, "single-phase car shares L3 equally, not squeezed onto busy L1");
    assertFuseHeld(rows, 25, 0, 0);
    assertRateLimited(rows, ["three", "one"], 10);
  });

  it("phase switching at the threshold: up after the enable delay, a pause at 0 A, never twice inside the dwell", () => {
    let surplusW = 3000;
    const house = new HouseModel({ pvW: () => surplusW + 3 * 2 * V, houseA: flat(2) }, [car("sw")]);
    const { rows } = runTrace({ fuseA: 25, chargers: [{ id: "sw", canSwitchPhases: true }] }, house, {
      durationS: 3600,
      before: (t) => {
        if (t < 600) surplusW = 3000;
        else if (t < 1200) surplusW = 5500;
        else if (t < 1800) surplusW = t % 60 < 30 ? 4000 : 4300; // hovering at the 3-phase minimum (4140 W)
        else surplusW = 2500;
      },
    });
    const commands = commandsOf(rows, "sw");
    assert.equal(commands[0].phases, 1, "starts on one phase when the surplus is below the 3-phase minimum");
    const switches = commands.filter((c, i) => i > 0 && c.phases !== commands[i - 1].phases);
    assert.ok(switches.length >= 2, `switched ${switches.length} times`);
    const up = switches[0];
    assert.equal(up.phases, 3);
    assert.equal(up.amps, 0, "a switch pauses the charge");
    assert.ok(up.t >= 660 && up.t <= 680, `up one enable delay after the surplus rose, at ${up.t}s`);
    for (let i = 1; i < switches.length; i++) {
      assert.ok(switches[i].t - switches[i - 1].t >= 600, `switches at ${switches[i - 1].t}s and ${switches[i].t}s inside the dwell`);
    }
    for (const s of switches) {
      const resumed = commands.find((c) => c.t > s.t && c.amps > 0);
      assert.ok(!resumed || resumed.t - s.t >= 30, `resumed ${resumed?.t}s, within the 30 s pause after ${s.t}s`);
    }
    const down = switches.find((s) => s.phases === 1);
    assert.ok(down && down.t >= 1800 + 180, `down to 1 phase only after the disable delay, at ${down?.t}`);
    assertRateLimited(rows, ["sw"], 10);
  });

  it("rebalances running sessions: a second car gets an equal share, not the leftovers", () => {
    const house = new HouseModel({ pvW: constantPv(11_500 + 3 * 2 * V), houseA: flat(2) }, [car("first"), car("second", { connected: false })]);
    const { rows } = runTrace({ fuseA: 35, chargers: [{ id: "first" }, { id: "second" }] }, house, {
      durationS: 900,
      before: (t, h) => {
        if (t === 300) h.cars.get("second")!.connected = true;
      },
    });
    assert.equal(rows.find((r) => r.t === 295)!.decision.chargers.first.limitA, 16);
    const end = rows.at(-1)!.decision.chargers;
    assert.equal(end.second.state, "charging");
    assert.ok(Math.abs(end.first.limitA - end.second.limitA) <= 1, `shares ${end.first.limitA} A and ${end.second.limitA} A`);
    assert.ok(end.first.limitA >= 7, "the budget is used, not left over");
  });

  it("rotates the only slot between equal cars after the rotation period, with hysteresis", () => {
    const house = new HouseModel({ pvW: constantPv(5000 + 3 * 2 * V), houseA: flat(2) }, [car("a"), car("b")]);
    const { rows } = runTrace({ fuseA: 25, rotationS: 900, chargers: [{ id: "a" }, { id: "b" }] }, house, { durationS: 3600 });
    const charging = (id: string): number => rows.filter((r) => r.decision.chargers[id].state === "charging").length;
    assert.ok(charging("a") > 100 && charging("b") > 100, `both get turns: a ${charging("a")}, b ${charging("b")} ticks`);
    // Holders change no more often than the rotation period.
    let holder: string | undefined;
    let since = 0;
    for (const row of rows) {
      const now = ["a", "b"].filter((id) => row.decision.chargers[id].state === "charging");
      if (now.length !== 1 || now[0] === holder) continue;
      if (holder !== undefined) assert.ok(row.t - since >= 900, `slot moved from ${holder} after ${row.t - since}s`);
      holder = now[0];
      since = row.t;
    }
    assertRateLimited(rows, ["a", "b"], 10);
  });
});
