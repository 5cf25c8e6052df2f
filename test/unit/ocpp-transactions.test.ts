import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MeterHint, TransactionStore, type Session, type TransactionPersistence } from "../../nodes/lib/ocpp/core/transactions";
import { normalizeMeterValues } from "../../nodes/lib/ocpp/core/meter-values";
import type { StartTransactionRequest } from "../../nodes/lib/ocpp/v16/messages";

const NOW = new Date("2026-11-21T12:00:00.000Z");
const T0 = "2026-11-21T11:00:00.000Z";
const T1 = "2026-11-21T11:10:00.000Z";
const T2 = "2026-11-21T11:20:00.000Z";
const T3 = "2026-11-21T11:30:00.000Z";

/** A persistence that keeps a JSON copy, like a context store writing to disk. */
class JsonPersistence implements TransactionPersistence {
  stored: string | undefined;
  saves = 0;
  inFlight = 0;
  maxInFlight = 0;
  constructor(
    private readonly delayMs = 0,
    public failNext = 0,
  ) {}
  async load(): Promise<unknown> {
    return this.stored === undefined ? undefined : JSON.parse(this.stored);
  }
  async save(data: unknown): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.failNext > 0) {
        this.failNext--;
        throw new Error("disk full");
      }
      this.stored = JSON.stringify(data);
      this.saves++;
    } finally {
      this.inFlight--;
    }
  }
}

function startReq(overrides: Partial<StartTransactionRequest> = {}): StartTransactionRequest {
  return { connectorId: 1, idTag: "TAG1", meterStart: 10_000, timestamp: T0, ...overrides };
}

function energySamples(connectorId: number, transactionId: number | undefined, timestamp: string, kWh: string) {
  return normalizeMeterValues(connectorId, transactionId, [
    {
      timestamp,
      sampledValue: [
        { value: kWh, unit: "kWh" },
        { value: "7.2", unit: "kW", measurand: "Power.Active.Import" },
      ],
    },
  ]);
}

