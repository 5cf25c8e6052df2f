import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AvailabilityProfile, samplesFrom } from "../../../nodes/lib/availability/profile";

describe("availability profile", () => {
  it("learns mean availability and P(at least one free) per weekday × hour", () => {
    const profile = new AvailabilityProfile();
    const { samples, rejected } = samplesFrom([
      { site: "A", siteName: "Site A", weekday: "Monday", hourOfDay: 8, available: 0, total: 4, time: "x", counts: {} },
      { site: "A", weekday: "Monday", hourOfDay: 8, available: 2, total: 4 },
      { measurement: "charger_availability", tags: { site: "A", weekday: "Monday", hour_of_day: "8" }, fields: { available: 1, total: 4 }, timestamp: "t" },
      { site: "A", weekday: "Tuesday", hour_of_day: 17, available: 4, total: 4 },
      { site: "A", weekday: "Funday", hourOfDay: 8, available: 1, total: 4 },
      { site: "A", weekday: "Monday", hourOfDay: 24, available: 1, total: 4 },
      "garbage",
    ]);
    assert.equal(rejected, 3);
    for (const s of samples) profile.add(s);
    assert.deepEqual(profile.table(), [
      { site: "A", siteName: "Site A", weekday: "Monday", hour: 8, samples: 3, meanAvailable: 1, meanShare: 0.25, pAnyFree: 0.667 },
      { site: "A", siteName: "Site A", weekday: "Tuesday", hour: 17, samples: 1, meanAvailable: 4, meanShare: 1, pAnyFree: 1 },
    ]);
    const chart = profile.chartSeries("A");
    assert.equal(chart.length, 48, "24 hours for each weekday with data");
    assert.deepEqual(chart[8], { series: "Monday", x: 8, y: 66.7 });
    assert.deepEqual(chart[7], { series: "Monday", x: 7, y: null });
    assert.deepEqual(profile.chartSeries("A", "meanAvailable", "Tuesday")[17], { series: "Tuesday", x: 17, y: 4 });
  });

  it("survives a round trip through JSON and ignores corrupt saved data", () => {
    const profile = new AvailabilityProfile();
    profile.add({ site: "B", weekday: "Sunday", hourOfDay: 23, available: 1, total: 2 });
    const restored = AvailabilityProfile.fromJSON(JSON.parse(JSON.stringify(profile.toJSON())));
    assert.deepEqual(restored.table(), profile.table());
    assert.equal(restored.sampleCount, 1);
    const corrupt = AvailabilityProfile.fromJSON({ version: 1, sites: { B: { cells: { "9-99": { n: 1 }, "6-23": { n: "x" } } } } });
    assert.deepEqual(corrupt.table(), []);
    assert.deepEqual(AvailabilityProfile.fromJSON("nonsense").sites, []);
  });

  it("reads the availability node's all-sites payload and resets per site", () => {
    const profile = new AvailabilityProfile();
    const { samples } = samplesFrom({ records: [{ site: "C", weekday: "Friday", hourOfDay: 12, available: 0, total: 2 }, { site: "D", weekday: "Fri", hourOfDay: 12, available: 1, total: 1 }] });
    for (const s of samples) profile.add(s);
    assert.deepEqual(profile.sites, ["C", "D"]);
    profile.reset("C");
    assert.deepEqual(profile.sites, ["D"]);
  });
});
