/**
 * npm run bench:ocpp [-- options]   Prints figures with verdicts; it is not a test.
 *
 * 1. Closed loop (--chargers 1000): N chargers boot, start a transaction, then
 *    send MeterValues one after the other as fast as answered (see
 *    bench/ocpp-closed.ts), each server in its own child process (so RSS
 *    and CPU are the server's alone):
 *    - "ceiling": our node whose MeterValues does no work but sends the two
 *      events of a MeterValues, ready-made, into Node-RED: bare ocpp-rpc plus
 *      Node-RED's own cost for two messages (target: ours >= 90 % of it);
 *    - ours: ev-ocpp-central-system with one ev-ocpp-in (every event kind);
 *      these two run side by side and take turns (--turns 80 slices of
 *      --slice-ms 500 each), so the machine's drift hits both alike;
 *    - bare ocpp-rpc (the same strict schema validation, answers {}) and
 *      node-red-contrib-ocpp's CS server answering through its response node
 *      (the node users pick today; target: ours ahead of it): rounds of
 *      --seconds 8, --rounds 5 per server, interleaved (the order reversed
 *      every other round), each server's median round shown.
 *    --turns 0 puts ours and its ceiling in rounds too (the share is then the
 *    median over the round pairs).
 * 2. Realistic load (--sizes 1000,10000 --window 90 --warmup 10): see
 *    bench/ocpp-realistic.ts. Targets at 10,000 chargers: p99 < 50 ms,
 *    server CPU < 35 % of one core, <= 40 KB per charger, session-store disk
 *    writes < 1 MB/s, CPU per call within 1.5x of that at 1,000.
 * --only closed | realistic runs one part; --sizes none skips the realistic part;
 * --modes ceiling,node-red runs only those closed-loop servers.
 * --quick (about 5 minutes, for a quiet machine): --sizes 10000 --window 60
 *   --modes ceiling,node-red --explain. What a run does not measure stays from the
 *   previous results file, marked with that run's date; the verdicts are
 *   judged on the merged figures.
 * --readme writes the figures into README.md between the bench:ocpp markers
 * (scripts/bench-readme.js; the figures are kept in bench/results/ocpp.json).
 *
 * Calibration and profiling: BENCH_KINDS=meter filters the events node;
 * BENCH_NOOP_METERVALUES=1 makes our node answer MeterValues with {} and do
 * nothing else; BENCH_BARE_SPIN_US=10 gives the bare server 10 µs of work per
 * call; BENCH_PROF_WINDOW=1 profiles the realistic window inside the server
 * and prints where its time goes; BENCH_PROF=1 writes whole-process CPU
 * profiles to /tmp/evprof; BENCH_HEAP=1 an allocation profile to
 * /tmp/evheap.heapprofile; BENCH_NODE_ARGS="--trace-gc" passes Node options.
 *
 * Ten thousand websockets need as many file descriptors in each process:
 * the script raises its soft limit (ulimit -n) up to the hard limit by
 * starting itself again, and leaves out sizes that do not fit.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { closedLoop, closedLoopTurns, type ClosedFigures } from "./ocpp-closed";
import { fileLimit, filesNeeded } from "./ocpp-charger";
import type { ServerMode } from "./ocpp-process";
import { runRealistic, type RealisticFigures } from "./ocpp-realistic";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const num = (name: string, fallback: number) => Number(arg(name, String(fallback)));

/** --quick: the short run for a quiet machine (about 5 minutes): 10,000 chargers realistic and the closed loop's share of its ceiling. */
const QUICK = process.argv.includes("--quick");
const ALL_MODES: ServerMode[] = ["bare", "ceiling", "node-red", "contrib"];

const CHARGERS = num("chargers", 1000);
const SECONDS = num("seconds", 8);
const CONCURRENCY = num("concurrency", 200);
/**
 * Closed-loop rounds per server. On a shared machine one round's CPU per call varies by ±15 %, so the share of the
 * ceiling is judged on the median of round pairs (each pair ran back to back), not on one lucky or unlucky round.
 */
