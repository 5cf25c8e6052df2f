/**
 * Issue 13 against real websocket clients (ocpp-rpc RPCClient, and raw `ws`
 * for framing abuse): validation without a subprotocol, frame-size limit,
 * nothing echoed at length, OCPP 1.6 framing errors, and the rest of the
 * "bounded under abuse" items.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import WebSocket from "ws";
import { startCentral, type Running } from "./support/central";
import { boot, connect, refusal, waitUntil, type Client } from "./support/clients";

const running: Running[] = [];
const clients: Client[] = [];
const sockets: WebSocket[] = [];
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
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(clients.splice(0).map((c) => c.close({ force: true }).catch(() => undefined)));
  await Promise.all(running.splice(0).map((r) => r.close()));
});

/** A raw websocket "charger" that can send anything; replies() waits for the next n answers. */
async function raw(r: Running, identity: string, protocols: string[] = ["ocpp1.6"]) {
  const ws = new WebSocket(`${r.url}/${identity}`, protocols);
  sockets.push(ws);
  await once(ws, "open");
  const got: string[] = [];
  ws.on("message", (d) => got.push(String(d)));
  const closed = once(ws, "close").then(([code]) => code as number);
  return {
    ws,
    got,
    closed,
    async send(text: string | Buffer): Promise<string> {
      const before = got.length;
      ws.send(text);
      const end = Date.now() + 3000;
      while (got.length === before) {
        if (Date.now() > end) throw new Error(`no answer to ${String(text).slice(0, 60)}`);
        await new Promise((res) => setTimeout(res, 5));
      }
      return got[before];
    },
  };
}

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    return (err as { rpcErrorCode: string }).rpcErrorCode;
  }
  return "no error";
};

