/**
 * ev-ocpp-command through the real ev-ocpp-central-system config node (its
 * own port on 127.0.0.1) with the charge-point simulator: the command side
 * only knows the contract, so this checks the two halves fit (links, error
 * texts, snapshots with sessions and voltage, the id-tag list).
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import helper from "node-red-node-test-helper";
import centralNode from "../../nodes/ev-ocpp-central-system";
import commandNode from "../../nodes/ev-ocpp-command";
import type { CentralSystemNode } from "../../nodes/lib/ocpp/core/node-types";
import { collect, waitFor } from "../support/node-red";
import { startChargePointSimulator, type ChargePointBehaviour, type ChargePointSimulator } from "../servers/ocpp-charge-point";
import { RawCharger201 } from "../ocpp-cs/support/raw-201-charger";

helper.init(require.resolve("node-red"));

const NODES = [centralNode, commandNode];

function flow(command: Record<string, unknown>) {
  return [
    { id: "tab", type: "tab" },
    { id: "cs", type: "ev-ocpp-central-system", name: "home", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0", callTimeout: "2" },
    { id: "cmd", type: "ev-ocpp-command", z: "tab", x: 100, y: 100, server: "cs", chargerId: "CP1", command: "RemoteStartTransaction", timeout: "2", offline: "fail", queueTtl: "60", wires: [["out"]], ...command },
    { id: "out", type: "helper", z: "tab", x: 300, y: 100 },
    { id: "catcher", type: "catch", z: "tab", x: 100, y: 300, scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "tab", x: 300, y: 300 },
  ];
}

describe("ev-ocpp-command with the real ev-ocpp-central-system", () => {
  const sims: ChargePointSimulator[] = [];
  let url = "";
  const start = async (command: Record<string, unknown>, credentials: Record<string, unknown> = {}): Promise<CentralSystemNode> => {
    await helper.load(NODES, flow(command), { cs: credentials });
    const cs = helper.getNode("cs") as unknown as CentralSystemNode;
    await cs.ready;
    url = `ws://127.0.0.1:${cs.central!.port}/ocpp`;
    return cs;
  };
  const connect = async (cs: CentralSystemNode, behaviour: Partial<ChargePointBehaviour> = {}, identity = "CP1"): Promise<ChargePointSimulator> => {
    const sim = await startChargePointSimulator({ url, identity, behaviour });
    sims.push(sim);
    await waitFor(() => cs.directory.link(identity) !== undefined && (cs.directory.snapshot(identity)?.connectors.length ?? 0) > 0, 3000, "charger ready");
    return sim;
  };

  beforeEach(() => {
    helper.settings({ userDir: mkdtempSync(path.join(os.tmpdir(), "evkit-cmd-")) });
  });
  afterEach(async () => {
    for (const s of sims.splice(0)) await s.close().catch(() => undefined);
    await helper.unload();
  });

  it("starts a session, then stops 'the session on connector 1' found in the central system's state", async () => {
    const cs = await start({});
    const sim = await connect(cs);
    const out = collect(helper.getNode("out"));
    helper.getNode("cmd").receive({ payload: { connector: 1, idTag: "ABC" } });
    const [started] = await out.take(1);
    assert.deepEqual(started.payload, { status: "Accepted" });
    await waitFor(() => cs.directory.snapshot("CP1")?.connectors.find((c) => c.connectorId === 1)?.transactionId !== undefined && sim.state.transactions.has(1), 3000, "session");
    const transactionId = sim.state.transactions.get(1);
    helper.getNode("cmd").receive({ command: "stop", payload: { connector: 1 } });
    const [stopped] = await out.take(1);
    assert.deepEqual(stopped.ocpp, { chargerId: "CP1", action: "RemoteStopTransaction", request: { transactionId } });
    assert.deepEqual(sim.calls("RemoteStopTransaction"), [{ transactionId }]);
  });

  it("limit uses the measured voltage from the central system's meter values", async () => {
    const cs = await start({ command: "limit", limitUnit: "W" });
    const sim = await connect(cs, { rateUnits: ["A"], voltage: 240 });
    await waitFor(() => cs.directory.snapshot("CP1")?.connectors.some((c) => c.voltageV?.l1 === 240) === true, 3000, "voltage");
    const out = collect(helper.getNode("out"));
    helper.getNode("cmd").receive({ payload: { watts: 7200, phases: 3 } });
    const [msg] = await out.take(1);
    const answer = msg.payload as { voltage: number; sent: unknown; applied: unknown };
    assert.equal(answer.voltage, 240);
    assert.deepEqual(answer.sent, { limit: 10, unit: "A", numberPhases: 3 });
    assert.deepEqual(answer.applied, { limit: 10, unit: "A", amps: 10, watts: 7200 });
    assert.equal(sim.compositeLimit(0, "A"), 10);
    assert.equal(cs.directory.snapshot("CP1")?.configuration?.ChargingScheduleAllowedChargingRateUnit, "Current", "cached in the central system");
  });

  it("timeouts, CALLERRORs and offline chargers are catchable with the right kind", async () => {
    const cs = await start({ command: "Reset", timeout: "0.3" });
    const caught = collect(helper.getNode("caught"));
    const cmd = helper.getNode("cmd");
    cmd.receive({ payload: {} });
    const [offline] = await caught.take(1);
    assert.equal((offline.ocpp as { error: { kind: string } }).error.kind, "offline");
    await connect(cs, { noReply: ["Reset"], callErrors: { ClearCache: "NotSupported" } });
    cmd.receive({ payload: {} });
    const [timeout] = await caught.take(1);
    assert.equal((timeout.ocpp as { error: { kind: string } }).error.kind, "timeout");
    assert.match((timeout.error as { message: string }).message, /CP1/);
    cmd.receive({ command: "ClearCache", payload: {} });
    const [callError] = await caught.take(1);
    assert.deepEqual((callError.ocpp as { error: unknown }).error, { kind: "call_error", rpcErrorCode: "NotSupported", answer: undefined });
  });

  it("raw mode: a payload that is not valid OCPP is refused as bad input before it is sent", async () => {
    const cs = await start({ command: "raw", action: "Reset" });
    const sim = await connect(cs);
    const caught = collect(helper.getNode("caught"));
    const out = collect(helper.getNode("out"));
    helper.getNode("cmd").receive({ payload: { type: "Bogus" } });
    const [c] = await caught.take(1);
    assert.equal((c.ocpp as { error: { kind: string } }).error.kind, "bad_input");
    assert.match((c.error as { message: string }).message, /Reset was not sent to charger CP1/);
    helper.getNode("cmd").receive({ payload: { type: "Hard" } });
    await out.take(1);
    assert.deepEqual(sim.calls("Reset"), [{ type: "Hard" }], "only the valid one reached the charger");
  });

  it("syncs the central system's id-tag list (from its credentials) to the charger", async () => {
    const cs = await start({ command: "syncLocalList", chargerId: "" }, { idTags: "ABC123\nLOST42 Blocked" });
    const sim = await connect(cs);
    const out = collect(helper.getNode("out"));
    helper.getNode("cmd").receive({ topic: "CP1", payload: {} });
    const [msg] = await out.take(1);
    assert.equal((msg.payload as { updateType: string }).updateType, "Full");
    assert.deepEqual(
      sim.calls("SendLocalList")[0].localAuthorizationList,
      [
        { idTag: "ABC123", idTagInfo: { status: "Accepted" } },
        { idTag: "LOST42", idTagInfo: { status: "Blocked" } },
      ],
    );
  });

  it("automatic syncLocalList gives a 2.0.1 charger that connects the id-tag list in 2.0.1 frames", async () => {
    const nodes = flow({ command: "syncLocalList", chargerId: "", autoSync: true }).map((n) => (n.id === "cs" ? { ...n, protocols: "ocpp1.6,ocpp2.0.1" } : n));
    await helper.load(NODES, nodes, { cs: { idTags: "ABC123\nLOST42 Blocked 2027-01-01" } });
    const cs = helper.getNode("cs") as unknown as CentralSystemNode;
    await cs.ready;
    const out = collect(helper.getNode("out"));
    const versions: number[] = [];
    const c = await RawCharger201.connect(`ws://127.0.0.1:${cs.central!.port}/ocpp`, "BMW", ["ocpp2.0.1"], {
      GetLocalListVersion: () => ({ versionNumber: versions.at(-1) ?? 0 }),
      SendLocalList: (p) => (versions.push(p.versionNumber as number), { status: "Accepted" }),
    });
    try {
      await c.call("BootNotification", { reason: "PowerUp", chargingStation: { vendorName: "Delta", model: "Gen4" } });
      const [msg] = await out.take(1);
      assert.deepEqual(msg.payload, { chargerId: "BMW", previousVersion: 0, listVersion: 1, updateType: "Full", sent: 2, messages: 1 });
      assert.deepEqual(c.received.find(([action]) => action === "SendLocalList")?.[1], {
        versionNumber: 1,
        updateType: "Full",
        localAuthorizationList: [
          { idToken: { idToken: "ABC123", type: "ISO14443" }, idTokenInfo: { status: "Accepted" } },
          { idToken: { idToken: "LOST42", type: "ISO14443" }, idTokenInfo: { status: "Blocked", cacheExpiryDateTime: "2027-01-01T23:59:59.000Z" } },
        ],
      });
      assert.deepEqual(c.invalid, []);
    } finally {
      await c.close();
    }
  });

  it("discover records the charger's configuration in the central system", async () => {
    const cs = await start({ command: "discover", sampleInterval: "10" });
    const sim = await connect(cs);
    const out = collect(helper.getNode("out"));
    helper.getNode("cmd").receive({ payload: {} });
    const [msg] = await out.take(1);
    assert.deepEqual((msg.payload as { changes: unknown }).changes, [{ key: "MeterValueSampleInterval", value: "10", status: "Accepted" }]);
    assert.equal(cs.directory.snapshot("CP1")?.configuration?.MeterValueSampleInterval, "10");
    assert.equal(sim.state.configuration.get("MeterValueSampleInterval"), "10");
  });
});
