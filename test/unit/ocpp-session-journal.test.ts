import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { TransactionStore, type TransactionPersistence } from "../../nodes/lib/ocpp/core/transactions";
import { JsonFileStore } from "../../nodes/lib/ocpp/core/json-file-store";
import { transactionFile } from "../../nodes/lib/ocpp/core/session-file";
import { JournalLineError, SessionJournal } from "../../nodes/lib/ocpp/core/session-journal";
import type { IncrementalPersistence, RecordChanges } from "../../nodes/lib/ocpp/core/session-persistence";
import { normalizeMeterValues } from "../../nodes/lib/ocpp/core/meter-values";

const NOW = new Date("2026-11-21T12:00:00.000Z");
const T0 = "2026-11-21T11:00:00.000Z";
const T1 = "2026-11-21T11:10:00.000Z";
const T2 = "2026-11-21T11:20:00.000Z";

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "evkit-journal-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function meter(kWh: string, at: string, transactionId: number) {
  return normalizeMeterValues(1, transactionId, [{ timestamp: at, sampledValue: [{ value: kWh, unit: "kWh" }, { value: "7.2", unit: "kW", measurand: "Power.Active.Import" }] }]);
}

function journals(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(".journal")).sort();
}

function journalBytes(dir: string): number {
  return journals(dir).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
}

describe("session journal: reading what deployed installs have", () => {
  it("loads the <nodeId>-transactions.json of the previous version: sessions, ids and retransmits carry on", async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, "n1-transactions.json");
    // Written exactly as the previous version wrote it: the store's toJSON() through JsonFileStore.
    const old = await TransactionStore.open({ persistence: new JsonFileStore(file), firstTransactionId: 500 });
    old.start("cp1", { connectorId: 1, idTag: "TAG1", meterStart: 10_000, timestamp: T0 }, NOW, { status: "Accepted" });
    old.start("cp2", { connectorId: 1, idTag: "TAG2", meterStart: 0, timestamp: T0 }, NOW);
    old.meter("cp1", 1, 500, meter("10.5", T1, 500), NOW);
    old.stop("cp2", { transactionId: 501, meterStop: 4000, timestamp: T1 }, NOW);
    await old.close();
    const before = readFileSync(file, "utf8");
    assert.equal((JSON.parse(before) as { format: string }).format, "evkit-ocpp-transactions");

    const store = await TransactionStore.open({ persistence: transactionFile(file) });
    assert.equal(store.lastTransactionId, 501);
    assert.equal(store.sessionFor("cp1", 1)?.registerWh, 10_500);
    assert.deepEqual(store.start("cp1", { connectorId: 1, idTag: "TAG1", meterStart: 10_000, timestamp: T0 }, NOW).idTagInfo, { status: "Accepted" });
    assert.equal(store.stop("cp2", { transactionId: 501, meterStop: 4000, timestamp: T1 }, NOW).duplicate, true);
    assert.equal((await Promise.resolve(store.start("cp3", { connectorId: 1, idTag: "T", meterStart: 0, timestamp: T1 }, NOW))).transactionId, 502);
    await store.close();
    // After a clean close the .json alone is complete and still in the old format (a downgrade reads it).
    const after = JSON.parse(readFileSync(file, "utf8")) as { format: string; version: number; lastTransactionId: number; sessions: Array<{ transactionId: number }> };
    assert.deepEqual([after.format, after.version, after.lastTransactionId], ["evkit-ocpp-transactions", 1, 502]);
    assert.deepEqual(after.sessions.map((s) => s.transactionId).sort(), [500, 501, 502]);
    const downgraded = await TransactionStore.open({ persistence: new JsonFileStore(file) });
    assert.equal(downgraded.lastTransactionId, 502);
    assert.equal(downgraded.openSessions().length, 2);
  });
});