describe("OCPP central system: issue 13 (bounded, truthful)", () => {
  it("item 2: a card the flow accepted for a session is not declared Invalid by StopTransaction", async () => {
    const r = await start({ wantsDecision: (kind) => kind === "authorize" || kind === "start" });
    r.central.onEvent((event, decision) => {
      if (decision && (event as { idTag?: string }).idTag === "GUEST") r.central.decisions.reply(decision.id, true);
    });
    const c = await cp(r, "CP1");
    assert.deepEqual(await c.call("Authorize", { idTag: "GUEST" }), { idTagInfo: { status: "Accepted" } });
    const tx = (await c.call("StartTransaction", { connectorId: 1, idTag: "GUEST", meterStart: 0, timestamp: "2026-11-21T10:00:00Z" })) as { transactionId: number; idTagInfo: { status: string } };
    assert.equal(tx.idTagInfo.status, "Accepted");
    // The list alone says Invalid for GUEST; the session's own answer stands at its end (also in another case).
    assert.deepEqual(await c.call("StopTransaction", { transactionId: tx.transactionId, idTag: "guest", meterStop: 10, timestamp: "2026-11-21T10:30:00Z" }), {
      idTagInfo: { status: "Accepted" },
    });
    // Another card that ends the session is still checked against the list.
    const tx2 = (await c.call("StartTransaction", { connectorId: 1, idTag: "GUEST", meterStart: 10, timestamp: "2026-11-21T11:00:00Z" })) as { transactionId: number };
    assert.deepEqual(await c.call("StopTransaction", { transactionId: tx2.transactionId, idTag: "BAD", meterStop: 20, timestamp: "2026-11-21T11:30:00Z" }), {
      idTagInfo: { status: "Blocked" },
    });
  });

  it("item 3: the id tag of our own RemoteStartTransaction is accepted, even when the list refuses unknown cards", async () => {
    const r = await start();
    const c = await cp(r, "CP1");
    await c.call("BootNotification", boot);
    c.handle("RemoteStartTransaction", async ({ params: raw }) => {
      const params = raw as { idTag: string };
      // Like a real charger: answer first, then Authorize and StartTransaction with the tag.
      setTimeout(() => {
        void (async () => {
          await c.call("Authorize", { idTag: params.idTag });
          await c.call("StartTransaction", { connectorId: 1, idTag: params.idTag, meterStart: 0, timestamp: "2026-11-21T10:00:00Z" });
        })().catch(() => undefined);
      }, 10);
      return { status: "Accepted" };
    });
    const replies: unknown[] = [];
    c.on("message", ({ message, outbound }: { message: string; outbound: boolean }) => {
      if (!outbound) replies.push(JSON.parse(message));
    });
    const link = r.central.directory.link("CP1")!;
    assert.deepEqual(await link.call("RemoteStartTransaction", { connectorId: 1, idTag: "APP-USER" }), { status: "Accepted" });
    const answers = (): Array<string | undefined> =>
      replies.filter((m) => Array.isArray(m) && m[0] === 3).map((m) => (m as [number, string, { idTagInfo?: { status: string } }])[2].idTagInfo?.status).filter(Boolean);
    // The StartTransaction answer reaches the charger just after session.started: wait for both answers.
    await waitUntil(() => r.kinds("CP1").includes("session.started") && answers().length === 2, 3000, "session.started and both answers");
    assert.deepEqual(answers(), ["Accepted", "Accepted"], "Authorize and StartTransaction accepted");
    const authorize = r.events.filter((e) => e.kind === "authorize") as Array<{ remoteStart?: boolean }>;
    assert.ok(authorize.every((e) => e.remoteStart === true), "the events say why");
    // Used up by the StartTransaction: the same tag alone is the list's business again.
    assert.deepEqual(await c.call("Authorize", { idTag: "APP-USER" }), { idTagInfo: { status: "Invalid" } });
    // A remote start the charger refused grants nothing.
    c.handle("RemoteStartTransaction", async () => ({ status: "Rejected" }));
    await link.call("RemoteStartTransaction", { idTag: "OTHER" });
    assert.deepEqual(await c.call("Authorize", { idTag: "OTHER" }), { idTagInfo: { status: "Invalid" } });
  });

  it("item 6: a charger that offers no subprotocol is still schema-validated, unless named lenient", async () => {
    const r = await start({ lenient: ["OLDLENIENT"] });
    const old = await cp(r, "OLD", { protocols: [] });
    assert.equal(r.central.directory.snapshot("OLD")!.protocol, undefined);
    const bad = { connectorId: 1, idTag: { card: 1 }, meterStart: "lots", timestamp: "2026-11-21T10:00:00Z" };
    assert.equal(await codeOf(old.call("StartTransaction", bad)), "TypeConstraintViolation");
    assert.equal(await codeOf(old.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Dancing" })), "FormationViolation");
    assert.equal(r.kinds("OLD").includes("session.started"), false, "nothing saved");
    assert.ok(r.problems.some((p) => p.identity === "OLD" && /failed schema validation/.test(p.message)));
    // Good calls still work without a subprotocol.
    assert.equal(((await old.call("BootNotification", boot)) as { status: string }).status, "Accepted");
    // Only a charger the user names as lenient gets through with a broken payload.
    const lenient = await cp(r, "OLDLENIENT", { protocols: [] });
    assert.deepEqual(await lenient.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Dancing" }), {});
  });

  it("item 7: frames above the size limit close that socket only; nothing a charger sent comes back at length", async () => {
    const r = await start({ maxFrameBytes: 64 * 1024, maxBadMessages: 100 });
    const good = await cp(r, "GOOD");
    const big = await raw(r, "BIG");
    big.ws.send(JSON.stringify([2, "1", "DataTransfer", { vendorId: "x", data: "A".repeat(100 * 1024) }]));
    assert.equal(await big.closed, 1009, "closed as too big");
    assert.ok(((await good.call("Heartbeat", {})) as { currentTime: string }).currentTime, "the good charger is not stalled");

    const c = await raw(r, "ECHO");
    // A 1 KB message id (OCPP allows 36 characters) is never echoed.
    const longId = "i".repeat(1000);
    let reply = JSON.parse(await c.send(JSON.stringify([2, longId, "Heartbeat", {}])));
    assert.deepEqual(reply.slice(0, 3), [4, "-1", "FormationViolation"]);
    // A 10 KB action name is not echoed in the NotImplemented text.
    const text = await c.send(JSON.stringify([2, "a1", "X".repeat(10_000), {}]));
    assert.ok(text.length < 200, `answer of ${text.length} characters`);
    assert.deepEqual(JSON.parse(text).slice(0, 3), [4, "a1", "NotImplemented"]);
    // An invalid BootNotification of 50 KB gets a short CALLERROR, not its payload back.
    const invalid = { chargePointVendor: "V".repeat(50_000), chargePointModel: 5 };
    const answer = await c.send(JSON.stringify([2, "b1", "BootNotification", invalid]));
    assert.ok(answer.length < 300, `answer of ${answer.length} characters`);
    reply = JSON.parse(answer);
    assert.equal(reply[1], "b1");
    assert.match(reply[2], /Violation/);
    assert.deepEqual(reply[4], {});
    assert.ok(r.problems.every((p) => p.message.length < 400), "problems are cut short too");
  });

  it("item 8: framing errors use OCPP 1.6 codes and the message id when it can be read; deep nesting gets a CALLERROR", async () => {
    const r = await start({ maxBadMessages: 100 });
    const c = await raw(r, "FRAMES");
    const ask = async (text: string) => JSON.parse(await c.send(text)).slice(0, 3);
    assert.deepEqual(await ask("not json"), [4, "-1", "FormationViolation"]);
    assert.deepEqual(await ask('[2,"m1","Heartbeat",{'), [4, "m1", "FormationViolation"], "broken JSON, readable id");
    assert.deepEqual(await ask('{"a":1}'), [4, "-1", "FormationViolation"]);
    assert.deepEqual(await ask('[7,"m2","Heartbeat",{}]'), [4, "m2", "NotImplemented"]);
    assert.deepEqual(await ask('[2,"m3",42,{}]'), [4, "m3", "FormationViolation"]);
    assert.deepEqual(await ask('[2,"m4","Make Coffee!",{}]'), [4, "m4", "NotImplemented"]);
    for (const code of ["RpcFrameworkError", "MessageTypeNotSupported"]) assert.ok(!c.got.some((g) => g.includes(code)), `no ${code}`);

    const deep = `[2,"d1","Heartbeat",{"a":${"[".repeat(20_000)}${"]".repeat(20_000)}}]`;
    // Validated: the schema check answers (it stops at the first value of the wrong type), short and without the payload.
    const [type, id, code] = await ask(deep);
    assert.deepEqual([type, id], [4, "d1"]);
    assert.match(code, /Violation$/);
    assert.ok(c.got.at(-1)!.length < 300);
    // The socket stays open and works.
    assert.equal(JSON.parse(await c.send('[2,"h1","Heartbeat",{}]'))[0], 3);
    // Also for a lenient charger (no schema check that could catch it).
    const r2 = await start({ lenient: ["L"] });
    const l = await raw(r2, "L");
    assert.deepEqual(JSON.parse(await l.send(`[2,"d2","DataTransfer",{"vendorId":"x","data":${"[".repeat(5000)}${"]".repeat(5000)}}]`)).slice(0, 3), [4, "d2", "FormationViolation"]);
    assert.equal(JSON.parse(await l.send('[2,"h2","Heartbeat",{}]'))[0], 3);
  });

  it("item 9: identities are made safe and cut in logs, status and events; repeated problems are rate-limited with a count", async () => {
    const r = await start({ maxBadMessages: 1000, abuse: { problems: { perKey: 3, windowMs: 300 } } });
    // A new line in the id would forge log lines; a 10 KB id would write 20 KB lines.
    assert.equal(await refusal(connect(r.url, "CP1\nFAKE: admin logged in\nX")), 400);
    assert.equal(await refusal(connect(r.url, "L".repeat(10_000))), 400);
    const texts = [...r.problems.map((p) => `${p.message} ${p.status ?? ""} ${p.identity ?? ""}`), ...r.events.map((e) => JSON.stringify(e))];
    assert.ok(texts.length >= 4);
    for (const text of texts) {
      assert.ok(!/[\n\r]/.test(text), `no new line in ${JSON.stringify(text)}`);
      assert.ok(text.length < 400, `${text.length} characters`);
    }
    assert.ok(r.events.some((e) => e.kind === "rejected" && e.identity === "CP1?FAKE: admin logged in?X"));

    // 200 garbage frames give 3 lines, and the next one after the window says how many were left out.
    const c = await raw(r, "NOISY");
    for (let i = 0; i < 200; i++) c.ws.send("garbage");
    await waitUntil(() => r.central.directory.snapshot("NOISY")!.badMessages === 200, 3000, "200 bad frames");
    assert.equal(r.problems.filter((p) => p.identity === "NOISY").length, 3);
    await new Promise((res) => setTimeout(res, 350));
    await c.send("garbage");
    const last = r.problems.filter((p) => p.identity === "NOISY").at(-1)!;
    assert.match(last.message, /\(197 similar suppressed\)/);
    // Refused logins are limited per remote address, whatever ids they use.
    const before = r.problems.length;
    const rr = await start({ acceptUnknown: false, knownChargers: ["CP1"], abuse: { logins: { freeFailures: 1000 } } });
    for (let i = 0; i < 30; i++) assert.equal(await refusal(connect(rr.url, `GUESS${i}`)), 401);
    assert.equal(rr.problems.filter((p) => /Refused charger/.test(p.message)).length, 3);
    assert.equal(rr.events.filter((e) => e.kind === "rejected").length, 30, "events still tell a flow every refusal");
    assert.equal(r.problems.length, before);
  });

  it("item 10: repeated failed logins from one address are slowed down; the right charger is not locked out", async () => {
    const passwords = new Map([["CP1", "0123456789abcdef0123"]]);
    const r = await start({ security: { profile: 1, passwords, strictPasswords: false }, acceptUnknown: false, abuse: { logins: { freeFailures: 3, baseDelayMs: 400, maxHeld: 2 } } });
    for (let i = 0; i < 3; i++) assert.equal(await refusal(connect(r.url, "CP1", { password: `guess-${i}-guess-guess` })), 401);
    // From now on, a guess from this address waits before it is checked.
    let t0 = Date.now();
    assert.equal(await refusal(connect(r.url, "CP1", { password: "guess-x-guess-guess" })), 401);
    assert.ok(Date.now() - t0 >= 380, `waited ${Date.now() - t0} ms`);
    // Guesses in parallel do not queue up without end: beyond two waiting, 429 at once.
    const parallel = await Promise.all([1, 2, 3, 4].map((i) => refusal(connect(r.url, "CP1", { password: `parallel-${i}-guess-guess` }))));
    assert.deepEqual(parallel.filter((code) => code === 429).length, 2);
    // The right charger from another address is not slowed at all.
    t0 = Date.now();
    const right = await cp(r, "CP1", { password: "0123456789abcdef0123", wsOpts: { localAddress: "127.0.0.2" } });
    assert.ok(Date.now() - t0 < 300, `took ${Date.now() - t0} ms`);
    await right.close();
    // From the same address (behind the same router) it gets in after the wait, which clears the brake.
    await cp(r, "CP1", { password: "0123456789abcdef0123" });
    t0 = Date.now();
    assert.equal(await refusal(connect(r.url, "CP1", { password: "guess-y-guess-guess" })), 401);
    assert.ok(Date.now() - t0 < 300, "cleared by the successful login");
  });

  it("item 11: identities that never booted do not pile up: the registry is capped, booted and connected chargers kept", async () => {
    const r = await start({ maxChargers: 5 });
    const booted = await cp(r, "BOOTED");
    await booted.call("BootNotification", boot);
    await booted.close();
    const live = await cp(r, "LIVE");
    for (let i = 0; i < 30; i++) {
      const c = await cp(r, `SCAN${i}`);
      // A trace (a status) keeps an id listed after it leaves, so the cap is what limits them here.
      await c.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available" });
      await c.close();
    }
    const ids = r.central.directory.list().map((s) => s.identity);
    assert.ok(ids.length <= 5, `${ids.length} entries: ${ids.join(",")}`);
    assert.ok(ids.includes("BOOTED"), "a charger that booted is kept");
    assert.ok(ids.includes("LIVE"), "a connected charger is kept");
    assert.ok(ids.includes("SCAN29"));
    assert.equal(((await live.call("Heartbeat", {})) as { currentTime: string }).currentTime.length > 0, true);
    // Without a cap in the way: an id that came and went without a trace is not listed at all.
    const r2 = await start();
    const ghost = await cp(r2, "GHOST");
    await ghost.close();
    await waitUntil(() => r2.kinds("GHOST").includes("disconnected"), 2000, "disconnected");
    assert.equal(r2.central.directory.snapshot("GHOST"), undefined);
  });

  it("item 12: a replaced connection gets disconnected (replaced); two live chargers with one id are warned about once", async () => {
    const r = await start();
    const a = await cp(r, "TWIN", { reconnect: true });
    const b = await cp(r, "TWIN", { reconnect: true });
    await waitUntil(() => r.events.some((e) => e.kind === "disconnected" && (e as { reason?: string }).reason === "replaced"), 3000, "disconnected (replaced)");
    // Each reconnects when knocked off (ocpp-rpc's client backs off a little); wait for the warning.
    await waitUntil(() => r.problems.some((p) => /Two chargers use the id "TWIN"/.test(p.message)), 20_000, "shared-id warning");
    await Promise.all([a.close({ force: true }), b.close({ force: true })]);
    assert.equal(r.problems.filter((p) => /Two chargers use the id/.test(p.message)).length, 1, "said once");
    assert.ok(r.kinds("TWIN").filter((k) => k === "disconnected").length >= 2);
  });
});
