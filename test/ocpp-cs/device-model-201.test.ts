/**
 * The 2.0.1 device model as flows need it, inside a real Node-RED: a
 * station written on `ws` (no ocpp-rpc) with two EVSEs sends its
 * GetBaseReport in three NotifyReport parts; the charger's state (ev-ocpp-in)
 * then carries its capabilities (EVSEs, connectors, features) in the same
 * shape as a 1.6 charger's after `discover`, the raw Component/Variable keys
 * beside them, and no secret anywhere. The site manager's limit message
 * (lease, phases) on this station gets the truthful common answer.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import helper from "node-red-node-test-helper";
import centralNode from "../../nodes/ev-ocpp-central-system";
import inNode from "../../nodes/ev-ocpp-in";
import commandNode from "../../nodes/ev-ocpp-command";
import type { CentralSystemNode } from "../../nodes/lib/ocpp/core/node-types";
import type { ChargerCapabilities } from "../../nodes/lib/ocpp/core/capabilities";
import type { ChargerSnapshot } from "../../nodes/lib/ocpp/core/contract";
import { capabilities201 } from "../../nodes/lib/ocpp/v201/device-model";
import { collect, editorFlow, type ReceivedMessage } from "../support/node-red";
import { boot, connect } from "./support/clients";
import { RawCharger201 } from "./support/raw-201-charger";
import { profileStation } from "./support/profiles-201";

helper.init(require.resolve("node-red"));

let userDir: string;
const closers: Array<() => Promise<unknown>> = [];
beforeEach(() => {
  userDir = mkdtempSync(path.join(os.tmpdir(), "evkit-dm201-"));
  helper.settings({ userDir });
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)));
  await helper.unload();
  rmSync(userDir, { recursive: true, force: true });
});

type Datum = Record<string, unknown>;
const v = (component: string | { name: string; evse?: object; instance?: string }, variable: string | { name: string; instance?: string }, value: string, characteristics: Record<string, unknown> = {}, mutability = "ReadOnly"): Datum => ({
  component: typeof component === "string" ? { name: component } : component,
  variable: typeof variable === "string" ? { name: variable } : variable,
  variableAttribute: [{ type: "Actual", value, mutability }],
  variableCharacteristics: { dataType: "string", supportsMonitoring: false, ...characteristics },
});
const evse = (id: number) => ({ name: "EVSE", evse: { id } });
const plug = (id: number, connectorId: number) => ({ name: "Connector", evse: { id, connectorId } });

/** A two-EVSE wallbox: EVSE 1 with a Type 2 socket, EVSE 2 with a socket and a CCS plug; reported in three parts. */
const REPORT: Datum[][] = [
  [
    v(evse(1), "Power", "0", { unit: "W", dataType: "decimal", maxLimit: 22000 }),
    v(evse(1), "SupplyPhases", "3", { dataType: "integer" }),
    v(plug(1, 1), "ConnectorType", "cType2"),
    v(plug(1, 1), "SupplyPhases", "3", { dataType: "integer" }),
    v(evse(2), "Power", "0", { unit: "kW", dataType: "decimal", maxLimit: 11 }),
    v(evse(2), "SupplyPhases", "3", { dataType: "integer" }),
  ],
  [
    v(plug(2, 1), "ConnectorType", "sType2"),
    v(plug(2, 2), "ConnectorType", "cCCS2"),
    v(plug(2, 2), "SupplyPhases", "0", { dataType: "integer" }),
    v("SmartChargingCtrlr", "Enabled", "true", { dataType: "boolean" }, "ReadWrite"),
    v("SmartChargingCtrlr", "ACPhaseSwitchingSupported", "false", { dataType: "boolean" }),
    v("SmartChargingCtrlr", "Phases3to1", "true", { dataType: "boolean" }),
    v("SmartChargingCtrlr", "RateUnit", "A,W", { dataType: "MemberList", valuesList: "A,W" }),
    v("SmartChargingCtrlr", "ProfileStackLevel", "8", { dataType: "integer" }),
    v("SmartChargingCtrlr", "PeriodsPerSchedule", "24", { dataType: "integer" }),
    v("SmartChargingCtrlr", { name: "Entries", instance: "ChargingProfiles" }, "0", { dataType: "integer", maxLimit: 20 }),
  ],
  [
    v("LocalAuthListCtrlr", "Enabled", "true", { dataType: "boolean" }, "ReadWrite"),
    v("LocalAuthListCtrlr", "Entries", "0", { dataType: "integer", maxLimit: 500 }),
    v("LocalAuthListCtrlr", "ItemsPerMessage", "50", { dataType: "integer" }),
    v("LocalAuthListCtrlr", "BytesPerMessage", "8000", { dataType: "integer" }),
    v("ReservationCtrlr", "Enabled", "false", { dataType: "boolean" }, "ReadWrite"),
    v("AuthCtrlr", "Enabled", "true", { dataType: "boolean" }, "ReadWrite"),
    v("AuthCtrlr", "AuthorizeRemoteStart", "false", { dataType: "boolean" }, "ReadWrite"),
    v("AuthCtrlr", "LocalAuthorizeOffline", "true", { dataType: "boolean" }, "ReadWrite"),
    v("AuthCtrlr", "LocalPreAuthorize", "false", { dataType: "boolean" }, "ReadWrite"),
    v("SampledDataCtrlr", "TxUpdatedMeasurands", "Energy.Active.Import.Register,Power.Active.Import,Current.Import", { dataType: "MemberList" }, "ReadWrite"),
    v("SampledDataCtrlr", "TxEndedMeasurands", "Energy.Active.Import.Register", { dataType: "MemberList" }, "ReadWrite"),
    v("OCPPCommCtrlr", "HeartbeatInterval", "300", { dataType: "integer", unit: "s" }, "ReadWrite"),
    v("SecurityCtrlr", "BasicAuthPassword", "secret-password-xyz", {}, "WriteOnly"),
    v("SecurityCtrlr", "SecurityProfile", "2", { dataType: "integer" }),
  ],
];

