/**
 * Benchmark server process (forked by bench/ocpp.ts), so its RSS, CPU and
 * disk writes are the server's alone. Modes:
 * - "node-red": our central-system node inside a real Node-RED runtime,
 *   one ev-ocpp-in (no filter) wired to an inactive debug node;
 * - "ceiling": the same, but MeterValues does no work and sends the two
 *   events of a MeterValues ready-made into Node-RED (BENCH_NOOP_METERVALUES=events):
 *   the bare ocpp-rpc server plus Node-RED's cost for the two messages;
 * - "contrib": node-red-contrib-ocpp's "CS server" node answering every call
 *   through a function node and its "server response" node;
 * - "bare": a plain ocpp-rpc RPCServer with the same validation.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createHistogram, monitorEventLoopDelay, type RecordableHistogram } from "node:perf_hooks";
import { RPCServer } from "ocpp-rpc";

interface RedModule {
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): unknown };
}

/** Where the node keeps its session file (measured for its size). */
let storeDir: string | undefined;

type Reply = (msg: Record<string, unknown>) => void;
const send: Reply = (msg) => process.send?.(msg);

async function startBare(): Promise<{ port: number; userDir?: string; close(): Promise<void> }> {
  const server = new RPCServer({ protocols: ["ocpp1.6"], strictMode: true, pingIntervalMs: 0 });
  server.on("client", (client: { handle(m: string, h: (ctx: { params: unknown }) => unknown): void }) => {
    client.handle("BootNotification", () => ({ status: "Accepted", currentTime: new Date().toISOString(), interval: 300 }));
    client.handle("StartTransaction", () => ({ transactionId: Math.floor(Math.random() * 1e9), idTagInfo: { status: "Accepted" } }));
    client.handle("StatusNotification", () => ({}));
    client.handle("Heartbeat", () => ({ currentTime: new Date().toISOString() }));
    // BENCH_BARE_SPIN_US: busy work per MeterValues, to see what a few µs of extra work per call cost the bare server.
    const spinUs = Number(process.env.BENCH_BARE_SPIN_US ?? 0);
    client.handle("MeterValues", () => {
      if (spinUs > 0) {
        const end = performance.now() + spinUs / 1000;
        while (performance.now() < end);
      }
      return {};
    });
  });
  const http = await server.listen(0, "127.0.0.1");
  const port = (http.address() as { port: number }).port;
  return { port, close: () => server.close({ force: true }) };
}

/**
 * A real embedded Node-RED (not the test helper, whose sinon spies record
 * every call and would distort memory and speed), loading the built nodes
 * from dist/nodes and a flow file from a temporary user dir.
 */
