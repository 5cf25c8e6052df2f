/**
 * The local authorization list on OCPP 2.0.1 chargers over real websockets:
 * the central system against a charge point written on `ws`
 * (support/raw-201-charger.ts) that keeps its list as the 2.0.1 spec says
 * (Full replaces; a Differential needs a version above the current one,
 * D01.FR.19, and removes tokens sent without idTokenInfo). Every frame we
 * send is checked against ocpp-rpc's 2.0.1 schemas and asserted exactly.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { createValidator } from "ocpp-rpc";
import { startCentral, type Running } from "./support/central";
import { boot, connect, waitUntil } from "./support/clients";
import { RawCharger201 } from "./support/raw-201-charger";
import { STATION_REQUESTS_201 } from "./support/messages-201";
import { IdTagList } from "../../nodes/lib/ocpp/core/id-tags";
import { CommandError } from "../../nodes/lib/ocpp/core/command-error";
import { CommandRunner } from "../../nodes/lib/ocpp/core/command-runner";
import { localListSyncFor, startAutoSync, type LocalListSyncResult } from "../../nodes/lib/ocpp/core/local-list";
import { LocalListSync201, toAuthorizationData } from "../../nodes/lib/ocpp/v201/local-list";
import type { ChargerLink } from "../../nodes/lib/ocpp/core/contract";
import { startOcpp201Simulator } from "../servers/ocpp201-charge-point";

const validator = createValidator("ocpp2.0.1", createRequire(__filename)("ocpp-rpc/lib/schemas/ocpp2_0_1.json") as never);
const running: Running[] = [];
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)));
  await Promise.all(running.splice(0).map((r) => r.close()));
});

type Data = { idToken: { idToken: string; type: string }; idTokenInfo?: Record<string, unknown> };

/** A 2.0.1 charger's local list, kept by the spec's rules. */
interface Station {
  charger: RawCharger201;
  link: ChargerLink;
  list: { version: number; entries: Map<string, Data> };
  /** Answers to force on the next SendLocalList calls (e.g. "VersionMismatch"). */
  forced: string[];
  sent(): Array<Record<string, unknown>>;
}

async function station(r: Running, identity: string, model: Record<string, { value?: string; maxLimit?: number }> = {}): Promise<Station> {
  const list = { version: 0, entries: new Map<string, Data>() };
  const forced: string[] = [];
  const charger = await RawCharger201.connect(r.url, identity, ["ocpp2.0.1"], {
    GetLocalListVersion: () => ({ versionNumber: list.version }),
    SendLocalList: (p) => {
      const forcedStatus = forced.shift();
      if (forcedStatus) return { status: forcedStatus };
      const entries = (p.localAuthorizationList ?? []) as Data[];
      const version = p.versionNumber as number;
      if (p.updateType === "Full") {
        if (version <= 0 || entries.some((e) => !e.idTokenInfo)) return { status: "Failed" };
        list.entries = new Map(entries.map((e) => [e.idToken.idToken, e]));
      } else {
        if (version <= list.version) return { status: "VersionMismatch" };
        for (const e of entries) {
          if (e.idTokenInfo) list.entries.set(e.idToken.idToken, e);
          else list.entries.delete(e.idToken.idToken);
        }
      }
      list.version = version;
      return { status: "Accepted" };
    },
  });
  closers.push(() => charger.close());
  await charger.call("BootNotification", STATION_REQUESTS_201.BootNotification);
  if (Object.keys(model).length > 0) {
    // The device model as a charger reports it (NotifyReport), which is where the limits come from.
    const reportData = Object.entries(model).map(([name, { value, maxLimit }]) => ({
      component: { name: "LocalAuthListCtrlr" },
      variable: { name },
      variableAttribute: value === undefined ? [] : [{ type: "Actual", value }],
      variableCharacteristics: { dataType: name === "Enabled" || name === "Available" ? "boolean" : "integer", supportsMonitoring: false, ...(maxLimit === undefined ? {} : { maxLimit }) },
    }));
    await charger.call("NotifyReport", { requestId: 1, generatedAt: new Date().toISOString(), seqNo: 0, reportData });
  }
  const link = r.central.directory.link(identity);
  assert.ok(link, `${identity} connected`);
  return {
    charger,
    link,
    list,
    forced,
    sent: () => {
      const calls = charger.received.filter(([action]) => action === "SendLocalList" || action === "GetLocalListVersion");
      for (const [action, payload] of calls) assert.doesNotThrow(() => validator.validate(`urn:${action}.req`, payload), `${action} ${JSON.stringify(payload)}`);
      return calls.filter(([action]) => action === "SendLocalList").map(([, payload]) => payload);
    },
  };
}

