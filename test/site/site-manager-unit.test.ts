import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normaliseConfig, SiteConfigError } from "../../nodes/lib/site/config";
import { SiteManager, statusText } from "../../nodes/lib/site/manager";
import { Capacity, loadVector } from "../../nodes/lib/site/capacity";
import { applySiteInput } from "../../nodes/lib/site/input";
import { waterFill, type FillItem } from "../../nodes/lib/site/water-fill";

const item = (id: string, priority = 1, phases: 1 | 3 = 3): FillItem => ({ id, phases, phase: 0, amps: 6, maxA: 16, priority });

describe("site manager settings", () => {
  it("fills evcc's defaults and rejects settings that make no sense, in words", () => {
    const config = normaliseConfig({ chargers: [{ id: "a" }] });
    assert.equal(config.enableDelayS, 60);
    assert.equal(config.disableDelayS, 180);
    assert.equal(config.chargers[0].minA, 6);
    assert.throws(() => normaliseConfig({ fuseA: 0, chargers: [] }), SiteConfigError);
    assert.throws(() => normaliseConfig({ chargers: [{ id: "a", circuit: "garage" }] }), /not defined/);
    assert.throws(() => normaliseConfig({ circuits: [{ id: "x", parent: "y" }, { id: "y", parent: "x" }], chargers: [] }), /loop/);
    assert.throws(() => normaliseConfig({ chargers: [{ id: "a" }, { id: "a" }] }), /twice/);
    assert.throws(() => normaliseConfig({ chargers: [{ id: "a", minA: 10, maxA: 8 }] }), /do not make sense/);
  });
});

describe("water-filling", () => {
  const roomy = (): Capacity => new Capacity([100, 100, 100], [], 0, 230, 3);

  it("equal: the same current for each car", () => {
    const items = [item("a"), item("b")];
    waterFill(items, 2 * 2 * 690, roomy(), "equal", 230);
    assert.deepEqual(items.map((i) => i.amps), [8, 8]);
  });

  it("weighted: extra current in proportion to the weights", () => {
    const items = [item("a", 3), item("b", 1)];
    waterFill(items, 2 * 6 * 690, roomy(), "weighted", 230);
    // Levels per weight equalise: a/3 = b/1 with a + b = 24 → 18 capped at 16, b gets the rest.
    assert.equal(items[0].amps, 16);
    assert.equal(items[1].amps, 8);
  });

  it("priority: the higher priority is filled to its maximum first", () => {
    const items = [item("low", 1), item("high", 5)];
    waterFill(items, 12 * 690, roomy(), "priority", 230);
    assert.equal(items[1].amps, 16);
    assert.equal(items[0].amps, 8);
  });

  it("a circuit limit caps the chargers on it, per phase, whatever the budget", () => {
    const capacity = new Capacity([100, 100, 100], [{ id: "garage", maxA: 21 }], 1, 230, 3);
    const a = { ...item("a"), circuit: "garage" };
    const b = { ...item("b", 1, 1), circuit: "garage" };
    capacity.take("garage", loadVector(6, 3, 0), 6 * 690);
    capacity.take("garage", loadVector(6, 1, 0), 6 * 230);
    waterFill([a, b], Infinity, capacity, "equal", 230);
    // L1 carries both: 20 A (21 - 1 margin) shared equally.
    assert.equal(a.amps + b.amps, 20);
    assert.equal(a.amps, 10);
  });
});

describe("site manager", () => {
  it("a circuit tree: two chargers under a 16 A sub-circuit never get more than it together", () => {
    const manager = new SiteManager(
      normaliseConfig({ fuseA: 63, circuits: [{ id: "garage", maxA: 16 }], chargers: [{ id: "a", mode: "now", circuit: "garage" }, { id: "b", mode: "now", circuit: "garage" }] }),
    );
    manager.setGrid({ time: 0, powerW: 500, currentsA: [1, 1, 1] });
    manager.update(0);
    manager.setGrid({ time: 60_000, powerW: 500, currentsA: [1, 1, 1] });
    const decision = manager.update(60_000);
    // 16 A - 1 A margin leaves 15 A: only two minimums of 6 A fit, then 7 + 7.
    assert.equal(decision.chargers.a.targetA + decision.chargers.b.targetA, 14);
  });

  it("off and unplugged chargers get 0 A, and the status says what happens in words", () => {
    const manager = new SiteManager(normaliseConfig({ fuseA: 25, chargers: [{ id: "a", mode: "now" }, { id: "b" }] }));
    manager.setReading("b", { time: 0, connected: false });
    manager.setGrid({ time: 0, powerW: 2000, currentsA: [3, 3, 3] });
    const decision = manager.update(0);
    assert.equal(decision.chargers.b.targetA, 0);
    assert.equal(decision.chargers.b.reason, "no car");
    assert.match(statusText(decision), /^1 car, surplus -2\.0 kW, L1 headroom 22 A$/);
    assert.throws(() => manager.setMode("nope", "now"), /not in the site manager's list/);
  });

  it("waits for the first meter sample for one timeout before the failsafe", () => {
    const manager = new SiteManager(normaliseConfig({ meterTimeoutS: 30, chargers: [{ id: "a", mode: "now" }] }));
    assert.equal(manager.update(0).commands.length, 0);
    const late = manager.update(31_000);
    assert.equal(late.failsafe, true);
    assert.deepEqual(late.commands.map((c) => c.amps), [6]);
  });

  it("reads the OCPP in node's status and meter events directly, and ignores chargers it does not manage", () => {
    const manager = new SiteManager(normaliseConfig({ fuseA: 25, chargers: [{ id: "garage", mode: "now" }] }));
    const t = "2026-12-06T10:00:00.000Z";
    const now = Date.parse(t) + 1000;
    const meter = (l2: number) => ({ kind: "meter", identity: "garage", time: t, connectorId: 1, samples: [
      { measurand: "Power.Active.Import", value: l2 * 230 },
      { measurand: "Current.Import", phase: "L1", value: 0 },
      { measurand: "Current.Import", phase: "L2", value: l2 },
      { measurand: "Current.Import", phase: "L3", value: 0 },
    ] });
    assert.equal(applySiteInput(manager, { topic: "garage/status", payload: { kind: "status", identity: "garage", time: t, connectorId: 1, status: "Available" } }, now), "charger");
    manager.setGrid({ time: now, powerW: 0, currentsA: [2, 2, 2] });
    assert.equal(manager.update(now).chargers.garage.reason, "no car");
    applySiteInput(manager, { topic: "garage/status", payload: { kind: "status", identity: "garage", time: t, connectorId: 1, status: "Charging" } }, now);
    applySiteInput(manager, { topic: "garage/meter", payload: meter(10) }, now);
    // The car draws on L2 only: it is a single-phase car, placed on L2 (house 2 A + car 10 A there).
    manager.setGrid({ time: now + 1000, powerW: 3680, currentsA: [2, 12, 2] });
    const decision = manager.update(now + 20_000);
    assert.equal(decision.chargers.garage.measuredA, 10);
    assert.equal(decision.chargers.garage.state, "charging");
    assert.equal(applySiteInput(manager, { topic: "other/meter", payload: { ...meter(5), identity: "other" } }, now), "ignored");
  });
});