const ROUNDS = num("rounds", 5);
/** Ours against its ceiling: slices per server, and their length (see bench/ocpp-closed.ts). --turns 0: rounds instead. */
const TURNS = num("turns", 80);
const SLICE_MS = num("slice-ms", 500);
/** --explain with turns: profiled slices per server (a separate run; the profiler costs a little CPU). */
const EXPLAIN_TURNS = num("explain-turns", 30);
const ONLY = arg("only", "");
const SIZES_ARG = arg("sizes", QUICK ? "10000" : "1000,10000");
const SIZES = SIZES_ARG === "none" ? [] : SIZES_ARG.split(",").map(Number).filter((n) => n > 0);
const MODES = arg("modes", QUICK ? "ceiling,node-red" : ALL_MODES.join(","))
  .split(",")
  .filter((m): m is ServerMode => (ALL_MODES as string[]).includes(m));
const WINDOW_S = num("window", QUICK ? 60 : 90);
const WARMUP_S = num("warmup", 10);
const README = process.argv.includes("--readme");
/** --explain: the closed loop profiles each server's loop and shows, per call, where ours spends more than its ceiling. */
const EXPLAIN = process.argv.includes("--explain") || QUICK;

const LABEL: Record<ServerMode, string> = {
  bare: "bare ocpp-rpc",
  ceiling: "bare ocpp-rpc + 2 ready-made events into Node-RED",
  "node-red": "ev-ocpp-central-system in Node-RED",
  contrib: "node-red-contrib-ocpp (CS server + response)",
};

