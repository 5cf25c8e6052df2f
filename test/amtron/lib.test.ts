import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  AmtronClient,
  ControlError,
  chargeCommand,
  checkCurrent,
  controlPilotHint,
  currentLimits,
  demand,
  parseChargeData,
  parseDevInfo,
  setCurrent,
  setMode,
  toChargerState,
  UnexpectedDocumentError,
  type ChargeData,
  type DevInfo,
} from "../../nodes/lib/amtron";
import { HttpError } from "../../nodes/lib/http-client";
import { startAmtronSimulator, type AmtronSimulator } from "../servers/amtron-simulator";

const fixtures = path.join(__dirname, "../fixtures/amtron");
const readFixture = (name: string): unknown => JSON.parse(fs.readFileSync(path.join(fixtures, name), "utf8"));
const KEY = "739154";

describe("amtron mapping", () => {
  const chargeData = parseChargeData(readFixture("chargedata.sample.json"));
  const devInfo = parseDevInfo(readFixture("devinfo.sample.json"));

  it("maps the sample ChargeData to a ChargerState with the raw document", () => {
    const now = new Date("2026-11-21T12:00:00.000Z");
    const state = toChargerState(chargeData, devInfo, { chargerId: "garage", now });
    assert.deepEqual(
      { ...state, raw: undefined },
      {
        source: "amtron",
        chargerId: "garage",
        operationState: "charging",
        chargeState: "Charging",
        samplingTime: "2026-11-21T12:00:00.000Z",
        raw: undefined,
        sessionEnergyWh: 12648,
        powerW: 10870,
        maxCurrentA: 16,
        remoteCurrentA: 16,
        tariff: "T1",
        controlPilot: "C2",
        controlPilotHint: "charging",
        vehicleConnected: true,
        devMode: "Remote",
        errorCode: 0,
      },
    );
    assert.equal(state.raw, chargeData);
  });

  it("ChgNrg is the session energy; totalEnergyWh (its old name) only for nodes saved with it", () => {
    assert.equal(toChargerState(chargeData, devInfo, { chargerId: "g" }).totalEnergyWh, undefined);
    const legacy = toChargerState(chargeData, devInfo, { chargerId: "g", legacyTotalEnergy: true });
    assert.deepEqual([legacy.sessionEnergyWh, legacy.totalEnergyWh], [12648, 12648]);
  });

  it("an empty answer is called one, not \"(got undefined undefined)\"", () => {
    assert.throws(() => parseChargeData(undefined), { message: "The wallbox sent ChargeData that is not a JSON object (got an empty answer)" });
  });

  it("fields the wallbox sends as null are absent, not null and not 0", () => {
    const doc = { ...(readFixture("chargedata.sample.json") as Record<string, unknown>), ActPwr: null, ChgNrg: null, ActCurr: null, RemoteCurr: null, Tariff: null, HCCP: null };
    const state = toChargerState(parseChargeData(doc), { ...devInfo, Err: null, DevMode: null } as unknown as typeof devInfo, { chargerId: "g", legacyTotalEnergy: true });
    for (const field of ["powerW", "sessionEnergyWh", "totalEnergyWh", "maxCurrentA", "remoteCurrentA", "tariff", "controlPilot", "controlPilotHint", "errorCode", "devMode"]) {
      assert.ok(!(field in state), `${field} is ${JSON.stringify((state as unknown as Record<string, unknown>)[field])}`);
    }
    assert.equal(state.operationState, "charging");
  });

  it("maps every ChgState, and Err != 0 to fault", () => {
    const cases: Array<[string, string]> = [
      ["Idle", "idle"],
      ["Charging", "charging"],
      ["Paused", "suspended"],
      ["StandbyConnect", "connected"],
      ["StandbyAuthorize", "connected"],
      ["Terminated", "connected"],
      ["Error", "fault"],
      ["SomethingNew", "unknown"],
    ];
    for (const [chg, expected] of cases) {
      const state = toChargerState({ ChgState: chg }, undefined, { chargerId: "x" });
      assert.equal(state.operationState, expected, chg);
    }
    const faulted: DevInfo = { ...devInfo, Err: 12 };
    assert.equal(toChargerState(chargeData, faulted, { chargerId: "x" }).operationState, "fault");
    assert.equal(toChargerState(chargeData, faulted, { chargerId: "x" }).errorCode, 12);
  });

  it("reads the control-pilot letter as a plain hint", () => {
    assert.deepEqual(
      ["A11", "B1", "C2", "D1", "E", "F0", "X9", ""].map(controlPilotHint),
      ["no_vehicle", "connected", "charging", "charging", "fault", "fault", "unknown", "unknown"],
    );
    assert.equal(controlPilotHint(undefined), undefined);
    const idle = toChargerState({ ChgState: "Idle", HCCP: "A11" }, undefined, { chargerId: "x" });
    assert.equal(idle.vehicleConnected, false);
    const noPilot = toChargerState({ ChgState: "Paused" }, undefined, { chargerId: "x" });
    assert.equal(noPilot.vehicleConnected, true);
    assert.equal(noPilot.controlPilot, undefined);
  });

  it("rejects documents with unexpected types in plain words", () => {
    assert.throws(() => parseChargeData([]), /ChargeData that is not a JSON object \(got a list\)/);
    assert.throws(() => parseChargeData({ ActPwr: 1 }), /ChargeData without the field ChgState/);
    assert.throws(
      () => parseChargeData({ ChgState: "Idle", ActPwr: "lots" }),
      (err: unknown) => err instanceof UnexpectedDocumentError && err.message === 'The wallbox sent ChargeData with an unexpected ActPwr: expected a number, got "lots"',
    );
    assert.throws(() => parseDevInfo({ Phases: "3" }), /unexpected Phases: expected a number, got "3"/);
    // Extra fields from newer firmware and nulls for absent hardware are fine.
    assert.deepEqual(parseChargeData({ ChgState: "Idle", NewThing: [1], HCCP: null }), { ChgState: "Idle", NewThing: [1], HCCP: null });
  });
});

