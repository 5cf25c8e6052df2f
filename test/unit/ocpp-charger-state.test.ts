import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ChargerRegistry } from "../../nodes/lib/ocpp/core/registry";
import { ChargerStateFeed, operationStateOf, phasesInUse } from "../../nodes/lib/ocpp/core/charger-state";
import { matchesFilter, type ChargerStateEvent, type OcppEvent } from "../../nodes/lib/ocpp/core/events";
import type { ChargerLink } from "../../nodes/lib/ocpp/core/contract";

const T = "2026-12-06T10:00:00.000Z";
const link: ChargerLink = { identity: "garage", protocol: "ocpp1.6", call: () => Promise.reject(new Error("not used")) };

/** A registry with one connected charger and a feed on it; `flush` waits for the feed's timer. */
function setup(minIntervalMs = 0) {
  const registry = new ChargerRegistry();
  const connectionId = registry.attach(link, { protocol: "ocpp1.6" });
  const sent: ChargerStateEvent[] = [];
  const feed = new ChargerStateFeed({ snapshot: (id) => registry.snapshot(id), emit: (e) => sent.push(e), minIntervalMs });
  const status = (connectorId: number, value: string): void => {
    registry.applyStatus("garage", connectorId, { status: value, errorCode: "NoError" });
    feed.note({ kind: "status", identity: "garage", time: T, connectorId, status: value, errorCode: "NoError" });
  };
  const meter = (connectorId: number, values: { powerW: number; currentA: { l1: number; l2: number; l3: number }; offeredA?: number }): void => {
    registry.setMeasurements("garage", connectorId, { powerW: values.powerW, currentA: values.currentA, voltageV: { l1: 230, l2: 231, l3: 229 }, energyWh: 1000 });
    const samples = values.offeredA === undefined ? [] : [{ measurand: "Current.Offered", value: values.offeredA, unit: "A" }];
    feed.note({ kind: "meter", identity: "garage", time: T, connectorId, samples } as unknown as OcppEvent);
  };
  const flush = (ms = 5): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  return { registry, connectionId, feed, sent, status, meter, flush };
}

