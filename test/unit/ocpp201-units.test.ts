import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readPinned, readProtocols, readSettings } from "../../nodes/lib/ocpp/core/settings";
import { parseVariableKey, reportValues, variableKey } from "../../nodes/lib/ocpp/v201/device-model";
import { mergedStatus } from "../../nodes/lib/ocpp/v201/status";
import { stopReason, toIdTokenInfo } from "../../nodes/lib/ocpp/v201/transaction-events";
import { normalizeMeterValues201 } from "../../nodes/lib/ocpp/v201/meter-values";
import { resolveCommand201 } from "../../nodes/lib/ocpp/v201/commands";

describe("OCPP versions setting", () => {
  it("reads the saved comma list in our preference order and refuses unknown versions", () => {
    assert.deepEqual(readProtocols("ocpp1.6"), ["ocpp1.6"]);
    assert.deepEqual(readProtocols(undefined), ["ocpp1.6"], "a flow saved before the setting existed");
    assert.deepEqual(readProtocols("ocpp2.1, ocpp2.0.1,ocpp1.6"), ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"]);
    assert.throws(() => readProtocols("ocpp1.5"), /Unknown OCPP version ocpp1\.5/);
    assert.throws(() => readProtocols(""), /at least one/);
    assert.deepEqual(readSettings({ protocols: "ocpp2.0.1" }).protocols, ["ocpp2.0.1"]);
  });

  it("pins versions per charger, only to offered ones", () => {
    assert.deepEqual([...readPinned("foxess=ocpp1.6\nbmw = ocpp2.0.1", ["ocpp1.6", "ocpp2.0.1"])], [["foxess", "ocpp1.6"], ["bmw", "ocpp2.0.1"]]);
    assert.throws(() => readPinned("bmw=ocpp2.0.1", ["ocpp1.6"]), /not among the offered/);
    assert.throws(() => readPinned("bmw", ["ocpp1.6"]), /chargerId=ocpp1\.6/);
  });
});

describe("OCPP 2.0.1 vocabulary", () => {
  it("maps 1.6 configuration keys and Component/Variable keys both ways", () => {
    assert.deepEqual(parseVariableKey("MeterValueSampleInterval"), { component: { name: "SampledDataCtrlr" }, variable: { name: "TxUpdatedInterval" } });
    const ref = parseVariableKey("EVSE(main)[1.2]/Power(max)")!;
    assert.deepEqual(ref, { component: { name: "EVSE", instance: "main", evse: { id: 1, connectorId: 2 } }, variable: { name: "Power", instance: "max" } });
    assert.equal(variableKey(ref.component, ref.variable), "EVSE(main)[1.2]/Power(max)");
    assert.equal(parseVariableKey("not a key"), undefined);
  });

  it("never keeps a write-only secret from a report", () => {
    const values = reportValues([
      { component: { name: "SecurityCtrlr" }, variable: { name: "BasicAuthPassword" }, variableAttribute: [{ value: "secret" }] },
      { component: { name: "SampledDataCtrlr" }, variable: { name: "TxUpdatedMeasurands" }, variableAttribute: [{ type: "Actual", value: "Energy.Active.Import.Register" }, { type: "MaxSet", value: "x" }], variableCharacteristics: { valuesList: "Energy.Active.Import.Register,Power.Active.Import" } },
    ]);
    assert.deepEqual(values, {
      "SampledDataCtrlr/TxUpdatedMeasurands": "Energy.Active.Import.Register",
      "SampledDataCtrlr/TxUpdatedMeasurands#valuesList": "Energy.Active.Import.Register,Power.Active.Import",
    });
  });

  it("merges connector status and charging state into the 1.6 words", () => {
    assert.equal(mergedStatus("Occupied", undefined, false), "Preparing");
    assert.equal(mergedStatus("Occupied", "Charging", true), "Charging");
    assert.equal(mergedStatus("Occupied", "SuspendedEV", true), "SuspendedEV");
    assert.equal(mergedStatus("Occupied", undefined, false, "Charging"), "Finishing");
    assert.equal(mergedStatus("Available", "Charging", true), "Charging", "an Available not yet replaced does not hide a running session");
    assert.equal(mergedStatus("Faulted", "Charging", true), "Faulted");
    assert.equal(mergedStatus("Available", undefined, false, "Finishing"), "Available");
  });

  it("maps stop reasons and id-token answers", () => {
    assert.equal(stopReason("ImmediateReset", undefined), "HardReset");
    assert.equal(stopReason("SOCLimitReached", undefined), "Other");
    assert.equal(stopReason(undefined, "RemoteStop"), "Remote");
    assert.equal(stopReason(undefined, "MeterValuePeriodic"), "Local");
    assert.deepEqual(toIdTokenInfo({ status: "Accepted", expiryDate: "2027-01-01T00:00:00.000Z", parentIdTag: "FAMILY" }), {
      status: "Accepted",
      cacheExpiryDateTime: "2027-01-01T00:00:00.000Z",
      groupIdToken: { idToken: "FAMILY", type: "Central" },
    });
  });

  it("applies the unit multiplier, then converts to Wh / W like 1.6", () => {
    const samples = normalizeMeterValues201(1, "T1", [
      {
        timestamp: "2026-11-21T10:00:00.000Z",
        sampledValue: [
          { value: 12.345, measurand: "Energy.Active.Import.Register", unitOfMeasure: { unit: "kWh" } },
          { value: 7, measurand: "Power.Active.Import", unitOfMeasure: { unit: "W", multiplier: 3 } },
          { value: 1234, measurand: "Current.Import", phase: "L1", unitOfMeasure: { unit: "A", multiplier: -2 } },
        ],
      },
    ]);
    assert.deepEqual(samples.map((s) => [s.measurand, s.value, s.unit]), [
      ["Energy.Active.Import.Register", 12345, "Wh"],
      ["Power.Active.Import", 7000, "W"],
      ["Current.Import", 12.34, "A"],
    ]);
  });

  it("knows the friendly commands and the 2.0.1 action names", () => {
    assert.equal(resolveCommand201("start"), "RequestStartTransaction");
    assert.equal(resolveCommand201("GetConfiguration"), "GetVariables");
    assert.equal(resolveCommand201("GetDiagnostics"), "GetLog");
    assert.equal(resolveCommand201("getbasereport"), "GetBaseReport");
    assert.equal(resolveCommand201("Reset"), "Reset");
    assert.equal(resolveCommand201("Frobnicate"), undefined);
  });
});
