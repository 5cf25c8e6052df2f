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
import { startMqttBroker } from "./engines";

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
  // set_tcp_nodelay: without it Nagle holds small replies back (about 40 ms a hop); the README recommends it for a cluster broker.
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n`);
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

export interface ClusterBroker {
  kind: "mosquitto" | "aedes";
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The broker for cluster tests, owned by the test so it can be stopped:
 * Mosquitto (MQTT 5) when installed, as in CI; otherwise embedded aedes,
 * which speaks MQTT 3.1.1 only (the cluster then falls back to replies
 * addressed in the payload). TEST_CLUSTER_BROKER=aedes forces aedes.
 */
export async function startClusterBroker(kind: "mosquitto" | "aedes" = clusterBrokerKind()): Promise<ClusterBroker> {
  if (kind === "mosquitto") return { kind, ...(await startMosquitto()) };
  const aedes = await startMqttBroker({ owned: true });
  return { kind, url: aedes.url, stop: aedes.stop, start: aedes.start, close: aedes.close };
}

export function clusterBrokerKind(): "mosquitto" | "aedes" {
  return process.env.TEST_CLUSTER_BROKER !== "aedes" && mosquittoInstalled() ? "mosquitto" : "aedes";
}

/** Every broker kind a cluster test can run against here: both when Mosquitto is installed. */
export function clusterBrokerKinds(): Array<"mosquitto" | "aedes"> {
  return mosquittoInstalled() ? ["mosquitto", "aedes"] : ["aedes"];
}
