/**
 * Chargers with two connectors (or EVSEs): an entry "CP1/2" is connector 2 of
 * CP1, and states of that connector go to it; states of the whole charger
 * (no connector) and entries without a connector behave as before.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normaliseConfig, splitConnector } from "../../nodes/lib/site/config";
import { SiteManager } from "../../nodes/lib/site/manager";
import { applySiteInput, entryFor } from "../../nodes/lib/site/input";

const T = "2026-12-06T10:00:00.000Z";
const NOW = Date.parse(T) + 1000;

const state = (chargerId: string, amps: number, connectorId?: number): Record<string, unknown> => ({
  source: "ocpp",
  chargerId,
  ...(connectorId === undefined ? {} : { connectorId }),
  operationState: "charging",
  vehicleConnected: true,
  powerW: amps * 3 * 230,
  currentA: { l1: amps, l2: amps, l3: amps },
  samplingTime: T,
});

const meter = (identity: string, connectorId: number, amps: number): Record<string, unknown> => ({
  kind: "meter",
  identity,
  connectorId,
  samples: [
    { measurand: "Power.Active.Import", value: amps * 3 * 230 },
    ...["L1", "L2", "L3"].map((phase) => ({ measurand: "Current.Import", phase, value: amps })),
  ],
});

function measured(manager: SiteManager): Record<string, number> {
  manager.setGrid({ time: NOW, powerW: 9000, currentsA: [14, 14, 14] });
  const decision = manager.update(NOW + 1000);
  return Object.fromEntries(Object.entries(decision.chargers).map(([id, view]) => [id, view.measuredA]));
}

describe("site manager: one entry per connector of a charger", () => {
  it("splits an entry id into the charger and its connector; other ids name the whole charger", () => {
    assert.deepEqual(splitConnector("CP1/2"), { chargerId: "CP1", connector: 2 });
    assert.deepEqual(splitConnector("site/a/1"), { chargerId: "site/a", connector: 1 });
    assert.deepEqual(splitConnector("CP1"), { chargerId: "CP1" });
    assert.deepEqual(splitConnector("CP1/0"), { chargerId: "CP1/0" }, "connector 0 is the whole charger, not an entry");
    assert.deepEqual(splitConnector("CP1/left"), { chargerId: "CP1/left" });
    assert.deepEqual(splitConnector("/2"), { chargerId: "/2" });
  });

  it("refuses a charger listed both as a whole and by a connector, in words", () => {
    assert.throws(() => normaliseConfig({ chargers: [{ id: "CP1" }, { id: "CP1/2" }] }), /charger "CP1" is listed as a whole and by its connector "CP1\/2"/);
    assert.doesNotThrow(() => normaliseConfig({ chargers: [{ id: "CP1/1" }, { id: "CP1/2" }, { id: "CP2" }] }));
  });

  it("ChargerStates of connectors 1 and 2 of one charger reach their own entries instead of overwriting each other", () => {
    const manager = new SiteManager(normaliseConfig({ fuseA: 63, chargers: [{ id: "CP1/1", mode: "now" }, { id: "CP1/2", mode: "now" }] }));
    assert.equal(applySiteInput(manager, { topic: "CP1/charger.state", payload: { ...state("CP1", 7, 1), kind: "charger.state", identity: "CP1", time: T, online: true } }, NOW), "charger");
    assert.equal(applySiteInput(manager, { topic: "CP1/charger.state", payload: { ...state("CP1", 12, 2), kind: "charger.state", identity: "CP1", time: T, online: true } }, NOW), "charger");
    assert.deepEqual(measured(manager), { "CP1/1": 7, "CP1/2": 12 });
    // A state for the charger as a whole names no entry here: it is ignored rather than guessed onto a connector.
    assert.equal(applySiteInput(manager, { topic: "CP1", payload: state("CP1", 5) }, NOW), "ignored");
  });

  it("OCPP status and meter events read directly go to the connector's entry", () => {
    const manager = new SiteManager(normaliseConfig({ fuseA: 63, chargers: [{ id: "CP1/1", mode: "now" }, { id: "CP1/2", mode: "now" }] }));
    assert.equal(applySiteInput(manager, { topic: "CP1/status", payload: { kind: "status", identity: "CP1", connectorId: 2, status: "Charging" } }, NOW), "charger");
    assert.equal(applySiteInput(manager, { topic: "CP1/meter", payload: meter("CP1", 2, 11) }, NOW), "charger");
    assert.equal(applySiteInput(manager, { topic: "CP1/meter", payload: meter("CP1", 1, 4) }, NOW), "charger");
    assert.deepEqual(measured(manager), { "CP1/1": 4, "CP1/2": 11 });
    assert.equal(applySiteInput(manager, { topic: "CP2/meter", payload: meter("CP2", 1, 4) }, NOW), "ignored");
  });

  it("entries without a connector take every connector's state as before, and a charger-wide state", () => {
    const manager = new SiteManager(normaliseConfig({ fuseA: 63, chargers: [{ id: "CP1", mode: "now" }, { id: "CP2/2", mode: "now" }] }));
    assert.equal(entryFor(manager, "CP1", 2), "CP1");
    assert.equal(entryFor(manager, "CP1", undefined), "CP1");
    assert.equal(entryFor(manager, "CP2", 2), "CP2/2");
    assert.equal(entryFor(manager, "CP2", 1), undefined, "connector 1 of CP2 is not managed");
    assert.equal(entryFor(manager, "CP2", undefined), undefined);
    applySiteInput(manager, { topic: "CP1/charger.state", payload: state("CP1", 9, 2) }, NOW);
    assert.equal(measured(manager).CP1, 9);
    applySiteInput(manager, { topic: "CP1", payload: state("CP1", 6) }, NOW);
    assert.equal(measured(manager).CP1, 6);
  });

  it("mode/, priority/ and plan/ topics name a connector's entry by its whole id", () => {
    const manager = new SiteManager(normaliseConfig({ fuseA: 63, chargers: [{ id: "CP1/1", mode: "pv" }, { id: "CP1/2", mode: "pv" }] }));
    assert.equal(applySiteInput(manager, { topic: "mode/CP1/2", payload: "now" }, NOW), "mode");
    assert.equal(applySiteInput(manager, { topic: "plan/CP1/1", payload: { energyKWh: 5, by: NOW + 7_200_000 } }, NOW), "plan");
    manager.setGrid({ time: NOW, powerW: 0, currentsA: [0, 0, 0] });
    const decision = manager.update(NOW);
    assert.equal(decision.chargers["CP1/2"].mode, "now");
    assert.equal(decision.chargers["CP1/1"].mode, "pv");
    assert.ok(decision.chargers["CP1/1"].plan, "the plan is on connector 1's entry");
    assert.equal(decision.chargers["CP1/2"].plan, undefined);
  });
});