describe("TransactionStore start", () => {
  it("hands out increasing ids and emits session.started", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 100 });
    const first = store.start("cp1", startReq({ reservationId: 3 }), NOW, { status: "Accepted" });
    assert.equal(first.transactionId, 100);
    assert.equal(first.duplicate, false);
    assert.deepEqual(first.event, {
      kind: "session.started",
      identity: "cp1",
      time: NOW.toISOString(),
      transactionId: 100,
      idTag: "TAG1",
      connectorId: 1,
      meterStartWh: 10_000,
      startTime: T0,
      reservationId: 3,
    });
    const second = store.start("cp2", startReq(), NOW);
    assert.equal(second.transactionId, 101);
    assert.equal(await first.saved, true);
    assert.equal(store.lastTransactionId, 101);
  });

  it("returns the same id and first idTagInfo for a retransmitted Start, without an event", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    const first = store.start("cp1", startReq(), NOW, { status: "Accepted", expiryDate: "2027-01-01T00:00:00.000Z" });
    assert.deepEqual(store.findStart("cp1", startReq())?.transactionId, 1);
    const again = store.start("cp1", startReq(), NOW, { status: "Invalid" });
    assert.equal(again.transactionId, first.transactionId);
    assert.equal(again.duplicate, true);
    assert.equal(again.event, undefined);
    assert.deepEqual(again.idTagInfo, { status: "Accepted", expiryDate: "2027-01-01T00:00:00.000Z" });
    // Same payload from another charger, or another meterStart, is a new transaction.
    assert.equal(store.start("cp2", startReq(), NOW).transactionId, 2);
    assert.equal(store.start("cp1", startReq({ connectorId: 2, meterStart: 10_001 }), NOW).transactionId, 3);
    assert.equal(store.openSessions().length, 3);
  });

  it("ends an abandoned session on the same connector as Replaced, from its last register reading", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq(), NOW);
    store.meter("cp1", 1, 1, energySamples(1, 1, T1, "15.5"), NOW);
    const next = store.start("cp1", startReq({ idTag: "TAG2", meterStart: 16_000, timestamp: T2 }), NOW);
    assert.equal(next.transactionId, 2);
    assert.deepEqual(next.replaced, {
      kind: "session.ended",
      identity: "cp1",
      time: NOW.toISOString(),
      transactionId: 1,
      idTag: "TAG1",
      connectorId: 1,
      meterStartWh: 10_000,
      meterStopWh: 15_500,
      energyWh: 5500,
      startTime: T0,
      stopTime: T2,
      reason: "Replaced",
      energyNote: "estimated: no StopTransaction came; last register reading used",
    });
    assert.deepEqual(
      store.openSessions("cp1").map((s) => s.transactionId),
      [2],
    );
    assert.equal(store.sessionFor("cp1", 1)?.transactionId, 2);

    // The real Stop of the replaced session arrives late: it corrects the figures once.
    const late = store.stop("cp1", { transactionId: 1, meterStop: 15_900, timestamp: T1, reason: "EVDisconnected" }, NOW);
    assert.equal(late.known, true);
    assert.equal(late.duplicate, false);
    assert.equal(late.event?.correction, true);
    assert.equal(late.event?.energyWh, 5900);
    assert.equal(late.event?.reason, "EVDisconnected");
    const again = store.stop("cp1", { transactionId: 1, meterStop: 15_900, timestamp: T1 }, NOW);
    assert.equal(again.duplicate, true);
    assert.equal(again.event, undefined);
  });

  it("takes a replaced session's end register from the next Start when it had no meter values", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq(), NOW);
    const next = store.start("cp1", startReq({ meterStart: 13_000, timestamp: T2 }), NOW);
    assert.deepEqual(
      [next.replaced?.meterStopWh, next.replaced?.energyWh, next.replaced?.energyNote],
      [13_000, 3000, "estimated: no StopTransaction came; register taken from the next StartTransaction"],
    );
    // A per-session meter (meterStart back to 0) gives no estimate rather than a wrong one.
    const reset = store.start("cp1", startReq({ meterStart: 0, timestamp: T3 }), NOW);
    assert.deepEqual(
      [reset.replaced?.transactionId, reset.replaced?.meterStopWh, reset.replaced?.energyWh],
      [2, undefined, undefined],
    );
  });

  it("does not let an older Start arriving late end a newer session", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq({ timestamp: T2 }), NOW);
    const older = store.start("cp1", startReq({ timestamp: T1, idTag: "OLD" }), NOW);
    assert.equal(older.replaced, undefined);
    assert.equal(store.sessionFor("cp1", 1)?.transactionId, 1);
    assert.equal(store.openSessions("cp1").length, 2);
  });

  it("hands out copies, so editing a result does not change the store", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    const result = store.start("cp1", startReq(), NOW, { status: "Accepted" });
    result.session.meterStartWh = 0;
    result.session.idTagInfo!.status = "Blocked";
    store.openSessions()[0].idTag = "EVIL";
    assert.deepEqual(
      [store.session("cp1", 1)?.meterStartWh, store.session("cp1", 1)?.idTagInfo?.status, store.sessionFor("cp1", 1)?.idTag],
      [10_000, "Accepted", "TAG1"],
    );
  });

  it("refuses to work before load() when a persistence is configured", () => {
    const store = new TransactionStore({ persistence: new JsonPersistence() });
    assert.throws(() => store.start("cp1", startReq(), NOW), /await load\(\)/);
  });
});

