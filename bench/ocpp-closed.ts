/**
 * The closed loop: chargers send MeterValues one after the other, each as
 * soon as the last was answered.
 * - closedLoop: one server, one round.
 * - closedLoopTurns: two servers taking turns. Both run side by side, each
 *   with its own chargers connected, and the load goes to one of them for a
 *   short slice, then to the other (the order swapped every cycle), many
 *   times. On a shared machine the speed of everything drifts by ±20 % over
 *   seconds (other guests, the host): back-to-back rounds of several seconds
 *   each catch different phases of that drift, short alternating slices see
 *   the same ones, so their ratio measures the servers, not the weather.
 */
import os from "node:os";
import { LightCharger, percentile, pool, round1 } from "./ocpp-charger";
import { probe, startServer, type Probe, type ServerMode, type ServerProcess } from "./ocpp-process";

export interface ClosedFigures {
  mode: ServerMode;
  connectMs: number;
  calls: number;
  callsPerS: number;
  p50: number;
  p99: number;
  rssBaseMb: number;
  rssMb: number;
  kbPerConnection: number;
  /** Server CPU time (user + system) per MeterValues call: robust against the machine's other load, unlike calls/s. */
  cpuUsPerCall: number;
  /** The kernel's share of it (socket writes and reads; grows when the chargers wait for the server). */
  sysUsPerCall: number;
  errors: number;
  /** 1-minute load average at the end of the round. */
  load: number;
  /** --explain: server CPU per call by part of the stack (µs, from a CPU profile of the loop) and by function. */
  partUs?: Record<string, number>;
  fnUs?: Record<string, number>;
  /** Set when the figures come from an earlier run (a run with --modes/--quick keeps the modes it did not run). */
  from?: string;
}

/** One MeterValues frame per call, pre-serialised but for the time and the register (the generator's own cost stays small). */
const TAIL = '","sampledValue":[{"value":"';
const REST = '","measurand":"Energy.Active.Import.Register","unit":"Wh"},{"value":"7400","measurand":"Power.Active.Import","unit":"W"}]}]}';

export interface LoopCharger {
  client: LightCharger;
  transactionId: number;
  wh: number;
}

/** Connected chargers with a transaction each, ready for MeterValues. */
export async function connectChargers(
  port: number,
  count: number,
  concurrency: number,
): Promise<{ chargers: LoopCharger[]; connectMs: number }> {
  const endpoint = `ws://127.0.0.1:${port}/ocpp`;
  const clients: LightCharger[] = [];
  const t0 = performance.now();
  try {
    await pool(
      Array.from({ length: count }, (_, i) => i),
      concurrency,
      async (i) => {
        const client = await LightCharger.open(`${endpoint}/CP${i}`);
        clients.push(client);
        await client.call("BootNotification", { chargePointVendor: "Bench", chargePointModel: "Sim" });
      },
    );
    const connectMs = performance.now() - t0;
    const chargers = await Promise.all(
      clients.map(async (client) => {
        const res = (await client.call("StartTransaction", { connectorId: 1, idTag: "BENCH", meterStart: 0, timestamp: new Date().toISOString() })) as { transactionId: number };
        return { client, transactionId: res.transactionId, wh: 0 };
      }),
    );
    return { chargers, connectMs };
  } catch (err) {
    for (const c of clients) c.close();
    throw err;
  }
}

export interface LoopOutcome {
  /** From the first call sent to the last answer. */
  elapsedMs: number;
  errors: number;
}

/**
 * Every charger sends MeterValues one after the other, each as soon as the
 * last was answered, until `durationMs` has passed; then the calls in flight
 * are answered and counted. Latencies (ms) go to `latencies`.
 */
export function meterLoop(chargers: LoopCharger[], durationMs: number, latencies: number[]): Promise<LoopOutcome> {
  let stop = false;
  let errors = 0;
  let isoMs = -1;
  let iso = "";
  const start = performance.now();
  const timer = setTimeout(() => (stop = true), durationMs);
  return Promise.all(
    chargers.map(
      (charger) =>
        new Promise<void>((resolve) => {
          const head = `{"connectorId":1,"transactionId":${charger.transactionId},"meterValue":[{"timestamp":"`;
          let started = 0;
          const next = () => {
            if (stop) return resolve();
            charger.wh += 10;
            started = performance.now();
            const ms = Math.floor(performance.timeOrigin + started);
            if (ms !== isoMs) iso = new Date((isoMs = ms)).toISOString();
            charger.client.send("MeterValues", head + iso + TAIL + charger.wh + REST, onAnswer);
          };
          const onAnswer = (ok: boolean, frame: string | undefined) => {
            if (ok) latencies.push(performance.now() - started);
            else errors++;
            if (frame === undefined) return resolve();
            next();
          };
          next();
        }),
    ),
  ).then(() => {
    clearTimeout(timer);
    return { elapsedMs: performance.now() - start, errors };
  });
}

