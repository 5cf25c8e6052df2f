import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { discoverAndRecord, discoverCharger, startAutoDiscovery, type DiscoveryResult } from "../../nodes/lib/ocpp/v16/discovery";
import { CommandQueue } from "../../nodes/lib/ocpp/core/offline-queue";
import { CommandError } from "../../nodes/lib/ocpp/core/command-error";
import { buildCommand, sendCall } from "../../nodes/lib/ocpp/v16/commands";
import { startChargePointSimulator, type ChargePointSimulator } from "../servers/ocpp-charge-point";
import { startTestCentral, type TestCentral } from "../servers/ocpp-test-central";
import { startRig, waitFor, type Rig } from "./harness";

describe("discovery", () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it("learns feature profiles, limits and measurands, asks for hidden keys, and records them", async () => {
    rig = await startRig({ rateUnits: ["A"], maxStackLevel: 3, connectors: 2, hiddenKeys: ["ChargeProfileMaxStackLevel"] });
    const { link, sim, central } = rig;
    const result = await discoverAndRecord(central.directory, link);
    assert.deepEqual(sim.calls("GetConfiguration"), [{}, { key: ["ChargeProfileMaxStackLevel"] }]);
    assert.deepEqual(result.featureProfiles, ["Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation", "SmartCharging", "RemoteTrigger"]);
    assert.deepEqual(result.smartCharging, { units: ["A"], maxStackLevel: 3, maxPeriods: 24, maxProfiles: 10 });
    assert.deepEqual(result.localList, { enabled: true, maxLength: 100, maxPerMessage: 50 });
    assert.deepEqual(result.measurands, ["Energy.Active.Import.Register", "Power.Active.Import"]);
    assert.equal(result.numberOfConnectors, 2);
    assert.deepEqual(result.changes, []);
    assert.equal(central.directory.snapshot("CP1")?.configuration?.ChargeProfileMaxStackLevel, "3");
    assert.equal(sim.calls("ChangeConfiguration").length, 0, "nothing set unless asked");
  });

  it("sets intervals and measurands; probes measurands one by one when the list is refused", async () => {
    rig = await startRig({ readonlyKeys: ["HeartbeatInterval"] });
    const { link, sim } = rig;
    const result = await discoverCharger(link, {
      set: { meterValuesSampledData: ["Energy.Active.Import.Register", "Voltage", "Temperature"], meterValueSampleInterval: 10, heartbeatInterval: 60 },
    });
    assert.deepEqual(
      sim.calls("ChangeConfiguration").map((c) => `${String(c.key)}=${String(c.value)}`),
      [
        "MeterValuesSampledData=Energy.Active.Import.Register,Voltage,Temperature",
        "MeterValuesSampledData=Energy.Active.Import.Register",
        "MeterValuesSampledData=Voltage",
        "MeterValuesSampledData=Temperature",
        "MeterValuesSampledData=Energy.Active.Import.Register,Voltage",
        "MeterValueSampleInterval=10",
        "HeartbeatInterval=60",
      ],
    );
    assert.deepEqual(result.measurands, ["Energy.Active.Import.Register", "Voltage"]);
    assert.equal(result.configuration.MeterValueSampleInterval, "10");
    assert.equal(result.configuration.HeartbeatInterval, "300", "a refused change keeps the old value");
    assert.deepEqual(result.changes.at(-1), { key: "HeartbeatInterval", value: "60", status: "Rejected" });
    assert.equal(sim.state.configuration.get("MeterValuesSampledData"), "Energy.Active.Import.Register,Voltage");
  });

  it("auto discovery runs on every (re)connect and records the result; stop() ends it", async () => {
    const central = await startTestCentral();
    const results: DiscoveryResult[] = [];
    const stop = startAutoDiscovery(central.directory, { set: { heartbeatInterval: 120 }, onResult: (r) => results.push(r) });
    const first = await startChargePointSimulator({ url: central.url, identity: "CP7" });
    try {
      await waitFor(() => results.length === 1);
      assert.equal(results[0].chargerId, "CP7");
      assert.equal(central.directory.snapshot("CP7")?.configuration?.HeartbeatInterval, "120");
      assert.equal(first.state.configuration.get("HeartbeatInterval"), "120");
      stop();
      await first.close();
      const second = await startChargePointSimulator({ url: central.url, identity: "CP7" });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(second.calls("GetConfiguration").length, 0, "nothing after stop");
      await second.close();
    } finally {
      await first.close().catch(() => undefined);
      await central.close();
    }
  });

  it("a GetConfiguration CALLERROR fails discovery with a catchable error", async () => {
    rig = await startRig({ callErrors: { GetConfiguration: "InternalError" } });
    await assert.rejects(discoverCharger(rig.link), (err) => err instanceof CommandError && err.kind === "call_error");
  });
});

