// One Node-RED instance of a test cluster, in its own process, so a test can
// kill -9 it. Loads the built nodes from dist/nodes. The flow: a cluster
// config node, a central system on its own OCPP port, an OCPP in node with
// cluster scope collecting every event into global context, and HTTP
// endpoints for the test: POST /cmd runs an ev-ocpp-command, GET /events
// returns the collected events (when KEEP_EVENTS is set), GET /counts counts
// per kind and the sessions that ended, GET /chargers the charger list.
// Usage: node test/cluster/instance.js '<json options>'; prints "READY <httpPort> <ocppPort>".
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");

const options = JSON.parse(process.argv[2]);
const root = path.join(__dirname, "..", "..");

function flow() {
  return [
    { id: "t1", type: "tab", label: "cluster test" },
    { id: "clusterCfg", type: "ev-ocpp-cluster", broker: options.broker, cluster: options.cluster, instance: options.instance, index: String(options.index) },
    {
      id: "cs",
      type: "ev-ocpp-central-system",
      port: String(options.ocppPort),
      host: "127.0.0.1",
      path: "/ocpp",
      securityProfile: "0",
      protocols: "ocpp1.6,ocpp2.0.1",
      acceptUnknown: true,
      pingInterval: "5",
      cluster: "clusterCfg",
    },
    { id: "in", type: "ev-ocpp-in", z: "t1", server: "cs", chargers: "", kinds: "", scope: "cluster", wires: [["collect"]] },
    {
      id: "collect",
      type: "function",
      z: "t1",
      // The bench sends thousands of events: it asks only for counts (keepEvents false).
      func: "const c = global.get('counts') || {}; const k = (msg.ocpp.origin ? 'cluster:' : 'local:') + msg.ocpp.kind; c[k] = (c[k] || 0) + 1; global.set('counts', c); if (msg.ocpp.kind === 'session.ended') { const e = global.get('ended') || []; e.push({ identity: msg.ocpp.identity, transactionId: msg.payload.transactionId, energyWh: msg.payload.energyWh, unknownTransaction: msg.payload.unknownTransaction || false }); global.set('ended', e); } if (!env.get('KEEP_EVENTS')) return null; const ev = global.get('events') || []; ev.push({ topic: msg.topic, kind: msg.ocpp.kind, identity: msg.ocpp.identity, origin: msg.ocpp.origin || null, payload: msg.payload }); global.set('events', ev); return null;",
      outputs: 0,
      wires: [],
    },
    { id: "cmdIn", type: "http in", z: "t1", url: "/cmd", method: "post", wires: [["prep"]] },
    {
      id: "prep",
      type: "function",
      z: "t1",
      func: "const b = msg.payload; msg.chargerId = b.chargerId; msg.command = b.command; msg.action = b.action; msg.payload = b.input || {}; return b.queue ? [null, msg] : [msg, null];",
      outputs: 2,
      wires: [["cmd"], ["cmdq"]],
    },
    { id: "cmd", type: "ev-ocpp-command", z: "t1", server: "cs", chargerId: "", command: "raw", timeout: "5", offline: "fail", wires: [["ok"]] },
    { id: "cmdq", type: "ev-ocpp-command", z: "t1", server: "cs", chargerId: "", command: "raw", timeout: "5", offline: "queue", queueTtl: "60", wires: [["ok"]] },
    { id: "ok", type: "function", z: "t1", func: "msg.payload = { ok: true, answer: msg.payload, ocpp: msg.ocpp }; return msg;", outputs: 1, wires: [["res"]] },
    { id: "onError", type: "catch", z: "t1", scope: ["cmd", "cmdq"], uncaught: false, wires: [["fail"]] },
    {
      id: "fail",
      type: "function",
      z: "t1",
      func: "msg.payload = { ok: false, error: msg.error && msg.error.message, kind: msg.ocpp && msg.ocpp.error && msg.ocpp.error.kind }; msg.statusCode = 200; return msg;",
      outputs: 1,
      wires: [["res"]],
    },
    { id: "res", type: "http response", z: "t1", statusCode: "", headers: {}, wires: [] },
    { id: "evIn", type: "http in", z: "t1", url: "/events", method: "get", wires: [["evOut"]] },
    { id: "countIn", type: "http in", z: "t1", url: "/counts", method: "get", wires: [["countOut"]] },
    { id: "countOut", type: "function", z: "t1", func: "msg.payload = { counts: global.get('counts') || {}, ended: global.get('ended') || [] }; return msg;", outputs: 1, wires: [["res"]] },
    { id: "listIn", type: "http in", z: "t1", url: "/chargers", method: "get", wires: [["list"]] },
    // Any input asks an OCPP in node for the charger list (with a cluster: also the chargers held elsewhere, with their instance).
    { id: "list", type: "ev-ocpp-in", z: "t1", server: "cs", chargers: "", kinds: "firmwareStatus", scope: "local", wires: [["res"]] },
    { id: "evOut", type: "function", z: "t1", func: "msg.payload = global.get('events') || []; return msg;", outputs: 1, wires: [["res"]] },
  ];
}

async function main() {
  const RED = require("node-red");
  const userDir = options.userDir;
  fs.mkdirSync(userDir, { recursive: true });
  fs.writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(flow()));
  const app = http.createServer();
  const express = require(require.resolve("express", { paths: [path.dirname(require.resolve("node-red"))] }));
  const web = express();
  app.on("request", web);
  RED.init(app, {
    userDir,
    flowFile: "flows.json",
    nodesDir: [path.join(root, "dist", "nodes")],
    httpAdminRoot: false,
    httpNodeRoot: "/",
    credentialSecret: false,
    logging: { console: { level: options.logLevel || "warn" } },
    editorTheme: { tours: false },
  });
  web.use("/", RED.httpNode);
  await new Promise((resolve) => app.listen(0, "127.0.0.1", resolve));
  await RED.start();
  const deadline = Date.now() + 20_000;
  let cs;
  while (!(cs = RED.nodes.getNode("cs")) || !cs.ready) {
    if (Date.now() > deadline) throw new Error("the central system did not start (npm run build first)");
    await new Promise((r) => setTimeout(r, 50));
  }
  await cs.ready;
  process.stdout.write(`READY ${app.address().port} ${cs.central.port}\n`);
  const stop = async () => {
    await RED.stop();
    app.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // The test (or bench) that started us holds our stdin: when it ends, even killed or timed out, we end too.
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("error", () => process.exit(0));
  process.stdin.resume();
}

main().catch((err) => {
  process.stderr.write(`instance ${options.instance} failed: ${err && err.stack}\n`);
  process.exit(1);
});
