#!/usr/bin/env node
// Copies what Node-RED reads beside each compiled node: the editor .html,
// locales/ and icons/ (Node-RED only looks next to the .js), and the example
// flows from flows/ to examples/ (the only folder name Node-RED reads).
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const out = path.join(root, "dist", "nodes");
fs.mkdirSync(out, { recursive: true });

for (const file of fs.readdirSync(path.join(root, "nodes"))) {
  if (file.endsWith(".html")) fs.copyFileSync(path.join(root, "nodes", file), path.join(out, file));
}
for (const dir of ["locales"]) {
  fs.rmSync(path.join(out, dir), { recursive: true, force: true });
  fs.cpSync(path.join(root, "nodes", dir), path.join(out, dir), { recursive: true });
}
fs.rmSync(path.join(out, "icons"), { recursive: true, force: true });
fs.cpSync(path.join(root, "icons"), path.join(out, "icons"), { recursive: true });

const examples = path.join(root, "examples");
fs.rmSync(examples, { recursive: true, force: true });
fs.cpSync(path.join(root, "flows"), examples, { recursive: true });
