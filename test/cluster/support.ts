/**
 * Running a test cluster: Node-RED instances in their own processes
 * (instance.js), HAProxy in front of them, and HTTP helpers to send
 * commands and read what each instance saw. Shared by the cluster test and
 * bench:cluster.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, waitForPort } from "../harness/net";

export const haproxyInstalled = spawnSync("haproxy", ["-v"], { stdio: "ignore" }).error === undefined;

export interface Instance {
  name: string;
  index: number;
  httpPort: number;
  ocppPort: number;
  child: ChildProcess;
  userDir: string;
}

export interface CollectedEvent {
  topic: string;
  kind: string;
  identity: string;
  origin: string | null;
  payload: Record<string, unknown>;
}

export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startInstance(name: string, index: number, broker: string, cluster: string, ocppPort: number, keepEvents = true): Promise<Instance> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), `evkit-cluster-${name}-`));
  const options = { instance: name, index, broker, cluster, ocppPort, userDir };
  const child = spawn(process.execPath, [path.join(__dirname, "instance.js"), JSON.stringify(options)], {
    // stdin stays open while this process lives: the instance exits when it closes, so a killed test leaves nothing behind.
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, KEEP_EVENTS: keepEvents ? "1" : "" },
  });
  let log = "";
  child.stderr?.on("data", (c: Buffer) => (log = (log + c.toString()).slice(-8000)));
  const ready = await new Promise<{ httpPort: number; ocppPort: number }>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`instance ${name} did not start:\n${log}`)), 90_000);
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /READY (\d+) (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ httpPort: Number(m[1]), ocppPort: Number(m[2]) });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`instance ${name} exited (${code}):\n${log}`));
    });
  });
  return { name, index, child, userDir, ...ready };
}

export async function stopInstance(instance: Instance, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (instance.child.exitCode === null && instance.child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => instance.child.kill("SIGKILL"), 10_000);
      instance.child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      instance.child.kill(signal);
    });
  }
  fs.rmSync(instance.userDir, { recursive: true, force: true });
}

export async function command(instance: Instance, body: Record<string, unknown>): Promise<{ ok: boolean; answer?: unknown; error?: string; kind?: string }> {
  const res = await fetch(`http://127.0.0.1:${instance.httpPort}/cmd`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return (await res.json()) as { ok: boolean; answer?: unknown; error?: string; kind?: string };
}

export async function events(instance: Instance): Promise<CollectedEvent[]> {
  const res = await fetch(`http://127.0.0.1:${instance.httpPort}/events`);
  return (await res.json()) as CollectedEvent[];
}

export interface Proxy {
  port: number;
  close(): Promise<void>;
}

/** HAProxy routing by the charger id in the path (the README's configuration), or undefined when haproxy is not installed. */
export async function startHaproxy(backends: Instance[]): Promise<Proxy | undefined> {
  if (!haproxyInstalled) return undefined;
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-haproxy-"));
  const cfg = path.join(dir, "haproxy.cfg");
  fs.writeFileSync(
    cfg,
    [
      "global",
      "  maxconn 4096",
      "defaults",
      "  mode http",
      "  timeout connect 2s",
      "  timeout client 1h",
      "  timeout server 1h",
      "  timeout tunnel 1h",
      "frontend ocpp",
      `  bind 127.0.0.1:${port}`,
      "  default_backend central_systems",
      "backend central_systems",
      "  balance uri path-only",
      "  hash-type consistent",
      ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.ocppPort} check inter 300 fall 1 rise 2`),
      "",
    ].join("\n"),
  );
  const child = spawn("haproxy", ["-f", cfg, "-db"], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  try {
    await waitForPort(port);
  } catch (err) {
    throw new Error(`haproxy did not start: ${log}`, { cause: err });
  }
  return {
    port,
    close: async () => {
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}


export interface Counts {
  counts: Record<string, number>;
  ended: Array<{ identity: string; transactionId: number; energyWh?: number; unknownTransaction: boolean }>;
}

export async function counts(instance: Instance): Promise<Counts> {
  const res = await fetch(`http://127.0.0.1:${instance.httpPort}/counts`);
  return (await res.json()) as Counts;
}

/** The charger list of one instance: its own chargers and, with a cluster, those held elsewhere (`instance` set). */
export async function chargers(instance: Instance): Promise<Array<{ identity: string; connected: boolean; instance?: string }>> {
  const res = await fetch(`http://127.0.0.1:${instance.httpPort}/chargers`);
  return (await res.json()) as Array<{ identity: string; connected: boolean; instance?: string }>;
}