describe("amtron current limits", () => {
  const threePhase: DevInfo = { Phases: 3, MaxCurrWb: 32, MaxCurr: 16 };

  it("uses the lower of MaxCurrWb and MaxCurr and 6 A on three phases", () => {
    assert.deepEqual(currentLimits(threePhase), { min: 6, max: 16, phases: 3, maxSource: "the installation maximum, MaxCurr" });
    assert.equal(currentLimits({ Phases: 1, MaxCurrWb: 0, MaxCurr: 0 }).max, 32);
    assert.equal(currentLimits({ Phases: 1 }).min, 0);
  });

  it("validates or clamps", () => {
    const limits = currentLimits(threePhase);
    assert.deepEqual(checkCurrent(10, limits), { amps: 10, clamped: false });
    assert.deepEqual(checkCurrent("12", limits), { amps: 12, clamped: false });
    assert.deepEqual(checkCurrent(10.7, limits), { amps: 10, clamped: true });
    assert.throws(() => checkCurrent(5, limits), /runs on 3 phases and cannot charge below 6 A \(asked for 5 A\)/);
    assert.throws(() => checkCurrent(20, limits), /The most this wallbox allows is 16 A \(the installation maximum, MaxCurr\); asked for 20 A/);
    assert.throws(() => checkCurrent("ten", limits), /must be a number of amps/);
    assert.throws(() => checkCurrent(-1, limits), /cannot be negative/);
    assert.deepEqual(checkCurrent(5, limits, true), { amps: 6, clamped: true });
    assert.deepEqual(checkCurrent(40, limits, true), { amps: 16, clamped: true });
  });
});

