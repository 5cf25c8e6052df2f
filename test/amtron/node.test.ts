import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import helper, { type TestFlowsItem } from "node-red-node-test-helper";
import type { NodeMessage } from "node-red";
import amtronNode from "../../nodes/ev-amtron";
import { editorFlow, type FlowNode } from "../support/node-red";
import { startAmtronSimulator, type AmtronSimulator } from "../servers/amtron-simulator";
import type { AmtronChargerState } from "../../nodes/lib/amtron";

helper.init(require.resolve("node-red"));

const KEY = "483920";

interface Spied {
  status: { args: Array<[{ fill?: string; text?: string }]>; lastCall: { args: [{ fill?: string; text?: string }] } };
  error: { args: unknown[][] };
  warn: { args: unknown[][] };
  log: { args: unknown[][] };
  receive(msg: Record<string, unknown>): void;
}

type Msg = NodeMessage & { charger?: string; payload: unknown };

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function flow(port: number, extra: Record<string, unknown> = {}): TestFlowsItem[] {
  const items: FlowNode[] = [
    { id: "tab", type: "tab" },
    { id: "a1", z: "tab", type: "ev-amtron", name: "", host: "127.0.0.1", port, interval: 0.2, charger: "garage", devInfoEvery: 3, timeout: 0.5, wires: [["states"], ["answers"]], ...extra },
    { id: "states", z: "tab", type: "helper" },
    { id: "answers", z: "tab", type: "helper" },
  ];
  return editorFlow(items) as TestFlowsItem[];
}