describe("session journal: generic over the session record", () => {
  it("keeps records it does not interpret, such as a 2.0.1 session with a string transaction id", async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, "g-transactions.json");
    const journal = transactionFile(file);
    await journal.load();
    const record = { transactionId: "9f1c-uuid", identity: "cp201", evseId: 1, seqNo: 4, startedAt: T0 };
    await journal.write({ put: [["cp201\u00009f1c-uuid", record]], patch: [["cp201\u00009f1c-uuid", { seqNo: 5 }]], remove: [], counters: {}, durable: true });
    await journal.close();
    const again = transactionFile(file);
    const state = (await again.load()) as { sessions: Array<Record<string, unknown>> };
    assert.deepEqual(state.sessions, [{ ...record, seqNo: 5 }]);
    await again.close();
    const reread = transactionFile(file);
    assert.deepEqual(((await reread.load()) as { sessions: unknown[] }).sessions, [{ ...record, seqNo: 5 }], "also from the compacted snapshot");
    await reread.close();
  });
});

describe("session journal: a save costs what changed", () => {
  it("one meter change among 2000 open sessions appends one short line and leaves the snapshot alone", async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, "n-transactions.json");
    const store = await TransactionStore.open({ persistence: transactionFile(file), firstTransactionId: 1, meterSaveDelayMs: 0 });
    for (let i = 0; i < 2000; i++) store.start(`cp${i}`, { connectorId: 1, idTag: "T", meterStart: 0, timestamp: T0 }, NOW);
    assert.equal(await store.flush(), true);
    const snapshotBefore = statSync(file, { throwIfNoEntry: false })?.mtimeMs;
    const bytesBefore = journalBytes(dir);
    assert.equal(await store.meter("cp7", 1, 8, meter("1.5", T1, 8), NOW).saved, true);
    const grew = journalBytes(dir) - bytesBefore;
    assert.ok(grew > 0 && grew < 200, `one meter change wrote ${grew} bytes`);
    assert.equal(statSync(file, { throwIfNoEntry: false })?.mtimeMs, snapshotBefore);
    await store.close();
    const again = await TransactionStore.open({ persistence: transactionFile(file) });
    assert.equal(again.openSessions().length, 2000);
    assert.equal(again.sessionFor("cp7", 1)?.registerWh, 1500);
    await again.close();
  });

  it("a MeterValues that arrives while a save runs waits for the save window instead of starting the next save at once", async () => {
    let saves = 0;
    const slow: TransactionPersistence = {
      load: async () => undefined,
      save: async () => {
        saves++;
        await new Promise((r) => setTimeout(r, 40));
      },
    };
    const store = await TransactionStore.open({ persistence: slow, firstTransactionId: 1, meterSaveDelayMs: 300 });
    const started = store.start("cp1", { connectorId: 1, idTag: "T", meterStart: 0, timestamp: T0 }, NOW).saved;
    await new Promise((r) => setTimeout(r, 5)); // the Start's save is running
    const meterSaved = store.meter("cp1", 1, 1, meter("1", T1, 1), NOW).saved;
    await started;
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(saves, 1, "the meter change must wait for its window");
    await new Promise((r) => setTimeout(r, 300)); // (the store's timer does not keep a process alive)
    assert.equal(saves, 2);
    assert.equal(await meterSaved, true);
    await store.close();
  });
});