/** The round with the median throughput (the lower middle one of an even count): what a typical round showed. */
function medianRound(rounds: ClosedFigures[]): ClosedFigures {
  const sorted = [...rounds].sort((a, b) => a.callsPerS - b.callsPerS);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface ClosedTurns {
  slices: number;
  sliceMs: number;
  /** Calls per second of each slice, per server, in the order they ran (slice i of each: one right after the other). */
  sliceCallsPerS: Record<string, number[]>;
}

export interface Verdict {
  part: "closed" | "realistic";
  what: string;
  figure: string;
  target: string;
  met: boolean | undefined;
}

type RealisticRow = RealisticFigures & { date?: string };

export interface OcppResults {
  date: string;
  machine: { cores: number; cpu: string; node: string; loadBefore: number[]; loadAfter: number[] };
  closed?: {
    date: string;
    chargers: number;
    seconds: number;
    rounds: number;
    /** Ours and its ceiling taking turns side by side (their figures in `best` are over all their slices). */
    turns?: ClosedTurns;
    /** Each server's median round (by calls/s; the name is from when the best round was shown), or its turns. */
    best: ClosedFigures[];
    all: Record<string, number[]>;
    /** Server CPU µs per call of every round, per mode. */
    cpu?: Record<string, number[]>;
    /** More runnable work than 1.5× the cores during the run: calls/s says more about the scheduler than about the servers. */
    overloaded?: boolean;
    skipped: string[];
    explain?: ClosedExplain;
  };
  realistic?: RealisticRow[];
  realisticSkipped?: string[];
  verdicts: Verdict[];
}

function machineLine(load: number[]): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "?"}), load average ${load.map((l) => l.toFixed(2)).join(" / ")} (1/5/15 min), Node ${process.version}`;
}

/** Where ours spends more per call than its ceiling, from a CPU profile of one round of each (µs per call). */
interface ClosedExplain {
  /** How the profiles were taken. */
  how?: string;
  ceilingUs: number;
  oursUs: number;
  parts: Array<{ part: string; ceiling: number; ours: number; more: number }>;
  functions: Array<{ fn: string; ceiling: number; ours: number; more: number }>;
}

/**
 * The profiler samples wall time: on a loaded machine, time the server spent waiting for a CPU lands on whatever
 * function was running. Each profile is scaled so that it adds up to the server's measured CPU time per call
 * (process.cpuUsage over the same loop), which keeps the shares and puts them in CPU µs.
 */
function toCpu(us: Record<string, number> | undefined, cpuUsPerCall: number): Record<string, number> {
  const total = Object.values(us ?? {}).reduce((t, v) => t + v, 0);
  const k = total > 0 ? cpuUsPerCall / total : 0;
  return Object.fromEntries(Object.entries(us ?? {}).map(([name, v]) => [name, Math.round(v * k * 100) / 100]));
}

function explainDifference(ceilingRaw: ClosedFigures, oursRaw: ClosedFigures, how: string): ClosedExplain {
  const scaled = (f: ClosedFigures): ClosedFigures => {
    const fnTotal = Object.values(f.fnUs ?? {}).reduce((t, v) => t + v, 0);
    const partTotal = Object.values(f.partUs ?? {}).reduce((t, v) => t + v, 0);
    // Functions and parts add up to the same profiled time (idle left out of both); scale both alike.
    return { ...f, partUs: toCpu(f.partUs, f.cpuUsPerCall), fnUs: toCpu(f.fnUs, (f.cpuUsPerCall * fnTotal) / Math.max(1e-9, partTotal)) };
  };
  const ceiling = scaled(ceilingRaw);
  const ours = scaled(oursRaw);
  const diff = (a: Record<string, number> = {}, b: Record<string, number> = {}) =>
    [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .map((k) => ({ k, ceiling: a[k] ?? 0, ours: b[k] ?? 0, more: Math.round(((b[k] ?? 0) - (a[k] ?? 0)) * 100) / 100 }))
      .sort((x, y) => y.more - x.more);
  const sum = (r: Record<string, number> = {}) => Math.round(Object.values(r).reduce((t, v) => t + v, 0) * 10) / 10;
  const e: ClosedExplain = {
    how,
    ceilingUs: sum(ceiling.partUs),
    oursUs: sum(ours.partUs),
    parts: diff(ceiling.partUs, ours.partUs).map(({ k, ...r }) => ({ part: k, ...r })),
    functions: diff(ceiling.fnUs, ours.fnUs)
      .filter((r) => Math.abs(r.more) >= 0.2)
      .slice(0, 12)
      .map(({ k, ...r }) => ({ fn: k, ...r })),
  };
  console.log(
    `\n  Where ours spends more per call than its ceiling (${how}, ${ceiling.callsPerS} and ${ours.callsPerS} calls/s; ` +
      `server CPU µs per call, ${e.oursUs} vs ${e.ceilingUs}, ${((e.ceilingUs / e.oursUs) * 100).toFixed(0)} %; ` +
      "the profile's shares scaled to the measured CPU per call):",
  );
  console.table(e.parts.map((p) => ({ part: p.part, "ceiling µs": p.ceiling, "ours µs": p.ours, "ours more": p.more })));
  console.log("  by function (the largest differences):");
  console.table(e.functions.map((f) => ({ function: f.fn, "ceiling µs": f.ceiling, "ours µs": f.ours, "ours more": f.more })));
  return e;
}

const shortDate = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;

/** The shares of each slice pair, ours over its ceiling (they ran one right after the other): how much one slice says. */
function slicePairShares(turns: ClosedTurns): number[] {
  const ceiling = turns.sliceCallsPerS.ceiling ?? [];
  const ours = turns.sliceCallsPerS["node-red"] ?? [];
  const out: number[] = [];
  for (let i = 0; i < Math.min(ceiling.length, ours.length); i++) if (ceiling[i] > 0) out.push(ours[i] / ceiling[i]);
  return out.sort((a, b) => a - b);
}

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

async function runClosed(results: OcppResults): Promise<void> {
  const modes = MODES;
  // Ours against its ceiling is the target: the two take turns side by side (see bench/ocpp-closed.ts); other servers run rounds.
  const paired = TURNS > 0 && modes.includes("ceiling") && modes.includes("node-red");
  const roundModes = paired ? modes.filter((m) => m !== "ceiling" && m !== "node-red") : modes;
  const bests: ClosedFigures[] = [];
  const all: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  let turns: ClosedTurns | undefined;
  let loadMax = results.machine.loadBefore[0] ?? 0;
  if (paired) {
    console.log(
      `\n== Closed loop, ours and its ceiling side by side: ${CHARGERS} chargers each, MeterValues as fast as answered, ` +
        `the two taking turns in ${TURNS} slices of ${SLICE_MS} ms each (the order swapped every cycle)`,
    );
    const figures = await closedLoopTurns(["ceiling", "node-red"], {
      chargers: CHARGERS,
      concurrency: CONCURRENCY,
      slices: TURNS,
      sliceMs: SLICE_MS,
      onCycle: (done, total) => {
        if (done % 20 === 0 && done < total) console.log(`  ${done} of ${total} cycles`);
      },
    });
    turns = { slices: TURNS, sliceMs: SLICE_MS, sliceCallsPerS: {} };
    for (const f of figures) {
      const { sliceCallsPerS, slices: _slices, ...figure } = f;
      turns.sliceCallsPerS[f.mode] = sliceCallsPerS;
      bests.push(figure);
      all[f.mode] = [f.callsPerS];
      cpu[f.mode] = [f.cpuUsPerCall];
      loadMax = Math.max(loadMax, f.load);
    }
  }
  const rounds = new Map<ServerMode, ClosedFigures[]>(roundModes.map((m) => [m, []]));
  const skipped: string[] = [];
  if (roundModes.length > 0) {
    console.log(`\n== Closed loop: ${CHARGERS} chargers, ${SECONDS} s of MeterValues as fast as answered, ${ROUNDS} interleaved round(s) (order reversed every other round), the median round shown`);
  }
  const round = { chargers: CHARGERS, concurrency: CONCURRENCY, seconds: SECONDS };
  for (let i = 0; i < (roundModes.length > 0 ? ROUNDS : 0); i++) {
    // Reversed every other round: a machine that slows down or speeds up during the run favours neither server.
    for (const mode of i % 2 === 0 ? roundModes : [...roundModes].reverse()) {
      if (mode === "contrib" && skipped.length > 0) continue;
      try {
        const r = await closedLoop(mode, round);
        loadMax = Math.max(loadMax, r.load);
        rounds.get(mode)!.push(r);
      } catch (err) {
        if (mode !== "contrib") throw err;
        skipped.push(`node-red-contrib-ocpp could not be driven: ${(err as Error).message}`);
      }
    }
  }
  for (const m of roundModes) {
    const list = rounds.get(m)!;
    if (list.length === 0) continue;
    bests.push(medianRound(list));
    all[m] = list.map((r) => r.callsPerS);
    cpu[m] = list.map((r) => r.cpuUsPerCall);
  }
  bests.sort((a, b) => ALL_MODES.indexOf(a.mode) - ALL_MODES.indexOf(b.mode));
  let explain: ClosedExplain | undefined;
  if (EXPLAIN && paired) {
    // Extra turns, profiled (the profiler costs a little CPU, so these are not among the figures above).
    console.log(`  profiling: ${EXPLAIN_TURNS} more slices of each, the profiler on during each server's own slices`);
    const [ceiling, ours] = await closedLoopTurns(["ceiling", "node-red"], {
      chargers: CHARGERS,
      concurrency: CONCURRENCY,
      slices: EXPLAIN_TURNS,
      sliceMs: SLICE_MS,
      explain: true,
    });
    explain = explainDifference(ceiling, ours, `${EXPLAIN_TURNS} profiled slices of each, taking turns`);
  } else if (EXPLAIN && modes.includes("ceiling") && modes.includes("node-red")) {
    // An extra round of each, profiled (the profiler costs a little CPU, so these rounds are not among the figures above).
    const ceiling = await closedLoop("ceiling", { ...round, explain: true });
    const ours = await closedLoop("node-red", { ...round, explain: true });
    explain = explainDifference(ceiling, ours, "a profiled extra round of each");
  }
  console.table(
    bests.map((r) => ({
      server: LABEL[r.mode],
      "calls/s": r.callsPerS,
      "p50 (ms)": r.p50,
      "p99 (ms)": r.p99,
      "CPU µs/call": r.cpuUsPerCall,
      "of which kernel": r.sysUsPerCall,
      "KB/connection": r.kbPerConnection,
      "RSS loaded (MB)": r.rssMb,
      "connect all (ms)": r.connectMs,
      "load (1 min)": r.load,
      errors: r.errors,
    })),
  );
  if (turns) {
    const shares = slicePairShares(turns);
    const pct = (q: number) => `${(quantile(shares, q) * 100).toFixed(0)} %`;
    console.log(
      `  slice by slice, ours as a share of its ceiling: ${pct(0.1)} / ${pct(0.25)} / ${pct(0.5)} / ${pct(0.75)} / ${pct(0.9)} (10th / 25th / 50th / 75th / 90th percentile of ${shares.length} slice pairs)`,
    );
  }
  for (const m of roundModes) {
    const list = rounds.get(m)!;
    if (list.length) console.log(`  all rounds, ${LABEL[m]}: ${list.map((r) => `${r.callsPerS} calls/s ${r.cpuUsPerCall} µs (load ${r.load})`).join("; ")}`);
  }
  for (const s of skipped) console.log(`  ${s}`);
  const overloaded = loadMax > os.cpus().length * 1.5;
  // rounds: per server of those that ran in rounds in this run (0: none did; their rows come from an earlier run).
  results.closed = { date: results.date, chargers: CHARGERS, seconds: SECONDS, rounds: roundModes.length > 0 ? ROUNDS : 0, turns, best: bests, all, cpu, overloaded, skipped, explain };
}

