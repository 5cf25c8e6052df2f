#!/usr/bin/env node
// Copies what Node-RED reads beside each node file package.json lists (the
// thin entries, dist/nodes/entry/<file>.js: nodes/lib/node-red/lazy-node.ts):
// the editor .html, locales/ and icons/ (Node-RED only looks next to the .js),
// and the example flows from flows/ to examples/ (the only folder name Node-RED reads).
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const nodesOut = path.join(root, "dist", "nodes");
const out = path.join(nodesOut, "entry");
fs.mkdirSync(out, { recursive: true });

// Before the entries, these sat beside the node files themselves: a Node-RED given dist/nodes as
// nodesDir would load those node files as well as the entries and find every type twice.
for (const file of fs.readdirSync(nodesOut)) {
  if (file.endsWith(".html") || file === "locales" || file === "icons") fs.rmSync(path.join(nodesOut, file), { recursive: true, force: true });
}

for (const file of fs.readdirSync(path.join(root, "nodes"))) {
  if (file.endsWith(".html")) fs.copyFileSync(path.join(root, "nodes", file), path.join(out, file));
}
/** Replaces `to` with a copy of `from`; a missing source leaves an empty folder. */
function mirror(from, to) {
  fs.rmSync(to, { recursive: true, force: true });
  if (fs.existsSync(from)) fs.cpSync(from, to, { recursive: true });
  else fs.mkdirSync(to, { recursive: true });
}

mirror(path.join(root, "nodes", "locales"), path.join(out, "locales"));
mirror(path.join(root, "icons"), path.join(out, "icons"));
mirror(path.join(root, "flows"), path.join(root, "examples"));
