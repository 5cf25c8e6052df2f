import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { jwtExpiryMs } from "../../nodes/lib/chargeamps/jwt";
import { chargerStates, operationStateOf, statusName, vehicleConnectedOf } from "../../nodes/lib/chargeamps/state";
import { appendRows, emptyRows } from "../../nodes/lib/chargeamps/rows";
import {
  applyChargePointChange,
  applyConnectorChange,
  parseChargePointChange,
  parseConnectorChange,
  SettingsError,
} from "../../nodes/lib/chargeamps/settings";
import type { ChargePointStatus, ViewConnectorSettings, ViewChargePointSettings } from "../../nodes/lib/chargeamps/models";

const fixtures = path.join(__dirname, "../fixtures/chargeamps");
const load = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(fixtures, name), "utf8")) as T;
const TIME = "2025-01-15T17:32:00.000Z";

describe("Charge Amps mapping", () => {
  it("reads exp from the login fixture's JWT", () => {
    const login = load<{ token: string }>("synthetic-login.response.json");
    assert.equal(jwtExpiryMs(login.token), 1767225600_000);
    assert.equal(jwtExpiryMs("not-a-jwt"), undefined);
    assert.equal(jwtExpiryMs("a.!!!.c"), undefined);
  });

  it("maps the charging fixture to one ChargerState per connector", () => {
    const states = chargerStates(load<ChargePointStatus>("synthetic-status-charging.response.json"), "ocpp", TIME);
    assert.equal(states.length, 2);
    const [c1, c2] = states;
    assert.deepEqual({ ...c1, raw: undefined }, {
      source: "chargeamps",
      chargerId: "000000000000",
      connectorId: 1,
      operationState: "charging",
      samplingTime: TIME,
      sessionEnergyWh: 4213,
      totalEnergyWh: 4213,
      powerW: 10900,
      currentA: { l1: 15.8, l2: 15.9, l3: 15.7 },
      voltageV: { l1: 230.4, l2: 231.1, l3: 229.8 },
      vehicleConnected: true,
      raw: undefined,
    });
    assert.equal(c2.operationState, "idle");
    assert.equal(c2.vehicleConnected, false);
    assert.equal(c2.powerW, 0);
    assert.equal(c2.currentA, undefined);
  });

  it("sums current × voltage when chargingPowerKw is missing", () => {
    const status = load<ChargePointStatus>("synthetic-status-charging.response.json");
    delete status.connectorStatuses![0].chargingPowerKw;
    const [c1] = chargerStates(status, "ocpp", TIME);
    assert.equal(c1.powerW, Math.round((15.8 * 230.4 + 15.9 * 231.1 + 15.7 * 229.8) * 10) / 10);
  });

  it("reports the connectors of an Offline charge point as unavailable", () => {
    const [c1] = chargerStates(load<ChargePointStatus>("synthetic-status-offline.response.json"), "capi", TIME);
    assert.equal(c1.operationState, "unscheduled_downtime");
    assert.equal(c1.vehicleConnected, undefined);
  });

  it("resolves numeric codes through the OCPP or the CAPI table", () => {
    assert.equal(statusName(2, "ocpp"), "Charging");
    assert.equal(statusName("3", "ocpp"), "SuspendedEVSE");
    assert.equal(statusName(3, "capi"), "Error");
    assert.equal(operationStateOf(2, "capi"), "connected");
    assert.equal(operationStateOf(8, "ocpp"), "fault");
    assert.equal(operationStateOf(4, "ocpp"), "suspended");
    assert.equal(operationStateOf(7, "ocpp"), "off");
    assert.equal(operationStateOf(42, "ocpp"), "unknown");
    assert.equal(operationStateOf("Faulted"), "fault");
    assert.equal(operationStateOf("Error"), "fault");
    assert.equal(operationStateOf("Finishing"), "connected");
    assert.equal(operationStateOf("SomethingNew"), "unknown");
    assert.equal(operationStateOf(null), "unknown");
    assert.equal(vehicleConnectedOf("SuspendedEV"), true);
    assert.equal(vehicleConnectedOf(1, "capi"), true);
  });

  it("builds the three thesis tables' rows", () => {
    const rows = appendRows(emptyRows(), load<ChargePointStatus>("synthetic-status-charging.response.json"), "ocpp", TIME, "Garage");
    assert.deepEqual(rows.charge_point_status, [{ time: TIME, charge_point_id: "000000000000", charge_point_name: "Garage", status: "Online" }]);
    assert.deepEqual(rows.connector_status[0], {
      time: TIME,
      charge_point_id: "000000000000",
      connector_id: 1,
      status: "Charging",
      operation_state: "charging",
      session_id: 123456,
      session_energy_kwh: 4.213,
      charging_power_kw: 10.9,
      phase_type: "ThreePhase",
      start_time: "2025-01-15T17:02:11Z",
      end_time: null,
    });
    assert.equal(rows.connector_status[1].session_id, null);
    assert.deepEqual(rows.measurements.map((m) => [m.connector_id, m.phase, m.current_a, m.voltage_v]), [
      [1, "L1", 15.8, 230.4],
      [1, "L2", 15.9, 231.1],
      [1, "L3", 15.7, 229.8],
    ]);
    assert.equal(rows.measurements[0].time, TIME);
  });
});

describe("Charge Amps settings", () => {
  const connector = load<ViewConnectorSettings>("synthetic-connector-settings.response.json");
  const chargePoint = load<ViewChargePointSettings>("synthetic-chargepoint-settings.response.json");

  it("applies a change to the whole object, without installationCurrent", () => {
    const sent = applyConnectorChange(connector, parseConnectorChange({ maxCurrent: 10 }));
    assert.deepEqual(sent, load("synthetic-connector-settings.put.json"));
    assert.deepEqual(applyConnectorChange(connector, parseConnectorChange({ mode: "toggle" })).mode, "Off");
    assert.deepEqual(applyConnectorChange({ ...connector, mode: "Schedule" }, { mode: "toggle" }).mode, "On");
    assert.deepEqual(applyChargePointChange(chargePoint, parseChargePointChange({ dimmer: "off", downLight: false })), {
      id: "000000000000",
      dimmer: "Off",
      downLight: false,
      maxCurrent: null,
    });
  });

  it("rejects out-of-range and unknown values with clear words", () => {
    assert.throws(() => parseConnectorChange({ maxCurrent: 40 }), { name: "SettingsError", message: /between 6 and 32 A, not 40 A/ });
    assert.throws(() => parseConnectorChange({ maxCurrent: 5 }), /between 6 and 32 A/);
    assert.throws(() => parseConnectorChange({ maxCurrent: "ten" }), /must be a number of amperes/);
    assert.throws(() => parseConnectorChange({ maxcurrent: 10 }), /Unknown connector setting "maxcurrent"; known settings are maxCurrent/);
    assert.throws(() => parseConnectorChange({ mode: "Auto" }), /On, Off, Schedule or toggle/);
    assert.throws(() => parseConnectorChange(12), /msg.payload as an object/);
    assert.throws(() => parseChargePointChange({ dimmer: "Bright" }), /Off, Low, Medium or High/);
    assert.throws(() => applyConnectorChange(connector, { maxCurrent: 20 }), (err: Error) => {
      assert.ok(err instanceof SettingsError);
      assert.match(err.message, /maxCurrent 20 A is more than the installation current of 16 A/);
      return true;
    });
  });
});
