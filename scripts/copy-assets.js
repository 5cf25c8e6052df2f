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
/** Replaces `to` with a copy of `from`; a missing source leaves an empty folder. */
function mirror(from, to) {
  fs.rmSync(to, { recursive: true, force: true });
  if (fs.existsSync(from)) fs.cpSync(from, to, { recursive: true });
  else fs.mkdirSync(to, { recursive: true });
}

mirror(path.join(root, "nodes", "locales"), path.join(out, "locales"));
mirror(path.join(root, "icons"), path.join(out, "icons"));
mirror(path.join(root, "flows"), path.join(root, "examples"));