/**
 * The generator polls instead of sleeping while the load runs: a server's answer to a sleeping generator also pays
 * for waking it (on a VM an inter-processor interrupt, several µs of the server's writev), a cost of a generator on
 * the same machine that chargers elsewhere do not impose. BENCH_GENERATOR_SLEEPS=1 turns it off. Returns the stop.
 */
export function pollWhileLoaded(): () => void {
  if (process.env.BENCH_GENERATOR_SLEEPS) return () => undefined;
  let polling = true;
  const poll = () => {
    if (polling) setImmediate(poll);
  };
  poll();
  return () => {
    polling = false;
  };
}

export interface RoundOptions {
  chargers: number;
  concurrency: number;
  seconds: number;
  /** Profile the round inside the server (see windowProfiler in ocpp-server.ts). */
  explain?: boolean;
}

/** One server, one round of `seconds`. */
export async function closedLoop(mode: ServerMode, options: RoundOptions): Promise<ClosedFigures> {
  const server = await startServer(mode, { explain: options.explain });
  let chargers: LoopCharger[] = [];
  let stopPolling = () => undefined as void;
  try {
    const connected = await connectChargers(server.port, options.chargers, options.concurrency);
    chargers = connected.chargers;
    const atStart = await server.ask("rss", "rss");
    const rssConnected = Number(atStart.rss);
    if (options.explain) await server.ask("window-start", "window-started");
    const latencies: number[] = [];
    stopPolling = pollWhileLoaded();
    const outcome = await meterLoop(chargers, options.seconds * 1000, latencies);
    stopPolling();
    const loaded = await server.ask("rss", "rss");
    const calls = latencies.length;
    const perCall = (us: unknown) =>
      us ? Object.fromEntries(Object.entries(us as Record<string, number>).map(([k, v]) => [k, Math.round((v / Math.max(1, calls)) * 100) / 100])) : undefined;
    const explained = options.explain ? await server.ask("window-end", "window-ended") : undefined;
    if (options.explain && process.env.BENCH_PROFILE_DIR) console.log(`  profiled ${mode} round: ${calls} calls`);
    const cpuUs = Number(loaded.cpuUs) - Number(atStart.cpuUs);
    const sysUs = Number(loaded.sysUs) - Number(atStart.sysUs);
    latencies.sort((a, b) => a - b);
    return {
      mode,
      connectMs: Math.round(connected.connectMs),
      calls,
      callsPerS: Math.round(calls / (outcome.elapsedMs / 1000)),
      p50: round1(percentile(latencies, 50)),
      p99: round1(percentile(latencies, 99)),
      rssBaseMb: Math.round(server.rssBase / 1e5) / 10,
      rssMb: Math.round(Math.max(rssConnected, Number(loaded.rss)) / 1e5) / 10,
      kbPerConnection: Math.round((rssConnected - server.rssBase) / 1024 / options.chargers),
      cpuUsPerCall: Math.round(cpuUs / Math.max(1, calls)),
      sysUsPerCall: Math.round(sysUs / Math.max(1, calls)),
      errors: outcome.errors,
      load: Math.round(os.loadavg()[0] * 100) / 100,
      partUs: perCall(explained?.partUs),
      fnUs: perCall(explained?.selfUs),
    };
  } finally {
    stopPolling();
    for (const c of chargers) c.client.close();
    await server.stop();
  }
}

/** A server's figures over its turns: calls/s over its own slices, CPU per call over the whole run (idle turns included). */
export interface TurnFigures extends ClosedFigures {
  slices: number;
  /** Calls per second of each of its slices, in order. */
  sliceCallsPerS: number[];
}

export interface TurnOptions {
  chargers: number;
  concurrency: number;
  /** Slices per server. */
  slices: number;
  sliceMs: number;
  /** Called after each cycle (one slice of each server), for progress. */
  onCycle?: (done: number, total: number) => void;
  /** Profile each server during its own slices only (see windowProfiler in ocpp-server.ts): partUs and fnUs per call. */
  explain?: boolean;
}

interface Contestant {
  mode: ServerMode;
  server: ServerProcess;
  chargers: LoopCharger[];
  connectMs: number;
  rssConnected: number;
  latencies: number[];
  sliceCallsPerS: number[];
  activeMs: number;
  errors: number;
  /** --explain: profiled µs by part and by function, summed over the server's slices. */
  partUs: Map<string, number>;
  fnUs: Map<string, number>;
  /** --explain: CPU over its own slices only (the profiler's start and stop, between slices, left out). */
  sliceCpuUs: number;
  sliceSysUs: number;
}