describe("offline queue", () => {
  let central: TestCentral | undefined;
  let sim: ChargePointSimulator | undefined;
  let queue: CommandQueue | undefined;
  afterEach(async () => {
    queue?.close();
    await sim?.close();
    await central?.close();
    central = sim = queue = undefined;
  });

  const reset = (type: string) => buildCommand("Reset", { type }, { chargerId: "CP1" });

  it("fail mode: a command to an offline charger fails at once with kind offline", async () => {
    central = await startTestCentral();
    queue = new CommandQueue(central.directory, { mode: "fail" });
    await assert.rejects(
      queue.run("CP1", "Reset", (link) => sendCall(link, reset("Soft"))),
      (err) => err instanceof CommandError && err.kind === "offline" && /Charger CP1 has never connected to this central system; Reset was not sent/.test(err.message),
    );
  });

  it("queue mode: commands wait for the reconnect and are sent in order", async () => {
    central = await startTestCentral();
    queue = new CommandQueue(central.directory, { mode: "queue", ttlMs: 5000 });
    let queued = 0;
    const first = queue.run("CP1", "Reset", (link) => sendCall(link, reset("Soft")), { onQueued: () => queued++ });
    const second = queue.run("CP1", "Reset", (link) => sendCall(link, reset("Hard")), { onQueued: () => queued++ });
    assert.equal(queued, 2);
    assert.equal(queue.pending("CP1"), 2);
    sim = await startChargePointSimulator({ url: central.url, identity: "CP1" });
    assert.deepEqual(await first, { status: "Accepted" });
    assert.deepEqual(await second, { status: "Accepted" });
    assert.deepEqual(sim.state.resets, ["Soft", "Hard"]);
    assert.equal(queue.pending(), 0);
    // Online: sent at once.
    assert.deepEqual(await queue.run("CP1", "Reset", (link) => sendCall(link, reset("Soft"))), { status: "Accepted" });
  });

  it("queued commands expire after their time-to-live, and close() fails the rest", async () => {
    central = await startTestCentral();
    queue = new CommandQueue(central.directory, { mode: "queue", ttlMs: 50, maxPerCharger: 2 });
    const expiring = queue.run("CP1", "Reset", (link) => sendCall(link, reset("Soft")));
    await assert.rejects(expiring, (err) => err instanceof CommandError && err.kind === "expired" && /did not reconnect within 50 ms; Reset was not sent/.test(err.message));
    assert.equal(queue.pending(), 0);

    const long = new CommandQueue(central.directory, { mode: "queue", ttlMs: 60_000, maxPerCharger: 1 });
    const waiting = long.run("CP2", "ClearCache", (link) => sendCall(link, buildCommand("ClearCache", {}, { chargerId: "CP2" })));
    await assert.rejects(long.run("CP2", "Reset", async () => ({})), (err) => err instanceof CommandError && err.kind === "offline" && /1 commands are already waiting/.test(err.message));
    long.close();
    await assert.rejects(waiting, (err) => err instanceof CommandError && err.kind === "closed");
    sim = await startChargePointSimulator({ url: central.url, identity: "CP2" });
    await waitFor(() => central!.directory.link("CP2") !== undefined);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(sim.calls("ClearCache").length, 0, "a closed queue sends nothing on reconnect");
  });
});
