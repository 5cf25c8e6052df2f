/**
 * Realistic load for bench:ocpp: N chargers that each Boot, send a
 * StatusNotification and StartTransaction, then MeterValues (4 sampled
 * values) every 10 s and a Heartbeat every 5 min, each at its own random
 * phase, against our node in Node-RED (one ev-ocpp-in with no filter to an
 * inactive debug node). After a warm-up, a steady window measures latency
 * (from the moment the charger's timer fired, so a call that waits behind
 * another of the same charger counts its wait), the server's CPU, RSS and
 * disk writes. How late the load generator's own timers fire (its share of
 * a loaded machine) is reported apart, so it is not taken for the server's.
 */
import os from "node:os";
import { LightCharger, percentile, pool, round1 } from "./ocpp-charger";
import { probe, startServer, type Probe } from "./ocpp-process";

export interface RealisticOptions {
  chargers: number;
  windowS: number;
  warmupS: number;
  meterEveryS: number;
  heartbeatEveryS: number;
  concurrency: number;
}

export interface RealisticFigures {
  chargers: number;
  windowS: number;
  calls: number;
  callsPerS: number;
  p50: number;
  p99: number;
  max: number;
  /** Server CPU (user + system) as a share of one core, %. */
  cpuPct: number;
  cpuUsPerCall: number;
  /** (highest RSS in the window − RSS before any charger) / N. */
  kbPerCharger: number;
  /** The same after a forced GC at the end of the window: what the chargers hold, without the garbage in flight. */
  kbPerChargerAfterGc: number;
  /** V8 heap in use per charger after that GC (the JavaScript objects; the rest of RSS is sockets' buffers, code and allocator slack). */
  heapKbPerCharger: number;
  rssMb: number;
  /** Session store: bytes written to storage per second (/proc/<pid>/io write_bytes), and its size on disk at the end. */
  diskKBps: number;
  storeKB: number;
  loopP99Ms: number;
  loopMaxMs: number;
  /** How late the load generator's timers fired (p99, ms): the machine's other load, not the server. */
  generatorLagP99Ms: number;
  /** Server CPU with no charger connected (Node-RED idle), % of one core. */
  idleCpuPct: number;
  errors: number;
  setupS: number;
  load: number[];
  /** Top self-time functions in the window (BENCH_PROF_WINDOW=1). */
  top?: Array<{ fn: string; share: number }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function meterPayload(transactionId: number, wh: number): object {
  return {
    connectorId: 1,
    transactionId,
    meterValue: [
      {
        timestamp: new Date().toISOString(),
        sampledValue: [
          { value: String(wh), measurand: "Energy.Active.Import.Register", unit: "Wh", context: "Sample.Periodic" },
          { value: "11040", measurand: "Power.Active.Import", unit: "W", context: "Sample.Periodic" },
          { value: "16.0", measurand: "Current.Import", unit: "A", phase: "L1", context: "Sample.Periodic" },
          { value: "16.0", measurand: "Current.Offered", unit: "A", context: "Sample.Periodic" },
        ],
      },
    ],
  };
}

export async function runRealistic(o: RealisticOptions): Promise<RealisticFigures> {
  const server = await startServer("node-red");
  const endpoint = `ws://127.0.0.1:${server.port}/ocpp`;
  const clients: LightCharger[] = [];
  const txIds: number[] = [];
  const timers: NodeJS.Timeout[][] = [];
  let errors = 0;
  const latencies: number[] = [];
  const lags: number[] = [];
  let measuring = false;
  let stopped = false;
  try {
    const idleFrom = await probe(server);
    const idleStart = performance.now();
    await sleep(3000);
    const idleCpuPct = ((await probe(server)).cpuUs - idleFrom.cpuUs) / 1e3 / (performance.now() - idleStart) * 100;
    const t0 = performance.now();
    await pool(
      Array.from({ length: o.chargers }, (_, i) => i),
      o.concurrency,
      async (i) => {
        const c = await LightCharger.open(`${endpoint}/RL${i}`);
        await c.call("BootNotification", { chargePointVendor: "Bench", chargePointModel: "Sim" });
        await c.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Preparing", timestamp: new Date().toISOString() });
        const res = (await c.call("StartTransaction", { connectorId: 1, idTag: "BENCH", meterStart: 0, timestamp: new Date().toISOString() })) as { transactionId: number };
        clients[i] = c;
        txIds[i] = res.transactionId;
      },
    );
    const setupS = (performance.now() - t0) / 1000;

    // Each charger's own schedule, due times fixed in advance (no drift, no coordinated omission).
    const timed = async (c: LightCharger, action: string, payload: object, due: number) => {
      const fired = performance.now();
      if (measuring) lags.push(fired - due);
      try {
        await c.call(action, payload);
        if (measuring) latencies.push(performance.now() - fired);
      } catch {
        if (!stopped) errors++;
      }
    };
    const schedule = (everyMs: number, fn: (i: number, due: number) => void) => {
      const start = performance.now();
      const mine: NodeJS.Timeout[] = [];
      timers.push(mine);
      for (let i = 0; i < o.chargers; i++) {
        let due = start + Math.random() * everyMs;
        const tick = () => {
          if (stopped) return;
          fn(i, due);
          due += everyMs;
          mine[i] = setTimeout(tick, Math.max(0, due - performance.now()));
        };
        mine[i] = setTimeout(tick, due - start);
      }
    };
    const wh = new Array<number>(o.chargers).fill(0);
    schedule(o.meterEveryS * 1000, (i, due) => {
      wh[i] += 31; // 11 kW for 10 s
      void timed(clients[i], "MeterValues", meterPayload(txIds[i], wh[i]), due);
    });
    schedule(o.heartbeatEveryS * 1000, (i, due) => void timed(clients[i], "Heartbeat", {}, due));

    await sleep(o.warmupS * 1000);
    const load = [os.loadavg()[0]];
    await server.ask("window-start", "window-started");
    const before: Probe = await probe(server);
    const windowStart = performance.now();
    measuring = true;
    let rssMax = before.rss;
    const windowEnd = windowStart + o.windowS * 1000;
    while (performance.now() < windowEnd) {
      await sleep(Math.min(5000, windowEnd - performance.now()));
      rssMax = Math.max(rssMax, (await probe(server)).rss);
    }
    measuring = false;
    const after = await probe(server);
    const wallS = (performance.now() - windowStart) / 1000;
    const ended = await server.ask("window-end", "window-ended");
    const gcReply = await server.ask("rss", "rss");
    const afterGc = Number(gcReply.rss);
    load.push(os.loadavg()[0]);
    rssMax = Math.max(rssMax, after.rss);
    const cpuUs = after.cpuUs - before.cpuUs;
    const calls = latencies.length;
    latencies.sort((a, b) => a - b);
    lags.sort((a, b) => a - b);
    const loop = ended.loop as { p99Ms: number; maxMs: number };
    return {
      chargers: o.chargers,
      windowS: Math.round(wallS),
      calls,
      callsPerS: Math.round(calls / wallS),
      p50: round1(percentile(latencies, 50)),
      p99: round1(percentile(latencies, 99)),
      max: round1(latencies[latencies.length - 1] ?? NaN),
      cpuPct: round1((cpuUs / 1e6 / wallS) * 100),
      cpuUsPerCall: Math.round(cpuUs / Math.max(1, calls)),
      kbPerCharger: round1((rssMax - server.rssBase) / 1024 / o.chargers),
      kbPerChargerAfterGc: round1((afterGc - server.rssBase) / 1024 / o.chargers),
      heapKbPerCharger: round1((Number(gcReply.heapUsed) - server.heapBase) / 1024 / o.chargers),
      rssMb: Math.round(rssMax / 1e6),
      diskKBps: round1((after.writeBytes - before.writeBytes) / 1024 / wallS),
      storeKB: Math.round(after.storeBytes / 1024),
      loopP99Ms: round1(loop.p99Ms),
      loopMaxMs: round1(loop.maxMs),
      generatorLagP99Ms: round1(percentile(lags, 99)),
      idleCpuPct: round1(idleCpuPct),
      errors,
      setupS: round1(setupS),
      load: load.map((l) => Math.round(l * 100) / 100),
      top: ended.top as RealisticFigures["top"],
    };
  } finally {
    stopped = true;
    for (const list of timers) for (const t of list) clearTimeout(t);
    for (const c of clients) c?.close();
    await server.stop();
  }
}