describe("TransactionStore stop", () => {
  it("ends a session with energy = meterStop - meterStart, once", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 7 });
    store.start("cp1", startReq(), NOW);
    const req = { transactionId: 7, meterStop: 22_345, timestamp: T1, idTag: "TAG1", reason: "Remote" as const };
    const result = store.stop("cp1", req, NOW);
    assert.equal(result.known, true);
    assert.equal(result.duplicate, false);
    assert.deepEqual(result.event, {
      kind: "session.ended",
      identity: "cp1",
      time: NOW.toISOString(),
      transactionId: 7,
      idTag: "TAG1",
      connectorId: 1,
      meterStartWh: 10_000,
      meterStopWh: 22_345,
      energyWh: 12_345,
      startTime: T0,
      stopTime: T1,
      reason: "Remote",
      stopIdTag: "TAG1",
    });
    assert.deepEqual(store.openSessions(), []);
    const again = store.stop("cp1", req, NOW);
    assert.deepEqual([again.known, again.duplicate, again.event], [true, true, undefined]);
  });

  it("defaults the reason to Local, as the spec says", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq(), NOW);
    assert.equal(store.stop("cp1", { transactionId: 1, meterStop: 10_000, timestamp: T1 }, NOW).event?.reason, "Local");
  });

  it("answers a Stop for an unknown transaction and takes meterStart from Transaction.Begin", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    const req = {
      transactionId: 555,
      meterStop: 3000,
      timestamp: T2,
      transactionData: [
        { timestamp: T0, sampledValue: [{ value: "1.0", unit: "kWh" as const, context: "Transaction.Begin" as const }] },
        { timestamp: T2, sampledValue: [{ value: "3.0", unit: "kWh" as const, context: "Transaction.End" as const }] },
      ],
    };
    const result = store.stop("cp1", req, NOW);
    assert.equal(result.known, false);
    assert.equal(result.duplicate, false);
    assert.deepEqual(result.event, {
      kind: "session.ended",
      identity: "cp1",
      time: NOW.toISOString(),
      transactionId: 555,
      meterStartWh: 1000,
      meterStopWh: 3000,
      energyWh: 2000,
      stopTime: T2,
      reason: "Local",
      unknownTransaction: true,
    });
    assert.deepEqual(
      result.samples.map((s) => [s.context, s.value]),
      [
        ["Transaction.Begin", 1000],
        ["Transaction.End", 3000],
      ],
    );
    const again = store.stop("cp1", req, NOW);
    assert.deepEqual([again.known, again.duplicate, again.event], [false, true, undefined]);
    // The unknown id is held: our own counter skips it.
    const s = await TransactionStore.open({ firstTransactionId: 555 });
    s.stop("cp1", req, NOW);
    assert.equal(s.start("cp1", startReq(), NOW).transactionId, 556);
  });

  it("treats a Stop from another charger than the one that started it as unknown", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq(), NOW);
    const result = store.stop("cp2", { transactionId: 1, meterStop: 11_000, timestamp: T1 }, NOW);
    assert.equal(result.known, false);
    assert.equal(result.event?.energyNote, "unknown transaction: no meterStart to subtract");
    assert.equal(store.openSessions("cp1").length, 1);
  });

  it("falls back to the last register reading when meterStop is 0, and notes a register below meterStart", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq(), NOW);
    store.meter("cp1", 1, 1, energySamples(1, 1, T1, "12"), NOW);
    const ended = store.stop("cp1", { transactionId: 1, meterStop: 0, timestamp: T2 }, NOW).event;
    assert.equal(ended?.meterStopWh, 12_000);
    assert.equal(ended?.energyWh, 2000);
    assert.equal(ended?.energyNote, "meterStop 0 is unusable; used the last register reading 12000 Wh");

    store.start("cp1", startReq({ timestamp: T3 }), NOW);
    const during = store.meter("cp1", 1, 2, energySamples(1, 2, T3, "0.2"), NOW).event;
    assert.deepEqual([during?.energyWh, during?.meterStopWh], [undefined, 200]);
    assert.match(during?.energyNote ?? "", /register 200 Wh is below meterStart 10000 Wh/);
    const odd = store.stop("cp1", { transactionId: 2, meterStop: 500, timestamp: T3 }, NOW).event;
    assert.equal(odd?.energyWh, undefined);
    assert.match(odd?.energyNote ?? "", /register 500 Wh is below meterStart 10000 Wh/);
  });

  it("applies transactionData to the session before ending it", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq(), NOW);
    const ended = store.stop(
      "cp1",
      {
        transactionId: 1,
        meterStop: 0,
        timestamp: T2,
        transactionData: [{ timestamp: T2, sampledValue: [{ value: "14.2", unit: "kWh", context: "Transaction.End" }] }],
      },
      NOW,
    ).event;
    assert.equal(ended?.energyWh, 4200);
  });

  it("lets a flow close a zombie session", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq(), NOW);
    const closed = store.closeSession("cp1", 1, NOW);
    assert.equal(closed?.event?.reason, "Closed");
    assert.equal(closed?.event?.energyNote, "no StopTransaction and no meter reading since the start");
    assert.equal(store.closeSession("cp1", 1, NOW), undefined);
    // The charger's own Stop later still counts, as a correction.
    const stop = store.stop("cp1", { transactionId: 1, meterStop: 10_500, timestamp: T1 }, NOW);
    assert.deepEqual([stop.duplicate, stop.event?.correction, stop.event?.energyWh], [false, true, 500]);
  });
});

