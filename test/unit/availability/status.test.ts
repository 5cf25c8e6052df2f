import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chargefinderStatus, chargyClass, chargyStatus, datexStatus, genericStatus, ocpiStatus } from "../../../nodes/lib/availability/status";

describe("availability status model", () => {
  it("maps Chargy states like the exporter, and unknown states to unavailable without throwing", () => {
    const raw = ["AVAILABLE", "CHARGING", "SUSPENDED_EV", "SUSPENDED_EVSE", "FINISHING", "PREPARING", "UNAVAILABLE", "OFFLINE", "FAULT", "SOMETHING_NEW", 42, null];
    assert.deepEqual(raw.map(chargyClass), [
      "available", "charging", "charging", "charging", "charging", "charging", "unavailable", "unavailable", "unavailable", "unavailable", "unavailable", "unavailable",
    ]);
    assert.deepEqual(raw.map(chargyStatus), [
      "AVAILABLE", "CHARGING", "CHARGING", "CHARGING", "CHARGING", "CHARGING", "INOPERATIVE", "UNKNOWN", "OUTOFORDER", "UNKNOWN", "UNKNOWN", "UNKNOWN",
    ]);
  });

  it("maps Chargefinder codes: 2 free, 3 occupied, anything else unknown", () => {
    assert.deepEqual([2, "2", 3, 5, 0, null, "x"].map(chargefinderStatus), ["AVAILABLE", "AVAILABLE", "CHARGING", "UNKNOWN", "UNKNOWN", "UNKNOWN", "UNKNOWN"]);
  });

  it("maps OCPI, DATEX II and generic words", () => {
    assert.deepEqual(["AVAILABLE", "BLOCKED", "PLANNED", "REMOVED", "weird"].map(ocpiStatus), ["AVAILABLE", "BLOCKED", "INOPERATIVE", "INOPERATIVE", "UNKNOWN"]);
    assert.deepEqual(["available", "occupied", "faulted", "outOfOrder", "unavailable", "_extended"].map(datexStatus), [
      "AVAILABLE", "CHARGING", "OUTOFORDER", "OUTOFORDER", "INOPERATIVE", "UNKNOWN",
    ]);
    assert.equal(genericStatus("broken", { broken: "outoforder" }), "OUTOFORDER");
    assert.equal(genericStatus("free"), "AVAILABLE");
    assert.equal(genericStatus("out of order"), "OUTOFORDER");
    assert.equal(genericStatus("Charging"), "CHARGING");
    assert.equal(genericStatus({ nested: true }), "UNKNOWN");
    assert.equal(genericStatus(1, { "1": "AVAILABLE" }), "AVAILABLE");
  });
});
