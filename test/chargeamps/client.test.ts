import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ChargeAmpsClient } from "../../nodes/lib/chargeamps/client";
import { HttpError } from "../../nodes/lib/http-client";
import { SettingsError } from "../../nodes/lib/chargeamps/settings";
import { chargerStates } from "../../nodes/lib/chargeamps/state";
import { AURA_ID, HALO_ID, startChargeAmpsSimulator, type ChargeAmpsSimulator } from "../servers/chargeamps-simulator";

const CREDS = { email: "ada@example.com", password: "pa55word-x", apiKey: "key-1234567" };

describe("Charge Amps client against the v5 simulator", () => {
  let sim: ChargeAmpsSimulator;
  let client: ChargeAmpsClient;
  const make = (overrides: Partial<ConstructorParameters<typeof ChargeAmpsClient>[0]> = {}): ChargeAmpsClient =>
    new ChargeAmpsClient({ baseUrl: sim.url, credentials: CREDS, retries: 1, timeoutMs: 2000, ...overrides });

  beforeEach(async () => {
    sim = await startChargeAmpsSimulator({ credentials: CREDS });
    client = make();
  });
  afterEach(async () => {
    client.close();
    await sim.close();
  });

  it("logs in with the apiKey header and calls with Bearer", async () => {
    const owned = await client.listOwned();
    assert.deepEqual(owned.map((cp) => [cp.id, cp.type, cp.ocppVersion]), [[AURA_ID, "Aura", "1.6"], [HALO_ID, "Halo", null]]);
    const [login, list] = sim.state.requests;
    assert.deepEqual([login.method, login.path, login.apiKey, login.authorization], ["POST", "/api/v5/auth/login", CREDS.apiKey, undefined]);
    assert.deepEqual(login.body, { email: CREDS.email, password: CREDS.password });
    assert.match(list.authorization ?? "", /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(sim.state.logins, 1);
  });

  it("maps a live status of the charging Aura", async () => {
    const status = await client.getStatus(AURA_ID);
    const [c1, c2] = chargerStates(status, "ocpp");
    assert.equal(c1.operationState, "charging");
    assert.deepEqual(c1.currentA, { l1: 16, l2: 16, l3: 16 });
    // chargingPowerKw 11.061 = 16 A × (230.4 + 231.1 + 229.8) V, rounded to W by the cloud
    assert.equal(c1.powerW, 11061);
    assert.ok(c1.sessionEnergyWh! >= 4600);
    assert.equal(c2.operationState, "idle");
  });

  it("refreshes ~30 s before exp with both headers, and shares one refresh", async () => {
    sim.state.tokenLifetimeSec = 32;
    await client.listOwned();
    const first = sim.state.requests[0];
    assert.equal(first.path, "/api/v5/auth/login");
    await new Promise((r) => setTimeout(r, 2100));
    await Promise.all([client.getStatus(AURA_ID), client.getStatus(HALO_ID), client.listOwned()]);
    assert.equal(sim.state.refreshes, 1);
    assert.equal(sim.state.logins, 1);
    const refresh = sim.state.requests.find((r) => r.path === "/api/v5/auth/refreshtoken")!;
    assert.equal(refresh.apiKey, CREDS.apiKey);
    assert.match(refresh.authorization ?? "", /^Bearer /);
    assert.deepEqual(Object.keys(refresh.body as object).sort(), ["refreshToken", "token"]);
    assert.ok(sim.state.requests.slice(-3).every((r) => r.status === 200));
  });

  it("falls back to login when the refresh is refused", async () => {
    sim.state.tokenLifetimeSec = 31;
    await client.listOwned();
    sim.state.rejectRefresh = true;
    await new Promise((r) => setTimeout(r, 1100));
    await client.listOwned();
    assert.equal(sim.state.logins, 2);
    assert.deepEqual(sim.state.requests.map((r) => `${r.path} ${r.status}`).slice(-3), [
      "/api/v5/auth/refreshtoken 400",
      "/api/v5/auth/login 200",
      "/api/v5/chargepoints/owned 200",
    ]);
  });

  it("re-logs in once on 401 and retries; concurrent callers share it", async () => {
    await client.listOwned();
    sim.revokeTokens();
    const results = await Promise.all([client.getStatus(AURA_ID), client.getStatus(AURA_ID), client.listOwned()]);
    assert.equal(results.length, 3);
    assert.equal(sim.state.logins, 2);
  });

  it("gives up after one retry when 401 persists", async () => {
    await client.listOwned();
    sim.injectFault({ kind: "401", count: 5 });
    await assert.rejects(client.getStatus(AURA_ID), (err: HttpError) => {
      assert.equal(err.kind, "unauthorized");
      assert.match(err.message, /still refuses our session/);
      return true;
    });
    assert.equal(sim.state.logins, 2);
  });

  it("says clearly when the credentials are wrong, without leaking them", async () => {
    client.close();
    client = make({ credentials: { ...CREDS, password: "wrong-password" } });
    await assert.rejects(client.listOwned(), (err: HttpError) => {
      assert.equal(err.kind, "unauthorized");
      assert.match(err.message, /check the email, the password and the API key/);
      assert.ok(!err.message.includes("wrong-password") && !err.message.includes(CREDS.apiKey));
      return true;
    });
  });

  it("explains 403 (read-only owner) and 404 (unknown charger)", async () => {
    await assert.rejects(client.setConnectorSettings(HALO_ID, 1, { maxCurrent: 8 }), (err: HttpError) => {
      assert.equal(err.kind, "forbidden");
      assert.match(err.message, /read-only access/);
      return true;
    });
    await assert.rejects(client.getStatus("NOPE"), (err: HttpError) => {
      assert.equal(err.kind, "not_found");
      assert.match(err.message, /does not know charge point "NOPE"/);
      return true;
    });
  });

  it("waits for Retry-After on 429, then succeeds", async () => {
    await client.listOwned();
    sim.injectFault({ kind: "429", retryAfterSec: 1 });
    const t0 = Date.now();
    const status = await client.getStatus(AURA_ID);
    assert.equal(status.id, AURA_ID);
    assert.ok(Date.now() - t0 >= 950, `waited ${Date.now() - t0} ms`);
    assert.deepEqual(sim.state.requests.slice(-2).map((r) => r.status), [429, 200]);
  });

  it("reports 5xx, timeouts and malformed JSON as typed errors", async () => {
    await client.listOwned();
    sim.injectFault({ kind: "503", count: 2 });
    await assert.rejects(client.getStatus(AURA_ID), { name: "HttpError", kind: "server" });
    sim.injectFault({ kind: "malformed" });
    await assert.rejects(client.getStatus(AURA_ID), (err: HttpError) => err.kind === "bad_response" && /not valid JSON/.test(err.message));
    client.close();
    client = make({ timeoutMs: 200, retries: 0 });
    sim.injectFault({ kind: "slow", delayMs: 1000 });
    await assert.rejects(client.listOwned(), (err: HttpError) => err.kind === "timeout" && /did not answer within 0.2 s/.test(err.message));
  });

  it("writes connector settings read-modify-write, and reads them back", async () => {
    const result = await client.setConnectorSettings(AURA_ID, 1, { maxCurrent: 10 });
    assert.equal(result.before.maxCurrent, 16);
    assert.equal(result.after.maxCurrent, 10);
    const put = sim.state.requests.find((r) => r.method === "PUT")!;
    assert.deepEqual(put.body, { chargePointId: AURA_ID, connectorId: 1, maxCurrent: 10, rfidLock: false, mode: "On", cableLock: false });
    const [c1] = chargerStates(await client.getStatus(AURA_ID), "ocpp");
    assert.deepEqual(c1.currentA, { l1: 10, l2: 10, l3: 10 });

    const toggled = await client.setConnectorSettings(AURA_ID, 1, { mode: "toggle" });
    assert.equal(toggled.after.mode, "Off");
    assert.equal(chargerStates(await client.getStatus(AURA_ID), "ocpp")[0].operationState, "off");
  });

  it("refuses out-of-range settings before sending anything", async () => {
    await assert.rejects(client.setConnectorSettings(AURA_ID, 1, { maxCurrent: 20 }), SettingsError);
    await assert.rejects(client.setChargePointSettings(AURA_ID, { maxCurrent: 25 }), /installation current of 16 A/);
    assert.equal(sim.state.requests.filter((r) => r.method === "PUT").length, 0);
    const ok = await client.setChargePointSettings(AURA_ID, { dimmer: "High", maxCurrent: 12 });
    assert.deepEqual([ok.after.dimmer, ok.after.maxCurrent, ok.after.installationCurrent], ["High", 12, 16]);
  });

  it("remote stop/start, reboot and sessions", async () => {
    await client.remoteStop(AURA_ID, 1);
    assert.equal(chargerStates(await client.getStatus(AURA_ID), "ocpp")[0].operationState, "suspended");
    await client.remoteStart(AURA_ID, 1, { rfidLength: 4, rfidFormat: "Hex", rfid: "04A1B2C3" });
    assert.equal(chargerStates(await client.getStatus(AURA_ID), "ocpp")[0].operationState, "charging");
    await client.reboot(AURA_ID);
    assert.equal((await client.getStatus(AURA_ID)).status, "Offline");
    const sessions = await client.getSessions(AURA_ID, { startTime: new Date(Date.now() - 30 * 3600_000).toISOString() });
    assert.deepEqual(sessions.map((s) => s.id), [1001, 1002]);
    const one = await client.getSessions(AURA_ID, { maxCount: 5 }, 2);
    assert.deepEqual(one.map((s) => s.totalConsumptionKwh), [7.25]);
  });
});
