/**
 * Security profiles 0–3 over real (TLS) websockets with certificates made
 * in the test: basic auth with the identity as username, TLS ≥ 1.2, and
 * client certificates whose CN must be the charger identity.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import tls from "node:tls";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { RawCharger201 } from "./support/raw-201-charger";
import { makePki, type TestPki } from "./support/certs";
import { startCentral, type Running } from "./support/central";
import { boot, connect, refusal, type Client } from "./support/clients";
import { checkBasicAuth, parsePasswordList, passwordMatches } from "../../nodes/lib/ocpp/core/security";

const running: Running[] = [];
const clients: Client[] = [];
let pki: TestPki;
let rogue: TestPki;

before(() => {
  pki = makePki("Evkit Test CA");
  rogue = makePki("Rogue CA");
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close({ force: true }).catch(() => undefined)));
  await Promise.all(running.splice(0).map((r) => r.close()));
});
after(() => undefined);

async function start(...args: Parameters<typeof startCentral>): Promise<Running> {
  const r = await startCentral(...args);
  running.push(r);
  return r;
}
async function cp(url: string, identity: string, opts?: Parameters<typeof connect>[2]): Promise<Client> {
  const c = await connect(url, identity, opts);
  clients.push(c);
  return c;
}

const LONG = "0123456789abcdef0123"; // 20 chars

describe("OCPP security profiles", () => {
  it("compares passwords in constant time and parses the credential list", () => {
    assert.equal(passwordMatches(Buffer.from("secret"), "secret"), true);
    assert.equal(passwordMatches(Buffer.from("secret"), "secreT"), false);
    assert.equal(passwordMatches(Buffer.from("s"), "a-much-longer-password"), false);
    assert.equal(passwordMatches(undefined, "x"), false);
    assert.equal(passwordMatches(Buffer.from(""), ""), false, "an empty configured password never matches");
    assert.deepEqual([...parsePasswordList("CP1:abc:def\n  CP2:xyz  bad :nope")], [
      ["CP1", "abc:def"],
      ["CP2", "xyz"],
    ]);
    const policy = { profile: 1 as const, passwords: new Map([["CP1", "12345678"]]), strictPasswords: false };
    assert.deepEqual(checkBasicAuth(policy, "CP1", Buffer.from("12345678"), true), { ok: true, warning: 'the password of "CP1" is shorter than 16 characters' });
    assert.equal(checkBasicAuth({ ...policy, strictPasswords: true }, "CP1", Buffer.from("12345678"), true).ok, false);
  });

  it("profile 0 accepts anyone (and the node warns in its status)", async () => {
    const r = await start();
    const c = await cp(r.url, "ANY");
    assert.equal(((await c.call("BootNotification", boot)) as { status: string }).status, "Accepted");
  });

  it("profile 1: basic auth with the identity as username, 401 otherwise", async () => {
    const passwords = new Map([["CP1", LONG], ["SHORT", "12345678"]]);
    const r = await start({ security: { profile: 1, passwords, strictPasswords: false }, acceptUnknown: false });
    await cp(r.url, "CP1", { password: LONG });
    assert.equal(await refusal(connect(r.url, "CP1", { password: "wrong-password-123" })), 401);
    assert.equal(await refusal(connect(r.url, "CP1")), 401);
    assert.equal(await refusal(connect(r.url, "STRANGER", { password: LONG })), 401);
    // A short vendor-default password works, with a warning.
    await cp(r.url, "SHORT", { password: "12345678" });
    assert.ok(r.problems.some((p) => p.identity === "SHORT" && /shorter than 16/.test(p.message)));
    const reasons = (r.events.filter((e) => e.kind === "rejected") as Array<{ identity: string; reason: string }>).map((e) => [e.identity, e.reason]);
    assert.deepEqual(reasons, [
      ["CP1", "wrong password"],
      ["CP1", "the charger sent no password (basic auth)"],
      ["STRANGER", 'unknown charger "STRANGER" (onboarding is off; add it to the known chargers)'],
    ]);
    // No secret ever reaches an event or a problem text.
    assert.ok(!JSON.stringify([r.events, r.problems]).includes(LONG));
  });

  it("profile 1 rejects a basic-auth username that is not the identity", async () => {
    const r = await start({ security: { profile: 1, passwords: new Map([["CP1", LONG]]), strictPasswords: false } });
    const header = `Basic ${Buffer.from(`OTHER:${LONG}`).toString("base64")}`;
    assert.equal(await refusal(connect(r.url, "CP1", { wsOpts: { headers: { authorization: header } } })), 401);
    const rejected = r.events.find((e) => e.kind === "rejected") as { reason: string };
    assert.equal(rejected.reason, 'the basic-auth username is not the charger id "CP1"');
  });

  it("profile 1 strict passwords refuse short ones", async () => {
    const r = await start({ security: { profile: 1, passwords: new Map([["SHORT", "12345678"]]), strictPasswords: true } });
    assert.equal(await refusal(connect(r.url, "SHORT", { password: "12345678" })), 401);
  });

  it("profile 2: TLS 1.2+ and basic auth", async () => {
    const r = await start({
      security: { profile: 2, passwords: new Map([["CP1", LONG]]), strictPasswords: false, tls: { cert: pki.server.cert, key: pki.server.key } },
      acceptUnknown: false,
    });
    assert.match(r.url, /^wss:/);
    const c = await cp(r.url, "CP1", { password: LONG, wsOpts: { ca: pki.ca.cert } });
    assert.equal(((await c.call("BootNotification", boot)) as { status: string }).status, "Accepted");
    assert.equal(await refusal(connect(r.url, "CP1", { password: "nope-nope-nope-nope", wsOpts: { ca: pki.ca.cert } })), 401);
    // A charger that does not trust our certificate cannot connect at all.
    assert.match(String(await refusal(connect(r.url, "CP1", { password: LONG }))), /self.signed|unable to verify|UNABLE_TO_VERIFY|SELF_SIGNED/i);
    // TLS 1.1 is refused during the handshake.
    const err = await new Promise<Error>((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port: r.port, ca: pki.ca.cert, maxVersion: "TLSv1.1", minVersion: "TLSv1" }, () => resolve(new Error("connected")));
      s.on("error", resolve);
    });
    assert.notEqual(err.message, "connected");
  });

  it("profile 3: client certificate from our CA with CN = identity", async () => {
    const r = await start({
      security: { profile: 3, passwords: new Map(), strictPasswords: false, tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert } },
      knownChargers: ["CP1", "CP2"],
      acceptUnknown: false,
    });
    const good = pki.client("CP1");
    const c = await cp(r.url, "CP1", { wsOpts: { ca: pki.ca.cert, cert: good.cert, key: good.key } });
    assert.equal(((await c.call("Heartbeat", {})) as { currentTime: string }).currentTime.length > 0, true);
    // CP1's certificate cannot be used to impersonate CP2.
    assert.equal(await refusal(connect(r.url, "CP2", { wsOpts: { ca: pki.ca.cert, cert: good.cert, key: good.key } })), 401);
    const stranger = rogue.client("CP2");
    assert.equal(await refusal(connect(r.url, "CP2", { wsOpts: { ca: pki.ca.cert, cert: stranger.cert, key: stranger.key } })), 401);
    assert.equal(await refusal(connect(r.url, "CP2", { wsOpts: { ca: pki.ca.cert } })), 401);
    const reasons = (r.events.filter((e) => e.kind === "rejected") as Array<{ reason: string }>).map((e) => e.reason);
    assert.equal(reasons[0], 'the certificate is for "CP1", not for charger "CP2"');
    assert.match(reasons[1], /^the client certificate was not accepted/);
    assert.equal(reasons[2], "the charger sent no client certificate");
  });
});

describe("security profile 3 with OCPP 2.0.1 chargers (independent ws client)", () => {
  /** Connects the ws-only 2.0.1 charge point; resolves with the HTTP status when refused. */
  async function refused201(url: string, identity: string, wsOpts: Record<string, unknown>): Promise<string> {
    try {
      const c = await RawCharger201.connect(url, identity, ["ocpp2.0.1"], {}, wsOpts);
      await c.close();
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error(`${identity} was let in`);
  }

  it("a 2.0.1 charger with a client certificate from our CA whose CN is its identity gets in; others are refused with the reason", async () => {
    const r = await start({
      protocols: ["ocpp1.6", "ocpp2.0.1"],
      security: { profile: 3, passwords: new Map(), strictPasswords: false, tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert } },
      knownChargers: ["BMW", "MINI"],
      acceptUnknown: false,
    });
    const good = pki.client("BMW");
    const c = await RawCharger201.connect(r.url, "BMW", ["ocpp2.0.1"], {}, { ca: pki.ca.cert, cert: good.cert, key: good.key });
    try {
      assert.equal(c.protocol, "ocpp2.0.1");
      assert.equal((await c.call<{ status: string }>("BootNotification", { reason: "PowerUp", chargingStation: { vendorName: "Delta", model: "Gen4" } })).status, "Accepted");
      assert.equal(r.central.directory.snapshot("BMW")?.protocol, "ocpp2.0.1");
    } finally {
      await c.close();
    }
    // BMW's certificate cannot be used to impersonate MINI; a certificate from another CA and none at all are refused.
    assert.match(await refused201(r.url, "MINI", { ca: pki.ca.cert, cert: good.cert, key: good.key }), /401/);
    const stranger = rogue.client("MINI");
    assert.match(await refused201(r.url, "MINI", { ca: pki.ca.cert, cert: stranger.cert, key: stranger.key }), /401/);
    assert.match(await refused201(r.url, "MINI", { ca: pki.ca.cert }), /401/);
    // A charger that does not trust our server certificate cannot connect at all.
    assert.match(await refused201(r.url, "BMW", { cert: good.cert, key: good.key }), /self.signed|unable to verify|UNABLE_TO_VERIFY|SELF_SIGNED/i);
    const reasons = (r.events.filter((e) => e.kind === "rejected") as Array<{ identity: string; reason: string }>).map((e) => [e.identity, e.reason]);
    assert.deepEqual(reasons.slice(0, 1), [["MINI", 'the certificate is for "BMW", not for charger "MINI"']]);
    assert.match(reasons[1][1], /^the client certificate was not accepted/);
    assert.deepEqual(reasons[2], ["MINI", "the charger sent no client certificate"]);
    assert.equal(r.events.filter((e) => e.kind === "boot").length, 1, "only BMW booted");
  });

  it("profile 3 with the CA, certificate and key from files on disk", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "evkit-tls3-"));
    const files = { certFile: path.join(dir, "fullchain.pem"), keyFile: path.join(dir, "privkey.pem"), caFile: path.join(dir, "chargers-ca.pem") };
    writeFileSync(files.certFile, pki.server.cert);
    writeFileSync(files.keyFile, pki.server.key);
    writeFileSync(files.caFile, pki.ca.cert);
    const r = await start({ protocols: ["ocpp2.0.1"], security: { profile: 3, passwords: new Map(), strictPasswords: false, tlsFiles: files }, knownChargers: ["BMW"], acceptUnknown: false });
    const good = pki.client("BMW");
    const c = await RawCharger201.connect(r.url, "BMW", ["ocpp2.0.1"], {}, { ca: pki.ca.cert, cert: good.cert, key: good.key });
    assert.ok((await c.call<{ currentTime: string }>("Heartbeat", {})).currentTime);
    await c.close();
    const stranger = rogue.client("BMW");
    assert.match(await refused201(r.url, "BMW", { ca: pki.ca.cert, cert: stranger.cert, key: stranger.key }), /401/);
  });
});