describe("session journal: every save window carries the meter changes made in it", () => {
  it("saves the newest register after each window, after a failed write, and for a session forgotten and adopted again", async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, "n-transactions.json");
    const inner = transactionFile(file) as IncrementalPersistence;
    let failNext = false;
    // The real journal, with one write made to fail on demand.
    const flaky: IncrementalPersistence = {
      ...inner,
      load: () => inner.load(),
      write: (changes: RecordChanges<unknown>) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error("disk full"));
        }
        return inner.write(changes);
      },
    } as IncrementalPersistence;
    const errors: string[] = [];
    const store = await TransactionStore.open({ persistence: flaky, firstTransactionId: 1, meterSaveDelayMs: 0, onError: (e: Error) => errors.push(e.message) });
    store.start("cp1", { connectorId: 1, idTag: "T", meterStart: 0, timestamp: T0 }, NOW);
    store.start("cp2", { connectorId: 1, idTag: "T", meterStart: 0, timestamp: T0 }, NOW);
    assert.equal(await store.flush(), true);
    const reopened = async () => {
      const again = await TransactionStore.open({ persistence: transactionFile(file) });
      const wh = [again.session("cp1", 1)?.registerWh, again.session("cp2", 2)?.registerWh];
      await again.close();
      return wh;
    };
    // Window 1, then window 2: the second change of a session must not be taken as already pending.
    store.meter("cp1", 1, 1, meter("1", "2026-11-21T11:01:00.000Z", 1), NOW);
    assert.equal(await store.flush(), true);
    store.meter("cp1", 1, 1, meter("2", "2026-11-21T11:02:00.000Z", 1), NOW);
    store.meter("cp1", 1, 1, meter("3", "2026-11-21T11:03:00.000Z", 1), NOW);
    assert.equal(await store.flush(), true);
    await store.close().then(() => undefined, () => undefined);
    assert.deepEqual(await reopened(), [3000, undefined]);

    const store2 = await TransactionStore.open({ persistence: flaky, firstTransactionId: 1, meterSaveDelayMs: 0, onError: (e: Error) => errors.push(e.message) });
    // A failed write: its changes go with the next one, and later changes of the same session still count.
    failNext = true;
    assert.equal(await store2.meter("cp2", 1, 2, meter("4", "2026-11-21T11:04:00.000Z", 2), NOW).saved, false);
    store2.meter("cp2", 1, 2, meter("5", "2026-11-21T11:05:00.000Z", 2), NOW);
    assert.equal(await store2.flush(), true);
    // Forgotten (another instance took the charger) and adopted back: its changes are saved again.
    const record = store2.session("cp1", 1)!;
    store2.meter("cp1", 1, 1, meter("6", "2026-11-21T11:06:00.000Z", 1), NOW);
    assert.equal(store2.forget("cp1", 1), true);
    assert.equal(store2.adopt({ ...record, registerWh: 6000, lastSampleTime: "2026-11-21T11:06:00.000Z" }), true);
    assert.equal(await store2.flush(), true);
    store2.meter("cp1", 1, 1, meter("7", "2026-11-21T11:07:00.000Z", 1), NOW);
    assert.equal(await store2.flush(), true);
    await store2.close();
    assert.deepEqual(await reopened(), [7000, 5000]);
    assert.ok(errors.some((e) => e.includes("disk full")), errors.join("; "));
    // The flag that spares MeterValues the change-set lookups is never saved.
    for (const f of readdirSync(dir)) assert.ok(!readFileSync(path.join(dir, f), "utf8").includes("pending"), f);
  });
});

describe("session store: large saves", () => {
  it("writes a big batch in slices with a turn for the event loop between them; a Start that comes meanwhile is fsynced", async () => {
    const writes: Array<{ size: number; durable: boolean; puts: string[] }> = [];
    const opened: { store?: TransactionStore } = {};
    let lateStart: Promise<boolean> | undefined;
    const persistence: IncrementalPersistence = {
      load: async () => undefined,
      save: async () => undefined,
      write: async (c: RecordChanges) => {
        writes.push({ size: c.put.length + c.patch.length + c.remove.length, durable: c.durable, puts: c.put.map(([k]) => k) });
        // While the meter batch is being written, a charger starts a session.
        if (c.patch.length > 0 && !lateStart) lateStart = opened.store!.start("late", { connectorId: 1, idTag: "T", meterStart: 0, timestamp: T2 }, NOW).saved;
        await new Promise((r) => setTimeout(r, 1));
      },
    };
    const store = await TransactionStore.open({ persistence, firstTransactionId: 1, meterSaveDelayMs: 30 });
    opened.store = store;
    for (let i = 0; i < 1200; i++) store.start(`cp${i}`, { connectorId: 1, idTag: "T", meterStart: 0, timestamp: T0 }, NOW);
    await store.flush();
    writes.length = 0;
    for (let i = 0; i < 1200; i++) store.meter(`cp${i}`, 1, i + 1, meter("2", T1, i + 1), NOW);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(writes.length >= 3, `expected slices, got ${writes.length} write(s)`);
    assert.ok(writes.every((w) => w.size <= 500), `slices of at most 500: ${writes.map((w) => w.size).join(", ")}`);
    assert.equal(writes.reduce((n, w) => n + w.size, 0), 1201);
    const withLate = writes.find((w) => w.puts.includes("late\u00001201"));
    assert.ok(withLate?.durable, "the late Start was written durably");
    assert.equal(await lateStart, true);
    await store.close();
  });
});

