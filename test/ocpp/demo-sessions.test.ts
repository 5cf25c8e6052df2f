/**
 * The session cycle `npm start`'s simulated wallbox runs, against a strict
 * OCPP 1.6 server (ocpp-rpc validates every frame against the official schemas).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { RPCServer } from "ocpp-rpc";
import { startChargePointSimulator, type ChargePointSimulator } from "../servers/ocpp-charge-point";
import { runDemoSessions, type DemoSessions } from "../servers/ocpp-demo-sessions";

interface Call {
  action: string;
  params: Record<string, unknown>;
}

describe("demo sessions of the simulated charge point", () => {
  const calls: Call[] = [];
  let server: RPCServer;
  let cp: ChargePointSimulator;
  let demo: DemoSessions;
  let nextTransaction = 1;

  before(async () => {
    server = new RPCServer({ protocols: ["ocpp1.6"], strictMode: true, pingIntervalMs: 0 } as ConstructorParameters<typeof RPCServer>[0]);
    server.on("client", (raw: unknown) => {
      const client = raw as { handle(handler: (call: { method?: string; params?: unknown }) => unknown): void };
      client.handle(({ method, params }) => {
        calls.push({ action: method as string, params: params as Record<string, unknown> });
        switch (method) {
          case "BootNotification":
            return { status: "Accepted", currentTime: new Date().toISOString(), interval: 300 };
          case "Authorize":
            return { idTagInfo: { status: (params as { idTag: string }).idTag === "STOLEN" ? "Blocked" : "Accepted" } };
          case "StartTransaction":
            return { transactionId: nextTransaction++, idTagInfo: { status: "Accepted" } };
          case "StopTransaction":
            return {};
          default:
            return {};
        }
      });
    });
    const http = await server.listen(0, "127.0.0.1");
    const address = http.address();
    const port = typeof address === "object" && address ? address.port : 0;
    cp = await startChargePointSimulator({ url: `ws://127.0.0.1:${port}/ocpp`, identity: "garage" });
    demo = runDemoSessions(cp, { idTags: ["04A2B3C4", "GUEST01", "STOLEN"], faultEvery: 2, samplesPerSession: 6, timeScale: 0.002 });
    const deadline = Date.now() + 20_000;
    while (demo.sessions < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await demo.stop();
  });
  after(async () => {
    await demo?.stop();
    await cp?.close();
    await server?.close({ force: true });
  });

  const of = (action: string) => calls.filter((c) => c.action === action).map((c) => c.params);

  it("plugs in, shows a card, charges with meter values and stops, over and over", () => {
    const statuses = of("StatusNotification").map((p) => p.status);
    for (const s of ["Preparing", "Charging", "Finishing", "Available"]) assert.ok(statuses.includes(s), `no ${s} in ${statuses.join(", ")}`);
    assert.ok(of("StartTransaction").length >= 2, "at least two sessions");
    assert.deepEqual(
      of("Authorize").slice(0, 3).map((p) => p.idTag),
      ["04A2B3C4", "GUEST01", "STOLEN"],
      "cards are shown in turn",
    );
    const meters = of("MeterValues").filter((p) => p.transactionId !== undefined);
    assert.ok(meters.length >= 6, `${meters.length} MeterValues in sessions`);
    const sampled = (p: Record<string, unknown>, measurand: string) =>
      Number((p.meterValue as Array<{ sampledValue: Array<{ measurand: string; value: string }> }>)[0].sampledValue.find((v) => v.measurand === measurand)?.value);
    const energy = meters.map((p) => sampled(p, "Energy.Active.Import.Register"));
    assert.deepEqual([...energy].sort((a, b) => a - b), energy, "the energy register only grows");
    assert.ok(meters.every((p) => sampled(p, "Power.Active.Import") > 0));
  });

  it("continues the energy register from one session to the next", () => {
    const starts = of("StartTransaction").map((p) => p.meterStart as number);
    const stops = of("StopTransaction").map((p) => p.meterStop as number);
    assert.ok(stops[0] > starts[0], "the first session used energy");
    assert.equal(starts[1], stops[0]);
  });

  it("sometimes ends in a fault, then is available again", () => {
    const statuses = of("StatusNotification");
    const fault = statuses.findIndex((p) => p.status === "Faulted");
    assert.ok(fault >= 0, "a fault");
    assert.equal(statuses[fault].errorCode, "GroundFailure");
    assert.equal(statuses[fault + 1]?.status, "Available");
    assert.ok(of("StopTransaction").some((p) => p.reason === "Other"));
  });

  it("leaves a refused card without a session", () => {
    const refused = calls.findIndex((c) => c.action === "Authorize" && c.params.idTag === "STOLEN");
    assert.ok(refused >= 0);
    const next = calls.slice(refused + 1).find((c) => c.action === "StartTransaction" || (c.action === "StatusNotification" && c.params.status === "Available"));
    assert.equal(next?.action, "StatusNotification", "no StartTransaction after a refused card");
  });
});