const EXPECTED: ChargerCapabilities = {
  numberOfConnectors: 2,
  featureProfiles: ["Core", "FirmwareManagement", "RemoteTrigger", "SmartCharging", "LocalAuthListManagement"],
  measurands: ["Energy.Active.Import.Register", "Power.Active.Import", "Current.Import"],
  measurandsEnded: ["Energy.Active.Import.Register"],
  heartbeatIntervalS: 300,
  smartCharging: { units: ["A", "W"], maxStackLevel: 8, maxPeriods: 24, maxProfiles: 20, enabled: true, phaseSwitching: false, phases3to1: true },
  localList: { enabled: true, maxLength: 500, maxPerMessage: 50, maxBytesPerMessage: 8000 },
  reservation: { enabled: false },
  authorization: { enabled: true, authorizeRemoteStart: false, localAuthorizeOffline: true, localPreAuthorize: false },
  evses: [
    { evseId: 1, maxPowerW: 22000, supplyPhases: 3, connectors: [{ connectorId: 1, type: "cType2", supplyPhases: 3 }] },
    { evseId: 2, maxPowerW: 11000, supplyPhases: 3, connectors: [{ connectorId: 1, type: "sType2" }, { connectorId: 2, type: "cCCS2", supplyPhases: 0 }] },
  ],
};

