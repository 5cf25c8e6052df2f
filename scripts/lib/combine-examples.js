// Combines example flow files into one Node-RED flows array: each file gets
// its own tab (its own tab node if it brings one, else a new tab labelled
// with the file's path), and every id is rewritten to a stable hash of
// file + old id, so two examples that both use "cfg1" cannot collide and
// the ids (and so any credentials typed into the dev editor) survive
// restarts. Config nodes stay global unless the file scopes them to a tab.
// A global config node that several examples carry identically (same id,
// same settings: e.g. one OCPP central system on port 9220) becomes one node,
// as Node-RED's own import does; otherwise each would fight for its port.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

/** Properties that hold user text, never node ids. */
const TEXT_PROPS = new Set(["id", "type", "name", "info", "label", "topic", "payload", "func", "template", "initialize", "finalize", "rules", "props"]);

function newId(file, oldId) {
  return crypto.createHash("sha1").update(`${file}\0${oldId}`).digest("hex").slice(0, 16);
}

/** Maps strings that are old ids (also inside nested arrays, e.g. wires, links, scope). */
function remap(value, ids) {
  if (typeof value === "string") return ids.has(value) ? ids.get(value) : value;
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" || Array.isArray(v) ? remap(v, ids) : v));
  return value;
}

/**
 * @param {{file: string, nodes: Array<Record<string, unknown>>}[]} examples file is the label (path without .json)
 * @returns {Array<Record<string, unknown>>}
 */
function isGlobalConfig(node) {
  return !("x" in node) && !("y" in node) && !Array.isArray(node.wires) && !node.z && !["tab", "subflow", "group", "global-config"].includes(node.type);
}

/** Settings of a config node, for spotting identical copies (position-free, id-free). */
function configKey(node) {
  const rest = { ...node };
  for (const key of ["id", "z", "_users"]) delete rest[key];
  return `${node.type}\0${node.id}\0${JSON.stringify(rest, Object.keys(rest).sort())}`;
}

function combineExamples(examples) {
  const out = [];
  const sharedConfig = new Set();
  for (const { file, nodes } of examples) {
    const ids = new Map(nodes.map((n) => [n.id, isGlobalConfig(n) ? newId("\0config", configKey(n)) : newId(file, n.id)]));
    const containers = new Set(nodes.filter((n) => n.type === "tab" || n.type === "subflow").map((n) => ids.get(n.id)));
    let tab = nodes.find((n) => n.type === "tab");
    const tabId = tab ? ids.get(tab.id) : newId(file, "\0tab");
    if (!tab) out.push({ id: tabId, type: "tab", label: file, disabled: false, info: `Example flow examples/${file}.json` });
    for (const node of nodes) {
      if (node.type === "global-config") continue; // one per workspace; carries nothing the examples need
      if (isGlobalConfig(node)) {
        if (sharedConfig.has(ids.get(node.id))) continue;
        sharedConfig.add(ids.get(node.id));
      }
      const copy = {};
      for (const [key, value] of Object.entries(node)) copy[key] = TEXT_PROPS.has(key) ? value : remap(value, ids);
      copy.id = ids.get(node.id);
      if (typeof node.type === "string" && node.type.startsWith("subflow:")) copy.type = `subflow:${remap(node.type.slice(8), ids)}`;
      const onCanvas = "x" in node || "y" in node || Array.isArray(node.wires);
      if (node.type !== "tab" && node.type !== "subflow") {
        if (containers.has(copy.z)) {
          // already on one of this file's tabs or subflows
        } else if (onCanvas) copy.z = tabId;
        else delete copy.z;
      }
      out.push(copy);
    }
  }
  return out;
}

/**
 * Node modules an example needs besides Node-RED and this package: the
 * `modules` its global-config node declares (how Node-RED offers to install
 * them on import), e.g. @flowfuse/node-red-dashboard for the examples in
 * "Dashboard 2.0/".
 */
function requiredModules(nodes) {
  const out = [];
  for (const node of Array.isArray(nodes) ? nodes : []) {
    if (node && node.type === "global-config" && node.modules && typeof node.modules === "object") out.push(...Object.keys(node.modules));
  }
  return out;
}

/**
 * Reads every examples/**.json (sorted) and combines them. An example that
 * needs a module `installed(name)` denies is left out (Node-RED would hold
 * back every flow while a node type is missing) and listed in `skipped`.
 * By default no extra module counts as installed.
 */
function combineExampleDir(dir, installed = () => false) {
  const files = [];
  const walk = (sub) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith(".json")) files.push(rel);
    }
  };
  if (fs.existsSync(dir)) walk("");
  const all = files.sort().map((rel) => ({ file: rel.replace(/\.json$/, ""), nodes: JSON.parse(fs.readFileSync(path.join(dir, rel), "utf8")) }));
  const examples = [];
  const skipped = [];
  for (const example of all) {
    const missing = requiredModules(example.nodes).filter((name) => !installed(name));
    if (missing.length > 0) skipped.push({ file: example.file, missing });
    else examples.push(example);
  }
  return { files: examples.map((e) => e.file), flows: combineExamples(examples), skipped };
}

module.exports = { combineExamples, combineExampleDir, requiredModules };
