/**
 * npm run bench:ocpp [-- --chargers 1000 --seconds 10 --concurrency 200]
 *
 * N simulated chargers (ocpp-rpc RPCClient) connect to the central-system
 * node inside a real Node-RED runtime, boot, start a transaction, then send
 * MeterValues in a closed loop. The same run against a bare ocpp-rpc server
 * gives the baseline. Each server runs in its own child process so RSS is
 * the server's alone. Prints figures; it is not a test.
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { RPCClient } from "ocpp-rpc";

type Client = InstanceType<typeof RPCClient>;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const CHARGERS = arg("chargers", 1000);
const SECONDS = arg("seconds", 10);
const CONCURRENCY = arg("concurrency", 200);

interface Figures {
  mode: string;
  connectMs: number;
  calls: number;
  callsPerS: number;
  p50: number;
  p99: number;
  rssBaseMb: number;
  rssMb: number;
  kbPerConnection: number;
  errors: number;
}

function request(child: ChildProcess, type: string, reply: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const onMsg = (msg: Record<string, unknown>) => {
      if (msg.type === reply) {
        child.off("message", onMsg);
        resolve(msg);
      } else if (msg.type === "error") reject(new Error(String(msg.message)));
    };
    child.on("message", onMsg);
    if (type) child.send({ type });
  });
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(mode: "node-red" | "bare"): Promise<Figures> {
  const child = fork(path.join(__dirname, "ocpp-server.ts"), [mode], {
    execArgv: ["--import", "tsx", "--expose-gc", "--max-old-space-size=4096", ...(process.env.BENCH_PROF ? ["--cpu-prof", "--cpu-prof-dir=/tmp/evprof"] : [])],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = await request(child, "", "ready");
  const port = Number(ready.port);
  const rssBase = Number(ready.rss);
  const endpoint = `ws://127.0.0.1:${port}/ocpp`;
  const clients: Client[] = [];
  let errors = 0;

  const t0 = performance.now();
  await pool(
    Array.from({ length: CHARGERS }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      const client = new RPCClient({ endpoint, identity: `CP${i}`, protocols: ["ocpp1.6"], reconnect: false, pingIntervalMs: 0, callTimeoutMs: 30_000 } as never);
      await client.connect();
      await client.call("BootNotification", { chargePointVendor: "Bench", chargePointModel: "Sim" });
      clients.push(client);
    },
  );
  const connectMs = performance.now() - t0;
  const txIds = await Promise.all(
    clients.map(async (c) => {
      const res = (await c.call("StartTransaction", { connectorId: 1, idTag: "BENCH", meterStart: 0, timestamp: new Date().toISOString() })) as { transactionId: number };
      return res.transactionId;
    }),
  );
  const rssConnected = Number((await request(child, "rss", "rss")).rss);

  const latencies: number[] = [];
  let stop = false;
  const loopStart = performance.now();
  const timer = setTimeout(() => (stop = true), SECONDS * 1000);
  await Promise.all(
    clients.map(async (client, i) => {
      let wh = 0;
      while (!stop) {
        wh += 10;
        const started = performance.now();
        try {
          await client.call("MeterValues", {
            connectorId: 1,
            transactionId: txIds[i],
            meterValue: [
              {
                timestamp: new Date().toISOString(),
                sampledValue: [
                  { value: String(wh), measurand: "Energy.Active.Import.Register", unit: "Wh" },
                  { value: "7400", measurand: "Power.Active.Import", unit: "W" },
                ],
              },
            ],
          });
          latencies.push(performance.now() - started);
        } catch {
          errors++;
        }
      }
    }),
  );
  clearTimeout(timer);
  const elapsedS = (performance.now() - loopStart) / 1000;
  const rssEnd = Math.max(rssConnected, Number((await request(child, "rss", "rss")).rss));
  await Promise.all(clients.map((c) => c.close({ force: true }).catch(() => undefined)));
  child.send({ type: "stop" });
  await Promise.race([once(child, "exit"), new Promise((r) => setTimeout(r, 5000))]);
  child.kill();

  latencies.sort((a, b) => a - b);
  return {
    mode,
    connectMs: Math.round(connectMs),
    calls: latencies.length,
    callsPerS: Math.round(latencies.length / elapsedS),
    p50: Math.round(percentile(latencies, 50) * 10) / 10,
    p99: Math.round(percentile(latencies, 99) * 10) / 10,
    rssBaseMb: Math.round(rssBase / 1e5) / 10,
    rssMb: Math.round(rssEnd / 1e5) / 10,
    kbPerConnection: Math.round((rssEnd - rssBase) / 1024 / CHARGERS),
    errors,
  };
}

async function main(): Promise<void> {
  console.log(`OCPP benchmark: ${CHARGERS} chargers, ${SECONDS} s closed-loop MeterValues, connect concurrency ${CONCURRENCY}`);
  const bare = await run("bare");
  const ours = await run("node-red");
  const rows = [bare, ours];
  console.table(
    rows.map((r) => ({
      server: r.mode === "bare" ? "bare ocpp-rpc" : "ev-ocpp-central-system in Node-RED",
      "connect all (ms)": r.connectMs,
      "calls/s": r.callsPerS,
      "p50 (ms)": r.p50,
      "p99 (ms)": r.p99,
      "RSS idle (MB)": r.rssBaseMb,
      "RSS loaded (MB)": r.rssMb,
      "KB per connection": r.kbPerConnection,
      errors: r.errors,
    })),
  );
  const ratio = ours.callsPerS / bare.callsPerS;
  console.log(`Throughput ratio (Node-RED node / bare ocpp-rpc): ${(ratio * 100).toFixed(1)} % (target >= 80 %)`);
  console.log(`Memory per connection: ${ours.kbPerConnection} KB (target <= 80 KB)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
