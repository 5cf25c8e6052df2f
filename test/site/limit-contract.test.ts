/**
 * One limit contract on every charger node: the same message
 * (topic "limit", {amps, phases?} | {watts} | 0) to OCPP, Charge Amps and
 * AMTRON, each against its simulator, answered with what the charger applied.
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import helper, { type TestFlowsItem } from "node-red-node-test-helper";
import centralNode from "../../nodes/ev-ocpp-central-system";
import commandNode from "../../nodes/ev-ocpp-command";
import amtronNode from "../../nodes/ev-amtron";
import accountNode from "../../nodes/ev-chargeamps-account";
import chargeAmpsNode from "../../nodes/ev-chargeamps";
import type { CentralSystemNode } from "../../nodes/lib/ocpp/core/node-types";
import { parseLimit, LimitInputError, type LimitAnswer } from "../../nodes/lib/limit";
import { collect, waitFor } from "../support/node-red";
import { startChargePointSimulator, type ChargePointSimulator } from "../servers/ocpp-charge-point";
import { startAmtronSimulator, type AmtronSimulator } from "../servers/amtron-simulator";
import { AURA_ID, startChargeAmpsSimulator, type ChargeAmpsSimulator } from "../servers/chargeamps-simulator";

helper.init(require.resolve("node-red"));

const flowOf = (items: Array<Record<string, unknown>>): TestFlowsItem[] => items as unknown as TestFlowsItem[];

describe("limit payload", () => {
  it("reads amps, watts, phases and pause, and says what is wrong in words", () => {
    assert.deepEqual(parseLimit({ amps: 10, phases: 1 }), { amps: 10, phases: 1, pause: false, requested: { amps: 10, phases: 1 } });
    assert.equal(parseLimit({ watts: 4140 }).amps, 6);
    assert.equal(parseLimit({ watts: 2300, phases: 1 }).amps, 10);
    assert.equal(parseLimit(0).pause, true);
    assert.equal(parseLimit({ amps: 0 }).pause, true);
    assert.equal(parseLimit({ pause: true }).pause, true);
    assert.throws(() => parseLimit({ amps: -1 }), LimitInputError);
    assert.throws(() => parseLimit({ amps: 6, watts: 1 }), /either amps or watts/);
    assert.throws(() => parseLimit({ amps: 6, phases: 4 }), /phases must be 1 or 3/);
    assert.throws(() => parseLimit("lots"), /0 or more amps/);
  });
});

describe("the limit contract on the three charger nodes", () => {
  const closers: Array<() => Promise<unknown>> = [];
  beforeEach(() => {
    helper.settings({ userDir: mkdtempSync(path.join(os.tmpdir(), "evkit-limit-")), evChargeampsMinPollSeconds: 0.3, evAmtronMinPollInterval: 0.1 } as never);
  });
  afterEach(async () => {
    await helper.unload();
    for (const close of closers.splice(0)) await close().catch(() => undefined);
  });

  it("OCPP: topic limit with the charger in msg.chargerId, read back with GetCompositeSchedule", async () => {
    await helper.load([centralNode, commandNode], flowOf([
      { id: "tab", type: "tab" },
      { id: "cs", type: "ev-ocpp-central-system", name: "home", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0", callTimeout: "2" },
      { id: "cmd", type: "ev-ocpp-command", z: "tab", x: 100, y: 100, server: "cs", chargerId: "", command: "RemoteStartTransaction", timeout: "2", offline: "fail", queueTtl: "60", wires: [["out"]] },
      { id: "out", type: "helper", z: "tab", x: 300, y: 100 },
    ]));
    const cs = helper.getNode("cs") as unknown as CentralSystemNode;
    await cs.ready;
    const sim: ChargePointSimulator = await startChargePointSimulator({ url: `ws://127.0.0.1:${cs.central!.port}/ocpp`, identity: "CP1", behaviour: { rateUnits: ["A"] } });
    closers.push(() => sim.close());
    await waitFor(() => (cs.directory.snapshot("CP1")?.connectors.length ?? 0) > 0, 3000, "charger ready");
    const out = collect(helper.getNode("out"));
    helper.getNode("cmd").receive({ topic: "limit", chargerId: "CP1", payload: { amps: 10, phases: 3 } });
    const [set] = await out.take(1);
    assert.deepEqual(set.payload as LimitAnswer, { chargerId: "CP1", requested: { amps: 10, phases: 3 }, applied: { amps: 10, paused: false, phases: 3 }, followed: true });
    assert.equal(sim.compositeLimit(0, "A"), 10);
    helper.getNode("cmd").receive({ topic: "limit", chargerId: "CP1", payload: 0 });
    const [pause] = await out.take(1);
    assert.deepEqual((pause.payload as LimitAnswer).applied, { amps: 0, paused: true, phases: 3 });
  });

  for (const ignoresValidTo of [false, true]) {
    it(`OCPP lease: a safe base at stack level 0, the limit leased above it, ${ignoresValidTo ? "and a charger that ignores validTo is called out" : "verified ending in the composite schedule"}`, async () => {
      await helper.load([centralNode, commandNode], flowOf([
        { id: "tab", type: "tab" },
        { id: "cs", type: "ev-ocpp-central-system", name: "home", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0", callTimeout: "2" },
        { id: "cmd", type: "ev-ocpp-command", z: "tab", x: 100, y: 100, server: "cs", chargerId: "CP1", command: "limit", timeout: "2", offline: "fail", queueTtl: "60", wires: [["out"]] },
        { id: "out", type: "helper", z: "tab", x: 300, y: 100 },
      ]));
      const cs = helper.getNode("cs") as unknown as CentralSystemNode;
      await cs.ready;
      const sim = await startChargePointSimulator({ url: `ws://127.0.0.1:${cs.central!.port}/ocpp`, identity: "CP1", behaviour: { rateUnits: ["A"], ignoresValidTo } });
      closers.push(() => sim.close());
      await waitFor(() => (cs.directory.snapshot("CP1")?.connectors.length ?? 0) > 0, 3000, "charger ready");
      const out = collect(helper.getNode("out"));
      helper.getNode("cmd").receive({ topic: "limit", payload: { amps: 12, leaseS: 120, safeA: 6 } });
      const [set] = await out.take(1);
      const answer = set.payload as LimitAnswer;
      assert.equal(answer.applied.amps, 12);
      assert.equal(answer.lease?.base, "installed");
      assert.equal(answer.lease?.verified, !ignoresValidTo);
      if (ignoresValidTo) assert.match(answer.warning ?? "", /may ignore validity/);
      else assert.equal(answer.warning, undefined);
      assert.deepEqual(sim.state.profiles.map((p) => [p.profile.chargingProfileId, p.profile.stackLevel, p.profile.validTo === undefined]).sort(), [[7310, 8, false], [7319, 0, true]]);
    });
  }

  it("OCPP lease on a charger that takes stack level 0 only: no lease (an expired limit would mean none), and the answer says why", async () => {
    await helper.load([centralNode, commandNode], flowOf([
      { id: "tab", type: "tab" },
      { id: "cs", type: "ev-ocpp-central-system", name: "home", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0", callTimeout: "2" },
      { id: "cmd", type: "ev-ocpp-command", z: "tab", x: 100, y: 100, server: "cs", chargerId: "CP1", command: "limit", stackLevelZero: true, timeout: "2", offline: "fail", queueTtl: "60", wires: [["out"]] },
      { id: "out", type: "helper", z: "tab", x: 300, y: 100 },
    ]));
    const cs = helper.getNode("cs") as unknown as CentralSystemNode;
    await cs.ready;
    const sim = await startChargePointSimulator({ url: `ws://127.0.0.1:${cs.central!.port}/ocpp`, identity: "CP1", behaviour: { rateUnits: ["A"] } });
    closers.push(() => sim.close());
    await waitFor(() => (cs.directory.snapshot("CP1")?.connectors.length ?? 0) > 0, 3000, "charger ready");
    const out = collect(helper.getNode("out"));
    helper.getNode("cmd").receive({ topic: "limit", payload: { amps: 12, leaseS: 120, safeA: 6 } });
    const [set] = await out.take(1);
    const answer = set.payload as LimitAnswer;
    assert.match(answer.warning ?? "", /stack level 0 only/);
    assert.deepEqual(sim.state.profiles.map((p) => [p.profile.stackLevel, p.profile.validTo]), [[0, undefined]]);
  });

  it("AMTRON: a current (phases reported as not switchable), a pause, and continuing at a new current", async () => {
    const sim: AmtronSimulator = await startAmtronSimulator({ devKey: "483920", charging: true });
    closers.push(() => sim.close());
    await helper.load(amtronNode, flowOf([
      { id: "tab", type: "tab" },
      { id: "a1", z: "tab", x: 100, y: 100, type: "ev-amtron", host: "127.0.0.1", port: sim.port, interval: 60, charger: "garage", devInfoEvery: 3, timeout: 0.5, wires: [["states"], ["answers"]] },
      { id: "states", z: "tab", x: 300, y: 100, type: "helper" },
      { id: "answers", z: "tab", x: 300, y: 200, type: "helper" },
    ]), { a1: { devKey: "483920" } });
    const answers = collect(helper.getNode("answers"));
    const node = helper.getNode("a1");
    node.receive({ topic: "limit", payload: { amps: 10, phases: 1 } });
    const [set] = await answers.take(1);
    const answer = set.payload as LimitAnswer;
    assert.deepEqual(answer.applied, { amps: 10, paused: false, phases: 3, phasesIgnored: true });
    assert.equal(answer.followed, true);
    node.receive({ topic: "limit", payload: { amps: 0 } });
    const [pause] = await answers.take(1);
    assert.deepEqual((pause.payload as LimitAnswer).applied, { amps: 0, paused: true });
    node.receive({ topic: "limit", payload: { watts: 5520 } });
    const [resume] = await answers.take(1);
    assert.deepEqual((resume.payload as LimitAnswer).applied, { amps: 8, paused: false, phases: 3 });
    assert.equal(sim.state.chargeData.ChgState, "Charging");
  });

  it("Charge Amps: maxCurrent read back from the cloud, 0 switches the connector off", async () => {
    const sim: ChargeAmpsSimulator = await startChargeAmpsSimulator({});
    closers.push(() => sim.close());
    await helper.load([accountNode, chargeAmpsNode], flowOf([
      { id: "tab", type: "tab" },
      { id: "acc", type: "ev-chargeamps-account", baseUrl: sim.url, timeout: 2 },
      { id: "ca", type: "ev-chargeamps", z: "tab", x: 100, y: 100, account: "acc", operation: "status", chargePointId: AURA_ID, connectorId: 1, interval: 30, wires: [["out"], []] },
      { id: "out", type: "helper", z: "tab", x: 300, y: 100 },
      { id: "c1", type: "catch", z: "tab", x: 100, y: 300, wires: [["caught"]] },
      { id: "caught", type: "helper", z: "tab", x: 300, y: 300 },
    ]), { acc: { email: "ada@example.com", password: "pa55word-x", apiKey: "key-1234567" } });
    const out = collect(helper.getNode("out"));
    const caught = collect(helper.getNode("caught"));
    helper.getNode("ca").receive({ topic: "limit", payload: { amps: 10 } });
    const [set] = await out.take(1, 8000);
    assert.deepEqual(set.payload as LimitAnswer, { chargerId: AURA_ID, requested: { amps: 10 }, applied: { amps: 10, paused: false }, followed: true });
    helper.getNode("ca").receive({ topic: "limit", payload: 0 });
    const [off] = await out.take(1, 8000);
    assert.deepEqual((off.payload as LimitAnswer).applied, { amps: 0, paused: true });
    helper.getNode("ca").receive({ topic: "limit", payload: { amps: -3 } });
    const [bad] = await caught.take(1);
    assert.match((bad.error as { message: string }).message, /0 or more/);
  });
});
