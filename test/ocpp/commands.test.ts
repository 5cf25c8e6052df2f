import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildCommand, sendCall, resolveCommand, OCPP_COMMANDS } from "../../nodes/lib/ocpp/v16/commands";
import { CommandError } from "../../nodes/lib/ocpp/core/command-error";
import { startRig, waitFor, type Rig } from "./harness";

const now = () => new Date("2026-11-21T12:00:00.000Z");
const ctx = { chargerId: "CP1", now };

function isCommandError(kind: string, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof CommandError, `expected CommandError, got ${String(err)}`);
    assert.equal(err.kind, kind);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

describe("commands: friendly input → exact OCPP payload", () => {
  it("builds every command from friendly input", () => {
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      ["RemoteStartTransaction", { connector: "1", idTag: "ABC" }, { connectorId: 1, idTag: "ABC" }],
      ["Reset", { type: "hard" }, { type: "Hard" }],
      ["Reset", {}, { type: "Soft" }],
      ["UnlockConnector", { connector: 2 }, { connectorId: 2 }],
      ["ChangeAvailability", { available: false }, { connectorId: 0, type: "Inoperative" }],
      ["ChangeAvailability", { connector: 1, type: "operative" }, { connectorId: 1, type: "Operative" }],
      ["ChangeConfiguration", { key: "MeterValuesSampledData", value: ["Voltage", "Power.Active.Import"] }, { key: "MeterValuesSampledData", value: "Voltage,Power.Active.Import" }],
      ["ChangeConfiguration", { key: "HeartbeatInterval", value: 60 }, { key: "HeartbeatInterval", value: "60" }],
      ["GetConfiguration", { keys: "A, B" }, { key: ["A", "B"] }],
      ["GetConfiguration", {}, {}],
      ["ClearCache", {}, {}],
      ["TriggerMessage", { message: "statusnotification", connector: 1 }, { requestedMessage: "StatusNotification", connectorId: 1 }],
      ["DataTransfer", { vendorId: "evkit", data: { led: "on" } }, { vendorId: "evkit", data: '{"led":"on"}' }],
      ["ClearChargingProfile", { connector: 1, purpose: "txprofile" }, { connectorId: 1, chargingProfilePurpose: "TxProfile" }],
      ["GetCompositeSchedule", { connector: 1 }, { connectorId: 1, duration: 3600 }],
      ["GetLocalListVersion", {}, {}],
      ["ReserveNow", { connector: 1, idTag: "ABC", minutes: 15, reservationId: 9 }, { connectorId: 1, expiryDate: "2026-11-21T12:15:00.000Z", idTag: "ABC", reservationId: 9 }],
      ["CancelReservation", { reservationId: "9" }, { reservationId: 9 }],
      ["UpdateFirmware", { location: "https://fw.example/x.bin" }, { location: "https://fw.example/x.bin", retrieveDate: "2026-11-21T12:00:00.000Z" }],
      ["GetDiagnostics", { location: "ftp://d.example/", startTime: 0 }, { location: "ftp://d.example/", startTime: "1970-01-01T00:00:00.000Z" }],
      [
        "SendLocalList",
        { version: 4, updateType: "Differential", list: ["A", { idTag: "B", status: "Blocked" }, { idTag: "C" }] },
        { listVersion: 4, updateType: "Differential", localAuthorizationList: [{ idTag: "A", idTagInfo: { status: "Accepted" } }, { idTag: "B", idTagInfo: { status: "Blocked" } }, { idTag: "C" }] },
      ],
    ];
    for (const [command, input, payload] of cases) {
      assert.deepEqual(buildCommand(command, input, ctx).payload, payload, command);
    }
  });

  it("knows all 19 OCPP 1.6J central-system commands and short aliases", () => {
    assert.equal(OCPP_COMMANDS.length, 19);
    assert.equal(resolveCommand("start"), "RemoteStartTransaction");
    assert.equal(resolveCommand("remotestoptransaction"), "RemoteStopTransaction");
    assert.equal(resolveCommand("Fly"), undefined);
  });

  it("stops 'the session on connector N' using the directory snapshot", () => {
    const snapshot = { identity: "CP1", connected: true, connectors: [{ connectorId: 1 }, { connectorId: 2, transactionId: 77 }] };
    assert.deepEqual(buildCommand("stop", { connector: 2 }, { ...ctx, snapshot }).payload, { transactionId: 77 });
    assert.deepEqual(buildCommand("stop", {}, { ...ctx, snapshot }).payload, { transactionId: 77 }, "the only session");
    assert.deepEqual(buildCommand("stop", { transactionId: 5 }, { ...ctx, snapshot }).payload, { transactionId: 5 });
    assert.throws(() => buildCommand("stop", { connector: 1 }, { ...ctx, snapshot }), isCommandError("bad_input", /no session is running on connector 1 of charger CP1/));
  });

  it("explains bad input in plain words with an example", () => {
    assert.throws(() => buildCommand("RemoteStartTransaction", { connector: 1 }, ctx), isCommandError("bad_input", /needs an id tag.*e\.g\. \{connector: 1, idTag: "ABC123"\}/));
    assert.throws(() => buildCommand("RemoteStartTransaction", { idTag: "X".repeat(21) }, ctx), isCommandError("bad_input", /at most 20 characters/));
    assert.throws(() => buildCommand("UnlockConnector", { connector: "one" }, ctx), isCommandError("bad_input", /whole number/));
    assert.throws(() => buildCommand("Reset", { type: "Warm" }, ctx), isCommandError("bad_input", /one of Soft, Hard/));
    assert.throws(() => buildCommand("UpdateFirmware", { location: "fw.bin" }, ctx), isCommandError("bad_input", /full URL/));
    assert.throws(() => buildCommand("Dance", {}, ctx), isCommandError("bad_input", /Unknown command "Dance"/));
    assert.throws(() => buildCommand("SendLocalList", { version: 1, list: [{ idTag: "A", remove: true }] }, ctx), isCommandError("bad_input", /Full list cannot remove A/));
  });
});