async function runRealisticPart(results: OcppResults, sizes: number[]): Promise<void> {
  console.log(
    `\n== Realistic load: each charger Boot, Status, Start, then MeterValues (4 values) every 10 s and Heartbeat every 5 min; ` +
      `one ev-ocpp-in (no filter) to an inactive debug node; ${WARMUP_S} s warm-up, ${WINDOW_S} s steady window`,
  );
  const rows: RealisticRow[] = [];
  for (const n of sizes) {
    const f = await runRealistic({ chargers: n, windowS: WINDOW_S, warmupS: WARMUP_S, meterEveryS: 10, heartbeatEveryS: 300, concurrency: CONCURRENCY });
    rows.push({ ...f, date: results.date });
    console.log(`  ${n} chargers done (set-up ${f.setupS} s, load ${f.load.join(" → ")})`);
    if (f.top) {
      console.log(`  where the server's main thread spends its busy time in the window (self time, share of busy samples, top ${f.top.length}):`);
      for (const t of f.top) console.log(`    ${String(t.share).padStart(5)} %  ${t.fn}`);
    }
  }
  console.table(
    rows.map((r) => ({
      chargers: r.chargers,
      "calls/s": r.callsPerS,
      "p50 (ms)": r.p50,
      "p99 (ms)": r.p99,
      "max (ms)": r.max,
      "CPU % of one core": r.cpuPct,
      "CPU µs/call": r.cpuUsPerCall,
      "KB/charger (max)": r.kbPerCharger,
      "KB/charger after GC": r.kbPerChargerAfterGc,
      "disk KB/s": r.diskKBps,
      "load (1 min)": r.load.join(" → "),
      errors: r.errors,
    })),
  );
  console.log("  Whose latency: the server's own share (held = frame in to answer out; loop = its event-loop delay), the generator's, and the machine's (waits for a CPU):");
  console.table(
    rows.map((r) => ({
      chargers: r.chargers,
      "p99 (ms)": r.p99,
      "server held p50/p99 (ms)": `${r.serverHoldP50Ms} / ${r.serverHoldP99Ms}`,
      "server loop p99 (ms)": r.loopP99Ms,
      "server no-CPU wait (ms/s)": r.serverRunQueueMsPerS,
      "generator sends late p99 (ms)": r.generatorLagP99Ms,
      "generator loop p99 (ms)": r.generatorLoopP99Ms,
      "generator CPU %": r.generatorCpuPct,
      "generator no-CPU wait (ms/s)": r.generatorRunQueueMsPerS,
    })),
  );
  results.realistic = rows;
}