describe("amtron client and control over HTTP", () => {
  let sim: AmtronSimulator;
  let client: AmtronClient;
  const fast = { readBackAttempts: 2, readBackDelayMs: 20 };

  beforeEach(async () => {
    sim = await startAmtronSimulator({ devKey: KEY, charging: true });
    client = new AmtronClient({ host: "127.0.0.1", port: sim.port, devKey: KEY, timeoutMs: 1000 });
  });
  afterEach(async () => {
    client.close();
    await sim.close();
  });

  it("reads ChargeData and DevInfo with the headers and the DevKey the wallbox expects", async () => {
    const chargeData: ChargeData = await client.getChargeData();
    const devInfo = await client.getDevInfo();
    assert.equal(chargeData.ChgState, "Charging");
    assert.equal(chargeData.ActPwr, 16 * 230 * 3);
    assert.equal(chargeData.HCCP, "C2");
    assert.equal(devInfo.Phases, 3);
    assert.deepEqual(
      sim.state.requests.map((r) => [r.method, r.resource, r.devKey, r.accept]),
      [
        ["GET", "ChargeData", KEY, "application/json"],
        ["GET", "DevInfo", KEY, "application/json"],
      ],
    );
  });

  it("the simulator keeps the MHCP contract for keys and content types", async () => {
    const base = `${sim.url}/MHCP/1.0`;
    const post = (query: string, headers: Record<string, string>): Promise<number> =>
      fetch(`${base}/ChargeData${query}`, { method: "POST", headers, body: JSON.stringify({ Permanent: false, RemoteCurr: null, AutoChg: null, ChgState: null, Uid: null }) }).then((r) => r.status);
    const json = { "Content-Type": "application/json", Accept: "application/json" };
    assert.equal((await fetch(`${base}/ChargeData?DevKey=nope`)).status, 403);
    assert.equal((await fetch(`${base}/Statistics/Day?DevKey=${KEY}`)).status, 404);
    assert.equal(await post("", json), 400);
    assert.equal(await post("?DevKey=nope", json), 401);
    assert.equal(await post(`?DevKey=${KEY}`, { Accept: "application/json" }), 500);
    assert.equal(await post(`?DevKey=${KEY}`, json), 200);
    const bad = await fetch(`${base}/ChargeData?DevKey=${KEY}`, { method: "POST", headers: json, body: JSON.stringify({ RemoteCurr: 8 }) });
    assert.equal(bad.status, 400, "Permanent is required");
  });

  it("sends one request at a time", async () => {
    sim.state.faults.delayMs = 30;
    await Promise.all([client.getChargeData(), client.getDevInfo(), client.getChargeData(), client.getDevInfo()]);
    assert.equal(sim.state.requests.length, 4);
    assert.equal(sim.state.maxInFlight, 1);
  });

  it("explains a wrong DevKey without ever showing it", async () => {
    const wrong = new AmtronClient({ host: "127.0.0.1", port: sim.port, devKey: "999111" });
    try {
      const read = await wrong.getChargeData().catch((e: unknown) => e);
      assert.ok(read instanceof HttpError);
      assert.equal(read.kind, "forbidden");
      assert.equal(read.message, "The wallbox refused the DevKey (HTTP 403) when we tried to read ChargeData. Check the DevKey: it is the APP-Pin (PIN1) printed in the wallbox documents.");
      const write = await chargeCommand(wrong, "Pause", fast).catch((e: unknown) => e);
      assert.ok(write instanceof HttpError);
      assert.equal(write.kind, "unauthorized");
      assert.match(write.message, /refused the DevKey \(HTTP 401\) when we tried to write ChargeData/);
      for (const err of [read, write]) {
        assert.doesNotMatch(`${err.message} ${err.url} ${err.body ?? ""} ${err.stack ?? ""}`, /999111/);
      }
    } finally {
      wrong.close();
    }
  });

  it("reports timeouts, an offline wallbox and malformed answers clearly", async () => {
    sim.state.faults.delayMs = 1500;
    const slow = await client.getChargeData().catch((e: unknown) => e);
    assert.ok(slow instanceof HttpError);
    assert.equal(slow.kind, "timeout");
    assert.equal(slow.message, "The wallbox did not answer within 1 s (GET ChargeData)");
    sim.state.faults.delayMs = 0;

    sim.state.faults.malformed = "json";
    await assert.rejects(client.getChargeData(), (e: unknown) => e instanceof HttpError && e.kind === "bad_response" && /not valid JSON/.test(e.message));
    sim.state.faults.malformed = "types";
    await assert.rejects(client.getChargeData(), /unexpected ActPwr: expected a number, got "lots"/);
    sim.state.faults.malformed = false;

    await sim.goOffline();
    const offline = await client.getChargeData().catch((e: unknown) => e);
    assert.ok(offline instanceof HttpError);
    assert.equal(offline.kind, "unreachable");
    assert.equal(offline.message, `Cannot reach the wallbox at http://127.0.0.1:${sim.port}/MHCP/1.0: connection refused. Is it running, and are the host and port right?`);
    await sim.goOnline();
    assert.equal((await client.getChargeData()).ChgState, "Charging");
  });

  it("sets the current: switches to app control first, non-permanent, confirmed by read-back", async () => {
    assert.equal(sim.state.devInfo.DevMode, "Time");
    const result = await setCurrent(client, 10, fast);
    assert.equal(result.applied, 10);
    assert.equal(result.modeSwitched, true);
    assert.equal(result.chargeData?.RemoteCurr, 10);
    assert.equal(result.chargeData?.ActPwr, 10 * 230 * 3);
    assert.equal(sim.state.devInfo.DevMode, "Remote");
    assert.equal(sim.state.permanentWrites, 0);
    const writes = sim.state.requests.filter((r) => r.method === "POST");
    assert.deepEqual(
      writes.map((r) => [r.resource, r.contentType, r.body]),
      [
        ["DevInfo", "application/json", JSON.parse(fs.readFileSync(path.join(fixtures, "post-devinfo.request.json"), "utf8"))],
        ["ChargeData", "application/json", { Permanent: false, RemoteCurr: 10, AutoChg: null, ChgState: null, Uid: null }],
      ],
    );
    // Already in app control: no second mode switch.
    const again = await setCurrent(client, 12, { ...fast, permanent: true });
    assert.equal(again.modeSwitched, false);
    assert.equal(sim.state.requests.filter((r) => r.method === "POST").length, 3);
    assert.equal(sim.state.permanentWrites, 1);
  });

  it("refuses a current out of range before writing anything", async () => {
    await assert.rejects(setCurrent(client, 4, fast), (e: unknown) => e instanceof ControlError && e.kind === "invalid" && /below 6 A/.test(e.message));
    await assert.rejects(setCurrent(client, 17, fast), /The most this wallbox allows is 16 A/);
    assert.equal(sim.state.requests.filter((r) => r.method === "POST").length, 0);
    const clamped = await setCurrent(client, 3, { ...fast, clamp: true });
    assert.deepEqual([clamped.applied, clamped.clamped], [6, true]);
  });

  it("fails when the wallbox does not apply a write", async () => {
    sim.state.faults.ignoreWrites = true;
    await assert.rejects(setMode(client, "Remote", fast), (e: unknown) => e instanceof ControlError && e.message === "The wallbox did not switch to Remote mode: it still reports Time.");
    sim.state.devInfo.DevMode = "Remote";
    await assert.rejects(setCurrent(client, 8, fast), /did not take the new current: it still reports 16 A instead of 8 A/);
  });

  it("pauses, continues, terminates and starts, each confirmed", async () => {
    assert.equal((await chargeCommand(client, "Pause", fast)).applied, "Paused");
    assert.equal(sim.state.chargeData.ActPwr, 0);
    assert.equal((await chargeCommand(client, "Continue", fast)).applied, "Charging");
    assert.equal((await chargeCommand(client, "Terminate", fast)).applied, "Terminated");
    assert.equal((await chargeCommand(client, "Start", fast)).applied, "Charging");
    const start = sim.state.requests.filter((r) => r.method === "POST").at(-1);
    assert.deepEqual(start?.body, { Permanent: false, RemoteCurr: null, AutoChg: null, ChgState: "Start", Uid: "00000000" });
    sim.unplug();
    await assert.rejects(chargeCommand(client, "Pause", fast), /did not pause: it still reports Idle\. Is a car plugged in\?/);
  });

  it("sends an energy-manager demand and confirms it", async () => {
    const result = await demand(client, { energyWh: 15000, minutes: 1250, excessEnergy: false }, fast);
    assert.deepEqual(result.applied, { energyWh: 15000, minutes: 1250 });
    const post = sim.state.requests.find((r) => r.resource === "HomeManager");
    assert.deepEqual(post?.body, readFixture("post-homemanager.request.json"));
    await assert.rejects(demand(client, { energyWh: "lots", minutes: 10 }, fast), /needs energyWh \(Wh\) as a number/);
  });
});
