import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ChargerRegistry, ConnectorHint, MAX_CONNECTORS_PER_CHARGER } from "../../nodes/lib/ocpp/core/registry";
import type { ChargerLink } from "../../nodes/lib/ocpp/core/contract";

describe("charger registry", () => {
  it("records readings on the live entry of each charger, also right after an entry was dropped to make room", () => {
    const registry = new ChargerRegistry();
    registry.maxEntries = 2;
    registry.setMeasurements("A", 1, { energyWh: 100 });
    registry.setMeasurements("B", 1, { energyWh: 200 });
    // A third charger makes room by forgetting the first (none is connected); A's entry was the one found last before B.
    registry.touch("A");
    registry.setMeasurements("C", 1, { energyWh: 300 });
    const known = ["A", "B", "C"].filter((id) => registry.snapshot(id) !== undefined);
    assert.equal(known.length, 2, `kept ${known.join(", ")}`);
    const dropped = ["A", "B"].find((id) => !known.includes(id))!;
    // The dropped charger comes back: its readings go to a new entry that the snapshot shows, not to the forgotten one.
    registry.touch("C");
    registry.setMeasurements(dropped, 1, { energyWh: 999, powerW: 7400 });
    const connector = registry.snapshot(dropped)?.connectors.find((c) => c.connectorId === 1);
    assert.equal(connector?.energyWh, 999);
    assert.equal(connector?.powerW, 7400);
    // Back and forth between chargers: each keeps its own figures.
    for (let i = 0; i < 3; i++) {
      registry.setMeasurements("C", 1, { powerW: 10 + i });
      registry.setMeasurements(dropped, 1, { powerW: 20 + i });
    }
    assert.equal(registry.snapshot("C")?.connectors[0].powerW, 12);
    assert.equal(registry.snapshot(dropped)?.connectors[0].powerW, 22);
  });

  it("merges phase readings into the connector and hands out snapshots that later readings do not change", () => {
    const registry = new ChargerRegistry();
    registry.setMeasurements("P", 1, { currentA: { l1: 16 }, voltageV: { l1: 230.5 } });
    const first = registry.snapshot("P")!.connectors[0];
    registry.setMeasurements("P", 1, { currentA: { l2: 15.5 } });
    registry.setMeasurements("P", 1, { currentA: { l1: 6 }, voltageV: { l3: 229 } });
    const later = registry.snapshot("P")!.connectors[0];
    assert.deepEqual(later.currentA, { l1: 6, l2: 15.5 });
    assert.deepEqual(later.voltageV, { l1: 230.5, l3: 229 });
    // The first snapshot is a copy: the readings written into the connector since then are not in it.
    assert.deepEqual(first.currentA, { l1: 16 });
    assert.deepEqual(first.voltageV, { l1: 230.5 });
    later.currentA!.l1 = 99;
    assert.equal(registry.snapshot("P")!.connectors[0].currentA!.l1, 6);
  });

  it("writes readings through a connection's ConnectorHint to the live entry, also after its charger was forgotten and came back", () => {
    const registry = new ChargerRegistry();
    registry.maxEntries = 2;
    const hint = new ConnectorHint();
    registry.setMeasurements("A", 1, { energyWh: 1 }, hint);
    registry.setMeasurements("A", 1, { energyWh: 2 }, hint);
    registry.setMeasurements("A", 2, { energyWh: 20 }, hint);
    registry.setMeasurements("A", 1, { powerW: 7 }, hint);
    assert.deepEqual(
      registry.snapshot("A")!.connectors.map((c) => [c.connectorId, c.energyWh, c.powerW]),
      [[1, 2, 7], [2, 20, undefined]],
    );
    // B and C make room by forgetting A (none is connected); A comes back: the hint's connector is from the old entry.
    registry.setMeasurements("B", 1, { energyWh: 3 });
    registry.setMeasurements("C", 1, { energyWh: 4 });
    assert.equal(registry.snapshot("A"), undefined);
    registry.setMeasurements("A", 1, { energyWh: 5 }, hint);
    assert.equal(registry.snapshot("A")?.connectors[0].energyWh, 5);
    // A hint is one connection's: another charger's readings never land on it.
    registry.setMeasurements("B", 1, { energyWh: 6 }, hint);
    assert.equal(registry.snapshot("B")?.connectors[0].energyWh, 6);
    assert.equal(registry.snapshot("A")?.connectors[0].energyWh, 5);
  });

  it("keeps at most 64 connectors per charger, whatever connector ids it makes up", () => {
    const registry = new ChargerRegistry();
    for (let id = 1; id <= 500; id++) {
      registry.setMeasurements("X", id, { energyWh: id });
      registry.applyStatus("X", id, { status: "Available" });
    }
    const connectors = registry.snapshot("X")!.connectors;
    assert.equal(connectors.length, MAX_CONNECTORS_PER_CHARGER);
    assert.equal(MAX_CONNECTORS_PER_CHARGER, 64);
    // The ones it has keep working.
    registry.setMeasurements("X", 1, { energyWh: 1_000 });
    assert.equal(registry.snapshot("X")!.connectors.find((c) => c.connectorId === 1)?.energyWh, 1_000);
  });

  it("a charger that left without a trace and comes back gets a new entry that shows its readings", () => {
    const registry = new ChargerRegistry();
    const connection = registry.attach({ identity: "X" } as ChargerLink, {});
    // Connected and gone with no boot, status or reading: forgotten at once (scans and typos do not fill the list).
    assert.equal(registry.detach("X", connection), true);
    assert.equal(registry.snapshot("X"), undefined);
    registry.setMeasurements("X", 1, { energyWh: 5 });
    assert.equal(registry.snapshot("X")?.connectors[0].energyWh, 5);
  });
});