describe("TransactionStore meter values", () => {
  it("keeps the newest values, flags late samples and still returns them in order", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq(), NOW);
    const newest = store.meter("cp1", 1, 1, energySamples(1, 1, T3, "13"), NOW);
    assert.deepEqual(newest.event, {
      kind: "session.updated",
      identity: "cp1",
      time: NOW.toISOString(),
      transactionId: 1,
      idTag: "TAG1",
      connectorId: 1,
      meterStartWh: 10_000,
      meterStopWh: 13_000,
      energyWh: 3000,
      powerW: 7200,
      startTime: T0,
      sampleTime: T3,
    });

    // Queued while offline: two older readings arrive after the newest one, in reverse.
    const queued = normalizeMeterValues(1, 1, [
      { timestamp: T2, sampledValue: [{ value: "12", unit: "kWh" }] },
      { timestamp: T1, sampledValue: [{ value: "11", unit: "kWh" }] },
    ]);
    const late = store.meter("cp1", 1, 1, queued, NOW);
    assert.equal(late.event, undefined);
    assert.equal(late.meterEvent!.late, true);
    assert.deepEqual(
      late.meterEvent!.samples.map((s) => [s.timestamp, s.value, s.late]),
      [
        [T1, 11_000, true],
        [T2, 12_000, true],
      ],
    );
    assert.equal(store.sessionFor("cp1", 1)?.registerWh, 13_000);

    // A batch straddling the newest time: only the newer part updates.
    const mixed = store.meter(
      "cp1",
      1,
      undefined,
      normalizeMeterValues(1, undefined, [
        { timestamp: "2026-11-21T11:40:00.000Z", sampledValue: [{ value: "14", unit: "kWh" }] },
        { timestamp: T2, sampledValue: [{ value: "12", unit: "kWh" }] },
      ]),
      NOW,
    );
    assert.deepEqual(
      mixed.meterEvent!.samples.map((s) => [s.value, s.late]),
      [
        [12_000, true],
        [14_000, undefined],
      ],
    );
    assert.equal(mixed.meterEvent!.late, undefined);
    assert.equal(mixed.meterEvent!.transactionId, 1);
    assert.equal(mixed.event?.energyWh, 4000);
    assert.equal(mixed.event?.powerW, 7200);
  });

  it("does not repeat session.updated for a retransmitted MeterValues", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq(), NOW);
    assert.ok(store.meter("cp1", 1, 1, energySamples(1, 1, T1, "11"), NOW).event);
    const again = store.meter("cp1", 1, 1, energySamples(1, 1, T1, "11"), NOW);
    assert.equal(again.event, undefined);
    assert.equal(again.meterEvent!.samples.length, 2);
  });

  it("builds no session.updated when the caller wants none, but still updates and saves the session", async () => {
    const saved: unknown[] = [];
    const store = await TransactionStore.open({
      firstTransactionId: 1,
      meterSaveDelayMs: 0,
      persistence: { load: async () => undefined, save: async (data) => void saved.push(data) },
    });
    store.start("cp1", startReq(), NOW);
    await store.flush();
    const before = saved.length;
    const result = store.meter("cp1", 1, 1, energySamples(1, 1, T1, "11"), NOW, { updatedEvent: false });
    assert.equal(result.event, undefined);
    assert.equal(await result.saved, true);
    assert.equal(saved.length, before + 1);
    assert.equal(result.session?.registerWh, 11000);
    assert.deepEqual(result.readings, { energyWh: 11000, powerW: 7200, sampleTime: T1 });
    // The next change is still reported to callers that want events.
    assert.equal(store.meter("cp1", 1, 1, energySamples(1, 1, T2, "12"), NOW).event?.energyWh, 2000);
    // Without a meter event the session and readings still follow the samples, and late ones still do not count.
    const quiet = store.meter("cp1", 1, 1, energySamples(1, 1, T3, "13"), NOW, { meterEvent: false, updatedEvent: false });
    assert.equal(quiet.meterEvent, undefined);
    assert.equal(quiet.session?.registerWh, 13000);
    const lateQuiet = store.meter("cp1", 1, 1, energySamples(1, 1, T1, "9"), NOW, { meterEvent: false });
    assert.equal(lateQuiet.readings, undefined);
    assert.equal(store.session("cp1", 1)?.registerWh, 13000);
  });

  it("reports meter values for unknown or ended transactions without touching sessions", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    const unknown = store.meter("cp1", 1, 99, energySamples(1, 99, T1, "11"), NOW);
    assert.equal(unknown.unknownTransaction, true);
    assert.equal(unknown.event, undefined);
    assert.equal(unknown.meterEvent!.samples.length, 2);

    store.start("cp1", startReq(), NOW);
    store.stop("cp1", { transactionId: 1, meterStop: 12_000, timestamp: T2 }, NOW);
    const afterStop = store.meter("cp1", 1, 1, energySamples(1, 1, T1, "11"), NOW);
    assert.equal(afterStop.unknownTransaction, false);
    assert.equal(afterStop.event, undefined);
    assert.equal(afterStop.meterEvent!.late, true);
    assert.equal(store.session("cp1", 1)?.end?.meterStopWh, 12_000);

    const idle = store.meter("cp1", 2, undefined, energySamples(2, undefined, T1, "1"), NOW);
    assert.deepEqual([idle.session, idle.event, idle.unknownTransaction], [undefined, undefined, false]);
  });
});

