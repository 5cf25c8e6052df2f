/**
 * The same commands against @voltbras/ts-ocpp, a 1.6J charge point that
 * shares no code with ocpp-rpc (it validates what it receives with its own
 * schemas), so a bug shared by our simulator and our server library cannot hide.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ChargePoint } from "@voltbras/ts-ocpp";
import { startTestCentral, type TestCentral } from "../servers/ocpp-test-central";
import { buildCommand, sendCall } from "../../nodes/lib/ocpp/v16/commands";
import { applyLimit } from "../../nodes/lib/ocpp/v16/smart-charging";
import { LocalListSync } from "../../nodes/lib/ocpp/v16/local-list";

type Req = { action: string; ocppVersion: string } & Record<string, unknown>;

describe("commands against @voltbras/ts-ocpp", () => {
  let central: TestCentral | undefined;
  let point: ChargePoint | undefined;
  afterEach(async () => {
    point?.close();
    await central?.close();
    central = point = undefined;
  });

  it("start, limit (W-only) and local list sync work with an independent 1.6J stack", async () => {
    central = await startTestCentral();
    const received: Req[] = [];
    let installed: { limit: number; unit: string } | undefined;
    let listVersion = 0;
    const handler = (req: Req): Record<string, unknown> => {
      received.push(req);
      const reply = (body: Record<string, unknown>) => ({ action: req.action, ocppVersion: req.ocppVersion, ...body });
      switch (req.action) {
        case "RemoteStartTransaction":
          return reply({ status: "Accepted" });
        case "GetConfiguration":
          return reply({ configurationKey: [{ key: "ChargingScheduleAllowedChargingRateUnit", readonly: true, value: "Power" }, { key: "ChargeProfileMaxStackLevel", readonly: true, value: "2" }], unknownKey: ["ChargePointMaxProfileMaxStackLevel"] });
        case "SetChargingProfile": {
          const profile = req.csChargingProfiles as { chargingSchedule: { chargingRateUnit: string; chargingSchedulePeriod: Array<{ limit: number }> } };
          installed = { limit: profile.chargingSchedule.chargingSchedulePeriod[0].limit, unit: profile.chargingSchedule.chargingRateUnit };
          return reply({ status: "Accepted" });
        }
        case "GetCompositeSchedule":
          return reply({ status: "Accepted", connectorId: req.connectorId, chargingSchedule: { chargingRateUnit: installed?.unit ?? "W", chargingSchedulePeriod: installed ? [{ startPeriod: 0, limit: installed.limit }] : [] } });
        case "GetLocalListVersion":
          return reply({ listVersion });
        case "SendLocalList":
          listVersion = req.listVersion as number;
          return reply({ status: "Accepted" });
        default:
          throw new Error(`unexpected ${req.action}`);
      }
    };
    point = new ChargePoint("TS1", handler as never, central.url);
    await point.connect();
    const link = await central.waitForCharger("TS1");

    assert.deepEqual(await sendCall(link, buildCommand("start", { connector: 1, idTag: "ABC" }, { chargerId: "TS1" })), { status: "Accepted" });

    const limit = await applyLimit(link, { amps: 10, phases: 3 }, { directory: central.directory });
    assert.deepEqual(limit.sent, { limit: 6900, unit: "W", numberPhases: 3 });
    assert.deepEqual(limit.applied, { limit: 6900, unit: "W", amps: 10, watts: 6900 });
    assert.equal(limit.stackLevel, 2);

    central.idTags.set([{ idTag: "ABC", status: "Accepted", expiryDate: "2027-01-01T00:00:00.000Z" }]);
    const sync = await new LocalListSync(central.idTags).sync(link);
    assert.equal(sync.updateType, "Full");
    assert.equal(listVersion, 1);

    const send = received.find((r) => r.action === "SetChargingProfile")!;
    assert.equal(send.connectorId, 0);
    assert.equal((send.csChargingProfiles as { chargingProfilePurpose: string }).chargingProfilePurpose, "ChargePointMaxProfile");
    assert.deepEqual(
      received.map((r) => r.action),
      ["RemoteStartTransaction", "GetConfiguration", "SetChargingProfile", "GetCompositeSchedule", "GetLocalListVersion", "SendLocalList"],
    );
  });
});