describe("session journal: compaction and recovery", () => {
  it("compacts in the background past the size limit, deletes covered journals and reloads the same state", async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, "n-transactions.json");
    const journal = new SessionJournal({
      file,
      header: { format: "evkit-ocpp-transactions", version: 1 },
      recordsField: "sessions",
      counters: ["lastTransactionId"],
      keyOf: (r) => `${String(r.identity)}\u0000${String(r.transactionId)}`,
      minCompactBytes: 4096,
      compactFactor: 2,
      sliceRecords: 7,
    });
    const store = await TransactionStore.open({ persistence: journal, firstTransactionId: 1, meterSaveDelayMs: 0 });
    for (let i = 0; i < 50; i++) await store.start(`cp${i}`, { connectorId: 1, idTag: "T", meterStart: 0, timestamp: T0 }, NOW).saved;
    for (let round = 1; round <= 20; round++) {
      for (let i = 0; i < 50; i++) store.meter(`cp${i}`, 1, i + 1, meter(String(round), new Date(Date.parse(T1) + round * 1000).toISOString(), i + 1), NOW);
      await store.flush();
      await journal.settled();
    }
    const snap = JSON.parse(readFileSync(file, "utf8")) as { journalGeneration: number; sessions: unknown[] };
    assert.ok(snap.journalGeneration >= 2, `compacted more than once (generation ${snap.journalGeneration})`);
    assert.equal(snap.sessions.length, 50);
    assert.ok(journals(dir).length <= 2, `old journals deleted: ${journals(dir).join(", ")}`);
    // Bounded by the compaction rule (2 × the snapshot here) plus one round.
    const roundBytes = 50 * 120;
    assert.ok(journalBytes(dir) <= 2 * statSync(file).size + roundBytes, `the journal stays bounded (${journalBytes(dir)} bytes)`);
    // Killed without close: the snapshot plus what is in the journals.
    const again = await TransactionStore.open({ persistence: transactionFile(file) });
    assert.equal(again.openSessions().length, 50);
    assert.equal(again.sessionFor("cp49", 1)?.registerWh, 20_000);
    assert.equal(again.lastTransactionId, 50);
    await again.close();
    await store.close();
  });

  it("replays every journal from the snapshot's generation, ignores older ones and skips a torn last line", async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, "x-transactions.json");
    const rec = (id: number, wh: number) => ({ transactionId: id, identity: "cp", connectorId: 1, startTime: T0, startedAt: T0, registerWh: wh });
    writeFileSync(file, JSON.stringify({ format: "evkit-ocpp-transactions", version: 1, lastTransactionId: 2, journalGeneration: 3, sessions: [rec(1, 10), rec(2, 20)] }));
    // Generation 2 is older than the snapshot: already in it, and must not undo it.
    writeFileSync(path.join(dir, "x-transactions.2.journal"), `${JSON.stringify(["d", "cp\u00001"])}\n`);
    // Generation 3 and 4: a crash between starting a new generation and writing the snapshot leaves both.
    writeFileSync(path.join(dir, "x-transactions.3.journal"), `${JSON.stringify(["u", "cp\u00002", { registerWh: 25 }])}\n${JSON.stringify(["c", { lastTransactionId: 3 }])}\n`);
    writeFileSync(path.join(dir, "x-transactions.4.journal"), `${JSON.stringify(["p", "cp\u00003", rec(3, 30)])}\n`);
    appendFileSync(path.join(dir, "x-transactions.4.journal"), '["u","cp\\u00003",{"registerWh":3');
    const problems: Error[] = [];
    const store = await TransactionStore.open({ persistence: transactionFile(file, (e) => problems.push(e)) });
    assert.deepEqual(
      store.openSessions().map((s) => [s.transactionId, s.registerWh]),
      [
        [1, 10],
        [2, 25],
        [3, 30],
      ],
    );
    assert.equal(store.lastTransactionId, 3);
    assert.equal(problems.length, 1);
    assert.ok(problems[0] instanceof JournalLineError);
    assert.ok(!journals(dir).includes("x-transactions.2.journal"), "a journal older than the snapshot is deleted");
    // New lines go to a new generation, never after the torn line.
    assert.ok(journals(dir).includes("x-transactions.5.journal"));
    await store.close();
  });

  it("moves an unreadable snapshot and its journals aside and starts empty, saying so", async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, "y-transactions.json");
    writeFileSync(file, "{not json");
    writeFileSync(path.join(dir, "y-transactions.0.journal"), `${JSON.stringify(["c", { lastTransactionId: 9 }])}\n`);
    const errors: string[] = [];
    const store = await TransactionStore.open({ persistence: transactionFile(file), firstTransactionId: 100, onError: (e) => errors.push(e.message) });
    assert.match(errors[0], /was not valid JSON; it was moved to .*corrupt/);
    assert.equal(store.start("cp", { connectorId: 1, idTag: "T", meterStart: 0, timestamp: T0 }, NOW).transactionId, 100);
    assert.equal(readdirSync(dir).filter((f) => f.includes("corrupt")).length, 2);
    await store.close();
  });
});

