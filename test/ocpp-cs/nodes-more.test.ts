/**
 * More of the OCPP nodes in Node-RED: the directory hook the command side
 * uses (onConnected after boot, usable before the port is up), raw frames
 * and ping RTT, security profile 2 through Node-RED's own TLS config node,
 * and the shipped example flow run as-is (only the port changed).
 */
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { EventEmitter } from "node:events";
import os from "node:os";
import path from "node:path";
import helper from "node-red-node-test-helper";
import centralNode from "../../nodes/ev-ocpp-central-system";
import inNode from "../../nodes/ev-ocpp-in";
import replyNode from "../../nodes/ev-ocpp-reply";
import type { CentralSystemNode } from "../../nodes/lib/ocpp/core/node-types";
import type { ChargerLink } from "../../nodes/lib/ocpp/core/contract";
import { makePki } from "./support/certs";
import { boot, connect, waitUntil, type Client } from "./support/clients";

helper.init(require.resolve("node-red"));

/** Node-RED's own core nodes (the TLS config node, and what the example flow uses). */
function coreNode(p: string): never {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(`@node-red/nodes/core/${p}`) as never;
}
const tlsNode = coreNode("network/05-tls.js");

type Msg = { topic: string; payload: Record<string, unknown>; ocpp?: { decisionId?: string } };
const clients: Client[] = [];
let userDir: string;

beforeEach(() => {
  userDir = mkdtempSync(path.join(os.tmpdir(), "evkit-nr-"));
  helper.settings({ userDir });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close({ force: true }).catch(() => undefined)));
  await helper.unload();
  rmSync(userDir, { recursive: true, force: true });
});

/** Flows here are plain objects with our nodes' own properties. */
function load(nodes: unknown[], flow: Array<Record<string, unknown>>, creds?: Record<string, Record<string, string>>): Promise<void> {
  return helper.load(nodes as never, flow as never, (creds ?? {}) as never) as unknown as Promise<void>;
}

function collect(id: string): Msg[] {
  const got: Msg[] = [];
  (helper.getNode(id) as unknown as EventEmitter).on("input", (msg: Msg) => got.push(msg));
  return got;
}

async function charger(url: string, identity: string, opts?: Parameters<typeof connect>[2]): Promise<Client> {
  const c = await connect(url, identity, opts);
  clients.push(c);
  return c;
}

