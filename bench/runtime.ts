/**
 * A real Node-RED runtime for the bench (not the test helper, whose sinon
 * spies on every send would dominate the figures): our built nodes from
 * dist/nodes, flows deployed through the runtime API with inline credentials.
 */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { NodeMessage } from "node-red";

interface RedModule {
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): unknown };
  runtime: { flows: { setFlows(opts: { flows: { flows: unknown[] }; deploymentType: string }): Promise<unknown> } };
}

export interface BenchRuntime {
  deploy(flows: Array<Record<string, unknown>>): Promise<void>;
  /** Makes every ev-bench-source node send `count` messages; resolves when they are handed to the runtime. */
  emit(count: number, make: (i: number) => NodeMessage): Promise<void>;
  stop(): Promise<void>;
  /** A deployed node by id (undefined when not deployed). */
  node<T = unknown>(id: string): T | undefined;
}

export async function startRuntime(extraNodeDirs: string[] = []): Promise<BenchRuntime> {
  const root = path.join(__dirname, "..");
  if (!fs.existsSync(path.join(root, "dist/nodes/ev-influx-write.js"))) throw new Error("Run npm run build first (the bench loads dist/nodes)");
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-bench-"));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require("node-red") as RedModule;
  RED.init(http.createServer(), {
    userDir,
    flowFile: "flows.json",
    credentialSecret: false,
    httpAdminRoot: false,
    httpNodeRoot: false,
    nodesDir: [path.join(root, "dist/nodes"), path.join(__dirname, "red"), ...extraNodeDirs],
    logging: { console: { level: process.env.BENCH_LOG ?? "error", metrics: false, audit: false } },
    editorTheme: { tours: false },
  });
  await RED.start();
  return {
    deploy: async (flows) => {
      // Empty first: reusing node ids across full deploys trips the runtime's rewiring.
      await RED.runtime.flows.setFlows({ flows: { flows: [] }, deploymentType: "full" });
      await RED.runtime.flows.setFlows({ flows: { flows }, deploymentType: "full" });
      await new Promise((r) => setTimeout(r, 300));
    },
    emit: (count, make) => new Promise<void>((resolve) => process.emit("ev-bench-go" as never, count as never, make as never, resolve as never)),
    node: <T>(id: string) => (RED.nodes.getNode(id) ?? undefined) as T | undefined,
    stop: async () => {
      await RED.runtime.flows.setFlows({ flows: { flows: [] }, deploymentType: "full" });
      await RED.stop();
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}
