import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  OCPP_EVENT_KINDS,
  authorizeEvent,
  bootEvent,
  compact,
  dataTransferEvent,
  diagnosticsStatusEvent,
  firmwareStatusEvent,
  isOcppEventKind,
  matchesFilter,
  securityEvent,
  statusEvent,
  type OcppEvent,
} from "../../nodes/lib/ocpp/core/events";

const NOW = new Date("2026-11-21T12:00:00.000Z");
const TIME = NOW.toISOString();

describe("OCPP events", () => {
  it("normalises BootNotification, preferring chargePointSerialNumber", () => {
    const raw = {
      chargePointVendor: "Alfen",
      chargePointModel: "Eve Single",
      chargeBoxSerialNumber: "OLD-1",
      chargePointSerialNumber: "ACE0001",
      firmwareVersion: "6.1.0",
    };
    assert.deepEqual(bootEvent("cp1", raw, NOW), {
      kind: "boot",
      identity: "cp1",
      time: TIME,
      vendor: "Alfen",
      model: "Eve Single",
      serialNumber: "ACE0001",
      firmwareVersion: "6.1.0",
      raw,
    });
    const older = bootEvent("cp1", { chargePointVendor: "X", chargePointModel: "Y", chargeBoxSerialNumber: "B1" }, NOW);
    assert.equal(older.serialNumber, "B1");
    assert.equal("firmwareVersion" in older, false);
  });

  it("normalises the other charger messages", () => {
    assert.deepEqual(
      statusEvent(
        "cp1",
        {
          connectorId: 2,
          status: "Faulted",
          errorCode: "GroundFailure",
          info: "RCD",
          vendorId: "acme",
          vendorErrorCode: "E42",
          timestamp: "2026-11-21T11:59:00Z",
        },
        NOW,
      ),
      {
        kind: "status",
        identity: "cp1",
        time: TIME,
        connectorId: 2,
        status: "Faulted",
        errorCode: "GroundFailure",
        info: "RCD",
        vendorId: "acme",
        vendorErrorCode: "E42",
        timestamp: "2026-11-21T11:59:00Z",
      },
    );
    assert.deepEqual(authorizeEvent("cp1", { idTag: "TAG" }, NOW), { kind: "authorize", identity: "cp1", time: TIME, idTag: "TAG" });
    assert.deepEqual(dataTransferEvent("cp1", { vendorId: "acme", data: "{}" }, NOW), {
      kind: "dataTransfer",
      identity: "cp1",
      time: TIME,
      vendorId: "acme",
      data: "{}",
    });
    assert.deepEqual(firmwareStatusEvent("cp1", { status: "Installed" }, NOW).status, "Installed");
    assert.deepEqual(diagnosticsStatusEvent("cp1", { status: "UploadFailed" }, NOW).status, "UploadFailed");
    assert.deepEqual(securityEvent("cp1", { type: "SettingSystemTime", timestamp: TIME }, NOW), {
      kind: "securityEvent",
      identity: "cp1",
      time: TIME,
      eventType: "SettingSystemTime",
      timestamp: TIME,
    });
  });

  it("filters by identity and kind, with 'session' matching every session kind", () => {
    const ended: Pick<OcppEvent, "kind" | "identity"> = { kind: "session.ended", identity: "cp1" };
    assert.equal(matchesFilter(ended, {}), true);
    assert.equal(matchesFilter(ended, { identities: ["cp2"] }), false);
    assert.equal(matchesFilter(ended, { identities: ["cp1"], kinds: ["session"] }), true);
    assert.equal(matchesFilter(ended, { kinds: ["session.started", "meter"] }), false);
    assert.equal(matchesFilter(ended, { kinds: ["sess"] }), false);
    assert.equal(matchesFilter({ kind: "status", identity: "cp1" }, { kinds: ["status"] }), true);
  });

  it("lists every kind once and recognises them", () => {
    assert.equal(new Set(OCPP_EVENT_KINDS).size, 14);
    assert.equal(isOcppEventKind("session.updated"), true);
    assert.equal(isOcppEventKind("session"), false);
    assert.equal(isOcppEventKind(3), false);
    assert.deepEqual(compact({ a: 1, b: undefined, c: null }), { a: 1, c: null });
  });
});
