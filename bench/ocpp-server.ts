/**
 * Benchmark server process (forked by bench/ocpp.ts), so its RSS is the
 * server's alone. Mode "node-red": our central-system node inside a real
 * Node-RED runtime (test helper), events flowing to a downstream node.
 * Mode "bare": a plain ocpp-rpc RPCServer with the same validation.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { RPCServer } from "ocpp-rpc";

type Reply = (msg: Record<string, unknown>) => void;
const send: Reply = (msg) => process.send?.(msg);

async function startBare(): Promise<{ port: number; close(): Promise<void> }> {
  const server = new RPCServer({ protocols: ["ocpp1.6"], strictMode: true, pingIntervalMs: 0 });
  server.on("client", (client: { handle(m: string, h: (ctx: { params: unknown }) => unknown): void }) => {
    client.handle("BootNotification", () => ({ status: "Accepted", currentTime: new Date().toISOString(), interval: 300 }));
    client.handle("StartTransaction", () => ({ transactionId: Math.floor(Math.random() * 1e9), idTagInfo: { status: "Accepted" } }));
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
async function startNodeRed(): Promise<{ port: number; close(): Promise<void> }> {
  const RED = (await import("node-red")).default as unknown as {
    init(server: http.Server, settings: Record<string, unknown>): void;
    start(): Promise<void>;
    stop(): Promise<void>;
    nodes: { getNode(id: string): unknown };
  };
  const userDir = mkdtempSync(path.join(os.tmpdir(), "evkit-bench-"));
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
  let cs: { ready?: Promise<void>; central?: { port: number; meterValues: (identity: string) => object; emit(event: object): void } } | undefined;
  while (!(cs = RED.nodes.getNode("cs") as typeof cs)?.ready) {
    if (Date.now() > deadline) throw new Error("the central-system node did not start (run npm run build first)");
    await new Promise((r) => setTimeout(r, 50));
  }
  await cs.ready;
  const noop = process.env.BENCH_NOOP_METERVALUES;
  if (noop) {
    // Calibration only. "1": MeterValues answered {} with nothing else done, the ceiling the rest of the node sets.
    // "events": also no work, but the two events a MeterValues makes (meter, session.updated) still go into
    // Node-RED, ready-made: the ceiling while every event kind is sent. "event": the same with one event.
    const central = cs.central!;
    const events = noop === "events" ? 2 : noop === "event" ? 1 : 0;
    central.meterValues = (identity: string) => {
      const time = "2026-01-01T00:00:00.000Z";
      if (events >= 1) central.emit({ kind: "meter", identity, time, connectorId: 1, transactionId: 1, samples: [] });
      if (events >= 2) central.emit({ kind: "session.updated", identity, time, connectorId: 1, transactionId: 1 });
      return {};
    };
  }
  return {
    port: cs.central!.port,
    close: async () => {
      await RED.stop();
      rmSync(userDir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  const server = mode === "bare" ? await startBare() : await startNodeRed();
  global.gc?.();
  send({ type: "ready", port: server.port, rss: process.memoryUsage().rss });
  const heap = process.env.BENCH_HEAP && mode !== "bare" ? await heapSampler() : undefined;
  process.on("message", async (msg: { type: string }) => {
    if (msg.type === "rss" && heap) await heap.next();
    if (msg.type === "rss") {
      // CPU first, so the forced GC below is not counted as work done for the chargers.
      const cpu = process.cpuUsage();
      global.gc?.();
      send({ type: "rss", rss: process.memoryUsage().rss, cpuUs: cpu.user + cpu.system, sysUs: cpu.system });
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