describe("session journal: kill -9", () => {
  function child(file: string, windowMs: number): ChildProcess {
    return fork(path.join(__dirname, "support", "session-store-child.ts"), [file, String(windowMs)], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
  }
  async function ask(c: ChildProcess, cmd?: object): Promise<Record<string, unknown>> {
    const reply = once(c, "message");
    if (cmd) c.send(cmd);
    const [msg] = (await reply) as [Record<string, unknown>];
    if (msg.error) throw new Error(String(msg.error));
    return msg;
  }

  it("keeps every id and session a killed process had answered, and meter values older than the save window", async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, "k-transactions.json");
    const windowMs = 200;
    const first = child(file, windowMs);
    t.after(() => first.kill("SIGKILL"));
    await ask(first);
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) ids.push(Number((await ask(first, { op: "start", identity: `cp${i}`, connectorId: 1, timestamp: T0 })).transactionId));
    await ask(first, { op: "stop", identity: "cp0", transactionId: ids[0], meterStop: 2000, timestamp: T1 });
    await ask(first, { op: "meter", identity: "cp1", transactionId: ids[1], wh: 1500, timestamp: T1 });
    await new Promise((r) => setTimeout(r, windowMs * 3)); // past the save window
    await ask(first, { op: "meter", identity: "cp1", transactionId: ids[1], wh: 1600, timestamp: T2 }); // inside it: may be lost
    first.kill("SIGKILL");
    await once(first, "exit");

    const store = await TransactionStore.open({ persistence: transactionFile(file) });
    assert.equal(store.lastTransactionId, ids[29]);
    assert.equal(store.openSessions().length, 29);
    assert.equal(store.session("cp0", ids[0])?.end?.energyWh, 1000);
    assert.ok([1500, 1600].includes(store.sessionFor("cp1", 1)?.registerWh ?? 0), "the reading older than the window survived");
    // A retransmitted Start gets the id it got before the kill; a new one never reuses an id.
    const retry = store.start("cp5", { connectorId: 1, idTag: "TAG", meterStart: 1000, timestamp: T0 }, NOW);
    assert.deepEqual([retry.duplicate, retry.transactionId], [true, ids[5]]);
    assert.equal(store.start("cp99", { connectorId: 1, idTag: "TAG", meterStart: 0, timestamp: T1 }, NOW).transactionId, ids[29] + 1);
    await store.close();

    // And a second kill, with the first's journal on disk, loses nothing either.
    const second = child(file, windowMs);
    t.after(() => second.kill("SIGKILL"));
    assert.equal((await ask(second)).lastTransactionId, ids[29] + 1);
    const next = Number((await ask(second, { op: "start", identity: "cpX", connectorId: 1, timestamp: T2 })).transactionId);
    second.kill("SIGKILL");
    await once(second, "exit");
    const third = await TransactionStore.open({ persistence: transactionFile(file) });
    assert.equal(third.lastTransactionId, next);
    assert.equal(third.sessionFor("cpX", 1)?.transactionId, next);
    await third.close();
  });
});
