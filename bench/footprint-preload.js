// Preloaded into Node-RED by bench/footprint.js (node --require): measures the
// time (wall and CPU) Node-RED spends requiring our node files, and which
// packages they pull in, and writes it to $EVKIT_FOOTPRINT_OUT on exit. The
// wall time of a whole Node-RED start swings by seconds on a busy machine; this
// is the part that is ours. On SIGURG it runs a full garbage collection, then
// fills the young generation and collects again (see below).
"use strict";
const fs = require("fs");
const Module = require("module");

const out = process.env.EVKIT_FOOTPRINT_OUT;
const ours = `${require("path").sep}@evkit${require("path").sep}node-red-ev${require("path").sep}`;
const realLoad = Module._load;
let depth = 0;
let wallNs = 0n;
let cpuUs = 0;
let files = 0;

Module._load = function (request, parent, isMain) {
  // Only Node-RED's require of one of our node files counts (with whatever that file requires);
  // not its require of our package.json, which it reads to find node modules.
  if (depth > 0 || !request.includes(ours) || request.endsWith("package.json")) return realLoad.call(this, request, parent, isMain);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  depth = 1;
  try {
    return realLoad.call(this, request, parent, isMain);
  } finally {
    depth = 0;
    wallNs += process.hrtime.bigint() - t0;
    const c = process.cpuUsage(c0);
    cpuUs += c.user + c.system;
    files++;
  }
};

/** RSS in MB, from /proc. */
function rssNow() {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1] ?? NaN) / 1024;
}

// The bench asks for a full collection before reading RSS (node --expose-gc), so garbage
// left from the start, which V8 collects whenever it likes, does not count as cost.
// (Not SIGUSR2: Node-RED stops on it, for nodemon.)
//
// Then it fills V8's young generation (where every new object starts; up to twice 16 MB on
// 64-bit) with short-lived garbage and collects again. V8 keeps the young generation's pages
// once it has written them: right after the start, how many it has written depends on how much
// garbage the start made since the young generation last grew, a few MB either way for any
// package, while any Node-RED that runs a flow writes all of them within seconds. With the
// young generation full in every arm, the RSS difference is what the package keeps.
let heapAfterGcMb;
let rssAfterGcMb;
let youngAtStartMb;
let steady;
process.on("SIGURG", () => {
  if (typeof global.gc !== "function") return;
  const v8 = require("v8");
  const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
  global.gc();
  global.gc();
  heapAfterGcMb = process.memoryUsage().heapUsed / 1048576;
  rssAfterGcMb = rssNow();
  youngAtStartMb = (young()?.physical_space_size ?? 0) / 1048576;
  const capacity = young()?.space_size ?? 0;
  let sink = 0;
  // Small arrays that die at once: three times the capacity, so both semi-spaces are written.
  for (let bytes = 0; bytes < 3 * capacity; bytes += 64 * 8 + 32) sink += new Array(64).fill(bytes).length;
  global.gc();
  global.gc();
  steady = {
    rssMb: rssNow(),
    youngMb: (young()?.physical_space_size ?? 0) / 1048576,
    youngCapacityMb: capacity / 1048576,
    heapMb: process.memoryUsage().heapUsed / 1048576,
  };
  if (sink === 0) return; // (keeps the loop from being optimised away)
  // The bench waits for this before it stops Node-RED.
  if (out) fs.writeFileSync(`${out}.settled`, "");
});

process.on("exit", () => {
  if (!out) return;
  const packages = new Set();
  for (const file of Object.keys(require.cache)) {
    // Node-RED reads the package.json of every package in the user dir's node_modules: that loads no code.
    if (file.endsWith("package.json")) continue;
    // Only the user dir's packages: Node-RED also loads node modules installed beside itself (here the repo's devDependencies).
    if (!file.startsWith(process.cwd())) continue;
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(file);
    if (m) packages.add(m[1]);
  }
  fs.writeFileSync(out, JSON.stringify({ files, wallMs: Number(wallNs) / 1e6, cpuMs: cpuUs / 1000, heapAfterGcMb, rssAfterGcMb, youngAtStartMb, steady, packages: [...packages].sort() }));
});
