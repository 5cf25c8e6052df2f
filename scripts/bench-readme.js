#!/usr/bin/env node
// Writes a benchmark's latest figures into README.md between its markers,
// from the results file the benchmark wrote, so the README table is never
// typed by hand. Usage: node scripts/bench-readme.js ocpp | footprint
//   <!-- bench:ocpp:start --> … <!-- bench:ocpp:end -->   ← replaced
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");

function fmt(n) {
  return typeof n === "number" && Number.isFinite(n) ? n.toLocaleString("en-US") : "–";
}

function verdictMark(v) {
  return v.met === undefined || v.met === null ? "not measured" : v.met ? "met" : "**not met**";
}

/** "90 s steady window", or each row's when rows come from runs with different windows (a --quick run keeps older rows). */
function steadyWindows(rows, first) {
  if (rows.every((x) => x.windowS === first.windowS)) return `${first.windowS} s steady window`;
  return `steady window ${rows.map((x) => `${x.windowS} s at ${x.chargers.toLocaleString("en-US")} chargers`).join(", ")}`;
}

function ocppTable(r) {
  const lines = [];
  const m = r.machine;
  lines.push(
    `Measured ${r.date.slice(0, 16).replace("T", " ")} UTC on ${m.cores} cores (${m.cpu}), Node ${m.node}, load average ` +
      `${m.loadBefore.join(" / ")} before and ${m.loadAfter.join(" / ")} after (1/5/15 min): a machine shared with other work ` +
      "and with the load generator, so the figures are noisy (CPU per call is the steadiest). Written by " +
      "`npm run bench:ocpp -- --readme` from `bench/results/ocpp.json`; do not edit by hand.",
    "",
  );
  if (r.realistic && r.realistic.length > 0) {
    const w = r.realistic[0];
    lines.push(
      `Realistic load (each charger: Boot, Status, Start, then MeterValues with 4 values every 10 s and a Heartbeat every 5 min; ` +
        `one \`ev-ocpp-in\` with no filter to an inactive debug node; ${steadyWindows(r.realistic, w)}):`,
      "",
      "| chargers | calls/s | p50 / p99 / max | server held a call p99 / event-loop delay p99 / waited for a CPU | load generator late p99 / waited for a CPU | server CPU (one core) | CPU per call | RSS per charger (max / after GC) | session disk writes / files | load (1 min) |",
      "|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const x of r.realistic) {
      const held = x.serverHoldP99Ms === undefined ? "–" : `${x.serverHoldP99Ms} ms`;
      const wait = (v) => (v === undefined ? "–" : `${v} ms/s`);
      lines.push(
        `| ${fmt(x.chargers)} | ${fmt(x.callsPerS)} | ${x.p50} / ${x.p99} / ${x.max} ms | ${held} / ${x.loopP99Ms} ms / ${wait(x.serverRunQueueMsPerS)} | ${x.generatorLagP99Ms} ms / ${wait(x.generatorRunQueueMsPerS)} | ${x.cpuPct} % | ${fmt(x.cpuUsPerCall)} µs | ${x.kbPerCharger} / ${x.kbPerChargerAfterGc ?? "–"} KB | ${fmt(x.diskKBps)} KB/s / ${fmt(x.storeKB)} KB | ${(x.load || []).join(" → ")}${x.date && x.date !== r.date ? ` (run of ${x.date.slice(0, 16).replace("T", " ")} UTC)` : ""} |`,
      );
    }
    lines.push(
      "",
      "A call's latency is the server's share (held: its frame read to its answer written; the event-loop delay before it is read) plus the load generator's and the machine's: " +
        "\"waited for a CPU\" is the time the process was runnable but got no core (`/proc/<pid>/schedstat`), the other load on a shared machine.",
      "",
    );
  }
  if (r.closed) {
    const c = r.closed;
    const how = c.turns
      ? `ours and its ceiling side by side, taking turns in ${c.turns.slices} slices of ${c.turns.sliceMs} ms each (the order swapped every cycle), their figures over all their slices; ` +
        `other servers: ${c.seconds} s rounds${c.rounds > 0 ? `, ${c.rounds} per server` : ""}, interleaved, each server's median round shown`
      : `${c.seconds} s, ${c.rounds} interleaved rounds per server with the order reversed every other round, each server's median round shown`;
    lines.push(
      `Closed loop (${fmt(c.chargers)} chargers, MeterValues as fast as answered; ${how}` +
        `${c.date && c.date !== r.date ? `; run of ${c.date.slice(0, 16).replace("T", " ")} UTC` : ""}):`,
      "",
      "| server | calls/s | p50 / p99 | server CPU per call | RSS per connection |",
      "|---|---|---|---|---|",
    );
    const label = {
      bare: "bare ocpp-rpc",
      ceiling: "bare ocpp-rpc + the two events of a MeterValues into Node-RED",
      "node-red": "**ev-ocpp-central-system** (every event kind)",
      contrib: "node-red-contrib-ocpp (CS server + response node)",
    };
    for (const x of c.best) {
      const from = x.from ? ` (run of ${x.from.slice(0, 16).replace("T", " ")} UTC)` : "";
      lines.push(`| ${label[x.mode] || x.mode}${from} | ${fmt(x.callsPerS)} | ${x.p50} / ${x.p99} ms | ${x.cpuUsPerCall} µs | ${x.kbPerConnection} KB |`);
    }
    for (const s of c.skipped || []) lines.push("", s);
    lines.push("");
    if (c.explain) {
      const e = c.explain;
      lines.push(
        `Where ours spends more per call than its ceiling (${e.how || "a profiled extra round of each"}; the profile's shares scaled to the measured server CPU per call, ${e.oursUs} vs ${e.ceilingUs} µs):`,
        "",
        "| part | ceiling | ours | ours more |",
        "|---|---|---|---|",
      );
      for (const p of e.parts.filter((p) => Math.abs(p.more) >= 0.5 || p.ours >= 1)) lines.push(`| ${p.part} | ${p.ceiling} µs | ${p.ours} µs | ${p.more} µs |`);
      lines.push("");
    }
  }
  for (const s of r.realisticSkipped || []) lines.push(s, "");
  lines.push("| Target | Figure | Goal | |", "|---|---|---|---|");
  for (const v of r.verdicts) lines.push(`| ${v.what} | ${v.figure} | ${v.target} | ${verdictMark(v)} |`);
  return lines.join("\n");
}