/** The targets, judged on the merged figures (this run's, and an earlier run's for what this one did not measure). */
function computeVerdicts(results: OcppResults): Verdict[] {
  const verdicts: Verdict[] = [];
  const c = results.closed;
  if (c) {
    const get = (m: ServerMode) => c.best.find((b) => b.mode === m);
    const medianCpu = (m: ServerMode) => median(c.cpu?.[m]?.length ? c.cpu[m] : [get(m)?.cpuUsPerCall ?? NaN]);
    const ours = get("node-red");
    const ceiling = get("ceiling");
    const bare = get("bare");
    const contrib = get("contrib");
    const from = (f: ClosedFigures | undefined) => (f?.from ? ` [from the run of ${shortDate(f.from)}]` : "");
    const basis = c.overloaded ? " — machine overloaded, judged by CPU per call" : "";
    /** Round i of `a` against round i of `b` (they ran back to back), for each round both have. */
    const pairs = (a: ServerMode, b: ServerMode, of: Record<string, number[]> | undefined, invert = false) => {
      const xs = of?.[a] ?? [];
      const ys = of?.[b] ?? [];
      const out: number[] = [];
      for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
        const r = invert ? ys[i] / xs[i] : xs[i] / ys[i];
        if (Number.isFinite(r)) out.push(r);
      }
      return out;
    };
    const pct = (r: number) => `${(r * 100).toFixed(0)} %`;
    if (ours && ceiling && c.turns && ours.from === ceiling.from) {
      // Side by side, in turns: the share over all slices (each server's calls over its own active time).
      const share = ours.callsPerS / ceiling.callsPerS;
      const cpuShare = ceiling.cpuUsPerCall / ours.cpuUsPerCall;
      const slices = slicePairShares(c.turns);
      verdicts.push({
        part: "closed",
        what: `Closed loop, ${c.chargers} chargers: throughput as a share of bare ocpp-rpc + the two events into Node-RED`,
        figure:
          `${pct(share)} by calls/s (${ours.callsPerS} vs ${ceiling.callsPerS} calls/s over ${c.turns.slices} slices of ${c.turns.sliceMs} ms each, the two side by side taking turns; ` +
          `slice pair by slice pair ${pct(quantile(slices, 0.25))} to ${pct(quantile(slices, 0.75))}, middle half${bare ? `; bare alone ${bare.callsPerS}${from(bare)}` : ""}), ` +
          `${pct(cpuShare)} by server CPU per call (${ours.cpuUsPerCall} vs ${ceiling.cpuUsPerCall} µs${bare ? `; bare ${medianCpu("bare")}` : ""})${from(ours)}${basis}`,
        target: "≥ 90 %",
        met: (c.overloaded ? cpuShare : share) >= 0.9,
      });
    } else if (ours && ceiling) {
      const fresh = !ours.from && !ceiling.from;
      const callPairs = fresh ? pairs("node-red", "ceiling", c.all) : [];
      const cpuPairs = fresh ? pairs("node-red", "ceiling", c.cpu, true) : [];
      // Several pairs: their median (one round of either can be slowed by the machine); otherwise the rounds shown.
      const share = callPairs.length > 1 ? median(callPairs) : ours.callsPerS / ceiling.callsPerS;
      const cpuShare = cpuPairs.length > 1 ? median(cpuPairs) : medianCpu("ceiling") / medianCpu("node-red");
      const spread = (xs: number[]) => (xs.length > 1 ? `; pair by pair ${xs.map(pct).join(", ")}` : "");
      // Each server's fastest round: on a shared machine a round only ever runs slower than the server can.
      const fastest = (m: ServerMode) => Math.max(...(c.all[m] ?? []));
      const bestShare = callPairs.length > 1 ? `${fastest("node-red")} vs ${fastest("ceiling")} calls/s, ${pct(fastest("node-red") / fastest("ceiling"))}` : "";
      verdicts.push({
        part: "closed",
        what: `Closed loop, ${c.chargers} chargers: throughput as a share of bare ocpp-rpc + the two events into Node-RED`,
        figure:
          `${pct(share)} by calls/s, median of ${Math.max(1, callPairs.length)} round pair(s) (median rounds ${ours.callsPerS} vs ${ceiling.callsPerS} calls/s` +
          `${bestShare ? `; best rounds ${bestShare}` : ""}` +
          `${bare ? `; bare alone ${bare.callsPerS}${from(bare)}` : ""}${spread(callPairs)}), ` +
          `${pct(cpuShare)} by server CPU per call (medians ${medianCpu("node-red")} vs ${medianCpu("ceiling")} µs${bare ? `; bare ${medianCpu("bare")}` : ""}${spread(cpuPairs)})${basis}`,
        target: "≥ 90 %",
        met: (c.overloaded ? cpuShare : share) >= 0.9,
      });
    }
    if (ours && contrib) {
      const ratio = ours.callsPerS / contrib.callsPerS;
      const cpuRatio = medianCpu("contrib") / medianCpu("node-red");
      // Figures from two runs, or from turns against rounds, compare fairly only by CPU per call.
      const byCpu = c.overloaded || contrib.from !== ours.from || c.turns !== undefined;
      verdicts.push({
        part: "closed",
        what: `Closed loop, ${c.chargers} chargers: against node-red-contrib-ocpp`,
        figure: `${ratio.toFixed(2)}× its calls/s (${ours.callsPerS} vs ${contrib.callsPerS}), ${cpuRatio.toFixed(2)}× by CPU per call; p99 ${ours.p99} vs ${contrib.p99} ms${from(contrib)}${byCpu ? " — judged by CPU per call" : ""}`,
        target: "> 1×",
        met: (byCpu ? cpuRatio : ratio) > 1,
      });
    } else if (ours) {
      verdicts.push({ part: "closed", what: "Against node-red-contrib-ocpp", figure: c.skipped.join("; ") || "not run", target: "> 1×", met: undefined });
    }
  }
  const rows = [...(results.realistic ?? [])].sort((a, b) => a.chargers - b.chargers);
  const top = rows[rows.length - 1];
  if (!top) return verdicts;
  const note = top.chargers === 10_000 ? "" : ` (targets are set for 10,000; measured at ${top.chargers})`;
  const whose =
    top.serverHoldP99Ms !== undefined
      ? `; the server held calls ${top.serverHoldP50Ms} / ${top.serverHoldP99Ms} ms p50 / p99, its event-loop delay p99 ${top.loopP99Ms} ms, it waited for a CPU ${top.serverRunQueueMsPerS} ms/s; ` +
        `the generator sent ${top.generatorLagP99Ms} ms late p99, its loop delay p99 ${top.generatorLoopP99Ms} ms, ${top.generatorCpuPct} % CPU, waited for a CPU ${top.generatorRunQueueMsPerS} ms/s; load ${top.load.join(" → ")}`
      : `; server event-loop delay p99 ${top.loopP99Ms} ms, load generator's timers late by ${top.generatorLagP99Ms} ms p99`;
  verdicts.push(
    { part: "realistic", what: `Realistic, ${top.chargers} chargers: p99 latency${note}`, figure: `${top.p99} ms (p50 ${top.p50}, max ${top.max}${whose})`, target: "< 50 ms", met: top.p99 < 50 },
    { part: "realistic", what: `Realistic, ${top.chargers} chargers: server CPU${note}`, figure: `${top.cpuPct} % of one core (${top.cpuUsPerCall} µs per call)`, target: "< 35 %", met: top.cpuPct < 35 },
    { part: "realistic", what: `Realistic, ${top.chargers} chargers: memory${note}`, figure: `${top.kbPerCharger} KB per charger, highest RSS in the window (${top.kbPerChargerAfterGc} KB after a forced GC, of which ${top.heapKbPerCharger} KB JavaScript heap)`, target: "≤ 40 KB", met: top.kbPerCharger <= 40 },
    {
      part: "realistic",
      what: `Realistic, ${top.chargers} chargers: session-store disk writes${note}`,
      figure: `${top.diskKBps} KB/s (session files ${top.storeKB} KB)`,
      target: "< 1 MB/s",
      met: top.diskKBps < 1024,
    },
  );
  const low = rows[0];
  if (rows.length > 1 && low.chargers < top.chargers) {
    const ratio = top.cpuUsPerCall / low.cpuUsPerCall;
    const older = low.date !== results.date ? low : top.date !== results.date ? top : undefined;
    const mixed = older?.date && low.date !== top.date ? ` [${older.chargers} from the run of ${shortDate(older.date)}]` : "";
    verdicts.push({
      part: "realistic",
      what: `Realistic: CPU per call at ${top.chargers} against ${low.chargers} chargers`,
      figure: `${ratio.toFixed(2)}× (${top.cpuUsPerCall} vs ${low.cpuUsPerCall} µs)${mixed}`,
      target: "≤ 1.5×",
      met: ratio <= 1.5,
    });
  }
  return verdicts;
}