async function startNodeRed(noop: string | undefined): Promise<{ port: number; userDir?: string; close(): Promise<void> }> {
  const RED = (await import("node-red")).default as unknown as RedModule;
  // On disk (not a tmpfs), so /proc/self/io counts the session store's writes.
  const userDir = mkdtempSync(path.join(os.tmpdir(), "evkit-bench-"));
  storeDir = path.join(userDir, "evkit-ocpp");
  const flow = [
    { id: "tab", type: "tab", label: "bench" },
    { id: "cs", type: "ev-ocpp-central-system", port: "0", host: "127.0.0.1", path: "/ocpp", pingInterval: "0", securityProfile: "0" },
    { id: "in", type: "ev-ocpp-in", z: "tab", server: "cs", chargers: "", kinds: process.env.BENCH_KINDS ?? "", wires: [["sink"]] },
    { id: "sink", type: "debug", z: "tab", active: false, tosidebar: false, complete: "payload", targetType: "msg", wires: [] },
  ];
  writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(flow));
  const server = http.createServer();
  RED.init(server, {
    userDir,
    flowFile: "flows.json",
    nodesDir: [path.join(__dirname, "..", "dist", "nodes")],
    httpAdminRoot: false,
    httpNodeRoot: false,
    credentialSecret: false,
    logging: { console: { level: "warn" } },
    editorTheme: { tours: false },
  });
  await RED.start();
  const deadline = Date.now() + 20_000;
  let cs: { ready?: Promise<void>; central?: { port: number } } | undefined;
  while (!(cs = RED.nodes.getNode("cs") as typeof cs)?.ready) {
    if (Date.now() > deadline) throw new Error("the central-system node did not start (run npm run build first)");
    await new Promise((r) => setTimeout(r, 50));
  }
  await cs.ready;
  if (noop) {
    // Calibration only. "1": MeterValues answered {} with nothing else done, the ceiling the rest of the node sets.
    // "events": also no work, but the two events a MeterValues makes (meter, session.updated) still go into
    // Node-RED, ready-made: the ceiling while every event kind is sent. "event": the same with one event.
    // The 1.6 adapter's handler table is read when a charger connects, and none has connected yet.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { V16_HANDLERS } = require(path.join(__dirname, "..", "dist", "nodes", "lib", "ocpp", "v16", "handlers.js")) as {
      V16_HANDLERS: Record<string, (core: { emit(event: object): void }, ctx: { identity: string }) => object>;
    };
    const events = noop === "events" ? 2 : noop === "event" ? 1 : 0;
    V16_HANDLERS.MeterValues = (core, { identity }) => {
      const time = "2026-01-01T00:00:00.000Z";
      if (events >= 1) core.emit({ kind: "meter", identity, time, connectorId: 1, transactionId: 1, samples: [] });
      if (events >= 2) core.emit({ kind: "session.updated", identity, time, connectorId: 1, transactionId: 1 });
      return {};
    };
  }
  return {
    port: cs.central!.port,
    userDir,
    close: async () => {
      await RED.stop();
      rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/** A free TCP port (the contrib node takes a fixed port, not 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

const CONTRIB_DIR = path.join(__dirname, "..", "node_modules", "node-red-contrib-ocpp");

/**
 * node-red-contrib-ocpp (the node users pick today) in the same kind of
 * runtime: its "CS server" node, a function node that makes the answer for
 * each action (its documented pattern) and its "server response" node. It
 * validates nothing and keeps no sessions; it answers what the flow says.
 */
async function startContrib(): Promise<{ port: number; userDir?: string; close(): Promise<void> }> {
  if (!existsSync(path.join(CONTRIB_DIR, "package.json"))) throw new Error("node-red-contrib-ocpp is not installed (npm install -D node-red-contrib-ocpp)");
  const RED = (await import("node-red")).default as unknown as RedModule;
  const userDir = mkdtempSync(path.join(os.tmpdir(), "evkit-bench-"));
  const port = await freePort();
  const answer = `switch (msg.ocpp.command) {
  case "BootNotification": msg.payload = { status: "Accepted", currentTime: new Date().toISOString(), interval: 300 }; break;
  case "StartTransaction": msg.payload = { transactionId: Math.floor(Math.random() * 1e9), idTagInfo: { status: "Accepted" } }; break;
  case "Heartbeat": msg.payload = { currentTime: new Date().toISOString() }; break;
  default: msg.payload = {};
}
return msg;`;
  const flow = [
    { id: "tab", type: "tab", label: "bench" },
    {
      id: "cs", type: "CS server", z: "tab", port: String(port), portType: "num",
      enabled15: false, path15: "", enabled16: false, path16: "", enabled16j: true, path16j: "/ocpp", log: false, pathlog: "",
      wires: [["fn"], []],
    },
    { id: "fn", type: "function", z: "tab", func: answer, outputs: 1, wires: [["resp"]] },
    { id: "resp", type: "server response", z: "tab", wires: [] },
  ];
  writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(flow));
  RED.init(http.createServer(), {
    userDir,
    flowFile: "flows.json",
    // No nodesDir: Node-RED finds the package in the node_modules beside its own install.
    httpAdminRoot: false,
    httpNodeRoot: false,
    credentialSecret: false,
    logging: { console: { level: "warn" } },
    editorTheme: { tours: false },
  });
  await RED.start();
  const deadline = Date.now() + 20_000;
  // Its server listens once the node is built; wait for the port to answer.
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline) throw new Error("node-red-contrib-ocpp's CS server node did not start listening");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    userDir,
    close: async () => {
      await RED.stop();
      rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/** Time this process's main thread was runnable but had no CPU, ms (Linux /proc/self/schedstat), or NaN. */
function runQueueMs(): number {
  try {
    return Number(readFileSync("/proc/self/schedstat", "utf8").split(" ")[1]) / 1e6;
  } catch {
    return NaN;
  }
}

/**
 * BENCH_HOLD_TIMES=1: how long the server holds each call, from the moment
 * its frame reaches JavaScript (ws "message") to the moment the answer is
 * handed to the socket, in µs. OCPP-J has one call in flight per charger, so
 * one timestamp per socket suffices. What the chargers see beyond this is
 * the wait before the server's event loop reads the frame (its event-loop
 * delay), the kernel and the load generator.
 */
function measureHoldTimes(): RecordableHistogram {
  const hold = createHistogram();
  // ocpp-rpc's own copy of ws (the one the server's sockets are made of).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const WebSocket = require(require.resolve("ws", { paths: [path.dirname(require.resolve("ocpp-rpc"))] })) as {
    prototype: { emit(event: string, ...args: unknown[]): boolean; send(data: unknown, ...rest: unknown[]): void };
  };
  const proto = WebSocket.prototype as typeof WebSocket.prototype & { benchIn?: number };
  const emit = proto.emit;
  const sendFrame = proto.send;
  proto.emit = function (this: typeof proto, event: string, ...args: unknown[]) {
    if (event === "message") this.benchIn = performance.now();
    return emit.call(this, event, ...args);
  };
  proto.send = function (this: typeof proto, data: unknown, ...rest: unknown[]) {
    if (this.benchIn !== undefined && typeof data === "string" && (data.startsWith("[3") || data.startsWith("[4"))) {
      hold.record(Math.max(1, Math.round((performance.now() - this.benchIn) * 1000)));
      this.benchIn = undefined;
    }
    return sendFrame.call(this, data, ...rest);
  };
  return hold;
}

/** Bytes this process has caused to be written to storage (Linux /proc/self/io), or NaN. */
function writeBytes(): number {
  try {
    const m = /^write_bytes: (\d+)$/m.exec(readFileSync("/proc/self/io", "utf8"));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

function dirBytes(dir: string | undefined): number {
  if (!dir || !existsSync(dir)) return 0;
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(path.join(dir, f)).size;
  return total;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface WindowProfile {
  /** Top self-time functions, share of busy samples (%). */
  top: Array<{ fn: string; share: number }>;
  /** Self time per function over the window, µs (idle left out). */
  selfUs: Record<string, number>;
  /** The same summed per part of the stack (see partOf). */
  partUs: Record<string, number>;
}

const OURS_ONLY = /\/dist\/nodes\/lib\/ocpp\/(core\/(transactions|meter-values|timestamps|registry|session-journal)|v16\/handlers)\.js$/;

/** Which part of the stack a profiled function belongs to, for the closed loop's "where the difference goes". */
function partOf(functionName: string, url: string): string {
  if (functionName === "(garbage collector)") return "garbage collection";
  if (functionName === "(program)") return "V8 and Node internals (program)";
  if (OURS_ONLY.test(url)) return "MeterValues work: samples, session, charger snapshot, journal (ours only)";
  if (url.includes("/bench/")) return "the ceiling's ready-made events (ceiling only)";
  if (url.includes("/dist/nodes/")) return "our server, frame guard and events node (both)";
  if (url.includes("/node_modules/@node-red/") || url.includes("/node_modules/node-red/")) return "Node-RED: messages, hooks, debug node (both)";
  if (url.includes("/node_modules/ajv")) return "schema validation, ajv (both)";
  if (url.includes("/node_modules/ocpp-rpc/") || url.includes("/node_modules/ws/")) return "ocpp-rpc and ws (both)";
  if (url.startsWith("node:")) return "Node.js: streams, events, timers (both)";
  if (!url && /^write/.test(functionName)) return "socket writes, kernel (both)";
  return `other: ${functionName}`;
}

/** CPU profile of a window (inspector, in this process): where the main thread's time goes. */
async function windowProfiler(): Promise<{ start(): Promise<void>; stop(): Promise<WindowProfile> }> {
  const { Session } = await import("node:inspector");
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))));
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 250 });
  return {
    start: () => post("Profiler.start"),
    async stop() {
      const { profile } = await post<{ profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] } }>("Profiler.stop");
      // BENCH_PROFILE_DIR: the raw profile too (open it in Chrome DevTools, or sum a handler's subtree).
      if (process.env.BENCH_PROFILE_DIR) writeFileSync(path.join(process.env.BENCH_PROFILE_DIR, `${process.argv[2]}-${Date.now()}.cpuprofile`), JSON.stringify(profile));
      const byId = new Map(profile.nodes.map((n) => [n.id, n]));
      const self = new Map<string, number>();
      const us = new Map<string, number>();
      const parts = new Map<string, number>();
      profile.samples.forEach((id, i) => {
        const f = byId.get(id)!.callFrame;
        const where = f.url ? `${f.url.replace(/^.*\/(node_modules|dist|bench)\//, "$1/")}:${f.lineNumber + 1}` : "";
        const name = `${f.functionName || "(anonymous)"} ${where}`.trim();
        self.set(name, (self.get(name) ?? 0) + 1);
        // A sample's time is the gap to the next one.
        const dt = profile.timeDeltas[i + 1] ?? 0;
        us.set(name, (us.get(name) ?? 0) + dt);
        if (f.functionName !== "(idle)") {
          const part = partOf(f.functionName, f.url);
          parts.set(part, (parts.get(part) ?? 0) + dt);
        }
      });
      // Shares of the busy time: "(idle)" is the event loop waiting.
      const idle = self.get("(idle)") ?? 0;
      self.delete("(idle)");
      us.delete("(idle)");
      const total = Math.max(1, profile.samples.length - idle);
      const top = [...self.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 15)
        .map(([fn, n]) => ({ fn, share: Math.round((n / total) * 1000) / 10 }));
      return { top, selfUs: Object.fromEntries(us), partUs: Object.fromEntries(parts) };
    },
  };
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  const hold = process.env.BENCH_HOLD_TIMES ? measureHoldTimes() : undefined;
  const server =
    mode === "bare"
      ? await startBare()
      : mode === "contrib"
        ? await startContrib()
        : await startNodeRed(mode === "ceiling" ? "events" : process.env.BENCH_NOOP_METERVALUES);
  global.gc?.();
  send({ type: "ready", port: server.port, rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, userDir: server.userDir });
  const heap = process.env.BENCH_HEAP && mode !== "bare" ? await heapSampler() : undefined;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  let profiler: Awaited<ReturnType<typeof windowProfiler>> | undefined;
  process.on("message", async (msg: { type: string }) => {
    if (msg.type === "rss" && heap) await heap.next();
    if (msg.type === "rss") {
      // CPU first, so the forced GC below is not counted as work done for the chargers.
      const cpu = process.cpuUsage();
      global.gc?.();
      const mem = process.memoryUsage();
      send({ type: "rss", rss: mem.rss, heapUsed: mem.heapUsed, cpuUs: cpu.user + cpu.system, sysUs: cpu.system });
    } else if (msg.type === "probe") {
      // No forced GC: what the process really holds under load.
      const cpu = process.cpuUsage();
      send({ type: "probe", rss: process.memoryUsage().rss, cpuUs: cpu.user + cpu.system, sysUs: cpu.system, writeBytes: writeBytes(), storeBytes: dirBytes(storeDir), runQueueMs: runQueueMs() });
    } else if (msg.type === "window-start") {
      loopDelay.enable();
      loopDelay.reset();
      hold?.reset();
      if (process.env.BENCH_PROF_WINDOW || process.env.BENCH_EXPLAIN) {
        profiler ??= await windowProfiler();
        await profiler.start();
      }
      send({ type: "window-started" });
    } else if (msg.type === "window-end") {
      loopDelay.disable();
      const loop = { p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 };
      const profile = profiler ? await profiler.stop() : undefined;
      const held = hold && hold.count > 0 ? { p50Ms: hold.percentile(50) / 1000, p99Ms: hold.percentile(99) / 1000 } : undefined;
      send({ type: "window-ended", top: profile?.top, selfUs: profile?.selfUs, partUs: profile?.partUs, loop, hold: held });
    } else if (msg.type === "stop") {
      await server.close().catch(() => undefined);
      send({ type: "stopped" });
      process.exit(0);
    }
  });
}

/**
 * BENCH_HEAP=1: samples allocations from the connected state to the end of
 * the load and writes /tmp/evheap.heapprofile (open it in Chrome DevTools).
 * With BENCH_HEAP_LIVE=1 only what is still alive at the end is kept.
 */
async function heapSampler(): Promise<{ next(): Promise<void> }> {
  const { Session } = await import("node:inspector");
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))));
  await post("HeapProfiler.enable");
  let started = false;
  return {
    async next() {
      if (!started) {
        started = true;
        const collected = !process.env.BENCH_HEAP_LIVE;
        await post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: collected, includeObjectsCollectedByMinorGC: collected });
      } else {
        const { profile } = await post<{ profile: unknown }>("HeapProfiler.stopSampling");
        writeFileSync("/tmp/evheap.heapprofile", JSON.stringify(profile));
      }
    },
  };
}

main().catch((err: unknown) => {
  send({ type: "error", message: String(err) });
  process.exit(1);
});
