/**
 * End to end inside Node-RED: the example flow "Charge from solar and share
 * the fuse" as shipped (addresses moved to free ports, delays shortened)
 * with the house simulator, an OCPP charge point, the Charge Amps cloud and
 * the AMTRON simulators. Asserts the exact OCPP profiles (safe base + leased
 * limit) and that the lease runs out to the safe current once the manager
 * stops.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import helper, { type TestFlowsItem } from "node-red-node-test-helper";
import type { NodeAPI } from "node-red";
import centralNode from "../../nodes/ev-ocpp-central-system";
import commandNode from "../../nodes/ev-ocpp-command";
import amtronNode from "../../nodes/ev-amtron";
import accountNode from "../../nodes/ev-chargeamps-account";
import chargeAmpsNode from "../../nodes/ev-chargeamps";
import siteManagerNode from "../../nodes/ev-site-manager";
import type { CentralSystemNode } from "../../nodes/lib/ocpp/core/node-types";
import { collect, waitFor, type FlowNode } from "../support/node-red";
import { startChargePointSimulator, type ChargePointSimulator } from "../servers/ocpp-charge-point";
import { startAmtronSimulator } from "../servers/amtron-simulator";
import { AURA_ID, startChargeAmpsSimulator } from "../servers/chargeamps-simulator";
import { startHouseSimulator } from "../servers/house-simulator";

helper.init(require.resolve("node-red"));
/* eslint-disable @typescript-eslint/no-require-imports */
const injectNode = require("@node-red/nodes/core/common/20-inject.js") as (RED: NodeAPI) => void;
const functionNode = require("@node-red/nodes/core/function/10-function.js") as (RED: NodeAPI) => void;
const httpRequestNode = require("@node-red/nodes/core/network/21-httprequest.js") as (RED: NodeAPI) => void;
/* eslint-enable @typescript-eslint/no-require-imports */
const NODES = [centralNode, commandNode, amtronNode, accountNode, chargeAmpsNode, siteManagerNode, injectNode, functionNode, httpRequestNode];

const EXAMPLE = path.join(__dirname, "../../flows/Site manager/Charge from solar and share the fuse.json");