/**
 * What this run did not measure (--only, --modes, --sizes, --quick) stays from the previous results file (and so in the
 * README), marked with the date of its run.
 */
function keepPrevious(results: OcppResults, file: string): void {
  let previous: OcppResults;
  try {
    previous = JSON.parse(readFileSync(file, "utf8")) as OcppResults;
  } catch {
    return;
  }
  if (previous.closed) {
    const prevDate = previous.closed.date ?? previous.date;
    if (!results.closed) results.closed = previous.closed;
    else if (previous.closed.chargers === results.closed.chargers) {
      const c = results.closed;
      const ranPair = c.best.some((b) => b.mode === "ceiling" || b.mode === "node-red");
      if (!ranPair && !c.turns && previous.closed.turns) c.turns = previous.closed.turns;
      for (const old of previous.closed.best) {
        if (c.best.some((b) => b.mode === old.mode)) continue;
        c.best.push({ ...old, from: old.from ?? prevDate });
        c.all[old.mode] = previous.closed.all?.[old.mode] ?? [old.callsPerS];
        if (c.cpu) c.cpu[old.mode] = previous.closed.cpu?.[old.mode] ?? [old.cpuUsPerCall];
      }
      c.best.sort((a, b) => ALL_MODES.indexOf(a.mode) - ALL_MODES.indexOf(b.mode));
    }
  }
  const rows = results.realistic ?? [];
  for (const old of previous.realistic ?? []) {
    if (!rows.some((r) => r.chargers === old.chargers)) rows.push({ ...old, date: old.date ?? previous.date });
  }
  rows.sort((a, b) => a.chargers - b.chargers);
  if (rows.length) results.realistic = rows;
  results.realisticSkipped ??= previous.realisticSkipped;
}

