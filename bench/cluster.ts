/**
 * npm run bench:cluster [-- --chargers 1000 --commands 300 --statuses 3]
 *
 * One central system over three Node-RED instances (each its own process,
 * test/cluster/instance.js), a broker between them (Mosquitto when
 * installed, else embedded aedes) and HAProxy in front (when installed;
 * otherwise chargers are spread round robin). N ocpp-rpc chargers connect,
 * boot and start a session. Then:
 *  1. command latency: the same raw GetConfiguration sent through the
 *     instance that holds the charger (local) and through another one
 *     (cross-instance), p50/p99 of each and the overhead;
 *  2. events delivered cluster-wide per second: every charger sends status
 *     notifications, every instance sees every one (its own locally, the
 *     others' through the broker);
 *  3. kill -9 of one instance: time until each of its chargers is served
 *     again elsewhere (its reconnect + a Heartbeat answered);
 *  4. every charger stops its session: session.ended seen once per session,
 *     with the right energy, on a surviving instance (lost / duplicated).
 * Prints figures with the machine's core count and load, and a verdict per
 * target. It is not a test.
 */
import os from "node:os";
import { RPCClient } from "ocpp-rpc";
import { freePort } from "../test/harness/net";
import { startClusterBroker } from "../test/harness/mosquitto";
import { chargers, command, counts, startHaproxy, startInstance, stopInstance, until, type Instance } from "../test/cluster/support";

type Client = InstanceType<typeof RPCClient>;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const N = arg("chargers", 1000);
const COMMANDS = arg("commands", 300);
const STATUSES = arg("statuses", 3);
/** The chargers' reconnect backoff: the first retry after 500 ms, at most 2 s apart. */
const RECONNECT_MAX_MS = 2000;

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const ms = (n: number): string => `${n.toFixed(1)} ms`;
const verdict = (ok: boolean): string => (ok ? "met" : "NOT met");

function machine(): string {
  const [l1, l5] = os.loadavg();
  return `${os.cpus().length} cores, load ${l1.toFixed(2)} / ${l5.toFixed(2)} (1 / 5 min)`;
}

async function inBatches<T>(items: T[], size: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map((item, j) => run(item, i + j)));
}

