/** Starts a plain CentralSystem on a free loopback port for tests. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CentralSystem, type CentralEvent, type CentralSystemOptions, type Problem } from "../../../nodes/lib/ocpp/core/server";
import { TransactionStore } from "../../../nodes/lib/ocpp/core/transactions";
import { JsonFileStore } from "../../../nodes/lib/ocpp/core/json-file-store";
import type { IdTagInfo } from "../../../nodes/lib/ocpp/v16/messages";
import type { PendingDecision } from "../../../nodes/lib/ocpp/core/decisions";

export interface Running {
  central: CentralSystem;
  url: string;
  port: number;
  events: CentralEvent[];
  decisions: Array<{ event: CentralEvent; decision: PendingDecision<unknown> }>;
  problems: Problem[];
  store: TransactionStore;
  file: string;
  close(): Promise<void>;
  kinds(identity?: string): string[];
}

/** Tags: "OK" accepted, "BAD" blocked, anything else Invalid. */
export const testTags = {
  check(idTag: string): IdTagInfo {
    if (idTag === "OK") return { status: "Accepted" };
    if (idTag === "BAD") return { status: "Blocked" };
    return { status: "Invalid" };
  },
};

const tempDirs: string[] = [];
// The stores outlive single tests (restart scenarios reuse a file), so the folders go when the run ends.
process.once("exit", () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "evkit-ocpp-"));
  tempDirs.push(dir);
  return path.join(dir, "tx.json");
}

export async function startCentral(overrides: Partial<CentralSystemOptions> = {}, file = tempFile()): Promise<Running> {
  const store = await TransactionStore.open({ persistence: new JsonFileStore(file), meterSaveDelayMs: 0 });
  const central = new CentralSystem({
    port: 0,
    host: "127.0.0.1",
    path: "/ocpp",
    protocols: ["ocpp1.6"],
    heartbeatIntervalS: 300,
    pingIntervalS: 0,
    callTimeoutMs: 5000,
    strict: true,
    lenient: [],
    noSubprotocol: "ocpp1.6",
    security: { profile: 0, passwords: new Map(), strictPasswords: false },
    knownChargers: [],
    acceptUnknown: true,
    maxBadMessages: 3,
    decisionTimeoutMs: 300,
    authorizeFallback: "list",
    idTags: testTags,
    transactions: store,
    ...overrides,
  });
  const events: CentralEvent[] = [];
  const decisions: Running["decisions"] = [];
  const problems: Problem[] = [];
  central.onEvent((event, decision) => {
    events.push(event);
    if (decision) decisions.push({ event, decision });
  });
  central.onProblem((p) => problems.push(p));
  const port = (await central.listen()) as number;
  const scheme = (overrides.security?.profile ?? 0) >= 2 ? "wss" : "ws";
  return {
    central,
    url: `${scheme}://127.0.0.1:${port}/ocpp`,
    port,
    events,
    decisions,
    problems,
    store,
    file,
    close: async () => {
      await central.close();
      await store.close();
    },
    kinds: (identity) => events.filter((e) => !identity || e.identity === identity).map((e) => e.kind),
  };
}
