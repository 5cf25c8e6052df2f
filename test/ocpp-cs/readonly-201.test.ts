/**
 * Read-only settings of an OCPP 2.0.1 charger, over a real websocket with a
 * station written on `ws` (no ocpp-rpc): the device model's NotifyReport
 * parts say which variables are ReadOnly (kept, and given as `readonlyKeys`
 * by `discover` and as `readonly` by GetConfiguration, as on 1.6) and which
 * are WriteOnly (secrets: their values are never kept). Setting a read-only
 * variable is sent and the charger's Rejected comes back as the same
 * "rejected" error a 1.6 charger's Rejected gives.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startCentral, type Running } from "./support/central";
import { RawCharger201 } from "./support/raw-201-charger";
import { STATION_REQUESTS_201 } from "./support/messages-201";
import { CommandRunner } from "../../nodes/lib/ocpp/core/command-runner";
import { CommandError } from "../../nodes/lib/ocpp/core/command-error";

const running: Running[] = [];
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)));
  await Promise.all(running.splice(0).map((r) => r.close()));
});

type Datum = { component: { name: string; evse?: { id: number } }; variable: { name: string }; variableAttribute: Array<Record<string, string>>; variableCharacteristics: Record<string, unknown> };
const v = (component: string | { name: string; evse: { id: number } }, variable: string, value: string, mutability: string): Datum => ({
  component: typeof component === "string" ? { name: component } : component,
  variable: { name: variable },
  variableAttribute: [{ type: "Actual", value, mutability }],
  variableCharacteristics: { dataType: "string", supportsMonitoring: false },
});

/** Reported in two parts; one WriteOnly variable whose name does not say it is a secret. */
const REPORT: Datum[][] = [
  [
    v({ name: "EVSE", evse: { id: 1 } }, "SupplyPhases", "3", "ReadOnly"),
    v("SmartChargingCtrlr", "RateUnit", "A", "ReadOnly"),
    v("SmartChargingCtrlr", "ProfileStackLevel", "8", "ReadOnly"),
  ],
  [v("OCPPCommCtrlr", "HeartbeatInterval", "300", "ReadWrite"), v("SampledDataCtrlr", "TxUpdatedInterval", "60", "ReadWrite"), v("VendorCtrlr", "CloudToken", "tok-hidden-123", "WriteOnly")],
];

const key = (d: { component: { name: string; evse?: { id: number } }; variable: { name: string } }): string => `${d.component.name}${d.component.evse ? `[${d.component.evse.id}]` : ""}/${d.variable.name}`;
const READ_ONLY = new Set(REPORT.flat().filter((d) => d.variableAttribute[0].mutability === "ReadOnly").map(key));

describe("OCPP 2.0.1 read-only variables", () => {
  it("a report in two parts gives readonlyKeys and readonly flags as on 1.6; setting a read-only variable gives the charger's Rejected as an error", async () => {
    const r = await startCentral({ protocols: ["ocpp2.0.1", "ocpp1.6"] });
    running.push(r);
    const values = new Map(REPORT.flat().map((d) => [key(d), d.variableAttribute[0].value]));
    const c: RawCharger201 = await RawCharger201.connect(r.url, "RO201", ["ocpp2.0.1"], {
      GetBaseReport: (p) => {
        setImmediate(async () => {
          for (let i = 0; i < REPORT.length; i++) {
            await c.call("NotifyReport", { requestId: p.requestId, generatedAt: new Date().toISOString(), seqNo: i, tbc: i < REPORT.length - 1, reportData: REPORT[i] });
          }
        });
        return { status: "Accepted" };
      },
      GetVariables: (p) => ({
        getVariableResult: (p.getVariableData as Datum[]).map((d) =>
          values.has(key(d)) ? { attributeStatus: "Accepted", component: d.component, variable: d.variable, attributeValue: values.get(key(d)) } : { attributeStatus: "UnknownVariable", component: d.component, variable: d.variable },
        ),
      }),
      // As the spec says a station does: a ReadOnly attribute is not set.
      SetVariables: (p) => ({
        setVariableResult: (p.setVariableData as Datum[]).map((d) => ({ attributeStatus: READ_ONLY.has(key(d)) ? "Rejected" : values.has(key(d)) ? "Accepted" : "UnknownVariable", component: d.component, variable: d.variable })),
      }),
    });
    closers.push(() => c.close());
    await c.call("BootNotification", STATION_REQUESTS_201.BootNotification);
    const run = new CommandRunner({ directory: r.central.directory, offline: { mode: "fail" }, timeoutMs: 3000 });
    closers.push(async () => run.close());

    const discovered = (await run.run({ chargerId: "RO201", command: "discover", input: {} })).answer as { readonlyKeys: string[]; configuration: Record<string, string> };
    assert.deepEqual(discovered.readonlyKeys.sort(), ["EVSE[1]/SupplyPhases", "SmartChargingCtrlr/ProfileStackLevel", "SmartChargingCtrlr/RateUnit"]);
    assert.equal(discovered.configuration["OCPPCommCtrlr/HeartbeatInterval"], "300");
    // A WriteOnly value is a secret, whatever its name: not in the answer, not in the charger's state.
    assert.equal(JSON.stringify(discovered).includes("tok-hidden"), false);
    assert.equal(JSON.stringify(r.central.directory.snapshot("RO201")).includes("tok-hidden"), false);

    // GetConfiguration by the 1.6 names: readonly as the device model says (GetVariables itself does not tell).
    const got = (await run.run({ chargerId: "RO201", command: "GetConfiguration", input: { keys: ["ChargeProfileMaxStackLevel", "HeartbeatInterval"] } })).answer as { configurationKey: unknown[] };
    assert.deepEqual(got.configurationKey, [
      { key: "ChargeProfileMaxStackLevel", value: "8", readonly: true },
      { key: "HeartbeatInterval", value: "300", readonly: false },
    ]);

    // As on 1.6 the change is sent (the charger has the last word) and its Rejected is a "rejected" error carrying the answer.
    await assert.rejects(run.run({ chargerId: "RO201", command: "ChangeConfiguration", input: { key: "ChargeProfileMaxStackLevel", value: 4 } }), (err: CommandError) => {
      assert.equal(err.kind, "rejected");
      assert.match(err.message, /Charger RO201 refused to set SmartChargingCtrlr\/ProfileStackLevel \(Rejected\)/);
      return true;
    });
    assert.deepEqual(c.received.filter(([a]) => a === "SetVariables").map(([, p]) => p), [
      { setVariableData: [{ attributeValue: "4", component: { name: "SmartChargingCtrlr" }, variable: { name: "ProfileStackLevel" } }] },
    ]);
    const changed = await run.run({ chargerId: "RO201", command: "ChangeConfiguration", input: { key: "HeartbeatInterval", value: 120 } });
    assert.equal((changed.answer as { status: string }).status, "Accepted");
    // A variable the station does not have: 1.6's NotSupported, so the same "not_supported" error kind.
    await assert.rejects(run.run({ chargerId: "RO201", command: "ChangeConfiguration", input: { key: "VendorCtrlr/NoSuchSetting", value: 1 } }), (err: CommandError) => {
      assert.equal(err.kind, "not_supported");
      assert.match(err.message, /Charger RO201 does not support setting VendorCtrlr\/NoSuchSetting \(UnknownVariable\)/);
      return true;
    });
  });
});