describe("TLS certificate from files on disk", () => {
  it("profile 2 with a 2.0.1 charger: a certificate file replaced while connected is used for new connections, no redeploy", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "evkit-tls-"));
    const certFile = path.join(dir, "fullchain.pem");
    const keyFile = path.join(dir, "privkey.pem");
    const first = makePki("First CA");
    const renewed = makePki("Renewed CA");
    writeFileSync(certFile, first.server.cert);
    writeFileSync(keyFile, first.server.key);
    const r = await start({
      protocols: ["ocpp1.6", "ocpp2.0.1"],
      security: { profile: 2, passwords: new Map([["BMW", LONG]]), strictPasswords: false, tlsFiles: { certFile, keyFile }, tlsReloadIntervalMs: 50 },
    });
    const auth = { Authorization: `Basic ${Buffer.from(`BMW:${LONG}`).toString("base64")}` };
    const before = await RawCharger201.connect(r.url, "BMW", ["ocpp2.0.1"], {}, { ca: first.ca.cert, headers: auth });
    assert.equal(before.protocol, "ocpp2.0.1");
    assert.equal((await before.call<{ status: string }>("BootNotification", { reason: "PowerUp", chargingStation: { vendorName: "Delta", model: "Gen4" } })).status, "Accepted");

    // Renewal as certbot does it: new files moved into place.
    writeFileSync(`${certFile}.new`, renewed.server.cert);
    writeFileSync(`${keyFile}.new`, renewed.server.key);
    renameSync(`${keyFile}.new`, keyFile);
    renameSync(`${certFile}.new`, certFile);
    const deadline = Date.now() + 5000;
    let after: RawCharger201 | undefined;
    while (!after && Date.now() < deadline) {
      after = await RawCharger201.connect(r.url, "BMW2", ["ocpp2.0.1"], {}, { ca: renewed.ca.cert, headers: auth }).catch(() => undefined);
      if (!after) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(after, "a new connection gets the renewed certificate");
    await after.close();
    // The old CA no longer verifies new connections; the open one keeps working.
    await assert.rejects(RawCharger201.connect(r.url, "BMW3", ["ocpp2.0.1"], {}, { ca: first.ca.cert, headers: auth }));
    assert.ok((await before.call<{ currentTime: string }>("Heartbeat", {})).currentTime);
    await before.close();
    // Only the refused handshakes (clients that did not trust the certificate) were problems.
    assert.deepEqual(r.problems.filter((p) => p.level === "error" && !/TLS handshake failed/.test(p.message)), []);
  });
});