describe("ev-amtron node", () => {
  let sim: AmtronSimulator;
  let states: Msg[];
  let answers: Msg[];

  beforeEach(async () => {
    sim = await startAmtronSimulator({ devKey: KEY, charging: true });
    states = [];
    answers = [];
    helper.settings({ evAmtronMinPollInterval: 0.1 } as Parameters<typeof helper.settings>[0]);
  });
  afterEach(async () => {
    await helper.unload();
    await sim.close();
  });

  async function load(extra: Record<string, unknown> = {}, devKey = KEY): Promise<Spied> {
    await helper.load(amtronNode, flow(sim.port, extra), { a1: { devKey } });
    const sink = (id: string, into: Msg[]): void => {
      (helper.getNode(id) as unknown as { on(event: "input", fn: (msg: Msg) => void): void }).on("input", (msg) => into.push(msg));
    };
    sink("states", states);
    sink("answers", answers);
    return helper.getNode("a1") as unknown as Spied;
  }

  const errors = (n: Spied): string[] => n.error.args.map((a) => String(a[0]));

  it("polls DevInfo then ChargeData and emits the ChargerState with status", async () => {
    const n = await load();
    const first = await waitFor("a state", () => states[0]);
    const state = first.payload as AmtronChargerState;
    assert.equal(first.topic, "garage");
    assert.equal(first.charger, "garage");
    assert.deepEqual(
      { op: state.operationState, power: state.powerW, limit: state.maxCurrentA, pilot: state.controlPilot, hint: state.controlPilotHint, mode: state.devMode, tariff: state.tariff, id: state.chargerId },
      { op: "charging", power: 11040, limit: 16, pilot: "C2", hint: "charging", mode: "Time", tariff: "T1", id: "garage" },
    );
    assert.equal((state.raw as Record<string, unknown>).TMaxCurrT1, 16);
    assert.deepEqual(sim.state.requests.slice(0, 2).map((r) => r.resource), ["DevInfo", "ChargeData"]);
    await waitFor("status", () => n.status.args.some(([s]) => s.text === "charging · 11.0 kW" && s.fill === "green"));
    // DevInfo again every 3rd poll, ChargeData every poll, never two at once.
    await waitFor("4 polls", () => states.length >= 4);
    const resources = sim.state.requests.slice(0, 8).map((r) => r.resource);
    assert.deepEqual(resources.slice(0, 5), ["DevInfo", "ChargeData", "ChargeData", "ChargeData", "DevInfo"]);
    assert.equal(sim.state.maxInFlight, 1);
    assert.equal(errors(n).length, 0);
  });

  it("sets the current by input: switches mode, confirms, and emits the new state", async () => {
    const n = await load({ interval: 60 });
    await waitFor("first state", () => states[0]);
    n.receive({ topic: "current", payload: 10, _msgid: "m1" });
    const answer = await waitFor("answer", () => answers[0]);
    assert.deepEqual(answer.payload, { action: "current", requested: 10, applied: 10, modeSwitched: true, clamped: false });
    assert.equal(answer.topic, "current");
    assert.equal(answer._msgid, "m1");
    const after = states.at(-1)!.payload as AmtronChargerState;
    assert.deepEqual([after.maxCurrentA, after.remoteCurrentA, after.powerW, after.devMode], [10, 10, 6900, "Remote"]);
    const posts = sim.state.requests.filter((r) => r.method === "POST");
    assert.deepEqual(posts.map((r) => r.resource), ["DevInfo", "ChargeData"]);
    assert.equal((posts[1].body as { Permanent: boolean }).Permanent, false);
    assert.equal(errors(n).length, 0);
  });

  it("refuses less than 6 A on a three-phase unit and sends nothing", async () => {
    const n = await load({ interval: 60 });
    await waitFor("first state", () => states[0]);
    n.receive({ topic: "current", payload: 4 });
    await waitFor("error", () => n.error.args.length > 0);
    assert.match(errors(n)[0], /This wallbox runs on 3 phases and cannot charge below 6 A \(asked for 4 A\)/);
    assert.equal(sim.state.requests.filter((r) => r.method === "POST").length, 0);
    assert.equal(answers.length, 0);
    assert.equal(n.status.lastCall.args[0].text, "current not applied");
    // With clamp it is raised to the minimum instead.
    n.receive({ topic: "current", payload: { amps: 4, clamp: true } });
    const answer = await waitFor("answer", () => answers[0]);
    assert.deepEqual(answer.payload, { action: "current", requested: 4, applied: 6, modeSwitched: true, clamped: true });
  });

  it("pauses, continues, terminates, starts, sets demand and mode, and answers devinfo", async () => {
    const n = await load({ interval: 60 });
    await waitFor("first state", () => states[0]);
    const steps: Array<[string, unknown, unknown, string]> = [
      ["pause", undefined, "Paused", "suspended"],
      ["continue", undefined, "Charging", "charging"],
      ["terminate", undefined, "Terminated", "connected"],
      ["start", undefined, "Charging", "charging"],
      ["demand", { energyWh: 15000, minutes: 480 }, { energyWh: 15000, minutes: 480 }, "charging"],
      ["mode", "HomeManager", "HomeManager", "charging"],
    ];
    for (const [topic, payload, applied, op] of steps) {
      const before = answers.length;
      n.receive({ topic, payload });
      const answer = await waitFor(topic, () => answers[before]);
      assert.deepEqual((answer.payload as { applied: unknown }).applied, applied, topic);
      assert.equal((states.at(-1)!.payload as AmtronChargerState).operationState, op, topic);
    }
    assert.equal(sim.state.devInfo.DevMode, "HomeManager");
    assert.equal(sim.state.chargeData.NrgDemand, 15000);
    n.receive({ topic: "devinfo" });
    const info = await waitFor("devinfo", () => answers.find((m) => m.topic === "devinfo"));
    assert.equal((info.payload as { Sn: number }).Sn, 420101388);
    assert.equal(info.charger, "garage");
    n.receive({ topic: "fly" });
    await waitFor("error", () => n.error.args.length > 0);
    assert.match(errors(n)[0], /Unknown msg.topic "fly"\. Use one of: poll, devinfo, current/);
  });

  it("reports a pause the wallbox ignores (no car) as not applied", async () => {
    sim.unplug();
    const n = await load({ interval: 60 });
    await waitFor("first state", () => states[0]);
    assert.equal((states[0].payload as AmtronChargerState).controlPilotHint, "no_vehicle");
    n.receive({ topic: "pause" });
    await waitFor("error", () => n.error.args.length > 0, 6000);
    assert.equal(errors(n)[0], "Error: The wallbox did not pause: it still reports Idle. Is a car plugged in?");
  });

  it("wrong DevKey: clear error and status, no key anywhere, and polling recovers by itself", async () => {
    const n = await load({}, "111999");
    await waitFor("error", () => n.error.args.length > 0);
    assert.match(errors(n)[0], /^The wallbox refused the DevKey \(HTTP 403\) when we tried to read DevInfo\. Check the DevKey: it is the APP-Pin \(PIN1\)/);
    assert.match(errors(n)[0], /\(attempt 1; trying again in \d+ s\)$/);
    await waitFor("status", () => n.status.args.some(([s]) => s.text === "DevKey refused" && s.fill === "red"));
    assert.equal(states.length, 0);
    // The same failure is not repeated in the log on every poll.
    await waitFor("more attempts", () => sim.state.requests.length >= 3);
    assert.equal(n.error.args.length, 1);
    const everything = JSON.stringify([n.error.args, n.status.args, n.warn.args, n.log.args]);
    assert.doesNotMatch(everything, /111999/);
    // The owner fixes the key on the wallbox side (here: the simulator accepts it now).
    sim.state.devKey = "111999";
    await waitFor("recovered", () => states[0], 8000);
    assert.equal(n.status.lastCall.args[0].fill, "green");
  });

  it("offline, timeout and malformed answers: errors, status, and recovery", async () => {
    const n = await load();
    await waitFor("first state", () => states[0]);
    await sim.goOffline();
    await waitFor("offline status", () => n.status.args.some(([s]) => s.text === "wallbox offline"));
    assert.ok(errors(n).some((e) => e.startsWith(`Cannot reach the wallbox at http://127.0.0.1:${sim.port}/MHCP/1.0: connection refused`)));
    await sim.goOnline();
    const count = states.length;
    await waitFor("back online", () => states.length > count, 8000);

    sim.state.faults.delayMs = 800;
    await waitFor("timeout status", () => n.status.args.some(([s]) => s.text === "no answer (timeout)"), 8000);
    assert.ok(errors(n).some((e) => /did not answer within 0\.5 s/.test(e)));
    sim.state.faults.delayMs = 0;

    sim.state.faults.malformed = "types";
    await waitFor("malformed status", () => n.status.args.some(([s]) => s.text === "unexpected answer"), 8000);
    assert.ok(errors(n).some((e) => /unexpected ActPwr: expected a number, got "lots"/.test(e)));
    sim.state.faults.malformed = false;
    const count2 = states.length;
    await waitFor("recovered", () => states.length > count2, 8000);
  });

  it("a power the wallbox sends as null is absent and the status says unknown, not 0.0 kW", async () => {
    sim.state.faults.nulls = ["ActPwr", "ChgNrg"];
    const n = await load();
    const first = await waitFor("a state", () => states[0]);
    const state = first.payload as AmtronChargerState;
    assert.ok(!("powerW" in state) && !("sessionEnergyWh" in state) && !("totalEnergyWh" in state), JSON.stringify(state));
    await waitFor("status", () => n.status.args.some(([s]) => s.text === "charging · power unknown"));
    assert.ok(!n.status.args.some(([s]) => /0\.0 kW/.test(s.text ?? "")));
  });

  it("an answer far larger than a wallbox sends (2 MB) is cut off at 1 MB with a clear error", async () => {
    const n = await load();
    await waitFor("first state", () => states[0]);
    sim.state.faults.malformed = "huge";
    await waitFor("too large status", () => n.status.args.some(([s]) => s.text === "answer too large"), 8000);
    assert.ok(errors(n).some((e) => /^The wallbox sent an answer of more than 1 MB; stopped reading it \(GET ChargeData\)/.test(e)), errors(n).join("\n"));
  });

  it("warns once about a charging state it does not know and reports it as unknown", async () => {
    sim.state.chargeData.ChgState = "Preheating";
    // The simulator derives the pilot from the state; a state it does not know counts as a car present.
    const n = await load();
    await waitFor("two states", () => states.length >= 2);
    const state = states[0].payload as AmtronChargerState;
    assert.deepEqual([state.operationState, state.chargeState], ["unknown", "Preheating"]);
    const warnings = n.warn.args.map((a) => String(a[0])).filter((w) => w.includes("Preheating"));
    assert.deepEqual(warnings, ['The wallbox reports the charging state "Preheating", which this node does not know yet; operationState is "unknown" (the raw value is in chargeState)']);
  });

  it("shows a wallbox fault (DevInfo Err) as operationState fault with a yellow status", async () => {
    const n = await load({ devInfoEvery: 1 });
    await waitFor("first state", () => states[0]);
    sim.state.devInfo.Err = 7;
    const faulted = await waitFor("fault", () => states.find((m) => (m.payload as AmtronChargerState).operationState === "fault"));
    assert.equal((faulted.payload as AmtronChargerState).errorCode, 7);
    await waitFor("status", () => n.status.args.some(([s]) => s.fill === "yellow" && s.text === "fault 7 · 11.0 kW"));
    sim.state.devInfo.Err = 0;
    await waitFor("cleared", () => (states.at(-1)!.payload as AmtronChargerState).operationState === "charging");
  });

  it("keeps the poll interval at 5 s or more unless settings allow less", async () => {
    helper.settings({});
    const n = await load({ interval: 1 });
    await waitFor("first state", () => states[0]);
    assert.deepEqual(n.warn.args.map((a) => String(a[0])), ["Poll interval 1 s is below the 5 s the wallbox tolerates; using 5 s"]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(sim.state.requests.filter((r) => r.resource === "ChargeData").length, 1);
  });

  it("a devinfo request that fails says why and sets the status", async () => {
    const n = await load({ interval: 60 });
    await waitFor("first state", () => states[0]);
    sim.state.faults.status = 500;
    n.receive({ topic: "devinfo" });
    await waitFor("error", () => n.error.args.length > 0);
    assert.match(errors(n)[0], /^Error: The wallbox had a server error \(HTTP 500\)/);
    assert.equal(n.status.lastCall.args[0].text, "error HTTP 500");
  });

  it("missing DevKey: says so and never polls", async () => {
    const n = await load({}, "");
    assert.deepEqual(n.status.lastCall.args[0], { fill: "red", shape: "dot", text: "no DevKey" });
    assert.match(errors(n)[0], /No DevKey set/);
    n.receive({ topic: "poll" });
    await waitFor("input error", () => n.error.args.length > 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(sim.state.requests.length, 0);
  });

  it("after a redeploy the old instance stops polling and sends nothing", async () => {
    await load();
    await waitFor("two states", () => states.length >= 2);
    await helper.setFlows([{ id: "tab", type: "tab" }] as never, "full");
    const requests = sim.state.requests.length;
    const sent = states.length;
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(sim.state.requests.length, requests);
    assert.equal(states.length, sent);
  });

  it("stops a slow poll in flight on close, well inside the close timeout", async () => {
    await load({ timeout: 30 });
    sim.state.faults.delayMs = 20_000;
    await waitFor("request in flight", () => sim.state.requests.length >= 1);
    const started = Date.now();
    await helper.unload();
    assert.ok(Date.now() - started < 2000, `close took ${Date.now() - started} ms`);
  });
});
