/** The benchmark's server child process (bench/ocpp-server.ts) and the messages it answers. */
import { fork, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { once } from "node:events";
import path from "node:path";

export type ServerMode = "bare" | "ceiling" | "node-red" | "contrib";

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** RSS and V8 heap in use after start and a GC, before any charger. */
  rssBase: number;
  heapBase: number;
  ask(type: string, reply: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export interface Probe {
  rss: number;
  cpuUs: number;
  sysUs: number;
  writeBytes: number;
  storeBytes: number;
  /** Time the server's main thread was runnable but had no CPU (ms, since it started). */
  runQueueMs: number;
}

export function request(child: ChildProcess, type: string, reply: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const onMsg = (msg: Record<string, unknown>) => {
      if (msg.type === reply) {
        child.off("message", onMsg);
        resolve(msg);
      } else if (msg.type === "error") {
        child.off("message", onMsg);
        reject(new Error(String(msg.message)));
      }
    };
    child.on("message", onMsg);
    if (type) child.send({ type });
  });
}

/** holdTimes: the server measures how long it holds each call (a clock read per frame; off in the closed loop, whose CPU per call is compared). */
/** explain: the server can profile a window (BENCH_EXPLAIN; see windowProfiler in ocpp-server.ts). */
export async function startServer(mode: ServerMode, options: { holdTimes?: boolean; explain?: boolean } = {}): Promise<ServerProcess> {
  const child = fork(path.join(__dirname, "ocpp-server.ts"), [mode], {
    env: { ...process.env, BENCH_HOLD_TIMES: options.holdTimes ? "1" : "", BENCH_EXPLAIN: options.explain ? "1" : "" },
    execArgv: [
      "--import",
      "tsx",
      "--expose-gc",
      "--max-old-space-size=4096",
      ...(process.env.BENCH_PROF ? ["--cpu-prof", "--cpu-prof-dir=/tmp/evprof"] : []),
      ...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
    ],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`the ${mode} server process exited (${String(code)}) before it was ready`);
  });
  const ready = await Promise.race([request(child, "", "ready"), exited]);
  exited.catch(() => undefined);
  return {
    child,
    port: Number(ready.port),
    rssBase: Number(ready.rss),
    heapBase: Number(ready.heapUsed),
    ask: (type, reply) => request(child, type, reply),
    stop: async () => {
      if (child.exitCode === null) {
        child.send({ type: "stop" });
        // Stopping Node-RED with ten thousand sockets open takes a while on a loaded machine.
        await Promise.race([once(child, "exit"), new Promise((r) => setTimeout(r, 20_000))]);
      }
      child.kill();
      // If it was killed before it could clean up, its user dir (with the session files) goes here.
      if (typeof ready.userDir === "string") rmSync(ready.userDir, { recursive: true, force: true });
    },
  };
}

export async function probe(server: ServerProcess): Promise<Probe> {
  const p = await server.ask("probe", "probe");
  return { rss: Number(p.rss), cpuUs: Number(p.cpuUs), sysUs: Number(p.sysUs), writeBytes: Number(p.writeBytes), storeBytes: Number(p.storeBytes), runQueueMs: Number(p.runQueueMs) };
}
