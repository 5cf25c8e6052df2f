/**
 * Realistic load for bench:ocpp: N chargers that each Boot, send a
 * StatusNotification and StartTransaction, then MeterValues (4 sampled
 * values) every 10 s and a Heartbeat every 5 min, each at its own random
 * phase, against our node in Node-RED (one ev-ocpp-in with no filter to an
 * inactive debug node). After a warm-up, a steady window measures latency
 * (from the moment the charger's timer fired, so a call that waits behind
 * another of the same charger counts its wait), the server's CPU, RSS and
 * disk writes.
 *
 * On a 2-core machine the load generator competes with the server, so it is
 * as cheap as it can be: pre-serialised frames over plain ws, no schema, no
 * JSON parsing of answers, no promise per call, and one timer for all
 * chargers (due calls are sent in batches per tick). It reports its own
 * share apart, so a high p99 can be told to be the server's or not: how late
 * its sends were, its own event-loop delay and CPU, and how long each
 * process waited for a CPU (/proc/self/schedstat); the server reports how
 * long it held each call (frame in to answer out) and its event-loop delay.
 */
import os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { LightCharger, percentile, pool, round1, runQueueWaitMs } from "./ocpp-charger";
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
  /** How late the load generator sent its calls (p99, ms): the machine's other load, not the server. */
  generatorLagP99Ms: number;
  /** The generator's own event-loop delay (p99, ms): answers it read late count as latency. */
  generatorLoopP99Ms: number;
  /** The generator's CPU, % of one core. */
  generatorCpuPct: number;
  /** Time the generator's / server's main thread was runnable but had no CPU, ms per s of window (other load on the machine). */
  generatorRunQueueMsPerS: number;
  serverRunQueueMsPerS: number;
  /** How long the server held a call (its frame read to its answer written), p50 / p99 ms: the server's own share of the latency. */
  serverHoldP50Ms: number;
  serverHoldP99Ms: number;
  /** Server CPU with no charger connected (Node-RED idle), % of one core. */
  idleCpuPct: number;
  errors: number;
  setupS: number;
  load: number[];
  /** Top self-time functions in the window (BENCH_PROF_WINDOW=1). */
  top?: Array<{ fn: string; share: number }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** MeterValues with 4 samples, serialised by hand: the parts around the transaction id, timestamp and register. */
const METER_MID = '","sampledValue":[{"value":"';
const METER_TAIL =
  '","measurand":"Energy.Active.Import.Register","unit":"Wh","context":"Sample.Periodic"},' +
  '{"value":"11040","measurand":"Power.Active.Import","unit":"W","context":"Sample.Periodic"},' +
  '{"value":"16.0","measurand":"Current.Import","unit":"A","phase":"L1","context":"Sample.Periodic"},' +
  '{"value":"16.0","measurand":"Current.Offered","unit":"A","context":"Sample.Periodic"}]}]}';

/** One periodic call for every charger, each at its own random phase, due times fixed in advance (no drift, no coordinated omission). */
interface Stream {
  everyMs: number;
  /** Charger indexes in the order of their phase. */
  order: Int32Array;
  phase: Float64Array;
  cursor: number;
  cycle: number;
  start: number;
  fire(i: number, due: number, now: number): void;
}

function stream(chargers: number, everyMs: number, start: number, fire: Stream["fire"]): Stream {
  const phases = Array.from({ length: chargers }, (_, i) => ({ i, at: Math.random() * everyMs })).sort((a, b) => a.at - b.at);
  return { everyMs, order: Int32Array.from(phases, (p) => p.i), phase: Float64Array.from(phases, (p) => p.at), cursor: 0, cycle: 0, start, fire };
}

const nextDue = (s: Stream) => s.start + s.cycle * s.everyMs + s.phase[s.cursor];

export async function runRealistic(o: RealisticOptions): Promise<RealisticFigures> {
  const server = await startServer("node-red", { holdTimes: true });
  const endpoint = `ws://127.0.0.1:${server.port}/ocpp`;
  const clients: LightCharger[] = [];
  const txIds: number[] = [];
  let timer: NodeJS.Timeout | undefined;
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

    const send = (i: number, action: string, json: string, due: number, now: number) => {
      if (measuring) lags.push(now - due);
      clients[i].send(action, json, (ok, frame) => {
        if (ok) {
          if (measuring) latencies.push(performance.now() - now);
        } else if (!stopped || frame !== undefined) errors++;
      });
    };
    const meterHead = txIds.map((tx) => `{"connectorId":1,"transactionId":${tx},"meterValue":[{"timestamp":"`);
    const wh = new Float64Array(o.chargers);
    let isoMs = -1;
    let iso = "";
    const start = performance.now();
    const streams = [
      stream(o.chargers, o.meterEveryS * 1000, start, (i, due, now) => {
        wh[i] += 31; // 11 kW for 10 s
        const ms = Math.floor(performance.timeOrigin + now);
        if (ms !== isoMs) iso = new Date((isoMs = ms)).toISOString();
        send(i, "MeterValues", meterHead[i] + iso + METER_MID + wh[i] + METER_TAIL, due, now);
      }),
      stream(o.chargers, o.heartbeatEveryS * 1000, start, (i, due, now) => send(i, "Heartbeat", "{}", due, now)),
    ];
    // One timer for every charger: each tick sends what is due, then sleeps until the next due time.
    const tick = () => {
      if (stopped) return;
      const now = performance.now();
      let next = Infinity;
      for (const s of streams) {
        let due = nextDue(s);
        while (due <= now) {
          s.fire(s.order[s.cursor], due, now);
          if (++s.cursor === s.order.length) {
            s.cursor = 0;
            s.cycle++;
          }
          due = nextDue(s);
        }
        next = Math.min(next, due);
      }
      timer = setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();

    await sleep(o.warmupS * 1000);
    const load = [os.loadavg()[0]];
    await server.ask("window-start", "window-started");
    const before: Probe = await probe(server);
    const genLoop = monitorEventLoopDelay({ resolution: 5 });
    genLoop.enable();
    const genCpu = process.cpuUsage();
    const genWait = runQueueWaitMs();
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
    const genCpuUs = process.cpuUsage(genCpu);
    const genWaitMs = runQueueWaitMs() - genWait;
    genLoop.disable();
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
    const hold = (ended.hold ?? { p50Ms: NaN, p99Ms: NaN }) as { p50Ms: number; p99Ms: number };
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
      generatorLoopP99Ms: round1(genLoop.percentile(99) / 1e6),
      generatorCpuPct: round1(((genCpuUs.user + genCpuUs.system) / 1e6 / wallS) * 100),
      generatorRunQueueMsPerS: round1(genWaitMs / wallS),
      serverRunQueueMsPerS: round1((after.runQueueMs - before.runQueueMs) / wallS),
      serverHoldP50Ms: round1(hold.p50Ms),
      serverHoldP99Ms: round1(hold.p99Ms),
      idleCpuPct: round1(idleCpuPct),
      errors,
      setupS: round1(setupS),
      load: load.map((l) => Math.round(l * 100) / 100),
      top: ended.top as RealisticFigures["top"],
    };
  } finally {
    stopped = true;
    clearTimeout(timer);
    for (const c of clients) c?.close();
    await server.stop();
  }
}
