#!/usr/bin/env node
// The Flow Library scorecard, offline: runs `node-red-dev validate -p .` with
// the catalogue lookup stubbed (scripts/stub-catalogue.js) and fails on any
// failure or warning. Build first (npm run test:scorecard does).
// node-red-dev prints passes as "✅ ..." on stdout, warnings ("›   Warning:
// P06 ...") and errors ("Error: ...") on stderr, and "Complete" at the end.
"use strict";
const { spawnSync } = require("child_process");
const path = require("path");

const root = path.join(__dirname, "..");
const started = Date.now();
const cli = path.join(path.dirname(require.resolve("node-red-dev/package.json")), "bin", "run");
const run = spawnSync(process.execPath, ["-r", path.join(__dirname, "stub-catalogue.js"), cli, "validate", "-p", "."], {
  cwd: root,
  encoding: "utf8",
  env: { ...process.env, FORCE_COLOR: "0" },
  timeout: 120_000,
});

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, ""); // eslint-disable-line no-control-regex
const out = strip(run.stdout ?? "").split("\n").map((l) => l.trimEnd()).filter(Boolean);
const err = strip(run.stderr ?? "").split("\n").map((l) => l.trim()).filter(Boolean);

const passes = out.filter((l) => l.startsWith("✅"));
const problems = [
  ...err.filter((l) => /warning|error|✖|❌|⚠/i.test(l)),
  ...out.filter((l) => /^(›|\s*Warning|Error)|❌|⚠/.test(l)),
];
if (run.error) problems.push(`could not run node-red-dev: ${run.error.message}`);
if (run.status !== 0) problems.push(`node-red-dev exited with ${run.status ?? run.signal}`);
if (!out.includes("Complete")) problems.push("node-red-dev did not reach 'Complete'");
// Each section must have run: a crash inside one only shows as a missing pass.
for (const [section, needle] of [
  ["package checks", "licensed"],
  ["node names (N01)", "unique names"],
  ["examples (N02)", "Examples found for all nodes"],
  ["dependency count (D01)", "dependencies"],
  ["dependency tree (D02)", "No incompatible packages"],
  ["latest majors (D03)", "latest versions"],
]) {
  if (!passes.some((l) => l.includes(needle))) problems.push(`no pass line for ${section}`);
}

for (const line of out) console.log(line);
for (const line of err) console.log(line);
console.log("");
for (const p of problems) console.log(`FAILED ${p}`);
console.log(`${passes.length} passed, ${problems.length} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exitCode = problems.length ? 1 : 0;
