#!/usr/bin/env node
// npm run bench:footprint: what installing the package costs a Node-RED that
// does not use it, and what the example flows cost when deployed and idle.
//
// npm pack -> install the tarball into a fresh Node-RED 4.1 user dir the way
// the palette manager does (as test/palette/smoke.js) -> start Node-RED with
// and without the package, alternating, several rounds -> print the added
// start time (spawn to "Started flows") and RSS, median and spread. RSS four
// ways: 2.5 s after the start (still settling: the start's garbage is in the
// pages V8 wrote, printed without a target); 30 s after it, Node-RED idle and
// settled; after a full GC; and after a full GC with V8's young generation
// filled in every arm (bench/footprint-preload.js says why). The targets are
// read on the settled and the filled figures: what the package keeps rather
// than which pages the start's garbage happened to write.
// Then deploy every example flow (dev credentials filled in, no simulators:
// what a user gets on importing them) and measure RSS and CPU over an idle
// window, next to a bare Node-RED idling in the same window. (Node-RED also
// loads node modules installed beside itself: here the repo's devDependency
// node-red-contrib-influxdb, in every arm alike, so it cancels out.)
//
//   BENCH_ROUNDS=7        start rounds (each starts both user dirs)
//   BENCH_IDLE_S=60       idle window with every example deployed
//   BENCH_WARMUP_S=10     wait after deploying before the window opens
//   BENCH_SETTLE_MS=2500  wait after "Started flows" before the first RSS reading
//   BENCH_IDLE_RSS_MS=30000  the settled reading, that long after "Started flows" (then again after a full GC)
//   BENCH_BREAKDOWN=0     skip the third arm (the package with stub node files, which
//                         splits the added cost into Node-RED's handling of the package and our code)
//   BENCH_PER_EXAMPLE=1   also measure each example alone (finds a costly one)
//   BENCH_NODE=<path>     another Node binary (default: the machine's)
//   --readme              write the figures into README.md (scripts/bench-readme.js footprint;
//                         they are kept in bench/results/footprint.json either way)
"use strict";
const { spawn, spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { targets, freePort, writeSettings, packInto, installTarball, sleep } = require("../test/lib/node-red-runner");
const { combineExampleDir, combineExamples } = require("../scripts/lib/combine-examples");
const devCredentials = require("../test/servers/dev-credentials.json");

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 7));
const IDLE_S = Math.max(5, Number(process.env.BENCH_IDLE_S ?? 60));
const WARMUP_S = Math.max(0, Number(process.env.BENCH_WARMUP_S ?? 10));
const SETTLE_MS = Math.max(0, Number(process.env.BENCH_SETTLE_MS ?? 2500));
const IDLE_RSS_MS = Math.max(SETTLE_MS, Number(process.env.BENCH_IDLE_RSS_MS ?? 30_000));
const PER_EXAMPLE = process.env.BENCH_PER_EXAMPLE === "1";
const BREAKDOWN = process.env.BENCH_BREAKDOWN !== "0";
const target = { ...targets["4.1"], nodeBin: process.env.BENCH_NODE || targets["4.1"].nodeBin };

// Targets (issue 20): what the package may add to a Node-RED that does not use it, and idle cost.
const MAX_ADDED_START_MS = 150;
const MAX_ADDED_RSS_MB = 5;
const MAX_IDLE_CPU_PCT = 1;

// What the package depends on that costs start time and memory (and what those bring along).
const HEAVY_PACKAGES = ["ocpp-rpc", "ws", "ajv", "pg", "pg-copy-streams", "@influxdata/influxdb-client", "fast-xml-parser", "axios"];

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