describe("commands against a simulated charger", () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it("starts and stops a session; the charger receives the exact frames", async () => {
    rig = await startRig();
    const { link, sim, central } = rig;
    const started = await sendCall(link, buildCommand("start", { connector: 1, idTag: "ABC" }, ctx));
    assert.deepEqual(started, { status: "Accepted" });
    assert.deepEqual(sim.calls("RemoteStartTransaction"), [{ connectorId: 1, idTag: "ABC" }]);
    await waitFor(() => central.directory.snapshot("CP1")?.connectors[0].transactionId !== undefined && sim.state.transactions.has(1));
    const transactionId = central.directory.snapshot("CP1")!.connectors[0].transactionId;
    const stop = buildCommand("stop", { connector: 1 }, { ...ctx, snapshot: central.directory.snapshot("CP1") });
    assert.deepEqual(await sendCall(link, stop), { status: "Accepted" });
    assert.deepEqual(sim.calls("RemoteStopTransaction"), [{ transactionId }]);
    await waitFor(() => central.directory.snapshot("CP1")?.connectors[0].transactionId === undefined);
  });

  it("every command passes the charger's strict OCPP 1.6 schema check", async () => {
    rig = await startRig();
    const { link, sim } = rig;
    const inputs: Array<[string, Record<string, unknown>]> = [
      ["Reset", {}],
      ["ChangeAvailability", { connector: 1, available: true }],
      ["ChangeConfiguration", { key: "HeartbeatInterval", value: 120 }],
      ["GetConfiguration", { keys: ["HeartbeatInterval"] }],
      ["ClearCache", {}],
      ["TriggerMessage", { message: "Heartbeat" }],
      ["DataTransfer", { vendorId: "evkit", data: "ping" }],
      ["ClearChargingProfile", {}],
      ["GetCompositeSchedule", { connector: 1, unit: "A" }],
      ["SendLocalList", { version: 1, list: ["A"] }],
      ["GetLocalListVersion", {}],
      ["ReserveNow", { connector: 1, idTag: "ABC", reservationId: 3 }],
      ["CancelReservation", { reservationId: 3 }],
      ["UpdateFirmware", { location: "https://fw.example/x.bin" }],
      ["GetDiagnostics", { location: "ftp://d.example/" }],
      ["UnlockConnector", { connector: 1 }],
    ];
    const answers: Record<string, unknown> = {};
    for (const [command, input] of inputs) answers[command] = await sendCall(link, buildCommand(command, input, ctx));
    assert.deepEqual(answers.GetConfiguration, { configurationKey: [{ key: "HeartbeatInterval", readonly: false, value: "120" }] });
    assert.deepEqual(answers.DataTransfer, { status: "Accepted", data: "echo:ping" });
    assert.deepEqual(answers.GetLocalListVersion, { listVersion: 1 });
    assert.deepEqual(answers.GetDiagnostics, { fileName: "diagnostics-CP1.log" });
    assert.deepEqual(answers.ClearChargingProfile, { status: "Unknown" }, "Unknown is not an error");
    assert.equal(sim.state.configuration.get("HeartbeatInterval"), "120");
    assert.deepEqual(sim.state.resets, ["Soft"]);
    assert.equal(sim.state.received.length, inputs.length);
  });

  it("turns Rejected / NotSupported answers into catchable errors that carry the answer", async () => {
    rig = await startRig({ statusOverrides: { Reset: "Rejected" }, readonlyKeys: ["HeartbeatInterval"] });
    const { link } = rig;
    await assert.rejects(sendCall(link, buildCommand("Reset", { type: "Hard" }, ctx)), (err) => {
      isCommandError("rejected", /Charger CP1 refused Reset \(Rejected\)/)(err);
      assert.deepEqual((err as CommandError).answer, { status: "Rejected" });
      return true;
    });
    await assert.rejects(
      sendCall(link, buildCommand("ChangeConfiguration", { key: "HeartbeatInterval", value: 1 }, ctx)),
      isCommandError("rejected", /refused to set HeartbeatInterval to "1" \(Rejected\)/),
    );
    await assert.rejects(sendCall(link, buildCommand("ChangeConfiguration", { key: "NoSuchKey", value: 1 }, ctx)), isCommandError("not_supported", /does not support/));
    await assert.rejects(sendCall(link, buildCommand("DataTransfer", { vendorId: "other" }, ctx)), isCommandError("not_supported", /UnknownVendorId/));
    await assert.rejects(sendCall(link, buildCommand("stop", { transactionId: 999 }, ctx)), isCommandError("rejected", /refused to stop session 999/));
  });

  it("CALLERROR and timeout become catchable errors", async () => {
    rig = await startRig({ callErrors: { ClearCache: "NotImplemented" }, noReply: ["Reset"] }, { callTimeoutMs: 300 });
    const { link } = rig;
    await assert.rejects(sendCall(link, buildCommand("ClearCache", {}, ctx)), (err) => {
      isCommandError("call_error", /CP1 answered ClearCache with CALLERROR NotImplemented/)(err);
      assert.equal((err as CommandError).rpcErrorCode, "NotImplemented");
      return true;
    });
    await assert.rejects(sendCall(link, buildCommand("Reset", {}, ctx), { timeoutMs: 200 }), isCommandError("timeout", /did not answer Reset in time/));
  });
});
