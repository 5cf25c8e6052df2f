/**
 * A real Mosquitto (MQTT 5) on a free loopback port, for the cluster tests:
 * aedes, the embedded broker, speaks only MQTT 3.1.1. stop() kills the
 * broker (clients see it vanish), start() brings it back on the same port
 * without the retained messages, as a broker restarted without persistence.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, waitForPort } from "./net";

export interface Mosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function mosquittoInstalled(): boolean {
  return spawnSync("mosquitto", ["-h"], { stdio: "ignore" }).error === undefined;
}

export async function startMosquitto(): Promise<Mosquitto> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-mosquitto-"));
  const conf = path.join(dir, "mosquitto.conf");
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  let child: ChildProcess | undefined;
  let log = "";
  const start = async (): Promise<void> => {
    if (child) return;
    const c = spawn("mosquitto", ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
    c.stderr?.on("data", (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    });
    child = c;
    try {
      await waitForPort(port);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${log}`, { cause: err });
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill("SIGKILL");
    });
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    start,
    stop,
    close: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