function machine() {
  const [l1, l5] = os.loadavg();
  return `${os.cpus().length} cores (${os.cpus()[0]?.model?.trim() ?? "?"}), load ${l1.toFixed(2)} / ${l5.toFixed(2)} (1 / 5 min)`;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "median (min – max)" with the unit. */
function spread(values, unit, digits = 0) {
  const f = (v) => v.toFixed(digits);
  return `${f(median(values))} ${unit} (${f(Math.min(...values))} – ${f(Math.max(...values))})`;
}

/** RSS of a process in MB, from /proc. */
function rssMb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces: count from the closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Node-REDs still running, stopped if the bench is interrupted. */
const running = new Set();
function live(child) {
  running.add(child);
  child.on("exit", () => running.delete(child));
  return child;
}
let workDir;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of running) child.kill("SIGKILL");
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    process.exit(130);
  });
}

/**
 * Starts Node-RED in userDir and resolves at "Started flows" with the time
 * from spawn in ms (read from the log as it arrives, not by polling).
 */
async function startRed(userDir, { flows = [] } = {}) {
  const port = await freePort();
  const report = path.join(userDir, "footprint.json");
  fs.rmSync(report, { force: true });
  fs.rmSync(`${report}.settled`, { force: true });
  writeSettings(userDir, { port, extra: { credentialSecret: false } });
  fs.writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(flows));
  const creds = Object.fromEntries(flows.filter((n) => devCredentials[n.type]).map((n) => [n.id, devCredentials[n.type]]));
  fs.writeFileSync(path.join(userDir, "flows_cred.json"), JSON.stringify(creds));
  const started = process.hrtime.bigint();
  const child = live(spawn(target.nodeBin, ["--expose-gc", "--require", path.join(__dirname, "footprint-preload.js"), target.redJs, "--userDir", userDir, "--settings", path.join(userDir, "settings.js"), "--port", String(port)], {
    cwd: userDir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "", EVKIT_FOOTPRINT_OUT: report },
  }));
  let log = "";
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const { wallMs, cpuMs } = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Node-RED did not start within 120 s:\n${log}`));
    }, 120_000);
    const onData = (chunk) => {
      log += chunk.toString();
      if (/Started flows|Failed to start|Waiting for missing types/.test(log)) {
        clearTimeout(timer);
        resolve({ wallMs: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: cpuSeconds(child.pid) * 1000 });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`Node-RED exited (${code ?? signal}) before starting:\n${log}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGINT");
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(killer);
  };
  /** After SIGURG: resolves when the preload has collected, filled the young generation and collected again. */
  const settled = async () => {
    for (let waited = 0; !fs.existsSync(`${report}.settled`); waited += 100) {
      if (waited > 60_000) throw new Error("Node-RED did not settle within 60 s of SIGURG (bench/footprint-preload.js)");
      await sleep(100);
    }
  };
  /** After stop: what bench/footprint-preload.js saw (our files' load time, the packages loaded, memory after GC). */
  const loaded = () => JSON.parse(fs.readFileSync(report, "utf8"));
  return { child, startMs: wallMs, startCpuMs: cpuMs, stop, settled, loaded, log: () => log };
}

/** Each user dir ("arm") started in turn, ROUNDS times, the order rotating: start time, CPU to start, RSS each. */
async function startRounds(arms) {
  const results = arms.map(() => ({ start: [], cpu: [], rss: [], rssIdle: [], rssGc: [], steady: [], youngAtStart: [], loaded: [] }));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order, so drift in the machine's load falls on every arm.
    for (let k = 0; k < arms.length; k++) {
      const i = (round + k) % arms.length;
      const into = results[i];
      const red = await startRed(arms[i].dir);
      await sleep(SETTLE_MS);
      into.start.push(red.startMs);
      into.cpu.push(red.startCpuMs);
      into.rss.push(rssMb(red.child.pid));
      await sleep(IDLE_RSS_MS - SETTLE_MS);
      into.rssIdle.push(rssMb(red.child.pid));
      red.child.kill("SIGURG");
      await red.settled();
      await red.stop();
      const seen = red.loaded();
      into.loaded.push(seen);
      into.rssGc.push(seen.rssAfterGcMb);
      into.steady.push(seen.steady.rssMb);
      into.youngAtStart.push(seen.youngAtStartMb);
    }
    const last = (key, digits) => results.map((r) => r[key].at(-1).toFixed(digits)).join(" / ");
    process.stdout.write(
      `  round ${round + 1}/${ROUNDS}: start ${last("start", 0)} ms, CPU ${last("cpu", 0)} ms, RSS ${last("rss", 1)} MB, settled ${last("rssIdle", 1)} MB, young generation filled ${last("steady", 1)} MB (${arms.map((a) => a.name).join(" / ")}; load ${os.loadavg()[0].toFixed(1)})\n`,
    );
  }
  return results;
}

