#!/usr/bin/env node
// Palette smoke test: what a user gets from the palette manager.
// npm pack -> install the tarball into a fresh Node-RED user dir the way the
// palette manager does (--omit=dev --engine-strict) -> start Node-RED -> check
// over the admin API that every node set loads without error, the examples
// are listed, the icons and locales are ours. Runs on every target in
// test/lib/node-red-runner.js (Node-RED 4.1 on this Node, 5 on Node 22, 4.1 on Node 24).
// Usage: node test/palette/smoke.js [4.1] [5] [4.1-node24]     (default: all targets)
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { root, targets, freePort, writeSettings, startNodeRed, packageInfo, exampleFiles, sleep, packInto, installTarball } = require("../lib/node-red-runner");
const { combineExampleDir } = require("../../scripts/lib/combine-examples");
const devCredentials = require("../servers/dev-credentials.json");


const results = [];
function check(name, ok, detail = "") {
  results.push({ name, ok: Boolean(ok) });
  console.log(`${ok ? "ok    " : "FAILED"} ${name}${!ok && detail ? `\n       ${detail}` : ""}`);
}

async function get(url, accept = "application/json") {
  const res = await fetch(url, { headers: { Accept: accept } });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, body, json: () => JSON.parse(body.toString("utf8")) };
}

async function walkExamples(base, prefix) {
  const res = await get(`${base}/${prefix}`);
  if (res.status !== 200) return [];
  const found = [];
  for (const entry of res.json()) {
    if (typeof entry === "string") found.push(...(await walkExamples(base, `${prefix}/${encodeURIComponent(entry)}`)));
    else found.push(decodeURIComponent(`${prefix}/${entry.fn}`));
  }
  return found;
}