describe("TransactionStore meter values outside sessions", () => {
  it("flags older samples per connector even without a session", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    const volts = (timestamp: string, v: string) =>
      normalizeMeterValues(2, undefined, [{ timestamp, sampledValue: [{ value: v, measurand: "Voltage" }] }]);
    assert.equal(store.meter("cp1", 2, undefined, volts(T2, "231"), NOW).meterEvent!.late, undefined);
    const old = store.meter("cp1", 2, undefined, volts(T1, "229"), NOW);
    assert.deepEqual(
      old.meterEvent!.samples.map((s) => [s.value, s.late]),
      [[229, true]],
    );
    // Another connector and another charger have their own clocks.
    assert.equal(store.meter("cp1", 1, undefined, volts(T1, "229"), NOW).meterEvent!.late, undefined);
    assert.equal(store.meter("cp2", 2, undefined, volts(T1, "229"), NOW).meterEvent!.late, undefined);
  });

  it("keeps sample times for at most 64 connectors of a charger: made-up connector ids do not grow memory", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    const volts = (connector: number, timestamp: string) =>
      normalizeMeterValues(connector, undefined, [{ timestamp, sampledValue: [{ value: "230", measurand: "Voltage" }] }]);
    for (let connector = 1; connector <= 64; connector++) store.meter("cp1", connector, undefined, volts(connector, T2), NOW);
    // The 64 known connectors still flag older samples as late.
    assert.equal(store.meter("cp1", 64, undefined, volts(64, T1), NOW).meterEvent!.late, true);
    // A 65th connector id is not tracked: its older samples are not flagged, and nothing is kept for it.
    store.meter("cp1", 65, undefined, volts(65, T2), NOW);
    assert.equal(store.meter("cp1", 65, undefined, volts(65, T1), NOW).meterEvent!.late, undefined);
    // Another charger has its own 64.
    store.meter("cp2", 65, undefined, volts(65, T2), NOW);
    assert.equal(store.meter("cp2", 65, undefined, volts(65, T1), NOW).meterEvent!.late, true);
  });

  it("does not let a far-future sample time (wrong charger clock) make later samples late", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq(), NOW);
    const future = store.meter("cp1", 1, 1, energySamples(1, 1, "2036-01-01T00:00:00.000Z", "11"), NOW);
    assert.equal(future.event?.energyWh, 1000);
    assert.equal(future.event?.sampleTime, undefined);
    const fixed = store.meter("cp1", 1, 1, energySamples(1, 1, T1, "12"), NOW);
    assert.equal(fixed.meterEvent!.late, undefined);
    assert.equal(fixed.event?.energyWh, 2000);
    assert.equal(fixed.event?.sampleTime, T1);
  });

  it("never flags samples with an unreadable timestamp as late", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq(), NOW);
    store.meter("cp1", 1, 1, energySamples(1, 1, T3, "13"), NOW);
    const broken = store.meter("cp1", 1, 1, energySamples(1, 1, "not-a-time", "14"), NOW);
    assert.deepEqual(
      broken.meterEvent!.samples.map((s) => s.late),
      [undefined, undefined],
    );
    assert.equal(broken.event?.energyWh, 4000);
  });
});