describe("OCPP charger.state", () => {
  it("maps OCPP status words to the common state words; an offline charger is out of reach", () => {
    assert.equal(operationStateOf("Available", true), "idle");
    assert.equal(operationStateOf("Preparing", true), "connected");
    assert.equal(operationStateOf("SuspendedEVSE", true), "suspended");
    assert.equal(operationStateOf("Faulted", true), "fault");
    assert.equal(operationStateOf("Charging", false), "unscheduled_downtime");
    assert.equal(operationStateOf(undefined, true), "unknown");
    assert.equal(phasesInUse({ l1: 10, l2: 0.3, l3: 0 }), 1);
    assert.equal(phasesInUse({ l1: 10, l2: 10, l3: 10 }), 3);
    assert.equal(phasesInUse({ l1: 0, l2: 0, l3: 0 }), undefined);
  });

  it("builds the ChargerState from status and meter values, and sends it only when it changed", async () => {
    const { feed, sent, status, meter, flush } = setup();
    status(1, "Charging");
    meter(1, { powerW: 2300, currentA: { l1: 10, l2: 0.2, l3: 0 }, offeredA: 16 });
    await flush();
    assert.equal(sent.length, 1, "one state for both events");
    const { time, samplingTime, ...state } = sent[0];
    assert.equal(time, samplingTime);
    assert.deepEqual(state, {
      kind: "charger.state",
      identity: "garage",
      source: "ocpp",
      chargerId: "garage",
      connectorId: 1,
      operationState: "charging",
      online: true,
      vehicleConnected: true,
      powerW: 2300,
      currentA: { l1: 10, l2: 0.2, l3: 0 },
      phases: 1,
      voltageV: { l1: 230, l2: 231, l3: 229 },
      maxCurrentA: 16,
      totalEnergyWh: 1000,
      raw: { status: "Charging", errorCode: "NoError" },
    });
    // The same values again: nothing new to say.
    meter(1, { powerW: 2300, currentA: { l1: 10, l2: 0.2, l3: 0 }, offeredA: 16 });
    await flush();
    assert.equal(sent.length, 1);
    // A limit applied by a command is newer than the last Current.Offered.
    feed.noteLimit("garage", undefined, 8);
    await flush();
    assert.equal(sent.length, 2);
    assert.equal(sent[1].maxCurrentA, 8);
    feed.close();
  });

  it("keeps the session's energy while it runs, and forgets power and currents once it ended", async () => {
    const { registry, feed, sent, status, meter, flush } = setup();
    status(1, "Charging");
    registry.setSession("garage", 1, { transactionId: 7 });
    feed.note({ kind: "session.started", identity: "garage", time: T, transactionId: 7, connectorId: 1, energyWh: 0 });
    meter(1, { powerW: 11000, currentA: { l1: 16, l2: 16, l3: 16 } });
    feed.note({ kind: "session.updated", identity: "garage", time: T, transactionId: 7, connectorId: 1, energyWh: 420 });
    await flush();
    assert.equal(sent.at(-1)?.sessionEnergyWh, 420);
    assert.equal(sent.at(-1)?.phases, 3);
    registry.setSession("garage", 1, undefined);
    feed.note({ kind: "session.ended", identity: "garage", time: T, transactionId: 7, connectorId: 1, energyWh: 450, reason: "Local" });
    status(1, "Finishing");
    await flush();
    const after = sent.at(-1)!;
    assert.equal(after.operationState, "connected");
    assert.equal(after.powerW, 0, "the registry's last 11 kW is history");
    assert.equal(after.currentA, undefined);
    assert.equal(after.sessionEnergyWh, undefined);
    feed.close();
  });

  it("says when the charger goes offline, and one state per connector of a charger with two", async () => {
    const { registry, connectionId, feed, sent, status, flush } = setup();
    status(1, "Available");
    status(2, "Preparing");
    await flush();
    assert.deepEqual(sent.map((s) => [s.connectorId, s.operationState, s.vehicleConnected]), [[1, "idle", false], [2, "connected", true]]);
    registry.detach("garage", connectionId);
    feed.note({ kind: "disconnected", identity: "garage", time: T });
    await flush();
    assert.deepEqual(sent.slice(2).map((s) => [s.connectorId, s.operationState, s.online, s.powerW]), [[1, "unscheduled_downtime", false, undefined], [2, "unscheduled_downtime", false, undefined]]);
    feed.close();
  });

  it("sends at most one round per charger per interval, with the latest values", async () => {
    const { feed, sent, status, meter, flush } = setup(200);
    status(1, "Charging");
    await flush();
    assert.equal(sent.length, 1);
    for (let a = 6; a <= 16; a++) meter(1, { powerW: a * 690, currentA: { l1: a, l2: a, l3: a } });
    await flush(50);
    assert.equal(sent.length, 1, "within the interval: held back");
    await flush(250);
    assert.equal(sent.length, 2, "then one state");
    assert.equal(sent[1].powerW, 16 * 690, "with the latest values");
    feed.close();
  });

  it("stops at close: no timer left, nothing sent afterwards", async () => {
    const { feed, sent, status, flush } = setup(100);
    status(1, "Charging");
    await flush();
    status(1, "SuspendedEV");
    feed.close();
    await flush(150);
    assert.equal(sent.length, 1);
  });

  it("is opt-in: an events node with no kind ticked (all events) does not get it", () => {
    const event = { kind: "charger.state" as const, identity: "garage" };
    assert.equal(matchesFilter(event, {}), false);
    assert.equal(matchesFilter(event, { identities: ["garage"] }), false);
    assert.equal(matchesFilter(event, { kinds: ["status", "meter"] }), false);
    assert.equal(matchesFilter(event, { kinds: ["charger.state"] }), true);
    assert.equal(matchesFilter({ kind: "status", identity: "garage" }, {}), true);
  });
});