/**
 * A user dir with the package installed and its node files replaced by stubs
 * that only register the types (the HTML, locales, icons and examples stay):
 * what Node-RED's own handling of the package costs, without our code.
 */
function stubNodeFiles(userDir) {
  const installed = path.join(userDir, "node_modules", "@evkit", "node-red-ev");
  const pkg = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
  for (const js of Object.values(pkg["node-red"].nodes)) {
    const html = fs.readFileSync(path.join(installed, js.replace(/\.js$/, ".html")), "utf8");
    const types = [...html.matchAll(/data-template-name=["']([^"']+)["']/g)].map((m) => m[1]);
    const register = types.map((t) => `RED.nodes.registerType(${JSON.stringify(t)}, function (c) { RED.nodes.createNode(this, c); });`);
    fs.writeFileSync(path.join(installed, js), `module.exports = function (RED) { ${register.join(" ")} };\n`);
  }
}

/** CPU % of one core and RSS of each process over one window of idle seconds, sampled every 10 s. */
async function idleWindow(processes, seconds) {
  const first = processes.map((p) => cpuSeconds(p.child.pid));
  const t0 = process.hrtime.bigint();
  const slices = processes.map(() => []);
  let last = [...first];
  let lastT = t0;
  for (let elapsed = 0; elapsed < seconds; ) {
    const step = Math.min(10, seconds - elapsed);
    await sleep(step * 1000);
    elapsed += step;
    const now = process.hrtime.bigint();
    const wall = Number(now - lastT) / 1e9;
    processes.forEach((p, i) => {
      const cpu = cpuSeconds(p.child.pid);
      slices[i].push(((cpu - last[i]) / wall) * 100);
      last[i] = cpu;
    });
    lastT = now;
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  return processes.map((p, i) => ({ cpuPct: ((last[i] - first[i]) / wall) * 100, slices: slices[i], rss: rssMb(p.child.pid) }));
}

function verdict(ok) {
  return ok ? "PASS" : "MISSED";
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-footprint-"));
  const load = () => os.loadavg().map((l) => Number(l.toFixed(2)));
  /** What bench/results/footprint.json keeps (and the README table shows: scripts/bench-readme.js). */
  const figures = { date: new Date().toISOString(), machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model?.trim() ?? "?", loadBefore: load() }, verdicts: [] };
  workDir = work;
  try {
    const nodeVersion = spawnSync(target.nodeBin, ["-v"], { encoding: "utf8" }).stdout.trim();
    figures.machine.node = nodeVersion;
    console.log(`# Footprint of the packed package in Node-RED 4.1 on Node ${nodeVersion}`);
    console.log(`# machine: ${machine()}`);
    console.log("# npm pack (runs the build through prepack), then install into a fresh user dir");
    const { tarball, packed } = packInto(work);
    const withDir = path.join(work, "with-package");
    installTarball(target.nodeBin, withDir, tarball);
    const bareDir = path.join(work, "without");
    fs.mkdirSync(bareDir, { recursive: true });
    fs.writeFileSync(path.join(bareDir, "package.json"), JSON.stringify({ name: "node-red-project", version: "0.0.1", private: true }));
    console.log(`  ${packed.filename}: ${(packed.size / 1024).toFixed(0)} kB packed`);

    console.log(`\n## Start with no flow, ${ROUNDS} rounds (spawn to "Started flows"; RSS ${SETTLE_MS} ms and ${IDLE_RSS_MS} ms later)`);
    const arms = [{ name: "without", dir: bareDir }, { name: "with", dir: withDir }];
    if (BREAKDOWN) {
      const stubDir = path.join(work, "with-stub-node-files");
      installTarball(target.nodeBin, stubDir, tarball);
      stubNodeFiles(stubDir);
      arms.push({ name: "with stub node files", dir: stubDir });
    }
    const [bare, withPkg, stub] = await startRounds(arms);
    const added = (key) => withPkg[key].map((v, i) => v - bare[key][i]);
    const startAdded = median(withPkg.start) - median(bare.start);
    const cpuAdded = median(withPkg.cpu) - median(bare.cpu);
    const rssAdded = median(withPkg.rss) - median(bare.rss);
    const rssIdleAdded = median(withPkg.rssIdle) - median(bare.rssIdle);
    const rssGcAdded = median(withPkg.rssGc) - median(bare.rssGc);
    const steadyAdded = median(withPkg.steady) - median(bare.steady);
    const mem = (r) => `RSS ${spread(r.rss, "MB", 1)}, settled ${spread(r.rssIdle, "MB", 1)}, after a full GC ${spread(r.rssGc, "MB", 1)}, young generation filled ${spread(r.steady, "MB", 1)}`;
    console.log(`  Node-RED alone:          start ${spread(bare.start, "ms")}, CPU to start ${spread(bare.cpu, "ms")}, ${mem(bare)}`);
    console.log(`  with @evkit/node-red-ev: start ${spread(withPkg.start, "ms")}, CPU to start ${spread(withPkg.cpu, "ms")}, ${mem(withPkg)}`);
    console.log(`  added (difference of the medians; per-round differences in brackets):`);
    // The JS heap in use after the GC: what V8 really keeps; RSS also holds pages V8 and malloc keep for later.
    const heap = (r) => r.loaded.map((l) => l.heapAfterGcMb);
    const heapAdded = median(heap(withPkg)) - median(heap(bare));
    const busy = os.loadavg()[0] > os.cpus().length;
    const startVerdict = busy ? "not measurable at this load (read CPU to start)" : verdict(startAdded <= MAX_ADDED_START_MS);
    console.log(`    start time   ${startAdded.toFixed(0)} ms [${spread(added("start"), "ms")}]  target <= ${MAX_ADDED_START_MS} ms: ${startVerdict}`);
    // On a busy machine wall time stretches with the load; the CPU Node-RED spends until its flows run does not.
    console.log(`    CPU to start ${cpuAdded.toFixed(0)} ms [${spread(added("cpu"), "ms")}]  target <= ${MAX_ADDED_START_MS} ms: ${verdict(cpuAdded <= MAX_ADDED_START_MS)}`);
    console.log(`    RSS, young generation filled ${steadyAdded.toFixed(1)} MB [${spread(added("steady"), "MB", 1)}]  target <= ${MAX_ADDED_RSS_MB} MB: ${verdict(steadyAdded <= MAX_ADDED_RSS_MB)}`);
    console.log(`    RSS ${IDLE_RSS_MS} ms after start, settled ${rssIdleAdded.toFixed(1)} MB [${spread(added("rssIdle"), "MB", 1)}]  target <= ${MAX_ADDED_RSS_MB} MB: ${verdict(rssIdleAdded <= MAX_ADDED_RSS_MB)}`);
    console.log(`    RSS ${SETTLE_MS} ms after start, still settling ${rssAdded.toFixed(1)} MB [${spread(added("rss"), "MB", 1)}]  (no target: the start's garbage)`);
    // A full GC hardly lowers RSS (V8 and malloc keep the pages); the heap in use after it is what is really kept.
    console.log(`    RSS after GC ${rssGcAdded.toFixed(1)} MB [${spread(added("rssGc"), "MB", 1)}]`);
    console.log(`    JS heap in use after GC ${heapAdded.toFixed(1)} MB [${spread(heap(withPkg).map((v, i) => v - heap(bare)[i]), "MB", 1)}] (the live objects; the rest of the RSS is memory V8 and malloc keep)`);
    const youngCapacity = withPkg.loaded[0].steady.youngCapacityMb;
    console.log(
      `  V8's young generation (${youngCapacity.toFixed(0)} MB when read, ${IDLE_RSS_MS} ms after the start) had written ${median(bare.youngAtStart).toFixed(1)} MB of its pages without the package, ` +
        `${median(withPkg.youngAtStart).toFixed(1)} MB with it. Right after the start it holds the start's garbage in up to 2 × 16 MB of pages (the reading ` +
        `${SETTLE_MS} ms after the start); once Node-RED idles V8 shrinks it, and any running flow fills it again. So the targets are read settled, and ` +
        "with it filled in both (bench/footprint-preload.js).",
    );
    const ownWall = withPkg.loaded.map((l) => l.wallMs);
    const ownCpu = withPkg.loaded.map((l) => l.cpuMs);
    const heavy = [...new Set(withPkg.loaded.flatMap((l) => l.packages))].filter((p) => HEAVY_PACKAGES.includes(p));
    console.log(`  of which Node-RED requiring our ${withPkg.loaded[0].files} node files (entries that load the node's code on deploy): ${spread(ownWall, "ms")} wall, ${spread(ownCpu, "ms")} CPU`);
    console.log(`  heavy packages loaded with no flow using them: ${heavy.length ? heavy.join(", ") : "none"}`);
    let breakdown;
    if (stub) {
      // Where the added cost goes: Node-RED's handling of the package (HTML, locales, icons, examples, node sets) vs our code.
      const share = (from, to, key) => median(to[key]) - median(from[key]);
      const heapShare = (from, to) => median(heap(to)) - median(heap(from));
      const part = (from, to) => ({ cpuMs: share(from, to, "cpu"), rssMb: share(from, to, "rss"), rssGcMb: share(from, to, "rssGc"), steadyMb: share(from, to, "steady"), heapMb: heapShare(from, to) });
      breakdown = { handling: part(bare, stub), ours: part(stub, withPkg) };
      const line = (p) => `CPU ${p.cpuMs.toFixed(0)} ms, RSS ${p.rssMb.toFixed(1)} MB (after GC ${p.rssGcMb.toFixed(1)} MB, young generation filled ${p.steadyMb.toFixed(1)} MB), JS heap ${p.heapMb.toFixed(1)} MB`;
      console.log(`  breakdown (package with stub node files: registers the types, runs none of our code):`);
      console.log(`    Node-RED handling the package: ${line(breakdown.handling)}`);
      console.log(`    our node files:                ${line(breakdown.ours)}`);
    }
    if (busy) console.log(`    (load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores: wall times are stretched; read the CPU figure)`);
    const summary = (r) => ({
      startMs: median(r.start),
      cpuMs: median(r.cpu),
      rssMb: median(r.rss),
      rssIdleMb: median(r.rssIdle),
      rssGcMb: median(r.rssGc),
      steadyMb: median(r.steady),
      heapMb: median(heap(r)),
      youngAtStartMb: median(r.youngAtStart),
    });
    const range = (values) => [Math.min(...values), Math.max(...values)];
    figures.start = {
      rounds: ROUNDS,
      settleMs: SETTLE_MS,
      idleRssMs: IDLE_RSS_MS,
      youngCapacityMb: youngCapacity,
      without: summary(bare),
      with: summary(withPkg),
      added: {
        startMs: startAdded,
        cpuMs: cpuAdded,
        cpuRangeMs: range(added("cpu")),
        rssMb: rssAdded,
        rssRangeMb: range(added("rss")),
        rssIdleMb: rssIdleAdded,
        rssIdleRangeMb: range(added("rssIdle")),
        rssGcMb: rssGcAdded,
        steadyMb: steadyAdded,
        steadyRangeMb: range(added("steady")),
        heapMb: heapAdded,
      },
      ownFilesCpuMs: median(ownCpu),
      nodeFiles: withPkg.loaded[0].files,
      heavyLoaded: heavy,
      breakdown,
    };
    figures.verdicts.push(
      { what: "CPU to start, added", figure: `${cpuAdded.toFixed(0)} ms`, target: `<= ${MAX_ADDED_START_MS} ms`, met: cpuAdded <= MAX_ADDED_START_MS },
      { what: "RSS added, young generation filled", figure: `${steadyAdded.toFixed(1)} MB`, target: `<= ${MAX_ADDED_RSS_MB} MB`, met: steadyAdded <= MAX_ADDED_RSS_MB },
      { what: `RSS added, ${IDLE_RSS_MS / 1000} s after start, settled`, figure: `${rssIdleAdded.toFixed(1)} MB`, target: `<= ${MAX_ADDED_RSS_MB} MB`, met: rssIdleAdded <= MAX_ADDED_RSS_MB },
    );

    console.log(`\n## Every example deployed, idle ${IDLE_S} s after ${WARMUP_S} s warm-up (no simulators: services are absent, nodes retry)`);
    const { files, flows } = combineExampleDir(path.join(withDir, "node_modules", "@evkit", "node-red-ev", "examples"));
    const idleBare = await startRed(bareDir);
    const idleWith = await startRed(withDir, { flows });
    let results;
    try {
      await sleep(WARMUP_S * 1000);
      results = await idleWindow([idleBare, idleWith], IDLE_S);
    } finally {
      await idleWith.stop();
      await idleBare.stop();
    }
    const [r0, r1] = results;
    const slices = (r) => r.slices.map((s) => s.toFixed(2)).join(" ");
    console.log(`  ${files.length} example flows, ${flows.filter((n) => n.type !== "tab").length} nodes`);
    console.log(`  Node-RED alone, idle:        CPU ${r0.cpuPct.toFixed(2)} % of one core (per 10 s: ${slices(r0)}), RSS ${r0.rss.toFixed(1)} MB`);
    console.log(`  with every example deployed: CPU ${r1.cpuPct.toFixed(2)} % of one core (per 10 s: ${slices(r1)}), RSS ${r1.rss.toFixed(1)} MB`);
    console.log(`    target < ${MAX_IDLE_CPU_PCT} % of one core: ${verdict(r1.cpuPct < MAX_IDLE_CPU_PCT)}`);
    figures.idle = { seconds: IDLE_S, examples: files.length, without: { cpuPct: r0.cpuPct, rssMb: r0.rss }, with: { cpuPct: r1.cpuPct, rssMb: r1.rss } };
    figures.verdicts.push({ what: "every example deployed, idle: CPU", figure: `${r1.cpuPct.toFixed(2)} % of one core`, target: `< ${MAX_IDLE_CPU_PCT} %`, met: r1.cpuPct < MAX_IDLE_CPU_PCT });
    const errors = idleWith.log().split("\n").filter((l) => /\[(error|warn)\]/.test(l) && !/Projects disabled|Encrypted credentials/.test(l));
    if (errors.length) console.log(`  (${errors.length} error/warn lines while idle, the absent services; first: ${errors[0].trim().slice(0, 160)})`);

    if (PER_EXAMPLE) {
      console.log(`\n## Each example alone, idle ${IDLE_S} s`);
      const exampleDir = path.join(withDir, "node_modules", "@evkit", "node-red-ev", "examples");
      for (const file of files) {
        const one = combineExamples([{ file, nodes: JSON.parse(fs.readFileSync(path.join(exampleDir, `${file}.json`), "utf8")) }]);
        const red = await startRed(withDir, { flows: one });
        try {
          await sleep(WARMUP_S * 1000);
          const [r] = await idleWindow([red], IDLE_S);
          console.log(`  ${file}: CPU ${r.cpuPct.toFixed(2)} %, RSS ${r.rss.toFixed(1)} MB`);
        } finally {
          await red.stop();
        }
      }
    }
    console.log(`\n# machine at the end: ${machine()}`);
    figures.machine.loadAfter = load();
    const dir = path.join(__dirname, "results");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "footprint.json");
    fs.writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`Figures written to ${path.relative(process.cwd(), file)}`);
    if (process.argv.includes("--readme")) {
      const r = spawnSync(process.execPath, [path.join(__dirname, "..", "scripts", "bench-readme.js"), "footprint"], { stdio: "inherit" });
      if (r.status !== 0) process.exitCode = 1;
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
