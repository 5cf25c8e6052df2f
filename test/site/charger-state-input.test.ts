import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normaliseConfig } from "../../nodes/lib/site/config";
import { SiteManager } from "../../nodes/lib/site/manager";
import { applySiteInput } from "../../nodes/lib/site/input";
import type { ChargerState } from "../../nodes/lib/types";

const T = "2026-12-06T10:00:00.000Z";
const NOW = Date.parse(T) + 1000;

describe("site manager: the common ChargerState of any brand, wired straight in", () => {
  const state = (source: string, chargerId: string, amps: number): ChargerState => ({
    source,
    chargerId,
    operationState: "charging",
    vehicleConnected: true,
    powerW: amps * 230,
    currentA: { l1: 0, l2: amps, l3: 0 },
    samplingTime: T,
  });

  it("reads a state by its chargerId whatever the topic the charger node gave it (AMTRON: the id; Charge Amps: chargeamps/<id>/<connector>; OCPP: <id>/charger.state)", () => {
    const manager = new SiteManager(normaliseConfig({ fuseA: 25, chargers: [{ id: "carport", mode: "now" }, { id: "driveway", mode: "now" }, { id: "garage", mode: "now" }] }));
    assert.equal(applySiteInput(manager, { topic: "carport", payload: state("amtron", "carport", 8) }, NOW), "charger");
    assert.equal(applySiteInput(manager, { topic: "chargeamps/driveway/1", payload: state("chargeamps", "driveway", 9) }, NOW), "charger");
    assert.equal(applySiteInput(manager, { topic: "garage/charger.state", payload: { ...state("ocpp", "garage", 10), kind: "charger.state", identity: "garage", time: T, connectorId: 1, online: true } }, NOW), "charger");
    manager.setGrid({ time: NOW, powerW: 6000, currentsA: [2, 29, 2] });
    const decision = manager.update(NOW + 1000);
    assert.deepEqual([decision.chargers.carport.measuredA, decision.chargers.driveway.measuredA, decision.chargers.garage.measuredA], [8, 9, 10]);
  });

  it("ignores states of chargers it does not manage, and leaves its own topics alone", () => {
    const manager = new SiteManager(normaliseConfig({ fuseA: 25, chargers: [{ id: "garage", mode: "now" }] }));
    assert.equal(applySiteInput(manager, { topic: "neighbour", payload: state("amtron", "neighbour", 8) }, NOW), "ignored");
    // charger/<id> still names the charger itself (a state whose chargerId is the vendor's own id).
    assert.equal(applySiteInput(manager, { topic: "charger/garage", payload: state("chargeamps", "2003019970M", 7) }, NOW), "charger");
    // The manager's own topics keep their meaning, whatever the payload looks like.
    assert.equal(applySiteInput(manager, { topic: "grid", payload: state("amtron", "garage", 8) }, NOW), "grid");
  });
});
