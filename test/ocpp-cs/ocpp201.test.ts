/**
 * OCPP 2.0.1 on the central system over real websockets: ocpp-rpc's
 * RPCClient (strict, validating both ways) and a charge point written
 * directly on `ws` (support/raw-201-charger.ts) that shares no code with
 * ocpp-rpc.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createValidator } from "ocpp-rpc";
import { createRequire } from "node:module";
import { startCentral, type Running } from "./support/central";
import { boot as boot16, connect, refusal, waitUntil, type Client } from "./support/clients";
import { RawCharger201 } from "./support/raw-201-charger";
import { STATION_REQUESTS_201 } from "./support/messages-201";
import type { CentralEvent } from "../../nodes/lib/ocpp/core/server";
import { CommandRunner } from "../../nodes/lib/ocpp/core/command-runner";
import { CommandError } from "../../nodes/lib/ocpp/core/command-error";

// ocpp-rpc's own 2.0.1 schemas: the answers must pass the validator a strict charger would use.
const validator = createValidator("ocpp2.0.1", createRequire(__filename)("ocpp-rpc/lib/schemas/ocpp2_0_1.json") as never);
const running: Running[] = [];
const closers: Array<() => Promise<unknown>> = [];
const BOTH = ["ocpp1.6", "ocpp2.0.1"];

async function start(...args: Parameters<typeof startCentral>): Promise<Running> {
  const r = await startCentral(...args);
  running.push(r);
  return r;
}
async function rpc(r: Running, identity: string, protocols = ["ocpp2.0.1"]): Promise<Client> {
  const c = await connect(r.url, identity, { protocols, strictMode: true });
  closers.push(() => c.close({ force: true }));
  return c;
}
async function raw(r: Running, identity: string, protocols?: string[]): Promise<RawCharger201> {
  const c = await RawCharger201.connect(r.url, identity, protocols);
  closers.push(() => c.close());
  return c;
}

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)));
  await Promise.all(running.splice(0).map((r) => r.close()));
});

const T0 = Date.parse("2026-11-21T10:00:00.000Z");
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();
const reading = (minutes: number, kwh: number, w: number, context = "Sample.Periodic") => ({
  timestamp: at(minutes),
  sampledValue: [
    // kWh with a multiplier: 2.0.1 sends numbers and a power of ten.
    { value: kwh * 1000, context, measurand: "Energy.Active.Import.Register", unitOfMeasure: { unit: "kWh", multiplier: -3 } },
    { value: w / 1000, context, measurand: "Power.Active.Import", unitOfMeasure: { unit: "kW" } },
    { value: 16, context, measurand: "Current.Import", phase: "L1", unitOfMeasure: { unit: "A" } },
    { value: 230, context, measurand: "Voltage", phase: "L1-N", unitOfMeasure: { unit: "V" } },
  ],
});
const txEvent = (eventType: string, seqNo: number, extra: Record<string, unknown> = {}, info: Record<string, unknown> = {}) => ({
  eventType,
  timestamp: at(seqNo * 15),
  triggerReason: eventType === "Started" ? "Authorized" : eventType === "Ended" ? "EVDeparted" : "MeterValuePeriodic",
  seqNo,
  transactionInfo: { transactionId: "TX-1", ...info },
  ...extra,
});
const of = <K extends CentralEvent["kind"]>(r: Running, kind: K) => r.events.filter((e) => e.kind === kind) as Array<Extract<CentralEvent, { kind: K }>>;

describe("OCPP 2.0.1 central system", () => {
  it("answers every message a 2.0.1 station may send with a schema-valid default (ocpp-rpc strict client)", async () => {
    const r = await start({ protocols: BOTH });
    const c = await rpc(r, "ALL");
    assert.equal(c.protocol, "ocpp2.0.1");
    for (const [action, request] of Object.entries(STATION_REQUESTS_201)) {
      validator.validate(`urn:${action}.req`, request);
      const answer = await c.call(action, request);
      assert.doesNotThrow(() => validator.validate(`urn:${action}.conf`, answer), `${action} answer ${JSON.stringify(answer)}`);
    }
    assert.deepEqual(r.problems.filter((p) => p.level === "error"), []);
    const needs = of(r, "evChargingNeeds")[0];
    assert.equal(needs.departureTime, "2026-11-21T17:00:00.000Z");
    assert.equal(needs.energyAmountWh, 20000);
    assert.equal(needs.evMaxCurrentA, 16);
    assert.deepEqual((await c.call("Get15118EVCertificate", STATION_REQUESTS_201.Get15118EVCertificate)) as object, { status: "Failed", exiResponse: "" });
    assert.ok(of(r, "notification").some((e) => e.action === "NotifyEvent"));
  });

  it("the independent ws client sends only valid 2.0.1: an invalid call is not sent, an invalid answer goes out as FormatViolation", async () => {
    const r = await start({ protocols: BOTH });
    const c = await raw(r, "CHECK");
    await assert.rejects(c.call("Heartbeat", { unexpected: true }), /test charger: Heartbeat.req is not valid OCPP 2.0.1/);
    await assert.rejects(c.call("TransactionEvent", { eventType: "Started" }), /TransactionEvent.req is not valid/);
    c.on("GetTransactionStatus", () => ({ status: "Accepted" }));
    await assert.rejects(r.central.directory.link("CHECK")!.call("GetTransactionStatus", {}), /FormatViolation/);
    assert.equal(c.invalid.length, 1);
    assert.match(c.invalid[0], /^GetTransactionStatus.conf is not valid OCPP 2.0.1/);
    assert.ok((await c.call<{ currentTime: string }>("Heartbeat", {})).currentTime);
  });

  it("runs a full session from TransactionEvents with the same events and figures as 1.6 (independent ws client)", async () => {
    const r = await start({ protocols: BOTH });
    const c = await raw(r, "BMW");
    assert.equal(c.protocol, "ocpp2.0.1");
    assert.equal((await c.call<{ status: string }>("BootNotification", STATION_REQUESTS_201.BootNotification)).status, "Accepted");
    await c.call("StatusNotification", { timestamp: at(0), connectorStatus: "Occupied", evseId: 1, connectorId: 1 });
    assert.deepEqual(await c.call("Authorize", { idToken: { idToken: "OK", type: "ISO14443" } }), { idTokenInfo: { status: "Accepted" } });
    assert.deepEqual(await c.call("Authorize", { idToken: { idToken: "BAD", type: "ISO14443" } }), { idTokenInfo: { status: "Blocked" } });

    const started = await c.call(
      "TransactionEvent",
      txEvent("Started", 0, { idToken: { idToken: "OK", type: "ISO14443" }, evse: { id: 1, connectorId: 1 }, meterValue: [reading(0, 1000, 0, "Transaction.Begin")] }, { chargingState: "EVConnected" }),
    );
    assert.deepEqual(started, { idTokenInfo: { status: "Accepted" } });
    await c.call("TransactionEvent", txEvent("Updated", 1, { meterValue: [reading(10, 1002.5, 11000)] }, { chargingState: "Charging" }));
    const snap = r.central.directory.snapshot("BMW")!;
    const conn = snap.connectors.find((x) => x.connectorId === 1)!;
    assert.equal(conn.status, "Charging");
    assert.equal(conn.transactionId, "TX-1");
    assert.equal(conn.energyWh, 1_002_500);
    assert.equal(conn.powerW, 11000);
    assert.deepEqual(conn.currentA, { l1: 16 });
    assert.deepEqual(conn.voltageV, { l1: 230 });
    // An Occupied re-sent (after a reconnect) does not downgrade the live Charging.
    await c.call("StatusNotification", { timestamp: at(11), connectorStatus: "Occupied", evseId: 1, connectorId: 1 });
    assert.equal(r.central.directory.snapshot("BMW")!.connectors.find((x) => x.connectorId === 1)!.status, "Charging");

    assert.deepEqual(
      await c.call("TransactionEvent", txEvent("Ended", 2, { meterValue: [reading(30, 1007.25, 0, "Transaction.End")] }, { stoppedReason: "EVDisconnected" })),
      {},
    );
    assert.equal(r.central.directory.snapshot("BMW")!.connectors.find((x) => x.connectorId === 1)!.transactionId, undefined);

    const sessionKinds = r.kinds("BMW").filter((k) => k.startsWith("session") || k === "meter");
    assert.deepEqual(sessionKinds, ["session.started", "meter", "meter", "session.updated", "meter", "session.ended"]);
    const s = of(r, "session.started")[0];
    assert.equal(s.transactionId, "TX-1");
    assert.equal(s.connectorId, 1);
    assert.equal(s.idTag, "OK");
    assert.equal(s.meterStartWh, 1_000_000);
    const u = of(r, "session.updated")[0];
    assert.equal(u.energyWh, 2500);
    assert.equal(u.powerW, 11000);
    const ended = of(r, "session.ended")[0];
    assert.equal(ended.energyWh, 7250);
    assert.equal(ended.reason, "EVDisconnected");
    assert.equal(ended.meterStopWh, 1_007_250);
    const statuses = of(r, "status").map((e) => e.status);
    assert.deepEqual(statuses, ["Preparing", "Charging", "Charging", "Finishing"]);
    // The id token inside the TransactionEvent was put to the same policy as Authorize.
    assert.ok(r.events.some((e) => e.kind === "authorize" && (e as { source?: string }).source === "TransactionEvent"));
  });

  it("treats offline replays as history and guards seqNo (repeats and out-of-order change nothing)", async () => {
    const r = await start({ protocols: BOTH });
    const c = await raw(r, "OFF");
    await c.call("BootNotification", STATION_REQUESTS_201.BootNotification);
    await c.call("StatusNotification", { timestamp: at(40), connectorStatus: "Available", evseId: 1, connectorId: 1 });
    const offline = { offline: true, evse: { id: 1, connectorId: 1 } };
    await c.call("TransactionEvent", txEvent("Started", 0, { ...offline, idToken: { idToken: "OK", type: "ISO14443" }, meterValue: [reading(0, 500, 0, "Transaction.Begin")] }, { chargingState: "Charging" }));
    await c.call("TransactionEvent", txEvent("Updated", 2, { ...offline, meterValue: [reading(20, 504, 7000)] }, { chargingState: "Charging" }));
    // Duplicate and out of order: both change nothing.
    await c.call("TransactionEvent", txEvent("Updated", 2, { ...offline, meterValue: [reading(20, 504, 7000)] }));
    await c.call("TransactionEvent", txEvent("Updated", 1, { ...offline, meterValue: [reading(10, 502, 7000)] }));
    await c.call("TransactionEvent", txEvent("Ended", 3, { ...offline, meterValue: [reading(30, 506, 0, "Transaction.End")] }, { stoppedReason: "Local" }));
    // After Ended, nothing changes the session.
    await c.call("TransactionEvent", txEvent("Updated", 4, { ...offline, meterValue: [reading(35, 999, 7000)] }));

    assert.equal(of(r, "session.started").length, 1);
    assert.equal(of(r, "session.started")[0].replayed, true);
    const ended = of(r, "session.ended");
    assert.equal(ended.length, 1);
    assert.equal(ended[0].energyWh, 6000);
    assert.equal(ended[0].replayed, true);
    assert.equal(ended[0].reason, "Local");
    assert.equal(of(r, "session.updated").length, 1);
    assert.equal(r.problems.filter((p) => /repeat or out of order/.test(p.message)).length, 2);
    assert.equal(r.problems.filter((p) => /already ended/.test(p.message)).length, 1);
    // Late samples are passed on flagged, never lost.
    assert.ok(of(r, "meter").some((m) => m.late === true));
    // History never moved the live state: the connector is still Available, no replayed readings on it.
    const conn = r.central.directory.snapshot("OFF")!.connectors.find((x) => x.connectorId === 1)!;
    assert.equal(conn.status, "Available");
    assert.equal(conn.energyWh, undefined);
  });

  it("keeps 2.0.1 sessions across a restart (the session store is shared with 1.6)", async () => {
    const first = await start({ protocols: BOTH });
    const c = await raw(first, "RST");
    await c.call("BootNotification", STATION_REQUESTS_201.BootNotification);
    await c.call("TransactionEvent", txEvent("Started", 0, { idToken: { idToken: "OK", type: "ISO14443" }, evse: { id: 1, connectorId: 1 }, meterValue: [reading(0, 100, 0, "Transaction.Begin")] }));
    await c.close();
    await first.store.flush();
    running.splice(running.indexOf(first), 1);
    await first.close();

    const second = await start({ protocols: BOTH }, first.file);
    const again = await raw(second, "RST");
    await again.call("TransactionEvent", txEvent("Ended", 1, { meterValue: [reading(60, 111, 0, "Transaction.End")] }, { stoppedReason: "Remote" }));
    const ended = of(second, "session.ended")[0];
    assert.equal(ended.transactionId, "TX-1");
    assert.equal(ended.energyWh, 11000);
    assert.equal(ended.reason, "Remote");
    assert.equal(ended.unknownTransaction, undefined);
    assert.equal(of(second, "session.started").length, 0);
  });

  it("negotiates: 1.6 preferred when both are offered, a pin picks the version, 2.1 only when enabled", async () => {
    const r = await start({ protocols: BOTH, pinned: new Map([["PIN201", "ocpp2.0.1"], ["PIN16", "ocpp1.6"]]) });
    assert.equal((await raw(r, "BOTH", ["ocpp2.0.1", "ocpp1.6"])).protocol, "ocpp1.6");
    assert.equal((await raw(r, "ONLY201", ["ocpp2.0.1"])).protocol, "ocpp2.0.1");
    assert.equal((await raw(r, "PIN201", ["ocpp1.6", "ocpp2.0.1"])).protocol, "ocpp2.0.1");
    const pinned16 = await rpc(r, "PIN16", ["ocpp2.0.1", "ocpp1.6"]);
    assert.equal(pinned16.protocol, "ocpp1.6");
    assert.equal(((await pinned16.call("BootNotification", boot16)) as { status: string }).status, "Accepted");
    assert.equal(await refusal(connect(r.url, "PIN201", { protocols: ["ocpp1.6"] })), 400);
    assert.equal(await refusal(connect(r.url, "NEW21", { protocols: ["ocpp2.1"] })), 400);
    assert.match((r.events.filter((e) => e.kind === "rejected").pop() as { reason: string }).reason, /ocpp2\.1/);

    const with21 = await start({ protocols: ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"] });
    const c21 = await raw(with21, "NEW21", ["ocpp2.1"]);
    assert.equal(c21.protocol, "ocpp2.1");
    // Not validated (ocpp-rpc's 2.1 schemas cannot be looked up), but answered by the 2.0.1 handlers.
    assert.equal((await c21.call<{ status: string }>("BootNotification", STATION_REQUESTS_201.BootNotification)).status, "Accepted");
    await waitUntil(() => with21.events.some((e) => e.kind === "boot"));
  });

  describe("commands on a 2.0.1 charger", () => {
    function runner(r: Running): CommandRunner {
      const run = new CommandRunner({ directory: r.central.directory, offline: { mode: "fail" }, timeoutMs: 3000 });
      closers.push(async () => run.close());
      return run;
    }
    /** Every call we send must be a valid 2.0.1 request. */
    function assertValidCalls(c: RawCharger201): void {
      for (const [action, payload] of c.received) assert.doesNotThrow(() => validator.validate(`urn:${action}.req`, payload), `${action} ${JSON.stringify(payload)}`);
    }
    async function booted(r: Running, identity: string): Promise<RawCharger201> {
      const c = await raw(r, identity);
      await c.call("BootNotification", STATION_REQUESTS_201.BootNotification);
      return c;
    }

    it("starts and stops remotely; remoteStartId links the session to the command", async () => {
      const r = await start({ protocols: BOTH });
      const c = await booted(r, "CMD");
      const run = runner(r);
      const started = await run.run({ chargerId: "CMD", command: "start", input: { connector: 1, idTag: "OK" } });
      assert.equal(started.action, "RequestStartTransaction");
      const [action, payload] = c.received[0];
      assert.equal(action, "RequestStartTransaction");
      assert.deepEqual(payload, { idToken: { idToken: "OK", type: "Central" }, remoteStartId: payload.remoteStartId, evseId: 1 });
      assert.ok(Number.isInteger(payload.remoteStartId));
      await c.call("TransactionEvent", txEvent("Started", 0, { triggerReason: "RemoteStart", evse: { id: 1, connectorId: 1 }, idToken: { idToken: "OK", type: "Central" } }, { transactionId: "TX-R", remoteStartId: payload.remoteStartId, chargingState: "Charging" }));
      assert.equal(of(r, "session.started")[0].remoteStartId, payload.remoteStartId);

      const stopped = await run.run({ chargerId: "CMD", command: "stop", input: { connector: 1 } });
      assert.deepEqual(stopped.request, { transactionId: "TX-R" });
      assert.deepEqual(c.received[1], ["RequestStopTransaction", { transactionId: "TX-R" }]);
      await c.call("TransactionEvent", txEvent("Ended", 1, { triggerReason: "RemoteStop" }, { transactionId: "TX-R" }));
      assert.equal(of(r, "session.ended")[0].reason, "Remote");
      assert.equal(of(r, "session.ended")[0].remoteStartId, payload.remoteStartId);

      c.on("UnlockConnector", () => ({ status: "Unlocked" }));
      c.on("DataTransfer", () => ({ status: "Accepted", data: { ok: true } }));
      c.on("GetTransactionStatus", () => ({ messagesInQueue: false, ongoingIndicator: false }));
      await run.run({ chargerId: "CMD", command: "Reset", input: { type: "Hard" } });
      await run.run({ chargerId: "CMD", command: "unlock", input: { connector: 1 } });
      await run.run({ chargerId: "CMD", command: "availability", input: { connector: 1, available: false } });
      await run.run({ chargerId: "CMD", command: "trigger", input: { message: "StatusNotification", connector: 1 } });
      await run.run({ chargerId: "CMD", command: "DataTransfer", input: { vendorId: "com.example", data: { led: "on" } } });
      await run.run({ chargerId: "CMD", command: "GetTransactionStatus", input: { transactionId: "TX-R" } });
      assert.deepEqual(
        c.received.slice(2).map(([a, p]) => [a, p]),
        [
          ["Reset", { type: "Immediate" }],
          ["UnlockConnector", { evseId: 1, connectorId: 1 }],
          ["ChangeAvailability", { operationalStatus: "Inoperative", evse: { id: 1 } }],
          ["TriggerMessage", { requestedMessage: "StatusNotification", evse: { id: 1, connectorId: 1 } }],
          ["DataTransfer", { vendorId: "com.example", data: { led: "on" } }],
          ["GetTransactionStatus", { transactionId: "TX-R" }],
        ],
      );
      assertValidCalls(c);
      // Raw mode passes any 2.0.1 action as it is.
      const rawOut = await run.run({ chargerId: "CMD", command: "raw", action: "ClearDisplayMessage", input: { id: 3 } });
      assert.deepEqual(c.received.at(-1), ["ClearDisplayMessage", { id: 3 }]);
      assert.deepEqual(rawOut.answer, { status: "Accepted" });
    });

    it("limits an A-only charger from the device model, reading the result back (exact frames)", async () => {
      const r = await start({ protocols: BOTH });
      const c = await booted(r, "AONLY");
      c.on("GetBaseReport", (p) => {
        // The report in three parts, as chargers send it.
        const parts = [
          [{ component: { name: "SmartChargingCtrlr" }, variable: { name: "RateUnit" }, variableAttribute: [{ value: "A" }] }],
          [{ component: { name: "SmartChargingCtrlr" }, variable: { name: "ProfileStackLevel" }, variableAttribute: [{ value: "5" }] }],
          [
            { component: { name: "SecurityCtrlr" }, variable: { name: "BasicAuthPassword" }, variableAttribute: [{ value: "secret-password-123" }] },
            { component: { name: "EVSE", evse: { id: 1 } }, variable: { name: "Power" }, variableAttribute: [{ value: "11000" }] },
          ],
        ];
        setImmediate(async () => {
          for (let i = 0; i < parts.length; i++) {
            await c.call("NotifyReport", { requestId: p.requestId, generatedAt: at(0), seqNo: i, tbc: i < parts.length - 1, reportData: parts[i] });
          }
        });
        return { status: "Accepted" };
      });
      c.on("GetCompositeSchedule", (p) => ({
        status: "Accepted",
        schedule: { evseId: p.evseId, duration: 300, scheduleStart: new Date().toISOString(), chargingRateUnit: "A", chargingSchedulePeriod: [{ startPeriod: 0, limit: 6 }] },
      }));
      const run = runner(r);
      const report = (await run.run({ chargerId: "AONLY", command: "GetBaseReport", input: {} })).answer as { configuration: Record<string, string> };
      assert.equal(report.configuration["SmartChargingCtrlr/RateUnit"], "A");
      assert.equal(report.configuration["SmartChargingCtrlr/ProfileStackLevel"], "5");
      assert.equal(report.configuration["EVSE[1]/Power"], "11000");
      assert.equal(JSON.stringify(report).includes("secret-password"), false);
      assert.equal(of(r, "deviceModel").length, 1);

      const out = await run.run({ chargerId: "AONLY", command: "limit", input: { watts: 4140, phases: 3 } });
      const set = c.received.find(([a]) => a === "SetChargingProfile")![1] as { chargingProfile: { chargingSchedule: Array<{ startSchedule: string }> } };
      assert.deepEqual(set, {
        evseId: 0,
        chargingProfile: {
          id: 7310,
          stackLevel: 5,
          chargingProfilePurpose: "ChargingStationMaxProfile",
          chargingProfileKind: "Absolute",
          chargingSchedule: [{ id: 1, chargingRateUnit: "A", chargingSchedulePeriod: [{ startPeriod: 0, limit: 6 }], startSchedule: set.chargingProfile.chargingSchedule[0].startSchedule }],
        },
      });
      assert.deepEqual(c.received.find(([a]) => a === "GetCompositeSchedule")![1], { duration: 300, evseId: 0, chargingRateUnit: "A" });
      const result = out.answer as { confirmed: boolean; applied: { amps: number } };
      assert.equal(result.confirmed, true);
      assert.equal(result.applied.amps, 6);
      assert.equal(c.received.some(([a]) => a === "GetVariables"), false, "the device model answered, no GetVariables needed");

      await run.run({ chargerId: "AONLY", command: "clearLimit", input: {} });
      assert.deepEqual(c.received.filter(([a]) => a === "ClearChargingProfile").map(([, p]) => p), [{ chargingProfileId: 7310 }, { chargingProfileId: 7311 }, { chargingProfileId: 7312 }]);
      assertValidCalls(c);
    });

    it("limits a W-only charger, asking the device model with GetVariables; numberPhases only with phase switching", async () => {
      const r = await start({ protocols: BOTH });
      const c = await booted(r, "WONLY");
      c.on("GetVariables", (p) => ({
        getVariableResult: (p.getVariableData as Array<{ component: object; variable: { name: string } }>).map((d) => ({
          attributeStatus: "Accepted",
          component: d.component,
          variable: d.variable,
          attributeValue: { RateUnit: "W", ProfileStackLevel: "3", ACPhaseSwitchingSupported: "false" }[d.variable.name],
        })),
      }));
      c.on("GetCompositeSchedule", () => ({ status: "Rejected" }));
      const run = runner(r);
      const out = await run.run({ chargerId: "WONLY", command: "limit", input: { amps: 16, phases: 1, connector: 1 } });
      const set = c.received.find(([a]) => a === "SetChargingProfile")![1] as { chargingProfile: { chargingSchedule: Array<Record<string, unknown>> } };
      const schedule = set.chargingProfile.chargingSchedule[0];
      assert.deepEqual(set, {
        evseId: 1,
        chargingProfile: { id: 7321, stackLevel: 3, chargingProfilePurpose: "TxDefaultProfile", chargingProfileKind: "Absolute", chargingSchedule: [{ ...schedule, id: 1, chargingRateUnit: "W", chargingSchedulePeriod: [{ startPeriod: 0, limit: 3680 }] }] },
      });
      assert.equal((out.answer as { warning: string }).warning, "Charger WONLY accepted the limit but would not report its composite schedule");
      assertValidCalls(c);
    });

    it("gets and sets configuration by the 1.6 key names; write-only secrets never reach a message", async () => {
      const r = await start({ protocols: BOTH });
      const c = await booted(r, "CFG");
      c.on("GetVariables", (p) => ({
        getVariableResult: (p.getVariableData as Array<{ component: { name: string }; variable: { name: string } }>).map((d) =>
          d.variable.name === "WebSocketPingInterval"
            ? { attributeStatus: "UnknownVariable", component: d.component, variable: d.variable }
            : { attributeStatus: "Accepted", component: d.component, variable: d.variable, attributeValue: d.variable.name === "BasicAuthPassword" ? "secret-password-123" : "60" },
        ),
      }));
      c.on("SetVariables", (p) => ({
        setVariableResult: (p.setVariableData as Array<{ component: object; variable: object }>).map((d) => ({ attributeStatus: "RebootRequired", component: d.component, variable: d.variable })),
      }));
      const run = runner(r);
      const got = await run.run({ chargerId: "CFG", command: "GetConfiguration", input: { keys: ["HeartbeatInterval", "WebSocketPingInterval", "AuthorizationKey"] } });
      assert.deepEqual(c.received[0][1], {
        getVariableData: [
          { component: { name: "OCPPCommCtrlr" }, variable: { name: "HeartbeatInterval" } },
          { component: { name: "OCPPCommCtrlr" }, variable: { name: "WebSocketPingInterval" } },
          { component: { name: "SecurityCtrlr" }, variable: { name: "BasicAuthPassword" } },
        ],
      });
      const answer = got.answer as { configurationKey: unknown[]; unknownKey: string[] };
      assert.deepEqual(answer.configurationKey, [{ key: "HeartbeatInterval", value: "60", readonly: false }, { key: "AuthorizationKey", readonly: false }]);
      assert.deepEqual(answer.unknownKey, ["WebSocketPingInterval"]);
      assert.equal(JSON.stringify(got).includes("secret-password"), false);

      const set = await run.run({ chargerId: "CFG", command: "ChangeConfiguration", input: { key: "AuthorizationKey", value: "new-secret-password-456" } });
      assert.equal((set.answer as { status: string }).status, "RebootRequired");
      assert.equal(JSON.stringify(set).includes("new-secret"), false);
      assert.deepEqual(c.received[1], ["SetVariables", { setVariableData: [{ attributeValue: "new-secret-password-456", component: { name: "SecurityCtrlr" }, variable: { name: "BasicAuthPassword" } }] }]);
      await assert.rejects(run.run({ chargerId: "CFG", command: "ChangeConfiguration", input: { key: "NoSuchKey", value: 1 } }), (err: CommandError) => err.kind === "bad_input");
      assertValidCalls(c);
    });
  });

  it("after a reconnect, confirms open transactions: one that ended while away is closed with the last reading", async () => {
    const r = await start({ protocols: BOTH });
    const first = await raw(r, "AWAY");
    await first.call("BootNotification", STATION_REQUESTS_201.BootNotification);
    for (const id of ["GONE", "QUEUED"]) {
      await first.call("TransactionEvent", { ...txEvent("Started", 0, { evse: { id: id === "GONE" ? 1 : 2, connectorId: 1 }, meterValue: [reading(0, 100, 0, "Transaction.Begin")] }), transactionInfo: { transactionId: id } });
      await first.call("TransactionEvent", { ...txEvent("Updated", 1, { evse: { id: id === "GONE" ? 1 : 2, connectorId: 1 }, meterValue: [reading(10, 104, 7000)] }), transactionInfo: { transactionId: id, chargingState: "Charging" } });
    }
    await first.close();
    const again = await RawCharger201.connect(r.url, "AWAY", ["ocpp2.0.1"], {
      GetTransactionStatus: (p) => (p.transactionId === "GONE" ? { ongoingIndicator: false, messagesInQueue: false } : { ongoingIndicator: false, messagesInQueue: true }),
    });
    closers.push(() => again.close());
    await waitUntil(() => again.received.length >= 2, 3000, "GetTransactionStatus for both sessions");
    await waitUntil(() => of(r, "session.ended").length > 0, 3000, "session.ended");
    assert.deepEqual(again.received.map(([a, p]) => [a, p.transactionId]).sort(), [["GetTransactionStatus", "GONE"], ["GetTransactionStatus", "QUEUED"]]);
    const ended = of(r, "session.ended");
    assert.equal(ended.length, 1);
    assert.equal(ended[0].transactionId, "GONE");
    assert.equal(ended[0].energyWh, 4000);
    assert.match(ended[0].energyNote ?? "", /ended while it was away/);
    // The one with messages still queued stays open for the TransactionEvents the charger resends.
    assert.equal(r.store.openSessions("AWAY").map((s) => s.transactionId).join(), "QUEUED");
  });
});