describe("TransactionStore meter: the session's newest sample", () => {
  /** A seeded generator, so a failure can be replayed. */
  function random(seed: number): () => number {
    let x = seed;
    return () => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      return x / 2_147_483_648;
    };
  }

  /**
   * The rule, written out the slow way: a sample with a time of its own (readable, not far ahead of now) that is
   * not older than the session's newest sample may become the newest; the first of the newest wins.
   */
  function expectedNewest(before: string | undefined, times: string[], nowMs: number): string | undefined {
    const toMs = (t: string | undefined) => {
      const v = t === undefined ? NaN : Date.parse(t);
      return Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v;
    };
    const own = (t: string) => {
      const v = Date.parse(t);
      return Number.isNaN(v) || v > nowMs + 10 * 60_000 ? NaN : v;
    };
    const lastMs = toMs(before);
    const order = times.map((t, i) => ({ t, at: Number.isNaN(own(t)) ? nowMs : own(t), i })).sort((a, b) => a.at - b.at || a.i - b.i);
    let newest = before;
    let newestMs = lastMs;
    for (const { t, at } of order) {
      if (at < lastMs) continue;
      const v = own(t);
      if (!Number.isNaN(v) && v > newestMs) {
        newest = t;
        newestMs = v;
      }
    }
    return newest;
  }

  it("is the newest sample with a believable time, on random batches (late, unreadable, far-future and unordered times)", async () => {
    const next = random(20_261_206);
    const store = await TransactionStore.open({ firstTransactionId: 1 });
    store.start("cp1", startReq(), NOW);
    const pool = [T0, T1, T2, T3, "2026-11-21T11:30:00.500Z", "2026-11-21T12:04:00Z", "2026-11-21T13:00:00.000Z", "not-a-time", "2026-11-21T11:30:00+00:00"];
    let before: string | undefined;
    for (let round = 0; round < 2_000; round++) {
      const times = Array.from({ length: 1 + Math.floor(next() * 5) }, () => pool[Math.floor(next() * pool.length)]);
      const meterValue = times.map((timestamp) => ({ timestamp, sampledValue: [{ value: String(10 + round), unit: "kWh" as const }] }));
      const result = store.meter("cp1", 1, 1, normalizeMeterValues(1, 1, meterValue), NOW);
      const expected = expectedNewest(before, times, NOW.getTime());
      assert.equal(result.session?.lastSampleTime, expected, `round ${round}: ${JSON.stringify({ before, times })}`);
      before = expected;
    }
  });
});

describe("TransactionStore meter with a connection's MeterHint", () => {
  it("gives what it gives without the hint, through starts, stops, closes, forgets and adoptions (random sequences)", async () => {
    let x = 4_242;
    const next = () => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      return x / 2_147_483_648;
    };
    const hinted = await TransactionStore.open({ firstTransactionId: 1 });
    const plain = await TransactionStore.open({ firstTransactionId: 1 });
    const hint = new MeterHint();
    const ids: number[] = [];
    const forgotten: Session[] = [];
    let t = Date.parse(T0);
    for (let step = 0; step < 3_000; step++) {
      t += 1_000;
      const now = new Date(t);
      const roll = next();
      const connectorId = 1 + Math.floor(next() * 2);
      // Mostly the newest few sessions, so a hinted session is often the one a stop, close or forget just took.
      const pick = () => (ids.length && next() < 0.9 ? ids[Math.max(0, ids.length - 1 - Math.floor(next() * 3))] : 999);
      if (roll < 0.08) {
        const req = startReq({ connectorId, timestamp: now.toISOString(), meterStart: step });
        const a = hinted.start("cp1", req, now);
        assert.equal(plain.start("cp1", req, now).transactionId, a.transactionId);
        ids.push(a.transactionId);
      } else if (roll < 0.12) {
        const req = { transactionId: pick(), meterStop: step * 10, timestamp: now.toISOString() };
        assert.deepEqual(hinted.stop("cp1", req, now).event, plain.stop("cp1", req, now).event);
      } else if (roll < 0.14) {
        const id = pick();
        assert.deepEqual(hinted.closeSession("cp1", id, now)?.event, plain.closeSession("cp1", id, now)?.event);
      } else if (roll < 0.16) {
        const id = pick();
        const record = hinted.session("cp1", id);
        assert.equal(hinted.forget("cp1", id), plain.forget("cp1", id));
        if (record && !record.end) forgotten.push(record);
      } else if (roll < 0.18 && forgotten.length) {
        const record = forgotten.splice(Math.floor(next() * forgotten.length), 1)[0];
        assert.equal(hinted.adopt(record), plain.adopt(record));
      } else {
        const id = next() < 0.1 ? undefined : pick();
        const samples = () => energySamples(connectorId, id, new Date(t - Math.floor(next() * 3) * 1_500).toISOString(), String(step / 100));
        const seed = x;
        const a = hinted.meter("cp1", connectorId, id, samples(), now, undefined, hint);
        x = seed;
        const b = plain.meter("cp1", connectorId, id, samples(), now);
        const view = (r: typeof a) => ({ unknown: r.unknownTransaction, event: r.event, meterEvent: r.meterEvent, readings: r.readings, session: r.session });
        assert.deepEqual(view(a), view(b), `step ${step}`);
      }
    }
    assert.deepEqual(hinted.toJSON(), plain.toJSON());
  });

  it("is not used once its session was forgotten, and finds the session again once it is adopted", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 7 });
    const hint = new MeterHint();
    store.start("cp1", startReq(), NOW);
    assert.equal(store.meter("cp1", 1, 7, energySamples(1, 7, T1, "11"), NOW, undefined, hint).event?.energyWh, 1000);
    const record = store.session("cp1", 7)!;
    assert.equal(store.forget("cp1", 7), true);
    const after = store.meter("cp1", 1, 7, energySamples(1, 7, T2, "12"), NOW, undefined, hint);
    assert.equal(after.unknownTransaction, true);
    assert.equal(after.event, undefined);
    assert.equal(store.adopt(record), true);
    // The adopted session is a new object: the hint's old one is not it, and the store finds the new one.
    assert.equal(store.meter("cp1", 1, 7, energySamples(1, 7, T3, "13"), NOW, undefined, hint).event?.energyWh, 3000);
    assert.equal(store.session("cp1", 7)?.registerWh, 13_000);
  });
});