describe("site manager example, end to end", () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    await helper.unload();
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  });

  it("drives an OCPP, a Charge Amps and an AMTRON charger from the surplus; the OCPP lease falls back to the safe current when the manager stops", async () => {
    // Noon sun, a quiet house: room for all three cars at their minimum and more.
    const house = await startHouseSimulator({ pvW: () => 14_000, houseA: () => [1, 1, 1] });
    const chargeAmps = await startChargeAmpsSimulator({});
    const amtron = await startAmtronSimulator({ devKey: "1234", charging: true });
    closers.push(() => house.close(), () => chargeAmps.close(), () => amtron.close());

    const shipped = JSON.parse(readFileSync(EXAMPLE, "utf8")) as FlowNode[];
    assert.equal(shipped[0].type, "comment", "the example starts with a Comment node");
    const nodes: FlowNode[] = [{ id: "tab", type: "tab", label: "example" }];
    for (const n of shipped) {
      if (n.type === "comment") continue;
      const node: FlowNode = JSON.parse(JSON.stringify(n).replaceAll("http://127.0.0.1:18084", house.url)) as FlowNode;
      if (node.type === "debug") Object.assign(node, { type: "helper" });
      if (node.type === "inject" && node.repeat) node.repeat = "0.5";
      if (node.type === "ev-ocpp-central-system") Object.assign(node, { port: "0", host: "127.0.0.1", pingInterval: "0" });
      if (node.type === "ev-chargeamps-account") node.baseUrl = chargeAmps.url;
      if (node.type === "ev-amtron") node.port = amtron.port;
      // Test time: no start delay, quick commands, a 3 s lease refreshed every second.
      if (node.type === "ev-site-manager") Object.assign(node, { enableDelayS: 0, commandIntervalS: 0.5, refreshS: 1, leaseS: 3 });
      if (node.x !== undefined || (node.type !== "ev-ocpp-central-system" && node.type !== "ev-chargeamps-account")) node.z = "tab";
      nodes.push(node);
    }
    helper.settings({ userDir: mkdtempSync(path.join(os.tmpdir(), "evkit-site-")), evAmtronMinPollInterval: 0.1 } as never);
    await helper.load(NODES, nodes as unknown as TestFlowsItem[], {
      ca0c0000000000a2: { email: "demo@example.com", password: "demo-password", apiKey: "demo-api-key" },
      "5e00000000000013": { devKey: "1234" },
    });
    const cs = helper.getNode("cs00000000000001") as unknown as CentralSystemNode;
    await cs.ready;
    const cp: ChargePointSimulator = await startChargePointSimulator({ url: `ws://127.0.0.1:${cs.central!.port}/ocpp`, identity: "garage" });
    closers.push(() => cp.close());
    const failures = collect(helper.getNode("5e00000000000041"));
    const summary = collect(helper.getNode("5e00000000000020"));

    // All three cars charge, each through its own brand's node.
    await waitFor(() => [...house.model.cars.values()].every((car) => car.limitA >= 6), 15_000, "every car given a limit");
    await waitFor(() => cp.state.profiles.length === 2, 10_000, "base and leased OCPP profiles");
    const aura = chargeAmps.state.chargePoints.find((c) => c.id === AURA_ID)!.connectors[0];
    await waitFor(() => aura.mode === "On" && (aura.maxCurrent ?? 0) >= 6, 10_000, "Charge Amps connector on");
    await waitFor(() => amtron.state.chargeData.RemoteCurr === house.model.cars.get("carport")!.limitA, 10_000, "AMTRON current");
    assert.equal(failures.pending.length, 0, `no failures: ${JSON.stringify(failures.pending.map((m) => m.error))}`);

    // The exact OCPP profiles: the safe base at stack level 0, the leased limit above it (ramped up from 6 A).
    const garage = house.model.cars.get("garage")!;
    await waitFor(() => garage.limitA > 6 && cp.compositeLimit(0, "A") === garage.limitA, 10_000, "garage ramped up");
    const profiles = cp.state.profiles.map((p) => p.profile).sort((a, b) => a.stackLevel - b.stackLevel);
    const base = profiles[0];
    const leased = profiles[1];
    assert.deepEqual(
      { ...base, chargingSchedule: { ...base.chargingSchedule, startSchedule: "-" } },
      {
        chargingProfileId: 7319,
        stackLevel: 0,
        chargingProfilePurpose: "ChargePointMaxProfile",
        chargingProfileKind: "Absolute",
        chargingSchedule: { chargingRateUnit: "A", chargingSchedulePeriod: [{ startPeriod: 0, limit: 6 }], startSchedule: "-" },
      },
    );
    const leasedA = leased.chargingSchedule.chargingSchedulePeriod[0].limit;
    assert.deepEqual(
      { ...leased, validTo: "-", chargingSchedule: { ...leased.chargingSchedule, startSchedule: "-" } },
      {
        chargingProfileId: 7310,
        stackLevel: 8,
        chargingProfilePurpose: "ChargePointMaxProfile",
        chargingProfileKind: "Absolute",
        validTo: "-",
        chargingSchedule: { chargingRateUnit: "A", chargingSchedulePeriod: [{ startPeriod: 0, limit: leasedA, numberPhases: 3 }], startSchedule: "-", duration: 63 },
      },
    );
    const leftS = (Date.parse(leased.validTo!) - Date.now()) / 1000;
    assert.ok(leftS > 0 && leftS <= 3, `lease ends within 3 s, ${leftS} s left`);
    assert.ok(leasedA > 6, `garage leased ${leasedA} A from the surplus`);

    // The site summary counts the cars.
    await waitFor(() => summary.pending.some((m) => Object.values((m.payload as { chargers: Record<string, { state: string }> }).chargers).filter((c) => c.state === "charging").length === 3), 10_000, "3 cars charging");

    // The plan button works whenever it is pressed: 5 kWh by one hour from now, on the manager's (real) clock.
    const pressedAt = Date.now();
    helper.getNode("5e00000000000007").receive({});
    await waitFor(() => summary.pending.some((m) => (m.payload as { chargers: Record<string, { plan?: unknown }> }).chargers.garage.plan !== undefined), 5000, "the garage's plan in the summary");
    const plan = (summary.pending.filter((m) => (m.payload as { chargers: Record<string, { plan?: unknown }> }).chargers.garage.plan).at(-1)!.payload as { chargers: Record<string, { plan: { by: string; remainingKWh?: number; text: string } }> }).chargers.garage.plan;
    const byS = (Date.parse(plan.by) - pressedAt) / 1000;
    assert.ok(byS > 3590 && byS <= 3605, `plan by one hour after the press, ${byS} s`);
    assert.ok(plan.remainingKWh !== undefined && plan.remainingKWh > 4.9 && plan.remainingKWh <= 5, `5 kWh to go: ${JSON.stringify(plan)}`);
    assert.equal(failures.pending.length, 0, `no failures: ${JSON.stringify(failures.pending.map((m) => m.error))}`);

    // The manager keeps the lease alive while it runs ...
    await new Promise((resolve) => setTimeout(resolve, 3500));
    // Whatever limit the surplus now gives, the leased profile has been renewed: its validTo moved past the first lease's.
    const renewed = cp.state.profiles.map((p) => p.profile).find((p) => p.stackLevel === 8);
    assert.ok(renewed?.validTo, "the leased profile is still installed");
    assert.ok(Date.parse(renewed.validTo) > Date.parse(leased.validTo!), `the lease was refreshed (validTo ${renewed.validTo}, first ${leased.validTo})`);
    assert.ok(Date.parse(renewed.validTo) > Date.now(), "the refreshed lease is still in force after the first lease would have ended");
    // ... and when it stops, the charger falls back to the safe current by itself.
    await helper.unload();
    const stoppedAt = Date.now();
    await waitFor(() => cp.compositeLimit(0, "A") === 6, 5000, "the lease ran out: back at the 6 A base");
    assert.ok(Date.now() - stoppedAt <= 3500, "within one lease of the manager stopping");
  });
});
