import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { LocalListSync, startAutoSync, localListSyncFor } from "../../nodes/lib/ocpp/v16/local-list";
import { CommandError } from "../../nodes/lib/ocpp/core/command-error";
import { startChargePointSimulator } from "../servers/ocpp-charge-point";
import { startRig, waitFor, type Rig } from "./harness";

describe("local list sync", () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it("Full on first sync, Differential for changes, None when up to date", async () => {
    rig = await startRig();
    const { link, sim, central } = rig;
    central.idTags.set([
      { idTag: "AAA", status: "Accepted" },
      { idTag: "BBB", status: "Blocked", expiryDate: "2027-01-01T00:00:00.000Z" },
    ]);
    const sync = new LocalListSync(central.idTags);
    const first = await sync.sync(link);
    assert.deepEqual(first, { chargerId: "CP1", listVersion: 1, previousVersion: 0, updateType: "Full", sent: 2, messages: 1 });
    assert.deepEqual(sim.calls("SendLocalList"), [
      {
        listVersion: 1,
        updateType: "Full",
        localAuthorizationList: [
          { idTag: "AAA", idTagInfo: { status: "Accepted" } },
          { idTag: "BBB", idTagInfo: { status: "Blocked", expiryDate: "2027-01-01T00:00:00.000Z" } },
        ],
      },
    ]);

    central.idTags.upsert({ idTag: "CCC", status: "Accepted", parentIdTag: "AAA" });
    central.idTags.remove("BBB");
    const second = await sync.sync(link);
    assert.equal(second.updateType, "Differential");
    assert.deepEqual(sim.calls("SendLocalList")[1], {
      listVersion: 3,
      updateType: "Differential",
      localAuthorizationList: [{ idTag: "CCC", idTagInfo: { status: "Accepted", parentIdTag: "AAA" } }, { idTag: "BBB" }],
    });
    assert.deepEqual([...sim.state.localList.entries.keys()].sort(), ["AAA", "CCC"]);
    assert.equal(sim.state.localList.version, 3);

    const third = await sync.sync(link);
    assert.equal(third.updateType, "None");
    assert.equal(sim.calls("SendLocalList").length, 2);
    assert.equal(sim.calls("GetLocalListVersion").length, 3);
  });

  it("sends Full again when the charger's version differs from what we synced", async () => {
    rig = await startRig();
    const { link, sim, central } = rig;
    central.idTags.set([{ idTag: "AAA", status: "Accepted" }]);
    const sync = new LocalListSync(central.idTags);
    await sync.sync(link);
    sim.state.localList.version = 0; // e.g. after a factory reset
    sim.state.localList.entries.clear();
    central.idTags.upsert({ idTag: "BBB", status: "Accepted" });
    const result = await sync.sync(link);
    assert.equal(result.updateType, "Full");
    assert.deepEqual([...sim.state.localList.entries.keys()], ["AAA", "BBB"]);
  });

  it("falls back to Full on VersionMismatch", async () => {
    rig = await startRig();
    const { link, sim, central } = rig;
    central.idTags.set([{ idTag: "AAA", status: "Accepted" }]);
    const sync = new LocalListSync(central.idTags);
    await sync.sync(link);
    sim.behaviour.versionMismatchOnce = true;
    central.idTags.upsert({ idTag: "BBB", status: "Accepted" });
    const result = await sync.sync(link);
    assert.equal(result.fellBackToFull, true);
    assert.deepEqual(
      sim.calls("SendLocalList").map((c) => c.updateType),
      ["Full", "Differential", "Full"],
    );
    assert.equal(sim.state.localList.version, 2);
  });

  it("splits long lists by SendLocalListMaxLength (Full, then Differential of the same version)", async () => {
    rig = await startRig({ configuration: { SendLocalListMaxLength: "2" } });
    const { link, sim, central } = rig;
    central.directory.recordConfiguration("CP1", { SendLocalListMaxLength: "2", LocalAuthListMaxLength: "10" });
    central.idTags.set(["A", "B", "C", "D", "E"].map((idTag) => ({ idTag, status: "Accepted" as const })));
    const result = await new LocalListSync(central.idTags, { directory: central.directory }).sync(link);
    assert.equal(result.messages, 3);
    assert.deepEqual(
      sim.calls("SendLocalList").map((c) => `${String(c.updateType)}:${(c.localAuthorizationList as unknown[]).length}`),
      ["Full:2", "Differential:2", "Differential:1"],
    );
    assert.equal(sim.state.localList.entries.size, 5);
    central.directory.recordConfiguration("CP1", { LocalAuthListMaxLength: "3" });
    await assert.rejects(new LocalListSync(central.idTags, { directory: central.directory }).sync(link), /has 5 tags, but charger CP1 holds at most 3/);
  });

  it("a charger without a local list gives a not_supported error", async () => {
    rig = await startRig({ localListSupported: false });
    await assert.rejects(new LocalListSync(rig.central.idTags).sync(rig.link), (err) => {
      assert.ok(err instanceof CommandError);
      assert.equal(err.kind, "not_supported");
      assert.match(err.message, /CP1 does not support a local authorization list/);
      return true;
    });
  });

  it("auto sync: on change (debounced) and on connect; stop() ends it", async () => {
    rig = await startRig();
    const { sim, central } = rig;
    central.idTags.set([{ idTag: "AAA", status: "Accepted" }]);
    const sync = localListSyncFor(central.idTags);
    assert.equal(localListSyncFor(central.idTags), sync, "shared per id-tag list");
    const results: string[] = [];
    const stop = startAutoSync(central.directory, sync, central.idTags, { debounceMs: 20, onResult: (r) => results.push(`${r.chargerId}:${r.updateType}`) });
    central.idTags.upsert({ idTag: "BBB", status: "Accepted" });
    central.idTags.upsert({ idTag: "CCC", status: "Accepted" });
    await waitFor(() => results.length === 1);
    assert.deepEqual(results, ["CP1:Full"]);
    assert.equal(sim.state.localList.entries.size, 3);

    const sim2 = await startChargePointSimulator({ url: central.url, identity: "CP2" });
    try {
      await waitFor(() => results.length === 2);
      assert.deepEqual(results, ["CP1:Full", "CP2:Full"]);
      assert.equal(sim2.state.localList.entries.size, 3);
      stop();
      central.idTags.remove("AAA");
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(results.length, 2, "nothing after stop");
      assert.equal(sim.state.localList.entries.size, 3);
    } finally {
      await sim2.close();
    }
  });
});