function footprintTable(r) {
  const m = r.machine;
  const s = r.start;
  const f1 = (n) => (typeof n === "number" && Number.isFinite(n) ? n.toFixed(1) : "–");
  const f0 = (n) => (typeof n === "number" && Number.isFinite(n) ? n.toFixed(0) : "–");
  const signed = (n, f) => (n >= 0 ? `+${f(n)}` : `−${f(-n)}`);
  const lines = [
    `Measured ${r.date.slice(0, 16).replace("T", " ")} UTC on ${m.cores} cores (${m.cpu}), Node-RED 4.1 on Node ${m.node}, load average ` +
      `${m.loadBefore.join(" / ")} before and ${(m.loadAfter || []).join(" / ")} after (1/5/15 min), ${s.rounds} rounds with and without the package, ` +
      "order rotating; medians, per-round spread in brackets. Written by `npm run bench:footprint -- --readme` from " +
      "`bench/results/footprint.json`; do not edit by hand.",
    "",
    "| Added to Node-RED with no flow using the package | Figure | Target | |",
    "|---|---|---|---|",
  ];
  const verdict = (what) => {
    const v = r.verdicts.find((x) => x.what.startsWith(what) && !(what === "RSS added, " && x.what.includes("young")));
    return v ? verdictMark(v) : "";
  };
  const a = s.added;
  lines.push(`| CPU to start (spawn to "Started flows") | ${signed(a.cpuMs, f0)} ms [${f0(a.cpuRangeMs[0])} – ${f0(a.cpuRangeMs[1])}] | ≤ 150 ms | ${verdict("CPU to start")} |`);
  lines.push(`| of which requiring our ${s.nodeFiles} node files (entries; the node code loads on deploy) | ${f0(s.ownFilesCpuMs)} ms | | |`);
  lines.push(
    `| RSS, young generation filled in both (what the package keeps) | ${signed(a.steadyMb, f1)} MB [${f1(a.steadyRangeMb[0])} – ${f1(a.steadyRangeMb[1])}] | ≤ 5 MB | ${verdict("RSS added, young")} |`,
  );
  if (a.rssIdleMb !== undefined) {
    lines.push(
      `| RSS ${s.idleRssMs / 1000} s after the start, Node-RED idle and settled | ${signed(a.rssIdleMb, f1)} MB [${f1(a.rssIdleRangeMb[0])} – ${f1(a.rssIdleRangeMb[1])}] | ≤ 5 MB | ${verdict("RSS added, ")} |`,
      `| RSS ${s.settleMs / 1000} s after the start, still settling (the start's garbage in pages V8 wrote) | ${signed(a.rssMb, f1)} MB [${f1(a.rssRangeMb[0])} – ${f1(a.rssRangeMb[1])}] | | |`,
    );
  } else {
    lines.push(`| RSS ${s.settleMs / 1000} s after the start | ${signed(a.rssMb, f1)} MB [${f1(a.rssRangeMb[0])} – ${f1(a.rssRangeMb[1])}] | ≤ 5 MB | ${verdict("RSS added, ")} |`);
  }
  lines.push(`| JS heap in use after a full GC | ${signed(a.heapMb, f1)} MB | | |`);
  lines.push(
    s.idleRssMs
      ? `| V8 young generation at the settled reading (shrunk to ${f0(s.youngCapacityMb)} MB once Node-RED idled), pages written without / with | ${f1(s.without.youngAtStartMb)} / ${f1(s.with.youngAtStartMb)} MB | | |`
      : `| V8 young generation written at start (of ${f0(s.youngCapacityMb)} MB), without / with | ${f1(s.without.youngAtStartMb)} / ${f1(s.with.youngAtStartMb)} MB | | |`,
  );
  lines.push(`| heavy dependencies loaded | ${s.heavyLoaded.length ? s.heavyLoaded.join(", ") : "none"} | none | |`);
  if (r.idle) {
    lines.push(
      `| every example (${r.idle.examples}) deployed, idle ${r.idle.seconds} s: CPU / RSS | ${r.idle.with.cpuPct.toFixed(2)} % / ${f0(r.idle.with.rssMb)} MB (Node-RED alone ${r.idle.without.cpuPct.toFixed(2)} % / ${f0(r.idle.without.rssMb)} MB) | < 1 % of one core | ${verdict("every example")} |`,
    );
  }
  if (s.breakdown) {
    const b = s.breakdown;
    lines.push(
      "",
      `Breakdown (a third arm, the package with stub node files that only register the types): Node-RED's own handling of the ` +
        `package (HTML, locales, icons, examples, ${s.nodeFiles} node sets) ${signed(b.handling.steadyMb, f1)} MB RSS with the young generation filled, ` +
        `${signed(b.handling.heapMb, f1)} MB JS heap; our entries on top ${signed(b.ours.steadyMb, f1)} MB, ${signed(b.ours.heapMb, f1)} MB JS heap.`,
    );
  }
  return lines.join("\n");
}

const WRITERS = { ocpp: ocppTable, footprint: footprintTable };

function main() {
  const name = process.argv[2] || "ocpp";
  const write = WRITERS[name];
  if (!write) throw new Error(`unknown benchmark "${name}" (known: ${Object.keys(WRITERS).join(", ")})`);
  const results = JSON.parse(fs.readFileSync(path.join(root, "bench", "results", `${name}.json`), "utf8"));
  const readmeFile = path.join(root, "README.md");
  const readme = fs.readFileSync(readmeFile, "utf8");
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) throw new Error(`README.md has no ${start} … ${end} markers`);
  const next = `${readme.slice(0, a + start.length)}\n${write(results)}\n${readme.slice(b)}`;
  fs.writeFileSync(readmeFile, next);
  console.log(`README.md: ${name} figures written between the markers`);
}

main();