describe("TransactionStore persistence", () => {
  it("restores open sessions and the id counter after a restart", async () => {
    const disk = new JsonPersistence();
    const before = await TransactionStore.open({ persistence: disk, firstTransactionId: 40 });
    before.start("cp1", startReq(), NOW, { status: "Accepted" });
    before.start("cp1", startReq({ connectorId: 2, idTag: "TAG2" }), NOW);
    before.meter("cp1", 1, 40, energySamples(1, 40, T1, "10.8"), NOW);
    assert.equal(await before.stop("cp1", { transactionId: 41, meterStop: 10_100, timestamp: T1 }, NOW).saved, true);
    await before.close();

    const after = await TransactionStore.open({ persistence: disk, firstTransactionId: 1 });
    assert.equal(after.lastTransactionId, 41);
    assert.deepEqual(after.openSessions(), [
      {
        transactionId: 40,
        identity: "cp1",
        connectorId: 1,
        idTag: "TAG1",
        meterStartWh: 10_000,
        startTime: T0,
        idTagInfo: { status: "Accepted" },
        startedAt: NOW.toISOString(),
        registerWh: 10_800,
        powerW: 7200,
        lastSampleTime: T1,
      },
    ]);
    // Retransmits after the restart are still recognised.
    const retry = after.start("cp1", startReq(), NOW);
    assert.deepEqual([retry.transactionId, retry.duplicate, retry.idTagInfo], [40, true, { status: "Accepted" }]);
    assert.equal(after.stop("cp1", { transactionId: 41, meterStop: 10_100, timestamp: T1 }, NOW).duplicate, true);
    // And a new Start gets a larger id than anything before.
    assert.equal(after.start("cp1", startReq({ connectorId: 3 }), NOW).transactionId, 42);
    const stop = after.stop("cp1", { transactionId: 40, meterStop: 11_000, timestamp: T2 }, NOW);
    assert.deepEqual([stop.known, stop.event?.energyWh], [true, 1000]);
    await after.close();
  });

  it("seeds ids from the clock when nothing was persisted, so a lost store does not reuse ids", async () => {
    const clock = () => new Date("2026-01-01T00:00:00.000Z");
    const store = await TransactionStore.open({ persistence: new JsonPersistence(), clock });
    const expected = (Date.UTC(2026, 0, 1) - Date.UTC(2020, 0, 1)) / 1000;
    assert.equal(store.start("cp1", startReq()).transactionId, expected);
    const memoryOnly = new TransactionStore({ clock: () => new Date("2026-01-01T00:00:10.000Z") });
    assert.equal(memoryOnly.start("cp1", startReq()).transactionId, expected + 10);
  });

  it("serialises saves, coalesces bursts and ends with the newest state", async () => {
    const disk = new JsonPersistence(15);
    const store = await TransactionStore.open({ persistence: disk, firstTransactionId: 1 });
    const saved = [];
    for (let i = 0; i < 20; i++) saved.push(store.start(`cp${i}`, startReq(), NOW).saved);
    assert.deepEqual(await Promise.all(saved), new Array(20).fill(true));
    assert.equal(disk.maxInFlight, 1);
    assert.ok(disk.saves <= 3, `expected coalesced saves, got ${disk.saves}`);
    const stored = JSON.parse(disk.stored ?? "{}") as { lastTransactionId: number; sessions: unknown[] };
    assert.equal(stored.lastTransactionId, 20);
    assert.equal(stored.sessions.length, 20);
  });

  it("reports a failing save via onError, resolves saved=false, and saves again on the next change", async () => {
    const disk = new JsonPersistence(0, 1);
    const errors: string[] = [];
    const store = await TransactionStore.open({ persistence: disk, firstTransactionId: 1, onError: (e) => errors.push(e.message) });
    assert.equal(await store.start("cp1", startReq(), NOW).saved, false);
    assert.deepEqual(errors, ["could not save OCPP transactions: disk full"]);
    assert.equal(await store.start("cp2", startReq(), NOW).saved, true);
    assert.equal((JSON.parse(disk.stored ?? "{}") as { sessions: unknown[] }).sessions.length, 2);
  });

  it("survives a failing load and unreadable data, reporting both", async () => {
    const errors: string[] = [];
    const broken: TransactionPersistence = {
      load: () => Promise.reject(new Error("EACCES")),
      save: () => Promise.resolve(),
    };
    const a = await TransactionStore.open({ persistence: broken, firstTransactionId: 5, onError: (e) => errors.push(e.message) });
    assert.equal(a.start("cp1", startReq(), NOW).transactionId, 5);
    const junk: TransactionPersistence = { load: async () => ({ hello: 1 }), save: async () => undefined };
    const b = await TransactionStore.open({ persistence: junk, firstTransactionId: 9, onError: (e) => errors.push(e.message) });
    assert.equal(b.start("cp1", startReq(), NOW).transactionId, 9);
    assert.deepEqual(errors, [
      "could not load OCPP transactions, starting empty: EACCES",
      "OCPP transaction store: stored data is not an OCPP transaction store",
    ]);
  });

  it("saves meter-only changes lazily and flushes them on close", async () => {
    const disk = new JsonPersistence();
    const store = await TransactionStore.open({ persistence: disk, firstTransactionId: 1, meterSaveDelayMs: 60_000 });
    await store.start("cp1", startReq(), NOW).saved;
    const savesAfterStart = disk.saves;
    store.meter("cp1", 1, 1, energySamples(1, 1, T1, "10.5"), NOW);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(disk.saves, savesAfterStart);
    await store.close();
    assert.equal(disk.saves, savesAfterStart + 1);
    const restored = await TransactionStore.open({ persistence: disk });
    assert.equal(restored.sessionFor("cp1", 1)?.registerWh, 10_500);
  });

  it("writes nothing after close, so a redeployed instance's state is not overwritten", async () => {
    const disk = new JsonPersistence();
    const errors: string[] = [];
    const old = await TransactionStore.open({ persistence: disk, firstTransactionId: 1, onError: (e) => errors.push(e.message) });
    await old.start("cp1", startReq(), NOW).saved;
    await old.close();
    const fresh = await TransactionStore.open({ persistence: disk });
    await fresh.start("cp1", startReq({ connectorId: 2 }), NOW).saved;
    const storedBefore = disk.stored;
    assert.equal(await old.start("cp9", startReq(), NOW).saved, false);
    assert.equal(await old.start("cp8", startReq(), NOW).saved, false);
    assert.equal(disk.stored, storedBefore);
    assert.deepEqual(errors, ["OCPP transaction store is closed; a late change was not saved"]);
    await fresh.close();
  });

  it("forgets the oldest ended sessions beyond keepEnded", async () => {
    const store = await TransactionStore.open({ firstTransactionId: 1, keepEnded: 2 });
    for (let i = 0; i < 3; i++) {
      const id = store.start("cp1", startReq({ timestamp: `2026-11-21T0${i}:00:00.000Z` }), NOW).transactionId;
      store.stop("cp1", { transactionId: id, meterStop: 10_000, timestamp: T3 }, NOW);
    }
    assert.equal(store.session("cp1", 1), undefined);
    assert.equal(store.session("cp1", 3)?.end?.by, "stop");
    assert.equal(store.toJSON().sessions.length, 2);
  });
});