async function main(): Promise<void> {
  console.log(`bench:cluster: ${N} chargers, 3 instances; machine: ${machine()}`);
  const broker = await startClusterBroker();
  const cluster = `bench-${process.pid}`;
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const instances: Instance[] = await Promise.all(["n0", "n1", "n2"].map((name, i) => startInstance(name, i, broker.url, cluster, ports[i], false)));
  const proxy = await startHaproxy(instances);
  console.log(`broker: ${broker.kind}; load balancer: ${proxy ? "HAProxy (balance uri)" : "none (round robin; apt-get install haproxy)"}`);
  const clients: Client[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(clients.map((c) => c.close({ force: true }).catch(() => undefined)));
    await proxy?.close();
    await Promise.all(instances.map((i) => stopInstance(i)));
    await broker.close();
  };
  try {
    // --- connect, boot, start a session
    const t0 = Date.now();
    const sessions = new Map<string, { transactionId: number; meterStart: number }>();
    const ids = Array.from({ length: N }, (_, i) => `B${String(i).padStart(5, "0")}`);
    await inBatches(ids, 50, async (identity, i) => {
      const port = proxy?.port ?? instances[i % 3].ocppPort;
      const client = new RPCClient({
        endpoint: `ws://127.0.0.1:${port}/ocpp`,
        identity,
        protocols: ["ocpp1.6"],
        reconnect: true,
        callTimeoutMs: 20_000,
        pingIntervalMs: 0,
        backoff: { initialDelay: 500, maxDelay: RECONNECT_MAX_MS, factor: 2, randomisationFactor: 0.25 },
      } as never);
      client.handle((() => ({ configurationKey: [{ key: "HeartbeatInterval", readonly: false, value: "300" }] })) as never);
      clients.push(client);
      await client.connect();
      await client.call("BootNotification", { chargePointVendor: "evkit", chargePointModel: "bench" });
      const meterStart = i * 10;
      const start = (await client.call("StartTransaction", { connectorId: 1, idTag: "BENCH", meterStart, timestamp: new Date().toISOString() })) as { transactionId: number };
      sessions.set(identity, { transactionId: start.transactionId, meterStart });
    });
    console.log(`connected, booted and started ${N} sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // --- who holds whom (as instance n0 sees the cluster)
    const list = await until(async () => {
      const l = await chargers(instances[0]);
      return l.filter((c) => ids.includes(c.identity)).length === N ? l : undefined;
    }, "every charger known on n0", 60_000);
    const ownerOf = new Map<string, Instance>();
    for (const entry of list) ownerOf.set(entry.identity, instances.find((i) => i.name === (entry.instance ?? "n0"))!);
    const spread = instances.map((i) => `${i.name} ${[...ownerOf.values()].filter((o) => o === i).length}`).join(", ");
    console.log(`chargers per instance: ${spread}`);

    // --- 1. command latency, local against cross-instance
    const local: number[] = [];
    const remote: number[] = [];
    let failures = 0;
    for (let k = 0; k < COMMANDS; k++) {
      const identity = ids[(k * 7919) % N];
      const owner = ownerOf.get(identity)!;
      const other = instances[(instances.indexOf(owner) + 1 + (k % 2)) % 3];
      const body = { chargerId: identity, command: "raw", action: "GetConfiguration", input: { key: ["HeartbeatInterval"] } };
      for (const [target, into] of k % 2 ? ([[owner, local], [other, remote]] as const) : ([[other, remote], [owner, local]] as const)) {
        const t = performance.now();
        const result = await command(target, body);
        if (!result.ok) failures++;
        into.push(performance.now() - t);
      }
    }
    const overheadP50 = percentile(remote, 50) - percentile(local, 50);
    const overheadP99 = percentile(remote, 99) - percentile(local, 99);
    console.log(
      `\n1. command latency over ${COMMANDS} commands each (HTTP round trip into Node-RED included in both):\n` +
        `   local        p50 ${ms(percentile(local, 50))}  p99 ${ms(percentile(local, 99))}\n` +
        `   cross-inst.  p50 ${ms(percentile(remote, 50))}  p99 ${ms(percentile(remote, 99))}\n` +
        `   overhead     p50 ${ms(overheadP50)}  p99 ${ms(overheadP99)}   target p99 < 20 ms: ${verdict(overheadP99 < 20)}` +
        (failures ? `\n   ${failures} commands failed` : ""),
    );

    // --- 2. events delivered cluster-wide
    const before = await Promise.all(instances.map((i) => counts(i)));
    const statusCount = (c: Awaited<ReturnType<typeof counts>>): number => (c.counts["local:status"] ?? 0) + (c.counts["cluster:status"] ?? 0);
    const expected = N * STATUSES;
    const t1 = Date.now();
    await inBatches(clients, 100, async (client) => {
      for (let s = 0; s < STATUSES; s++) {
        await client.call("StatusNotification", { connectorId: 1, errorCode: "NoError", status: s % 2 ? "SuspendedEV" : "Charging", timestamp: new Date().toISOString() });
      }
    });
    const sent = Date.now() - t1;
    await until(async () => {
      const now = await Promise.all(instances.map((i) => counts(i)));
      return now.every((c, i) => statusCount(c) - statusCount(before[i]) >= expected);
    }, "every status on every instance", 120_000);
    const delivered = Date.now() - t1;
    console.log(
      `\n2. events: ${expected} status notifications sent in ${(sent / 1000).toFixed(1)} s; all delivered on all 3 instances after ${(delivered / 1000).toFixed(1)} s: ` +
        `${Math.round((3 * expected) / (delivered / 1000))} deliveries/s cluster-wide (${Math.round((2 * expected) / (delivered / 1000))}/s through the broker)`,
    );

    // --- 3. kill -9 one instance
    const victim = instances[2];
    const orphans = ids.filter((id) => ownerOf.get(id) === victim);
    const servedAt = new Map<string, number>();
    const tKill = Date.now();
    for (const identity of orphans) {
      const client = clients[ids.indexOf(identity)];
      client.once("open", () => {
        client.call("Heartbeat", {}).then(
          () => servedAt.set(identity, Date.now() - tKill),
          () => undefined,
        );
      });
    }
    victim.child.kill("SIGKILL");
    await until(() => servedAt.size === orphans.length, "every orphaned charger served again", 120_000).catch(() => undefined);
    const times = [...servedAt.values()];
    const worst = times.length ? Math.max(...times) : NaN;
    const limit = RECONNECT_MAX_MS + 5000;
    console.log(
      `\n3. kill -9 of ${victim.name} (${orphans.length} chargers): served again ${servedAt.size}/${orphans.length}; ` +
        `p50 ${ms(percentile(times, 50))}, last ${ms(worst)}; target: within the reconnect interval + 5 s (${limit / 1000} s): ${verdict(servedAt.size === orphans.length && worst < limit)}`,
    );

    // --- 4. every session ends once, with the right energy
    const survivors = instances.filter((i) => i !== victim);
    await inBatches(ids, 100, async (identity) => {
      const session = sessions.get(identity)!;
      const client = clients[ids.indexOf(identity)];
      await client.call("StopTransaction", { transactionId: session.transactionId, meterStop: session.meterStart + 1000, timestamp: new Date().toISOString(), reason: "Local" });
    });
    const watcher = survivors[0];
    const ended = await until(
      async () => {
        const c = await counts(watcher);
        const mine = c.ended.filter((e) => ids.includes(e.identity));
        return new Set(mine.map((e) => `${e.identity}/${e.transactionId}`)).size >= N ? mine : undefined;
      },
      "every session.ended",
      60_000,
    ).catch(async () => (await counts(watcher)).ended.filter((e) => ids.includes(e.identity)));
    await new Promise((r) => setTimeout(r, 1000));
    const final = (await counts(watcher)).ended.filter((e) => ids.includes(e.identity));
    const unique = new Set(final.map((e) => `${e.identity}/${e.transactionId}`)).size;
    const lost = N - unique;
    const duplicated = final.length - unique;
    const wrongEnergy = final.filter((e) => e.energyWh !== 1000 || e.unknownTransaction).length;
    console.log(
      `\n4. sessions: ${N} ended; seen on ${watcher.name}: ${final.length} session.ended, lost ${lost}, duplicated ${duplicated}, wrong energy or unknown ${wrongEnergy}` +
        ` (after ${ended.length} at first look); target zero lost or duplicated: ${verdict(lost === 0 && duplicated === 0 && wrongEnergy === 0)}`,
    );
    console.log(`\nmachine at the end: ${machine()}`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