function flow() {
  return editorFlow([
    { id: "tab", type: "tab" },
    { id: "cs", type: "ev-ocpp-central-system", name: "home", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0", callTimeout: "3", protocols: "ocpp1.6,ocpp2.0.1" },
    { id: "in", type: "ev-ocpp-in", z: "tab", server: "cs", chargers: "", kinds: "deviceModel", decide: false, wires: [["out"]] },
    { id: "out", type: "helper", z: "tab" },
    { id: "cmd", type: "ev-ocpp-command", z: "tab", server: "cs", chargerId: "", command: "GetBaseReport", timeout: "3", offline: "fail", queueTtl: "60", wires: [["answers"]] },
    { id: "answers", type: "helper", z: "tab" },
  ]);
}

describe("OCPP 2.0.1 device model in Node-RED", () => {
  it("a report in three parts gives the charger's EVSEs, connectors and features in the 1.6 shape; raw keys kept, secrets never sent", async () => {
    await helper.load([centralNode, inNode, commandNode], flow());
    const cs = helper.getNode("cs") as unknown as CentralSystemNode;
    await cs.ready;
    const url = `ws://127.0.0.1:${cs.central!.port}/ocpp`;
    const out = collect(helper.getNode("out"));
    const answers = collect(helper.getNode("answers"));
    const all: ReceivedMessage[] = [];
    const cmd = helper.getNode("cmd");
    const command = async (msg: Record<string, unknown>): Promise<ReceivedMessage> => {
      cmd.receive(msg as never);
      const [answer] = await answers.take(1);
      all.push(answer);
      return answer;
    };
    const state = async (charger: string): Promise<ChargerSnapshot> => {
      helper.getNode("in").receive({ charger } as never);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const msg = out.pending.splice(out.pending.findIndex((m) => m.topic === `${charger}/state`), 1)[0];
      all.push(msg);
      return msg.payload as ChargerSnapshot;
    };

    const station = profileStation({ variables: {} });
    const c2 = await RawCharger201.connect(url, "DUO201", ["ocpp2.0.1"], {
      ...station.handlers,
      // Rejects a measurand list with SoC in it (it cannot sample SoC), takes the rest.
      SetVariables: (p) => ({
        setVariableResult: (p.setVariableData as Array<{ component: object; variable: object; attributeValue: string }>).map((d) => ({
          attributeStatus: /SoC/.test(d.attributeValue) ? "Rejected" : "Accepted",
          component: d.component,
          variable: d.variable,
        })),
      }),
      GetBaseReport: (p) => {
        setImmediate(async () => {
          for (let i = 0; i < REPORT.length; i++) {
            await c2.call("NotifyReport", { requestId: p.requestId, generatedAt: new Date().toISOString(), seqNo: i, tbc: i < REPORT.length - 1, reportData: REPORT[i] });
          }
        });
        return { status: "Accepted" };
      },
    });
    closers.push(() => c2.close());
    await c2.call("BootNotification", { reason: "PowerUp", chargingStation: { vendorName: "Evkit", model: "Duo" } });

    // GetBaseReport from a command node waits for the last part.
    const report = await command({ chargerId: "DUO201", payload: {} });
    assert.deepEqual(c2.received[0], ["GetBaseReport", { requestId: (c2.received[0][1] as { requestId: number }).requestId, reportBase: "FullInventory" }]);
    const answer = report.payload as { status: string; configuration: Record<string, string>; capabilities: ChargerCapabilities };
    assert.equal(answer.status, "Accepted");
    assert.deepEqual(answer.capabilities, EXPECTED);
    assert.equal((await out.take(1))[0].topic, "DUO201/deviceModel");

    const s201 = await state("DUO201");
    assert.deepEqual(s201.capabilities, EXPECTED);
    // The raw keys stay as they were, with what a variable allows beside them.
    assert.equal(s201.configuration?.["EVSE[2]/Power"], "0");
    assert.equal(s201.configuration?.["EVSE[2]/Power#maxLimit"], "11");
    assert.equal(s201.configuration?.["EVSE[2]/Power#unit"], "kW");
    assert.equal(s201.configuration?.["Connector[2.2]/ConnectorType"], "cCCS2");
    assert.equal(s201.configuration?.["SmartChargingCtrlr/Entries(ChargingProfiles)#maxLimit"], "20");
    assert.equal(s201.configuration?.["SmartChargingCtrlr/RateUnit#valuesList"], "A,W");
    assert.equal(s201.configuration?.["SecurityCtrlr/SecurityProfile"], "2");
    assert.equal(Object.keys(s201.configuration ?? {}).some((k) => k.includes("BasicAuthPassword")), false);

    // `discover` answers as it does for 1.6: the capabilities at the top, beside the configuration, and sets what it is asked to.
    const discovered = (await command({ chargerId: "DUO201", command: "discover", payload: { measurands: "Energy.Active.Import.Register,SoC", sampleInterval: 60, heartbeatInterval: 300 } }))
      .payload as ChargerCapabilities & { chargerId: string; configuration: Record<string, string>; changes: unknown[] };
    assert.equal(discovered.chargerId, "DUO201");
    assert.equal(discovered.numberOfConnectors, 2);
    assert.deepEqual(discovered.evses, EXPECTED.evses);
    assert.deepEqual(discovered.smartCharging, EXPECTED.smartCharging);
    // The list is refused for SoC, so each measurand is tried alone; the heartbeat is already 300 s, so it is not sent.
    assert.deepEqual(discovered.changes, [
      { key: "MeterValuesSampledData", variable: "SampledDataCtrlr/TxUpdatedMeasurands", value: "Energy.Active.Import.Register,SoC", status: "Rejected" },
      { key: "MeterValuesSampledData", variable: "SampledDataCtrlr/TxUpdatedMeasurands", value: "Energy.Active.Import.Register", status: "Accepted" },
      { key: "MeterValuesSampledData", variable: "SampledDataCtrlr/TxUpdatedMeasurands", value: "SoC", status: "Rejected" },
      { key: "MeterValueSampleInterval", variable: "SampledDataCtrlr/TxUpdatedInterval", value: "60", status: "Accepted" },
    ]);
    assert.deepEqual(discovered.measurands, ["Energy.Active.Import.Register"]);
    assert.equal(discovered.configuration["SampledDataCtrlr/TxUpdatedInterval"], "60");
    assert.equal(c2.received.filter(([a]) => a === "SetVariables").length, 4);
    await assert.rejects(
      (async () => {
        cmd.receive({ chargerId: "DUO201", command: "discover", payload: { sampleInterval: -5 } } as never);
        await answers.take(1, 300);
      })(),
      /Expected 1 message/,
      "a bad interval sends nothing",
    );
    assert.equal(c2.received.filter(([a]) => a === "GetBaseReport").length, 2, "no report asked for with a bad interval");

    // A 1.6 charger on the same central system: the same fields, read the same way.
    const c16 = await connect(url, "ONE16", { protocols: ["ocpp1.6"] });
    closers.push(() => c16.close({ force: true }));
    c16.handle("GetConfiguration", () =>
      Promise.resolve({
        configurationKey: [
          { key: "SupportedFeatureProfiles", readonly: true, value: "Core,FirmwareManagement,SmartCharging,RemoteTrigger" },
          { key: "NumberOfConnectors", readonly: true, value: "2" },
          { key: "ChargingScheduleAllowedChargingRateUnit", readonly: true, value: "Current,Power" },
          { key: "ChargeProfileMaxStackLevel", readonly: true, value: "8" },
          { key: "MeterValuesSampledData", readonly: false, value: "Energy.Active.Import.Register" },
          { key: "HeartbeatInterval", readonly: false, value: "300" },
          { key: "AuthorizationKey", readonly: false, value: "secret-password-xyz" },
        ],
      }),
    );
    await c16.call("BootNotification", boot);
    await command({ chargerId: "ONE16", command: "discover", payload: {} });
    const s16 = await state("ONE16");
    for (const s of [s16, s201]) {
      const caps = s.capabilities!;
      assert.equal(caps.numberOfConnectors, 2, s.identity);
      assert.deepEqual(caps.smartCharging?.units, ["A", "W"], s.identity);
      assert.equal(caps.smartCharging?.maxStackLevel, 8, s.identity);
      assert.equal(caps.featureProfiles.includes("SmartCharging"), true, s.identity);
      assert.equal(caps.heartbeatIntervalS, 300, s.identity);
    }

    // The site manager's message on this station: it cannot switch phases, so the answer says the phases were not applied.
    const limit = await command({ topic: "limit", chargerId: "DUO201", payload: { amps: 10, phases: 1, leaseS: 60, safeA: 6 } });
    const sets = c2.received.filter(([a]) => a === "SetChargingProfile").map(([, p]) => p as { evseId: number; chargingProfile: { id: number; stackLevel: number; chargingSchedule: Array<{ chargingSchedulePeriod: object[] }> } });
    assert.deepEqual(
      sets.map((p) => [p.evseId, p.chargingProfile.id, p.chargingProfile.stackLevel, p.chargingProfile.chargingSchedule[0].chargingSchedulePeriod]),
      [
        [0, 7319, 0, [{ startPeriod: 0, limit: 6 }]],
        [0, 7310, 8, [{ startPeriod: 0, limit: 10 }]],
      ],
    );
    const common = limit.payload as { applied: { amps: number; phases?: number; phasesIgnored?: boolean }; followed: boolean; warning?: string; lease?: { base?: string } };
    assert.deepEqual(common.applied, { amps: 10, paused: false, phasesIgnored: true });
    assert.equal(common.followed, true);
    assert.equal(common.lease?.base, "installed");
    assert.match(common.warning ?? "", /request for 1 phase was not applied/);

    // Nothing a flow received holds the write-only secret.
    assert.equal(JSON.stringify([...all, ...out.pending]).includes("secret-password"), false);
  });

  it("derives nothing that was not reported: an empty model says only what every 2.0.1 station has", () => {
    assert.deepEqual(capabilities201({}), { featureProfiles: ["Core", "FirmwareManagement", "RemoteTrigger"], measurands: [] });
    // A controller reported but switched off is kept, and left out of featureProfiles.
    const off = capabilities201({ "SmartChargingCtrlr/Enabled": "false", "SmartChargingCtrlr/RateUnit": "W", "LocalAuthListCtrlr/Available": "true", "LocalAuthListCtrlr/Enabled": "false" });
    assert.deepEqual(off.smartCharging, { units: ["W"], enabled: false });
    assert.deepEqual(off.localList, { enabled: false });
    assert.deepEqual(off.featureProfiles, ["Core", "FirmwareManagement", "RemoteTrigger"]);
  });
});