const base = { id: "cs", type: "ev-ocpp-central-system", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0" };

describe("OCPP nodes: directory hook, raw frames, TLS config, example flow", () => {
  it("tells onConnected listeners after BootNotification was answered, and again on a reconnect", async () => {
    await load([centralNode], [{ ...base }]);
    const cs = helper.getNode("cs") as CentralSystemNode;
    // Subscribed before the port is up, as a command node does in its constructor.
    const seen: string[] = [];
    const configs: unknown[] = [];
    const off = cs.directory.onConnected((link: ChargerLink) => {
      seen.push(link.identity);
      link.call("GetConfiguration", {}).then((res) => configs.push(res), () => undefined);
    });
    await cs.ready;
    const url = `ws://127.0.0.1:${cs.central!.port}/ocpp`;
    const c = await charger(url, "CP1");
    c.handle("GetConfiguration", async () => ({ configurationKey: [{ key: "HeartbeatInterval", readonly: false, value: "300" }] }));
    assert.deepEqual(seen, [], "not before the boot");
    await c.call("BootNotification", boot);
    await waitUntil(() => configs.length === 1, 2000, "GetConfiguration from the listener");
    assert.deepEqual(seen, ["CP1"]);
    cs.directory.recordConfiguration("CP1", { HeartbeatInterval: "300" });
    await c.close();
    // Reconnect without a new boot: the charger is known, so it is announced at once.
    const again = await charger(url, "CP1");
    again.handle("GetConfiguration", async () => ({ configurationKey: [] }));
    await waitUntil(() => seen.length === 2, 2000, "second announcement");
    assert.deepEqual(cs.directory.snapshot("CP1")!.configuration, { HeartbeatInterval: "300" }, "configuration kept across reconnects");
    off();
    await again.close();
    const third = await charger(url, "CP1");
    third.handle("GetConfiguration", async () => ({ configurationKey: [] }));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(seen.length, 2, "unsubscribed listeners are not called");
  });

  it("sends raw frames and ping round trips when asked", async () => {
    await load(
      [centralNode, inNode],
      [
        { id: "tab", type: "tab" },
        { ...base, pingInterval: "1" },
        { id: "in", type: "ev-ocpp-in", z: "tab", server: "cs", kinds: "rtt", raw: true, wires: [["out"]] },
        { id: "out", type: "helper", z: "tab" },
      ],
    );
    const out = collect("out");
    const cs = helper.getNode("cs") as CentralSystemNode;
    await cs.ready;
    const c = await charger(`ws://127.0.0.1:${cs.central!.port}/ocpp`, "CP1");
    await c.call("Heartbeat", {});
    await waitUntil(() => out.some((m) => m.topic === "CP1/rtt"), 3000, "rtt");
    const raw = out.filter((m) => m.topic === "CP1/raw").map((m) => m.payload as { direction: string; frame: string });
    assert.equal(raw[0].direction, "in");
    assert.deepEqual(JSON.parse(raw[0].frame).slice(0, 4), [2, JSON.parse(raw[0].frame)[1], "Heartbeat", {}]);
    assert.equal(raw[1].direction, "out");
    assert.equal(JSON.parse(raw[1].frame)[0], 3);
    const rtt = out.find((m) => m.topic === "CP1/rtt")!.payload as { rttMs: number };
    assert.ok(rtt.rttMs >= 0 && rtt.rttMs < 1000);
    assert.ok(!out.some((m) => m.topic === "CP1/connected"), "kind filter applies to events, not to raw frames");
  });

  it("runs security profile 2 with Node-RED's TLS config node", async () => {
    const pki = makePki();
    const dir = mkdtempSync(path.join(os.tmpdir(), "evkit-tls-"));
    writeFileSync(path.join(dir, "server.crt"), pki.server.cert);
    writeFileSync(path.join(dir, "server.key"), pki.server.key);
    const password = "a-long-enough-password";
    await load(
      [tlsNode, centralNode],
      [
        { id: "tls", type: "tls-config", cert: path.join(dir, "server.crt"), key: path.join(dir, "server.key"), ca: "", verifyservercert: false },
        { ...base, securityProfile: "2", tls: "tls", acceptUnknown: false },
      ],
      { cs: { passwords: `CP1:${password}` } },
    );
    const cs = helper.getNode("cs") as CentralSystemNode;
    await cs.ready;
    assert.match(cs.chargerUrl(), /^wss:\/\//);
    const c = await charger(`wss://127.0.0.1:${cs.central!.port}/ocpp`, "CP1", { password, wsOpts: { ca: pki.ca.cert } });
    assert.equal(((await c.call("BootNotification", boot)) as { status: string }).status, "Accepted");
  });

  it("refuses to start profile 2 without a TLS configuration, in plain words", async () => {
    await load([centralNode], [{ ...base, securityProfile: "2" }]);
    await assert.rejects((helper.getNode("cs") as CentralSystemNode).ready, /needs a TLS configuration/);
  });

  it("runs the example flow: guest card accepted for a day, other cards left to the id-tag list", async () => {
    const file = path.join(__dirname, "../../flows/OCPP/Home central system.json");
    const flow = JSON.parse(readFileSync(file, "utf8")) as Array<Record<string, unknown>>;
    assert.equal(flow[0].type, "comment");
    const tab = { id: "tab", type: "tab" };
    const nodes = flow.map((n) => (n.type === "ev-ocpp-central-system" ? { ...n, port: "0", host: "127.0.0.1" } : { ...n, z: "tab" }));
    await load(
      [centralNode, inNode, replyNode, coreNode("function/10-switch.js"), coreNode("function/15-change.js"), coreNode("common/21-debug.js"), coreNode("common/20-inject.js"), coreNode("common/90-comment.js")],
      [tab, ...nodes],
      { cs00000000000001: { idTags: "MINE\nLOST, Blocked" } },
    );
    const cs = helper.getNode("cs00000000000001") as CentralSystemNode;
    await cs.ready;
    const c = await charger(`ws://127.0.0.1:${cs.central!.port}/ocpp`, "garage");
    const guest = (await c.call("Authorize", { idTag: "GUEST01" })) as { idTagInfo: { status: string; expiryDate: string } };
    assert.equal(guest.idTagInfo.status, "Accepted");
    const inADay = Date.parse(guest.idTagInfo.expiryDate) - Date.now();
    assert.ok(inADay > 86_000_000 && inADay <= 86_400_000, `expiry about a day ahead (${inADay} ms)`);
    const t0 = Date.now();
    assert.deepEqual(await c.call("Authorize", { idTag: "LOST" }), { idTagInfo: { status: "Blocked" } });
    assert.deepEqual(await c.call("Authorize", { idTag: "MINE" }), { idTagInfo: { status: "Accepted" } });
    assert.ok(Date.now() - t0 < 2000, "'fallback' answers at once instead of waiting for the timeout");
  });
});

describe("OCPP central system: boot discovery", () => {
  it("reads the charger's configuration after boot and sets the meter values it should send", async () => {
    await load([centralNode], [{ ...base, discover: true, sampledData: "Energy.Active.Import.Register,Power.Active.Import", sampleInterval: "30" }]);
    const cs = helper.getNode("cs") as CentralSystemNode;
    await cs.ready;
    const c = await charger(`ws://127.0.0.1:${cs.central!.port}/ocpp`, "CP1");
    const config: Record<string, string> = { SupportedFeatureProfiles: "Core,SmartCharging", MeterValuesSampledData: "Energy.Active.Import.Register", MeterValueSampleInterval: "60", NumberOfConnectors: "1" };
    const changes: string[] = [];
    c.handle("GetConfiguration", async () => ({ configurationKey: Object.entries(config).map(([key, value]) => ({ key, readonly: false, value })) }));
    c.handle("ChangeConfiguration", async ({ params }) => {
      const { key, value } = params as { key: string; value: string };
      changes.push(`${key}=${value}`);
      config[key] = value;
      return { status: "Accepted" };
    });
    await c.call("BootNotification", boot);
    await waitUntil(() => cs.directory.snapshot("CP1")?.configuration?.MeterValueSampleInterval === "30", 3000, "configuration recorded");
    assert.deepEqual(changes, ["MeterValuesSampledData=Energy.Active.Import.Register,Power.Active.Import", "MeterValueSampleInterval=30"]);
    assert.equal(cs.directory.snapshot("CP1")!.configuration!.SupportedFeatureProfiles, "Core,SmartCharging");
  });
});