/** Raises the soft open-files limit by starting this script again under `ulimit -Sn`; returns the sizes that fit. */
function ensureFileLimit(sizes: number[]): { sizes: number[]; skipped: string[]; reexec?: number } {
  // Ours and its ceiling taking turns: the generator holds both sets of chargers at once.
  const need = filesNeeded(Math.max(CHARGERS * 2, ...sizes, 0));
  const limit = fileLimit();
  if (!limit || limit.soft >= need) return { sizes, skipped: [] };
  if (limit.hard >= need && !process.env.BENCH_ULIMIT_RAISED) {
    console.log(`Open-files limit ${limit.soft} is too low for ${need - 1024} websockets per process; starting again with ulimit -n ${need}`);
    const r = spawnSync("/bin/sh", ["-c", `ulimit -Sn ${need} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: "inherit",
      env: { ...process.env, BENCH_ULIMIT_RAISED: "1" },
    });
    return { sizes, skipped: [], reexec: r.status ?? 1 };
  }
  const fit = sizes.filter((n) => filesNeeded(n) <= limit.soft);
  const skipped = sizes
    .filter((n) => !fit.includes(n))
    .map((n) => `${n} chargers left out: they need ${filesNeeded(n)} open files per process, the limit is ${limit.soft} (hard ${limit.hard}); raise it with ulimit -n (as root, or in /etc/security/limits.conf)`);
  return { sizes: fit, skipped };
}

async function main(): Promise<void> {
  const fd = ensureFileLimit(SIZES);
  if (fd.reexec !== undefined) process.exit(fd.reexec);
  const loadBefore = os.loadavg().map((l) => Math.round(l * 100) / 100);
  console.log(`OCPP benchmark on ${machineLine(loadBefore)}. Other work on the machine slows every figure; CPU per call is the steadiest.`);
  const results: OcppResults = {
    date: new Date().toISOString(),
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model.trim() ?? "?", node: process.version, loadBefore, loadAfter: [] },
    verdicts: [],
  };
  if (QUICK) console.log("--quick: 10,000 chargers realistic and the closed loop against its ceiling; the other figures stay from the previous run (with its date).");
  if (ONLY !== "realistic" && MODES.length > 0) await runClosed(results);
  if (ONLY !== "closed" && (fd.sizes.length > 0 || fd.skipped.length > 0)) {
    for (const s of fd.skipped) console.log(`  ${s}`);
    results.realisticSkipped = fd.skipped;
    if (fd.sizes.length > 0) await runRealisticPart(results, fd.sizes);
  }
  results.machine.loadAfter = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const dir = path.join(__dirname, "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "ocpp.json");
  keepPrevious(results, file);
  results.verdicts = computeVerdicts(results);
  console.log(`\n== Verdicts (machine: ${machineLine(results.machine.loadAfter)})`);
  for (const v of results.verdicts) {
    const mark = v.met === undefined ? "not measured" : v.met ? "met" : "NOT MET";
    console.log(`  [${mark}] ${v.what}: ${v.figure} (target ${v.target})`);
  }
  console.log(
    "What is compared: every server is ocpp-rpc with strict schema validation of calls and answers, no pings, MeterValues answered {} " +
      "(node-red-contrib-ocpp validates nothing). Ours also converts the samples, updates the session and charger snapshot, " +
      `saves sessions and sends ${process.env.BENCH_KINDS ? `only "${process.env.BENCH_KINDS}" events` : "every event kind (meter + session.updated per MeterValues)"} into Node-RED.`,
  );
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`Figures written to ${path.relative(process.cwd(), file)}`);
  if (README) {
    const r = spawnSync(process.execPath, [path.join(__dirname, "..", "scripts", "bench-readme.js"), "ocpp"], { stdio: "inherit" });
    if (r.status !== 0) process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