function addUp(into: Map<string, number>, us: unknown): void {
  for (const [k, v] of Object.entries((us ?? {}) as Record<string, number>)) into.set(k, (into.get(k) ?? 0) + v);
}

function perCall(us: Map<string, number>, calls: number): Record<string, number> {
  return Object.fromEntries([...us].map(([k, v]) => [k, Math.round((v / Math.max(1, calls)) * 100) / 100]));
}

/** Each server in `modes` in its own process, loaded in turns (see the top of this file). */
export async function closedLoopTurns(modes: ServerMode[], options: TurnOptions): Promise<TurnFigures[]> {
  const contestants: Contestant[] = [];
  let stopPolling = () => undefined as void;
  try {
    for (const mode of modes) {
      const server = await startServer(mode, { explain: options.explain });
      const contestant: Contestant = {
        mode,
        server,
        chargers: [],
        connectMs: 0,
        rssConnected: 0,
        latencies: [],
        sliceCallsPerS: [],
        activeMs: 0,
        errors: 0,
        partUs: new Map(),
        fnUs: new Map(),
        sliceCpuUs: 0,
        sliceSysUs: 0,
      };
      contestants.push(contestant);
      const { chargers, connectMs } = await connectChargers(server.port, options.chargers, options.concurrency);
      contestant.chargers = chargers;
      contestant.connectMs = connectMs;
      contestant.rssConnected = Number((await server.ask("rss", "rss")).rss);
    }
    // A short slice of each first, not counted: the code paths warm up in every process before anything is measured.
    for (const c of contestants) await meterLoop(c.chargers, options.sliceMs, []);
    const cpuStart = await Promise.all(contestants.map((c) => probe(c.server)));
    stopPolling = pollWhileLoaded();
    for (let cycle = 0; cycle < options.slices; cycle++) {
      // Swapped every cycle (A B B A A B ...): neither server always runs right after the other.
      const order = cycle % 2 === 0 ? contestants : [...contestants].reverse();
      for (const c of order) {
        const before = c.latencies.length;
        // Profiled: only while its own slice runs, so its idle turns do not count as its time.
        let cpuBefore: Probe | undefined;
        if (options.explain) {
          await c.server.ask("window-start", "window-started");
          cpuBefore = await probe(c.server);
        }
        const outcome = await meterLoop(c.chargers, options.sliceMs, c.latencies);
        if (cpuBefore) {
          const cpuAfter = await probe(c.server);
          c.sliceCpuUs += cpuAfter.cpuUs - cpuBefore.cpuUs;
          c.sliceSysUs += cpuAfter.sysUs - cpuBefore.sysUs;
          const window = await c.server.ask("window-end", "window-ended");
          addUp(c.partUs, window.partUs);
          addUp(c.fnUs, window.selfUs);
        }
        c.activeMs += outcome.elapsedMs;
        c.errors += outcome.errors;
        c.sliceCallsPerS.push(Math.round(((c.latencies.length - before) / outcome.elapsedMs) * 1000));
      }
      options.onCycle?.(cycle + 1, options.slices);
    }
    stopPolling();
    const cpuEnd = await Promise.all(contestants.map((c) => probe(c.server)));
    return contestants.map((c, i) => {
      const calls = c.latencies.length;
      const sorted = c.latencies.sort((a, b) => a - b);
      return {
        mode: c.mode,
        slices: c.sliceCallsPerS.length,
        calls,
        callsPerS: Math.round((calls / c.activeMs) * 1000),
        // Profiled: the profiler's stops (between slices) would count as the server's work; only the slices count.
        cpuUsPerCall: round1((options.explain ? c.sliceCpuUs : cpuEnd[i].cpuUs - cpuStart[i].cpuUs) / Math.max(1, calls)),
        sysUsPerCall: round1((options.explain ? c.sliceSysUs : cpuEnd[i].sysUs - cpuStart[i].sysUs) / Math.max(1, calls)),
        sliceCallsPerS: c.sliceCallsPerS,
        p50: round1(percentile(sorted, 50)),
        p99: round1(percentile(sorted, 99)),
        connectMs: Math.round(c.connectMs),
        rssBaseMb: Math.round(c.server.rssBase / 1e5) / 10,
        kbPerConnection: Math.round((c.rssConnected - c.server.rssBase) / 1024 / options.chargers),
        rssMb: Math.round(Math.max(c.rssConnected, cpuEnd[i].rss) / 1e5) / 10,
        errors: c.errors,
        load: Math.round(os.loadavg()[0] * 100) / 100,
        partUs: options.explain ? perCall(c.partUs, calls) : undefined,
        fnUs: options.explain ? perCall(c.fnUs, calls) : undefined,
      };
    });
  } finally {
    stopPolling();
    for (const c of contestants) for (const charger of c.chargers) charger.client.close();
    await Promise.all(contestants.map((c) => c.server.stop()));
  }
}