async function smoke(key, tarball, work) {
  const target = targets[key];
  const tag = `[${key}]`;
  console.log(`\n# ${target.label}: ${spawnSync(target.nodeBin, ["-v"], { encoding: "utf8" }).stdout.trim()} at ${target.nodeBin}`);
  const { pkg, sets, types } = packageInfo(root);
  const userDir = path.join(work, `user-${key}`);
  let t = Date.now();
  try {
    installTarball(target.nodeBin, userDir, tarball);
    check(`${tag} npm install --omit=dev --engine-strict of the tarball (${((Date.now() - t) / 1000).toFixed(1)} s)`, true);
  } catch (err) {
    check(`${tag} npm install --omit=dev --engine-strict of the tarball`, false, err.message);
    return;
  }
  const installed = path.join(userDir, "node_modules", ...pkg.name.split("/"));
  check(`${tag} the installed package has no devDependencies`, !fs.existsSync(path.join(userDir, "node_modules", "node-red")) && !fs.existsSync(path.join(userDir, "node_modules", "typescript")));

  const port = await freePort();
  writeSettings(userDir, { port });
  t = Date.now();
  let red;
  try {
    red = await startNodeRed({ target, userDir, port });
    check(`${tag} Node-RED starts (${((Date.now() - t) / 1000).toFixed(1)} s)`, true);
  } catch (err) {
    check(`${tag} Node-RED starts`, false, err.message);
    return;
  }
  try {
    const base = red.url;
    const nodeSets = (await get(`${base}/nodes`)).json().filter((s) => s.module === pkg.name);
    for (const set of sets) {
      // A set whose .js throws on load or whose types clash gets `err`.
      const loaded = nodeSets.find((s) => s.id === `${pkg.name}/${set.name}`);
      const problem = !loaded ? "not listed" : loaded.err ? `err: ${loaded.err}` : !loaded.enabled ? "disabled" : "";
      check(`${tag} node set ${set.name} loads with err null`, !problem, problem);
      if (loaded) {
        const want = [...set.types].sort().join(", ");
        const got = [...loaded.types].sort().join(", ");
        check(`${tag} node set ${set.name} registers ${want || "(no types in HTML)"}`, want === got && want !== "", `runtime types: ${got}`);
      }
    }
    if (sets.length === 0) check(`${tag} package.json node-red.nodes lists at least one node`, false);

    const editorHtml = (await get(`${base}/nodes`, "text/html")).body.toString("utf8");
    for (const type of types) {
      check(`${tag} editor gets the template and help of ${type}`, editorHtml.includes(`data-template-name="${type}"`) && editorHtml.includes(`data-help-name="${type}"`));
    }

    // GET /library/examples/flows/ lists modules with examples; below it,
    // /<module>/<dir...> lists {fn} files and sub-folder names.
    const modules = (await get(`${base}/library/examples/flows/`)).json();
    check(`${tag} ${pkg.name} is listed under /library/examples/flows/`, modules.includes(pkg.name), `listed: ${JSON.stringify(modules)}`);
    const expected = exampleFiles(path.join(installed, "examples"));
    const served = (await walkExamples(`${base}/library/examples/flows`, pkg.name)).map((p) => p.slice(pkg.name.length + 1)).sort();
    check(`${tag} all ${expected.length} example flows are served`, expected.length > 0 && JSON.stringify(served) === JSON.stringify(expected), `served: ${served.join(" | ")}`);
    if (expected.length > 0) {
      const first = expected[0];
      const res = await get(`${base}/library/examples/flows/${pkg.name}/${first.split("/").map(encodeURIComponent).join("/")}`);
      const local = JSON.parse(fs.readFileSync(path.join(installed, "examples", `${first}.json`), "utf8"));
      check(`${tag} example "${first}" is served intact`, res.status === 200 && JSON.stringify(res.json()) === JSON.stringify(local));
    }

    const iconDir = path.join(installed, "dist", "nodes", "entry", "icons");
    const icons = fs.existsSync(iconDir) ? fs.readdirSync(iconDir) : [];
    const iconList = (await get(`${base}/icons`)).json();
    check(`${tag} /icons lists our icons`, icons.length > 0 && icons.every((i) => (iconList[pkg.name] ?? []).includes(i)), `listed: ${JSON.stringify(iconList[pkg.name])}`);
    for (const icon of icons) {
      const res = await get(`${base}/icons/${pkg.name}/${icon}`, "*/*");
      check(`${tag} icon ${icon} is served byte for byte (not the fallback)`, res.status === 200 && res.body.equals(fs.readFileSync(path.join(iconDir, icon))));
    }

    for (const set of sets) {
      const catalogue = path.join(installed, path.dirname(set.js), "locales", "en-US", `${path.basename(set.js, ".js")}.json`);
      const res = await get(`${base}/locales/${pkg.name}/${set.name}?lng=en-US`);
      const same = fs.existsSync(catalogue) && res.status === 200 && JSON.stringify(res.json()) === JSON.stringify(JSON.parse(fs.readFileSync(catalogue, "utf8")));
      check(`${tag} locale catalogue of ${set.name} is served`, same, `status ${res.status}`);
    }

    // What an integrator gets when importing every example: deploy them all
    // (one tab each). Errors logged while the nodes are built (between
    // "Starting flows" and "Started flows": bad expressions, bad config,
    // constructors that throw) fail. No simulators run here, so errors after
    // that (a service that is not there, and what follows from it) are only
    // listed; `npm start` runs the examples against the simulators.
    const logBefore = red.log().length;
    // Examples that need another module (Dashboard 2.0) are left out: it is not installed here.
    const { files, flows, skipped } = combineExampleDir(path.join(installed, "examples"));
    for (const s of skipped) console.log(`       ${s.file}: not deployed, needs ${s.missing.join(", ")}`);
    // As a user would: fill in the credentials the examples leave out (the editor deploys them this way).
    for (const node of flows) if (devCredentials[node.type]) node.credentials = { ...devCredentials[node.type] };
    const deploy = await fetch(`${base}/flows`, { method: "POST", headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" }, body: JSON.stringify(flows) });
    check(`${tag} all ${files.length} example flows deploy together`, deploy.status === 204 || deploy.status === 200, `HTTP ${deploy.status}: ${await deploy.text()}`);
    await sleep(3000);
    const deployLog = red.log().slice(logBefore).split("\n");
    // Node-RED lists the missing types ("[info]  - type") after "Waiting for missing types".
    const waitAt = deployLog.findIndex((l) => /Waiting for missing types/i.test(l));
    const missing = waitAt < 0 ? [] : deployLog.slice(waitAt, waitAt + 20).filter((l, i) => i === 0 || /\]\s+-\s+\S/.test(l));
    check(`${tag} every node type in the examples is instantiated`, missing.length === 0, missing.join("\n       "));
    const startedAt = deployLog.findIndex((l) => /Started (modified )?flows/.test(l));
    const building = startedAt < 0 ? deployLog : deployLog.slice(0, startedAt);
    const buildErrors = building.filter((l) => /\[error\]/.test(l));
    check(`${tag} example nodes start without errors (expressions, config, constructors)`, startedAt >= 0 && buildErrors.length === 0, (startedAt < 0 ? ["flows never reached \"Started flows\""] : buildErrors).join("\n       "));
    for (const l of (startedAt < 0 ? [] : deployLog.slice(startedAt)).filter((x) => /\[error\]/.test(x))) console.log(`       note (no simulators here): ${l.trim()}`);

    const errors = red.log().slice(0, logBefore).split("\n").filter((l) => /\[(error|warn)\]/.test(l) && !/Projects disabled|Flows file not found|Creating new flow file|empty|credentials file|Your flow credentials file|Encrypted credentials not found/i.test(l));
    check(`${tag} Node-RED logged no error or warning`, errors.length === 0, errors.join("\n       "));
  } finally {
    const exit = await red.stop();
    check(`${tag} Node-RED stops cleanly on SIGINT`, exit.code === 0 || exit.signal === "SIGINT", `exit ${JSON.stringify(exit)}`);
  }
}

async function main() {
  const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ["4.1", "5", "4.1-node24"];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-palette-"));
  const started = Date.now();
  try {
    console.log("# npm pack (runs the build through prepack)");
    const { tarball, packed } = packInto(work);
    const files = packed.files.map((f) => f.path);
    check(`tarball ${packed.filename} (${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} kB)`, fs.existsSync(tarball));
    check("tarball holds dist/nodes, examples/, LICENSE, README.md and no sources, tests or maps", files.some((f) => f.startsWith("dist/nodes/")) && files.some((f) => f.startsWith("examples/")) && files.includes("LICENSE") && files.includes("README.md") && !files.some((f) => /^(test|nodes|flows|scripts)\/|\.map$|\.ts$/.test(f)), `files: ${files.join(", ")}`);
    for (const key of wanted) {
      if (!targets[key]) throw new Error(`Unknown target ${key}; known: ${Object.keys(targets).join(", ")}`);
      await smoke(key, tarball, work);
    }
  } catch (err) {
    check("palette smoke test ran to the end", false, err.stack);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(`\n${results.length - failed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exitCode = failed ? 1 : 0;
}

main();
