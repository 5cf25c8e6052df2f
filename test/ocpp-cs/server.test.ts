/**
 * The plain central system over real websockets, driven by ocpp-rpc's
 * RPCClient and by @voltbras/ts-ocpp (an independent 1.6J stack), so a bug
 * shared by our server and its own library's client cannot hide.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import WebSocket from "ws";
import { createRPCError } from "ocpp-rpc";
import { ChargePoint } from "@voltbras/ts-ocpp";
import { startCentral, type Running } from "./support/central";
import { boot, closed, connect, refusal, waitUntil, type Client } from "./support/clients";

const running: Running[] = [];
const clients: Client[] = [];
async function start(...args: Parameters<typeof startCentral>): Promise<Running> {
  const r = await startCentral(...args);
  running.push(r);
  return r;
}
async function cp(r: Running, identity: string, opts?: Parameters<typeof connect>[2]): Promise<Client> {
  const c = await connect(r.url, identity, opts);
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close({ force: true }).catch(() => undefined)));
  await Promise.all(running.splice(0).map((r) => r.close()));
});

const meter = (ts: string, wh: number, w: number) => ({
  timestamp: ts,
  sampledValue: [
    { value: String(wh / 1000), measurand: "Energy.Active.Import.Register", unit: "kWh", context: "Sample.Periodic" },
    { value: String(w), measurand: "Power.Active.Import", unit: "W" },
    { value: "16.1", measurand: "Current.Import", unit: "A", phase: "L1" },
    { value: "231", measurand: "Voltage", unit: "V", phase: "L1-N" },
  ],
});

describe("OCPP central system (plain server)", () => {
  it("runs a full charging session with ocpp-rpc's client and answers with defaults", async () => {
    const r = await start();
    const c = await cp(r, "CP1");
    const bootConf = (await c.call("BootNotification", boot)) as { status: string; interval: number; currentTime: string };
    assert.equal(bootConf.status, "Accepted");
    assert.equal(bootConf.interval, 300);
    assert.ok(Math.abs(Date.parse(bootConf.currentTime) - Date.now()) < 5000);
    assert.ok((await c.call("Heartbeat", {}) as { currentTime: string }).currentTime);
    assert.deepEqual(await c.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Preparing", timestamp: "2026-11-21T10:00:00Z" }), {});
    assert.deepEqual(await c.call("Authorize", { idTag: "OK" }), { idTagInfo: { status: "Accepted" } });
    assert.deepEqual(await c.call("Authorize", { idTag: "BAD" }), { idTagInfo: { status: "Blocked" } });
    const tx = (await c.call("StartTransaction", { connectorId: 1, idTag: "OK", meterStart: 1_000_000, timestamp: "2026-11-21T10:00:05Z" })) as {
      transactionId: number;
      idTagInfo: { status: string };
    };
    assert.equal(tx.idTagInfo.status, "Accepted");
    assert.ok(Number.isInteger(tx.transactionId) && tx.transactionId > 0);
    await c.call("MeterValues", { connectorId: 1, transactionId: tx.transactionId, meterValue: [meter("2026-11-21T10:10:00Z", 1_002_500, 11000)] });
    const snap = r.central.directory.snapshot("CP1")!;
    assert.equal(snap.connected, true);
    assert.deepEqual(snap.boot, { vendor: "Evkit", model: "Sim-1", serialNumber: "SN-1", firmwareVersion: "1.0" });
    const conn = snap.connectors.find((x) => x.connectorId === 1)!;
    assert.equal(conn.transactionId, tx.transactionId);
    assert.equal(conn.energyWh, 1_002_500);
    assert.equal(conn.powerW, 11000);
    assert.deepEqual(conn.currentA, { l1: 16.1 });
    assert.deepEqual(conn.voltageV, { l1: 231 });
    assert.deepEqual(await c.call("StopTransaction", { transactionId: tx.transactionId, idTag: "OK", meterStop: 1_007_250, timestamp: "2026-11-21T10:30:00Z", reason: "EVDisconnected" }), {
      idTagInfo: { status: "Accepted" },
    });
    assert.equal(r.central.directory.snapshot("CP1")!.connectors[0].transactionId, undefined);

    assert.deepEqual(r.kinds("CP1"), ["connected", "boot", "status", "authorize", "authorize", "authorize", "session.started", "meter", "session.updated", "session.ended"]);
    const ended = r.events.find((e) => e.kind === "session.ended") as { energyWh: number; reason: string; meterStartWh: number; meterStopWh: number };
    assert.equal(ended.energyWh, 7250);
    assert.equal(ended.reason, "EVDisconnected");
    assert.equal(ended.meterStartWh, 1_000_000);
    assert.equal(ended.meterStopWh, 1_007_250);
    const m = r.events.find((e) => e.kind === "meter") as { samples: Array<{ measurand: string; unit: string; value: number }> };
    assert.deepEqual(m.samples.map((s) => [s.measurand, s.unit, s.value]), [
      ["Energy.Active.Import.Register", "Wh", 1_002_500],
      ["Power.Active.Import", "W", 11000],
      ["Current.Import", "A", 16.1],
      ["Voltage", "V", 231],
    ]);

    const done = once(c, "close");
    await c.close();
    await done;
    await waitUntil(() => r.kinds("CP1").includes("disconnected"), 2000, "disconnected event");
    assert.equal(r.central.directory.snapshot("CP1")!.connected, false);
  });

  it("works with @voltbras/ts-ocpp, a client that shares no code with ocpp-rpc", async () => {
    const r = await start();
    const point = new ChargePoint("TS1", () => {
      throw new Error("no calls expected");
    }, r.url);
    await point.connect();
    try {
      const bootConf = (await point.sendRequest({ action: "BootNotification", ocppVersion: "v1.6-json", payload: boot })).unsafeCoerce();
      assert.equal(bootConf.status, "Accepted");
      assert.equal((bootConf as { interval?: number }).interval, 300);
      const tx = (
        await point.sendRequest({ action: "StartTransaction", ocppVersion: "v1.6-json", payload: { connectorId: 2, idTag: "OK", meterStart: 500, timestamp: "2026-11-21T11:00:00Z" } })
      ).unsafeCoerce();
      assert.equal(tx.idTagInfo.status, "Accepted");
      const stop = (
        await point.sendRequest({ action: "StopTransaction", ocppVersion: "v1.6-json", payload: { transactionId: tx.transactionId, meterStop: 2500, timestamp: "2026-11-21T11:30:00Z" } })
      ).unsafeCoerce();
      assert.deepEqual(stop, {});
      const ended = r.events.find((e) => e.kind === "session.ended") as { energyWh: number; reason: string; transactionId: number };
      assert.equal(ended.energyWh, 2000);
      assert.equal(ended.reason, "Local");
      assert.equal(ended.transactionId, tx.transactionId);
      assert.equal(r.central.directory.snapshot("TS1")!.protocol, "ocpp1.6");
    } finally {
      point.close();
    }
  });

  it("answers StopTransaction for an unknown transaction so the charger stops retrying", async () => {
    const r = await start();
    const c = await cp(r, "CP1");
    assert.deepEqual(await c.call("StopTransaction", { transactionId: 424242, meterStop: 10, timestamp: "2026-11-21T10:00:00Z" }), {});
    const ended = r.events.find((e) => e.kind === "session.ended") as { unknownTransaction: boolean };
    assert.equal(ended.unknownTransaction, true);
  });

  it("keeps the newest socket per identity and closes the old one", async () => {
    const r = await start();
    const first = await cp(r, "CP1");
    await first.call("BootNotification", boot);
    const firstClosed = closed(first);
    const second = await cp(r, "CP1");
    const ev = await firstClosed;
    assert.equal(ev.code, 4000);
    assert.equal(ev.reason, "Replaced by a newer connection");
    assert.equal((await second.call("Heartbeat", {}) as { currentTime: string }).currentTime.length > 0, true);
    assert.equal(r.central.directory.snapshot("CP1")!.connected, true);
    // The replaced socket's close does not mark the charger offline; the flow hears it as "replaced" (issue 13 item 12).
    await waitUntil(() => r.kinds("CP1").includes("disconnected"), 2000, "disconnected (replaced)");
    assert.deepEqual(r.kinds("CP1").filter((k) => k === "connected" || k === "disconnected"), ["connected", "connected", "disconnected"]);
    assert.deepEqual(
      r.events.filter((e) => e.kind === "disconnected").map((e) => [(e as { reason?: string }).reason, (e as { replaced?: boolean }).replaced]),
      [["replaced", true]],
    );
    assert.equal(r.central.directory.snapshot("CP1")!.connected, true);
    const connectedEvents = r.events.filter((e) => e.kind === "connected") as Array<{ replacedOld?: boolean }>;
    assert.equal(connectedEvents[1].replacedOld, true);
    // An invalid command is stopped before it reaches the charger, and says so.
    await assert.rejects(r.central.directory.link("CP1")!.call("ChangeAvailability", { connectorId: 0, type: "Sometimes" }), (err: Error & { rpcErrorCode?: string }) => {
      assert.match(err.message, /^ChangeAvailability was not sent to charger CP1: it is not valid OCPP 1\.6/);
      // OCPP 1.6 spelling (errata): our schema check speaks the connection's protocol.
      assert.equal(err.rpcErrorCode, "FormationViolation");
      return true;
    });
    second.handle("Reset", async () => {
      throw createRPCError("NotSupported", "no resets here");
    });
    await assert.rejects(r.central.directory.link("CP1")!.call("Reset", { type: "Soft" }), (err: Error & { rpcErrorCode?: string }) => {
      assert.equal(err.message, "Charger CP1 refused Reset with NotSupported: no resets here");
      assert.equal(err.rpcErrorCode, "NotSupported");
      return true;
    });
    // Calls from the command side go to the live socket.
    second.handle("GetConfiguration", async () => ({ configurationKey: [{ key: "X", readonly: true, value: "2" }] }));
    const conf = await r.central.directory.link("CP1")!.call<{ configurationKey: unknown[] }>("GetConfiguration", {});
    assert.equal(conf.configurationKey.length, 1);
  });

  it("keeps per-connector status by timestamp: a late older status does not overwrite a newer one", async () => {
    const r = await start();
    const c = await cp(r, "CP1");
    await c.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available", timestamp: "2026-11-21T10:05:00Z" });
    await c.call("StatusNotification", { connectorId: 2, errorCode: "NoError", status: "Charging", timestamp: "2026-11-21T10:01:00Z" });
    // Replayed from the charger's offline queue:
    await c.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Charging", timestamp: "2026-11-21T10:00:00Z" });
    const snap = r.central.directory.snapshot("CP1")!;
    assert.deepEqual(
      snap.connectors.map((x) => [x.connectorId, x.status, x.statusTime]),
      [
        [1, "Available", "2026-11-21T10:05:00Z"],
        [2, "Charging", "2026-11-21T10:01:00Z"],
      ],
    );
    const statuses = r.events.filter((e) => e.kind === "status") as Array<{ stale?: boolean }>;
    assert.deepEqual(statuses.map((s) => s.stale === true), [false, false, true]);
  });

  it("answers schema-invalid calls with the right CALLERROR and unknown actions with NotImplemented", async () => {
    const r = await start({ lenient: ["LENIENT"] });
    const c = await cp(r, "CP1");
    const codeOf = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        return (err as { rpcErrorCode: string }).rpcErrorCode;
      }
      return "no error";
    };
    assert.equal(await codeOf(c.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Dancing" })), "FormationViolation");
    assert.equal(await codeOf(c.call("Heartbeat", { extra: 1 })), "PropertyConstraintViolation");
    assert.equal(await codeOf(c.call("StatusNotification", { connectorId: "one", errorCode: "NoError", status: "Available" })), "TypeConstraintViolation");
    assert.equal(await codeOf(c.call("MakeCoffee", {})), "NotImplemented");
    assert.ok(r.problems.some((p) => /failed schema validation/.test(p.message) && p.identity === "CP1"));
    // A charger on the lenient list is answered despite its broken payload.
    const lenient = await cp(r, "LENIENT");
    assert.deepEqual(await lenient.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Dancing" }), {});
    assert.equal(await codeOf(lenient.call("MakeCoffee", {})), "NotImplemented");
  });

  it("counts garbage frames and closes the socket after the configured number", async () => {
    const r = await start({ maxBadMessages: 2 });
    const ws = new WebSocket(`${r.url}/JUNK`, ["ocpp1.6"]);
    await once(ws, "open");
    const replies: string[] = [];
    ws.on("message", (d) => replies.push(String(d)));
    const closing = once(ws, "close");
    ws.send("not json");
    ws.send("[2, 5]");
    ws.send("{}");
    const [code] = (await closing) as [number];
    assert.equal(code, 1002);
    assert.equal(replies.length, 2);
    // OCPP 1.6 codes on a 1.6 connection (issue 13 item 8), not 2.0.1's RpcFrameworkError.
    assert.equal(JSON.parse(replies[0])[2], "FormationViolation");
    assert.equal(r.central.directory.snapshot("JUNK")!.badMessages, 3);
    assert.equal(r.problems.filter((p) => p.identity === "JUNK" && /not OCPP-J/.test(p.message)).length, 3);
  });

  it("applies the no-subprotocol policy", async () => {
    const assume = await start({ noSubprotocol: "ocpp1.6" });
    const c = await cp(assume, "OLD", { protocols: [] });
    assert.equal(((await c.call("BootNotification", boot)) as { status: string }).status, "Accepted");
    assert.equal(assume.central.directory.snapshot("OLD")!.protocol, undefined);

    const strict = await start({ noSubprotocol: "reject" });
    assert.equal(await refusal(connect(strict.url, "OLD", { protocols: [] })), 400);
    assert.equal(await refusal(connect(strict.url, "NEW", { protocols: ["ocpp2.0.1"] })), 400);
    const rejected = strict.events.filter((e) => e.kind === "rejected") as Array<{ reason: string }>;
    assert.match(rejected[0].reason, /no OCPP subprotocol/);
    assert.match(rejected[1].reason, /ocpp2\.0\.1/);
  });

  it("refuses a charger id that is not valid percent-encoding instead of hanging", async () => {
    const r = await start();
    const ws = new WebSocket(`${r.url}/%ZZ`, ["ocpp1.6"]);
    const status = await new Promise<number>((resolve, reject) => {
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => reject(new Error("should not open")));
      ws.on("error", () => undefined);
    });
    assert.equal(status, 400);
    assert.ok(r.problems.some((p) => /Refused a connection to \/ocpp\/%ZZ: URI malformed/.test(p.message)));
  });

  it("refuses a wrong path with 404 and names the right URL", async () => {
    const r = await start();
    assert.equal(await refusal(connect(`ws://127.0.0.1:${r.port}/wrong`, "CP1")), 404);
    const rejected = r.events.find((e) => e.kind === "rejected") as { reason: string };
    assert.match(rejected.reason, new RegExp(`ws://<host>:${r.port}/ocpp/<chargerId>`));
  });

  it("lets a flow decide Authorize, and falls back to the id-tag list when it does not answer in time", async () => {
    const r = await start({ wantsDecision: (kind) => kind === "authorize" || kind === "start", decisionTimeoutMs: 200 });
    r.central.onEvent((event, decision) => {
      if (decision && (event as { idTag?: string }).idTag === "FLOW") r.central.decisions.reply(decision.id, { status: "Accepted", expiryDate: "2030-01-01T00:00:00.000Z" });
    });
    const c = await cp(r, "CP1");
    assert.deepEqual(await c.call("Authorize", { idTag: "FLOW" }), { idTagInfo: { status: "Accepted", expiryDate: "2030-01-01T00:00:00.000Z" } });
    const t0 = Date.now();
    assert.deepEqual(await c.call("Authorize", { idTag: "BAD" }), { idTagInfo: { status: "Blocked" } });
    assert.ok(Date.now() - t0 >= 180, "the fallback waited for the flow");
    assert.equal(r.decisions.length, 2);
    assert.equal(r.central.decisions.reply(r.decisions[1].decision.id, true), false, "too late");
    const start2 = (await c.call("StartTransaction", { connectorId: 1, idTag: "FLOW", meterStart: 0, timestamp: "2026-11-21T10:00:00Z" })) as { idTagInfo: { status: string } };
    assert.equal(start2.idTagInfo.status, "Accepted");
    assert.equal((r.decisions[2].event as { source?: string }).source, "StartTransaction");
  });

  it("lets a flow refuse an unknown charger, with the onboarding switch as fallback", async () => {
    const r = await start({ knownChargers: ["CP1"], acceptUnknown: false, wantsDecision: (kind) => kind === "connect", decisionTimeoutMs: 200 });
    r.central.onEvent((event, decision) => {
      if (decision && event.identity === "FRIEND") r.central.decisions.reply(decision.id, "accept");
    });
    await cp(r, "CP1");
    await cp(r, "FRIEND");
    assert.equal(await refusal(connect(r.url, "STRANGER")), 401);
    assert.deepEqual(r.events.filter((e) => e.kind === "connect").map((e) => e.identity), ["FRIEND", "STRANGER"]);
  });

  it("releases its port on close even with chargers connected", async () => {
    const r = await start();
    const a = await cp(r, "A");
    const b = await cp(r, "B");
    const closes = [closed(a), closed(b)];
    await r.close();
    running.splice(running.indexOf(r), 1);
    const codes = (await Promise.all(closes)).map((e) => e.code);
    assert.deepEqual(codes, [1001, 1001]);
    const again = await startCentral({ port: r.port });
    running.push(again);
    assert.equal(again.port, r.port);
    await cp(again, "A");
  });
});

describe("OCPP central system across a restart", () => {
  it("keeps transaction ids unique, restores open sessions and handles retransmits idempotently", async () => {
    const first = await start();
    const c1 = await cp(first, "CP1");
    const startReq = { connectorId: 1, idTag: "OK", meterStart: 10_000, timestamp: "2026-11-21T10:00:00Z" };
    const tx = (await c1.call("StartTransaction", startReq)) as { transactionId: number };
    await c1.close({ force: true });
    await first.close();
    running.splice(running.indexOf(first), 1);

    // Node-RED restarts; the charger replays its offline queue.
    const second = await start({}, first.file);
    assert.equal(second.store.openSessions("CP1").length, 1, "open session restored");
    const c2 = await cp(second, "CP1");
    const again = (await c2.call("StartTransaction", startReq)) as { transactionId: number; idTagInfo: { status: string } };
    assert.equal(again.transactionId, tx.transactionId, "retransmitted Start gets the same id");
    assert.equal(again.idTagInfo.status, "Accepted");
    // Queued meter values arrive out of order; the newest reading wins.
    await c2.call("MeterValues", { connectorId: 1, transactionId: tx.transactionId, meterValue: [meter("2026-11-21T10:20:00Z", 14_000, 7000)] });
    await c2.call("MeterValues", { connectorId: 1, transactionId: tx.transactionId, meterValue: [meter("2026-11-21T10:10:00Z", 12_000, 7000)] });
    assert.equal(second.central.directory.snapshot("CP1")!.connectors[0].energyWh, 14_000);
    const stopReq = { transactionId: tx.transactionId, meterStop: 15_000, timestamp: "2026-11-21T10:30:00Z", reason: "Local" };
    await c2.call("StopTransaction", stopReq);
    await c2.call("StopTransaction", stopReq);
    const ended = second.events.filter((e) => e.kind === "session.ended") as Array<{ energyWh: number }>;
    assert.equal(ended.length, 1, "a retransmitted Stop ends nothing twice");
    assert.equal(ended[0].energyWh, 5000);
    assert.equal(second.kinds("CP1").filter((k) => k === "session.started").length, 0, "no second session.started");
    const next = (await c2.call("StartTransaction", { ...startReq, timestamp: "2026-11-21T11:00:00Z" })) as { transactionId: number };
    assert.ok(next.transactionId > tx.transactionId, "new ids never repeat after a restart");
  });
});

describe("OCPP central system internal failures", () => {
  it("answers InternalError and reports the problem when its own processing fails", async () => {
    const r = await start();
    const broken = {
      findStart: () => undefined,
      start: () => {
        throw new Error("disk on fire");
      },
    };
    (r.central as unknown as { options: { transactions: unknown } }).options.transactions = broken;
    const c = await cp(r, "CP1");
    await assert.rejects(c.call("StartTransaction", { connectorId: 1, idTag: "OK", meterStart: 0, timestamp: "2026-11-21T10:00:00Z" }), (err: { rpcErrorCode?: string; message?: string }) => {
      assert.equal(err.rpcErrorCode, "InternalError");
      assert.equal(err.message, "The central system could not process StartTransaction");
      return true;
    });
    assert.ok(r.problems.some((p) => p.level === "error" && p.message === 'Could not answer StartTransaction from "CP1": disk on fire'));
    // The connection survives and keeps working.
    assert.ok(((await c.call("Heartbeat", {})) as { currentTime: string }).currentTime);
  });
});