async function start(): Promise<Running> {
  const r = await startCentral({ protocols: ["ocpp1.6", "ocpp2.0.1"] });
  running.push(r);
  return r;
}

const card = (idToken: string) => ({ idToken, type: "ISO14443" });

describe("local list on OCPP 2.0.1 chargers", () => {
  it("maps a 1.6 id-tag entry to 2.0.1 AuthorizationData", () => {
    assert.deepEqual(toAuthorizationData({ idTag: "AAA", status: "Blocked", expiryDate: "2027-01-01T00:00:00.000Z", parentIdTag: "FAMILY" }), {
      idToken: { idToken: "AAA", type: "ISO14443" },
      idTokenInfo: { status: "Blocked", cacheExpiryDateTime: "2027-01-01T00:00:00.000Z", groupIdToken: { idToken: "FAMILY", type: "Central" } },
    });
    assert.deepEqual(toAuthorizationData({ idTag: "APP1", status: "Accepted" }, "Central"), { idToken: { idToken: "APP1", type: "Central" }, idTokenInfo: { status: "Accepted" } });
  });

  it("Full on first sync, Differential (version above the charger's) for changes, None when up to date (exact frames)", async () => {
    const r = await start();
    const s = await station(r, "BMW");
    const idTags = new IdTagList([
      { idTag: "AAA", status: "Accepted" },
      { idTag: "BBB", status: "Blocked", expiryDate: "2027-01-01T00:00:00.000Z" },
    ]);
    const sync = new LocalListSync201(idTags, { directory: r.central.directory });
    const first = await sync.sync(s.link);
    assert.deepEqual(first, { chargerId: "BMW", previousVersion: 0, listVersion: 1, updateType: "Full", sent: 2, messages: 1 });
    assert.deepEqual(s.sent(), [
      {
        versionNumber: 1,
        updateType: "Full",
        localAuthorizationList: [
          { idToken: card("AAA"), idTokenInfo: { status: "Accepted" } },
          { idToken: card("BBB"), idTokenInfo: { status: "Blocked", cacheExpiryDateTime: "2027-01-01T00:00:00.000Z" } },
        ],
      },
    ]);

    idTags.upsert({ idTag: "CCC", status: "Accepted", parentIdTag: "AAA" });
    idTags.remove("BBB");
    const second = await sync.sync(s.link);
    assert.deepEqual(second, { chargerId: "BMW", previousVersion: 1, listVersion: 3, updateType: "Differential", sent: 2, messages: 1 });
    assert.deepEqual(s.sent()[1], {
      versionNumber: 3,
      updateType: "Differential",
      localAuthorizationList: [{ idToken: card("CCC"), idTokenInfo: { status: "Accepted", groupIdToken: { idToken: "AAA", type: "Central" } } }, { idToken: card("BBB") }],
    });
    assert.deepEqual([...s.list.entries.keys()].sort(), ["AAA", "CCC"]);
    assert.equal(s.list.version, 3);

    const third = await sync.sync(s.link);
    assert.equal(third.updateType, "None");
    assert.equal(s.sent().length, 2);
    assert.deepEqual(
      s.charger.received.map(([action]) => action),
      ["GetLocalListVersion", "SendLocalList", "GetLocalListVersion", "SendLocalList", "GetLocalListVersion"],
    );

    // An empty id-tag list clears the charger's: a Full without a list (the schema wants at least one entry in a list).
    idTags.replace([]);
    sync.forget("BMW");
    await sync.sync(s.link);
    assert.deepEqual(s.sent()[2], { versionNumber: 4, updateType: "Full" });
    assert.equal(s.list.entries.size, 0);
  });

  it("falls back to Full when the charger answers VersionMismatch or Failed to a Differential update", async () => {
    const r = await start();
    const s = await station(r, "BMW");
    const idTags = new IdTagList([{ idTag: "AAA", status: "Accepted" }]);
    const sync = new LocalListSync201(idTags, { directory: r.central.directory });
    await sync.sync(s.link);
    for (const [i, status] of ["VersionMismatch", "Failed"].entries()) {
      s.forced.push(status);
      idTags.upsert({ idTag: `NEW${i}`, status: "Accepted" });
      const result = await sync.sync(s.link);
      assert.equal(result.fellBackToFull, true, status);
      assert.equal(result.updateType, "Full");
      assert.equal(result.messages, 2);
    }
    assert.deepEqual(
      s.sent().map((p) => `${String(p.updateType)}:${String(p.versionNumber)}`),
      ["Full:1", "Differential:2", "Full:2", "Differential:3", "Full:3"],
    );
    assert.deepEqual([...s.list.entries.keys()], ["AAA", "NEW0", "NEW1"]);

    // A charger whose list was replaced behind our back (another version than we synced) gets the Full list.
    s.list.version = 77;
    s.list.entries.clear();
    idTags.upsert({ idTag: "ZZZ", status: "Accepted" });
    const again = await sync.sync(s.link);
    assert.equal(again.updateType, "Full");
    assert.equal(again.previousVersion, 77);
    assert.equal(s.list.entries.size, 4);

    // A refused Full list is an error that says so.
    s.forced.push("Failed");
    sync.forget("BMW");
    await assert.rejects(sync.sync(s.link), (err) => err instanceof CommandError && err.kind === "rejected" && /BMW refused the full local list \(Failed\)/.test(err.message));
  });

  it("splits by the device model's ItemsPerMessage and BytesPerMessage; the versions rise per message; refuses more than Entries' maxLimit", async () => {
    const r = await start();
    const s = await station(r, "SPLIT", { Enabled: { value: "true" }, ItemsPerMessage: { value: "2" }, BytesPerMessage: { value: "4000" }, Entries: { value: "0", maxLimit: 6 } });
    assert.equal(r.central.directory.snapshot("SPLIT")?.configuration?.["LocalAuthListCtrlr/Entries#maxLimit"], "6");
    const idTags = new IdTagList(["A", "B", "C", "D", "E"].map((idTag) => ({ idTag, status: "Accepted" as const })));
    const sync = new LocalListSync201(idTags, { directory: r.central.directory });
    const result = await sync.sync(s.link);
    assert.deepEqual(result, { chargerId: "SPLIT", previousVersion: 0, listVersion: 3, updateType: "Full", sent: 5, messages: 3 });
    assert.deepEqual(
      s.sent().map((p) => `${String(p.updateType)}:${String(p.versionNumber)}:${(p.localAuthorizationList as Data[]).map((e) => e.idToken.idToken).join("")}`),
      ["Full:1:AB", "Differential:2:CD", "Differential:3:E"],
    );
    assert.equal(s.list.entries.size, 5);
    // The next change goes above the charger's version 3, though the id-tag list is only at 2.
    idTags.upsert({ idTag: "F", status: "Accepted" });
    assert.equal(idTags.version, 2);
    const next = await sync.sync(s.link);
    assert.deepEqual([next.updateType, next.listVersion], ["Differential", 4]);
    idTags.upsert({ idTag: "G", status: "Accepted" });
    await assert.rejects(sync.sync(s.link), /has 7 tags, but charger SPLIT holds at most 6/);

    // BytesPerMessage alone: each frame, as it goes over the wire, stays within it.
    const r2 = await start();
    const tight = await station(r2, "TIGHT", { BytesPerMessage: { value: "260" } });
    const many = new IdTagList(["CARD-0001", "CARD-0002", "CARD-0003", "CARD-0004", "CARD-0005"].map((idTag) => ({ idTag, status: "Accepted" as const })));
    const out = await new LocalListSync201(many, { directory: r2.central.directory }).sync(tight.link);
    const frames = tight.sent();
    assert.ok(frames.length > 1, "split");
    assert.equal(out.messages, frames.length);
    for (const p of frames) assert.ok(Buffer.byteLength(JSON.stringify([2, "x".repeat(36), "SendLocalList", p])) <= 260, JSON.stringify(p));
    assert.equal(tight.list.entries.size, 5);
  });

  it("a switched-off list is a clear error and nothing is sent; a charger without one is not_supported", async () => {
    const r = await start();
    const off = await station(r, "OFF", { Enabled: { value: "false" } });
    const idTags = new IdTagList([{ idTag: "AAA", status: "Accepted" }]);
    const sync = new LocalListSync201(idTags, { directory: r.central.directory });
    await assert.rejects(sync.sync(off.link), (err) => {
      assert.ok(err instanceof CommandError);
      assert.equal(err.kind, "rejected");
      assert.match(err.message, /local authorization list is switched off on charger OFF \(LocalAuthListCtrlr.Enabled is false\).*LocalAuthListEnabled = true/);
      return true;
    });
    assert.deepEqual(off.charger.received, [], "nothing sent");

    const none = await station(r, "NONE", { Available: { value: "false" } });
    await assert.rejects(sync.sync(none.link), (err) => err instanceof CommandError && err.kind === "not_supported" && /NONE does not support a local authorization list/.test(err.message));

    const old = await RawCharger201.connect(r.url, "OLD", ["ocpp2.0.1"]);
    closers.push(() => old.close());
    // A charger that does not implement it answers a CALLERROR.
    old.ws.removeAllListeners("message");
    old.ws.on("message", (data) => {
      const [type, id, action] = JSON.parse(String(data)) as [number, string, string];
      if (type === 2) old.ws.send(JSON.stringify([4, id, "NotImplemented", `${action} is not implemented`, {}]));
    });
    await assert.rejects(sync.sync(r.central.directory.link("OLD")!), (err) => err instanceof CommandError && err.kind === "not_supported" && /NotImplemented/.test(err.message));
  });

  it("the simulated 2.0.1 station of `npm start` keeps a local list", async () => {
    const r = await start();
    const sim = await startOcpp201Simulator({ url: r.url, identity: "carport" });
    closers.push(() => sim.close());
    await waitUntil(() => r.central.directory.link("carport") !== undefined, 3000, "carport connected");
    const idTags = new IdTagList(["A", "B"].map((idTag) => ({ idTag, status: "Accepted" as const })));
    const sync = new LocalListSync201(idTags, { directory: r.central.directory });
    assert.equal((await sync.sync(r.central.directory.link("carport")!)).updateType, "Full");
    idTags.remove("A");
    assert.deepEqual(await sync.sync(r.central.directory.link("carport")!), { chargerId: "carport", previousVersion: 1, listVersion: 2, updateType: "Differential", sent: 1, messages: 1 });
    assert.deepEqual(sim.calls("SendLocalList").at(-1), { versionNumber: 2, updateType: "Differential", localAuthorizationList: [{ idToken: card("A") }] });
  });

  it("ev-ocpp-command's syncLocalList, GetLocalListVersion and SendLocalList work on a 2.0.1 charger as on 1.6; auto sync on connect serves both", async () => {
    const idTags = new IdTagList([{ idTag: "AAA", status: "Accepted", parentIdTag: "HOUSE" }]);
    const r = await start();
    const s = await station(r, "BMW");
    const run = new CommandRunner({ directory: r.central.directory, idTags, offline: { mode: "fail" }, timeoutMs: 3000 });
    closers.push(async () => run.close());
    const synced = await run.run({ chargerId: "BMW", command: "syncLocalList", input: {} });
    assert.deepEqual(synced.answer, { chargerId: "BMW", previousVersion: 0, listVersion: 1, updateType: "Full", sent: 1, messages: 1 });
    const version = await run.run({ chargerId: "BMW", command: "GetLocalListVersion", input: {} });
    assert.deepEqual(version.answer, { listVersion: 1, ocpp201: { versionNumber: 1 } });
    const direct = await run.run({
      chargerId: "BMW",
      command: "SendLocalList",
      input: { version: 9, updateType: "Differential", list: ["NEW", { idTag: "APP", type: "Central", status: "Blocked", expiryDate: "2027-01-01T00:00:00.000Z" }, { idTag: "AAA", remove: true }] },
    });
    assert.deepEqual(direct.request, {
      versionNumber: 9,
      updateType: "Differential",
      localAuthorizationList: [
        { idToken: card("NEW"), idTokenInfo: { status: "Accepted" } },
        { idToken: { idToken: "APP", type: "Central" }, idTokenInfo: { status: "Blocked", cacheExpiryDateTime: "2027-01-01T00:00:00.000Z" } },
        { idToken: card("AAA") },
      ],
    });
    await assert.rejects(run.run({ chargerId: "BMW", command: "SendLocalList", input: { version: 10, list: [{ idTag: "X", type: "Card" }] } }), /"Card" is not an id-token type/);
    s.sent(); // all schema-valid
    assert.deepEqual([...s.list.entries.keys()].sort(), ["APP", "NEW"]);
    // full: true forgets what the charger holds and sends the Full list again.
    const full = await run.run({ chargerId: "BMW", command: "syncLocalList", input: { full: true } });
    assert.deepEqual([(full.answer as LocalListSyncResult).updateType, (full.answer as LocalListSyncResult).previousVersion], ["Full", 9]);
    assert.deepEqual([...s.list.entries.keys()], ["AAA"]);

    // Auto sync: a 2.0.1 and a 1.6 charger that connect get the list, each in its own frames.
    const results: string[] = [];
    const stop = startAutoSync(r.central.directory, localListSyncFor(idTags, { directory: r.central.directory }), idTags, {
      debounceMs: 20,
      onResult: (result) => results.push(`${result.chargerId}:${result.updateType}`),
    });
    closers.push(async () => stop());
    const late = await station(r, "LATE201");
    const c16 = await connect(r.url, "LATE16", { protocols: ["ocpp1.6"] });
    closers.push(() => c16.close({ force: true }));
    const calls16: Array<[string, unknown]> = [];
    c16.handle("GetLocalListVersion", () => (calls16.push(["GetLocalListVersion", {}]), Promise.resolve({ listVersion: 0 })));
    c16.handle("SendLocalList", ({ params }) => (calls16.push(["SendLocalList", params]), Promise.resolve({ status: "Accepted" })));
    await c16.call("BootNotification", boot);
    await waitUntil(() => results.includes("LATE201:Full") && results.includes("LATE16:Full"), 3000, "both synced");
    assert.deepEqual(late.sent(), [{ versionNumber: 1, updateType: "Full", localAuthorizationList: [{ idToken: card("AAA"), idTokenInfo: { status: "Accepted", groupIdToken: { idToken: "HOUSE", type: "Central" } } }] }]);
    assert.deepEqual(calls16[1], ["SendLocalList", { listVersion: 1, updateType: "Full", localAuthorizationList: [{ idTag: "AAA", idTagInfo: { status: "Accepted", parentIdTag: "HOUSE" } }] }]);
  });
});
