/**
 * The MeterValues path alone, without sockets, schema or Node-RED: our 1.6
 * handler (sample conversion, session and charger snapshot, journal change
 * tracking, the two events) against the ceiling's handler (the two events
 * ready-made), on a real TransactionStore with its session journal, CPU
 * time per call. What the closed loop's "share of the ceiling" loses, in
 * µs, measured where a shared machine's other load hardly matters (one
 * process, no waiting). Run: node --import tsx bench/ocpp-handler.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CentralCore, ChargerContext, ActionHandler } from "../nodes/lib/ocpp/core/adapter";
import { ChargerRegistry, ConnectorHint } from "../nodes/lib/ocpp/core/registry";
import { transactionFile } from "../nodes/lib/ocpp/core/session-file";
import { MeterHint, TransactionStore } from "../nodes/lib/ocpp/core/transactions";
import { V16_HANDLERS } from "../nodes/lib/ocpp/v16/handlers";

const CHARGERS = 1000;

export interface HandlerFigures {
  oursUs: number;
  ceilingUs: number;
  parseUs: number;
}

const ceiling: ActionHandler = (core, { identity }) => {
  const time = "2026-01-01T00:00:00.000Z";
  core.emit({ kind: "meter", identity, time, connectorId: 1, transactionId: 1, samples: [] });
  core.emit({ kind: "session.updated", identity, time, connectorId: 1, transactionId: 1 });
  return {};
};

export async function handlerCost(rounds = 60): Promise<HandlerFigures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "evkit-handler-"));
  const store = await TransactionStore.open({ persistence: transactionFile(path.join(dir, "t.json")) });
  let sink = 0;
  const directory = new ChargerRegistry();
  directory.maxEntries = CHARGERS * 2;
  const core = {
    directory,
    transactions: store,
    heartbeatIntervalS: 300,
    emit: (e: { kind: string }) => void (sink += e.kind.length),
    problem: () => undefined,
    wants: () => true,
    decideIdTag: () => Promise.resolve({ status: "Accepted" as const }),
    checkIdTag: () => ({ status: "Accepted" as const }),
  } as unknown as CentralCore;
  const contexts: ChargerContext[] = [];
  const txIds: number[] = [];
  for (let i = 0; i < CHARGERS; i++) {
    const identity = `CP${i}`;
    // As the server makes them per connection: with the hints MeterValues keeps between calls.
    contexts.push({ identity, protocol: "ocpp1.6", announce: () => undefined, meterHint: new MeterHint(), connectorHint: new ConnectorHint() });
    const r = store.start(identity, { connectorId: 1, idTag: "BENCH", meterStart: 0, timestamp: new Date().toISOString() }, new Date(), { status: "Accepted" });
    await r.saved;
    txIds.push(r.transactionId);
  }
  const frame = (i: number, wh: number) =>
    `{"connectorId":1,"transactionId":${txIds[i]},"meterValue":[{"timestamp":"${new Date().toISOString()}","sampledValue":[` +
    `{"value":"${wh}","measurand":"Energy.Active.Import.Register","unit":"Wh"},{"value":"7400","measurand":"Power.Active.Import","unit":"W"}]}]}`;
  const run = (handler: ActionHandler | undefined, wh: number) => {
    const cpu = process.cpuUsage();
    for (let i = 0; i < CHARGERS; i++) {
      const params: unknown = JSON.parse(frame(i, wh));
      if (handler) handler(core, contexts[i], params, new Date());
    }
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / CHARGERS;
  };
  const best = { ours: Infinity, ceiling: Infinity, parse: Infinity };
  for (let r = 0; r < rounds; r++) {
    best.parse = Math.min(best.parse, run(undefined, r * 10));
    best.ceiling = Math.min(best.ceiling, run(ceiling, r * 10));
    best.ours = Math.min(best.ours, run(V16_HANDLERS.MeterValues, r * 10 + 5));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await store.close?.();
  rmSync(dir, { recursive: true, force: true });
  if (sink < 0) console.log(sink);
  const r1 = (n: number) => Math.round(n * 100) / 100;
  return { oursUs: r1(best.ours - best.parse), ceilingUs: r1(best.ceiling - best.parse), parseUs: r1(best.parse) };
}

if (require.main === module) {
  void handlerCost().then((f) => console.log(`MeterValues handler, CPU per call (best of rounds, frame parse of ${f.parseUs} µs taken off): ours ${f.oursUs} µs, the ceiling's ${f.ceilingUs} µs`));
}
