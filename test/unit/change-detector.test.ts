import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ChangeDetector, flatten, parseDeadbands, topicLevel } from "../../nodes/lib/change-detector";

const fields = (changes: Array<{ field: string }>): string[] => changes.map((c) => c.field).sort();

describe("ChangeDetector", () => {
  it("emits every field on the first sample and nothing when unchanged", () => {
    const d = new ChangeDetector({ ignore: ["raw"] });
    const first = d.detect("garage", { powerW: 7000, operationState: "charging", raw: { x: 1 } }, 0);
    assert.deepEqual(fields(first), ["operationState", "powerW"]);
    assert.ok(first.every((c) => c.reason === "first"));
    assert.deepEqual(d.detect("garage", { powerW: 7000, operationState: "charging" }, 1000), []);
  });

  it("a null field is no value: nothing is published for it, and the last real value stays the reference", () => {
    const d = new ChangeDetector();
    assert.deepEqual(fields(d.detect("n", { powerW: null, operationState: "charging" }, 0)), ["operationState"]);
    assert.deepEqual(fields(d.detect("n", { powerW: 7000 }, 1)), ["powerW"]);
    assert.deepEqual(fields(d.detect("n", { powerW: null }, 2)), []);
    assert.deepEqual(fields(d.detect("n", { powerW: 7000 }, 3)), []);
  });

  it("keeps chargers apart", () => {
    const d = new ChangeDetector();
    d.detect("a", { powerW: 1 }, 0);
    assert.deepEqual(fields(d.detect("b", { powerW: 1 }, 0)), ["powerW"]);
  });

  it("applies absolute and percent deadbands against the last emitted value", () => {
    const d = new ChangeDetector({ deadbands: parseDeadbands("powerW=100, totalEnergyWh=1%") });
    d.detect("c", { powerW: 1000, totalEnergyWh: 10_000 }, 0);
    assert.deepEqual(d.detect("c", { powerW: 1100, totalEnergyWh: 10_100 }, 1), [], "exactly at the band is not a change");
    // Drift: each step is inside the band, but the sum since the last emission is not.
    const drift = d.detect("c", { powerW: 1101, totalEnergyWh: 10_101 }, 2);
    assert.deepEqual(drift.map((c) => [c.field, c.value, c.previous]), [
      ["powerW", 1101, 1000],
      ["totalEnergyWh", 10_101, 10_000],
    ]);
  });

  it("uses the * deadband for numbers without their own rule", () => {
    const d = new ChangeDetector({ deadbands: parseDeadbands("*=5") });
    d.detect("c", { a: 10, b: 10 }, 0);
    assert.deepEqual(fields(d.detect("c", { a: 14, b: 16 }, 1)), ["b"]);
  });

  it("flattens nested objects and ignores whole branches", () => {
    const d = new ChangeDetector({ ignore: ["voltageV"] });
    const out = d.detect("c", { currentA: { l1: 6, l2: 7 }, voltageV: { l1: 230 } }, 0);
    assert.deepEqual(fields(out), ["currentA.l1", "currentA.l2"]);
    assert.deepEqual(flatten({ a: { b: { c: 1 } }, d: [1, 2] }), { "a.b.c": 1, d: [1, 2] });
  });

  it("re-sends unchanged fields after the refresh period", () => {
    const d = new ChangeDetector({ refreshAfterMs: 60_000 });
    d.detect("c", { powerW: 5 }, 0);
    assert.deepEqual(d.detect("c", { powerW: 5 }, 59_999), []);
    const refreshed = d.detect("c", { powerW: 5 }, 60_000);
    assert.deepEqual(refreshed.map((c) => c.reason), ["refresh"]);
  });

  it("reset makes the next sample complete again", () => {
    const d = new ChangeDetector();
    d.detect("c", { a: 1 }, 0);
    d.reset("c");
    assert.deepEqual(fields(d.detect("c", { a: 1 }, 1)), ["a"]);
  });

  it("survives an export/import round trip and ignores garbage memory", () => {
    const d = new ChangeDetector();
    d.detect("c", { a: 1, s: "x" }, 0);
    const e = new ChangeDetector();
    e.importMemory(JSON.parse(JSON.stringify(d.exportMemory())));
    assert.deepEqual(e.detect("c", { a: 1, s: "y" }, 1).map((c) => c.field), ["s"]);
    const f = new ChangeDetector();
    f.importMemory({ c: "nonsense" });
    assert.deepEqual(fields(f.detect("c", { a: 1 }, 0)), ["a"]);
  });

  it("rejects unreadable deadbands with a clear message", () => {
    assert.throws(() => parseDeadbands("powerW=lots"), /Cannot read deadband "powerW=lots"/);
    assert.deepEqual(parseDeadbands(" a=1 ,b=2.5%\n"), {
      a: { kind: "absolute", value: 1 },
      b: { kind: "percent", value: 2.5 },
    });
  });

  it("makes names safe as a topic level", () => {
    assert.equal(topicLevel("home/garage+#"), "home_garage__");
  });
});
