/**
 * A minimal central system for tests of command code: an ocpp-rpc RPCServer
 * on 127.0.0.1 plus a ChargerDirectory (the contract the real
 * ev-ocpp-central-system implements) and a ChargerLink adapter over each
 * RPCServerClient. It answers the charger-initiated calls the simulator
 * sends (Boot, Status, Start/Stop, MeterValues) and keeps snapshots, so
 * "the session on connector 1" and measured voltage work as in production.
 */
import { RPCServer, TimeoutError } from "ocpp-rpc";
import type { ChargerDirectory, ChargerLink, ChargerSnapshot, ConnectorSnapshot, IdTagDirectory, IdTagEntry } from "../../nodes/lib/ocpp/core/contract";

/** The part of ocpp-rpc's RPCServerClient used here (its own typings leave actions untyped). */
interface ServerClient {
  identity: string;
  protocol: string | undefined;
  call(method: string, params?: unknown, options?: Record<string, unknown>): Promise<unknown>;
  handle(method: string, handler: (ctx: { params: Record<string, unknown> }) => unknown): void;
  close(options?: Record<string, unknown>): Promise<unknown>;
  once(event: "close", listener: () => void): void;
}

export interface TestCentral {
  url: string;
  directory: ChargerDirectory & { setTransaction(identity: string, connectorId: number, transactionId: number | undefined): void };
  idTags: IdTagDirectory & { set(entries: IdTagEntry[]): void; remove(idTag: string): void; upsert(entry: IdTagEntry): void };
  /** Resolves when `identity` is connected (immediately if it already is). */
  waitForCharger(identity: string, timeoutMs?: number): Promise<ChargerLink>;
  close(): Promise<void>;
}

class LinkAdapter implements ChargerLink {
  constructor(
    private readonly client: ServerClient,
    private readonly defaultTimeoutMs: number,
  ) {}
  get identity(): string {
    return this.client.identity;
  }
  get protocol(): string | undefined {
    return this.client.protocol;
  }
  async call<T = unknown>(action: string, payload: object, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<T> {
    try {
      return (await this.client.call(action, payload, {
        callTimeoutMs: options?.timeoutMs ?? this.defaultTimeoutMs,
        signal: options?.signal,
      })) as T;
    } catch (err) {
      const e = err as Error & { rpcErrorCode?: string; rpcErrorMessage?: string };
      if (e.rpcErrorCode) {
        const out = new Error(`${this.identity} answered ${action} with CALLERROR ${e.rpcErrorCode}: ${e.rpcErrorMessage ?? e.message}`) as Error & { rpcErrorCode?: string };
        out.rpcErrorCode = e.rpcErrorCode;
        throw out;
      }
      if (e instanceof TimeoutError || e.message === "Call timeout") throw new Error(`${this.identity} did not answer ${action} in time (timeout)`, { cause: err });
      throw new Error(`${action} to ${this.identity} failed: ${e.message}`, { cause: err });
    }
  }
}

export async function startTestCentral(options: { callTimeoutMs?: number } = {}): Promise<TestCentral> {
  const server = new RPCServer({ protocols: ["ocpp1.6"], strictMode: true, pingIntervalMs: 0 });
  const links = new Map<string, LinkAdapter>();
  const snapshots = new Map<string, ChargerSnapshot>();
  const listeners = new Set<(link: ChargerLink) => void>();
  const waiters = new Map<string, Array<(link: ChargerLink) => void>>();
  let nextTransaction = 100;

  const connector = (snap: ChargerSnapshot, connectorId: number): ConnectorSnapshot => {
    let found = snap.connectors.find((c) => c.connectorId === connectorId);
    if (!found) {
      found = { connectorId };
      snap.connectors.push(found);
      snap.connectors.sort((a, b) => a.connectorId - b.connectorId);
    }
    return found;
  };

  server.on("client", (raw: unknown) => {
    const client = raw as ServerClient;
    const identity = client.identity;
    const link = new LinkAdapter(client, options.callTimeoutMs ?? 2000);
    const snap: ChargerSnapshot = snapshots.get(identity) ?? { identity, connected: true, connectors: [] };
    snap.connected = true;
    snap.protocol = client.protocol;
    snapshots.set(identity, snap);
    links.set(identity, link);

    client.handle("BootNotification", ({ params }) => {
      snap.boot = { vendor: params.chargePointVendor as string, model: params.chargePointModel as string };
      return { status: "Accepted", currentTime: new Date().toISOString(), interval: 300 };
    });
    client.handle("Heartbeat", () => ({ currentTime: new Date().toISOString() }));
    client.handle("Authorize", () => ({ idTagInfo: { status: "Accepted" } }));
    client.handle("StatusNotification", ({ params }) => {
      const c = connector(snap, params.connectorId as number);
      c.status = params.status as string;
      return {};
    });
    client.handle("StartTransaction", ({ params }) => {
      const c = connector(snap, params.connectorId as number);
      c.transactionId = nextTransaction++;
      c.idTag = params.idTag as string;
      return { transactionId: c.transactionId, idTagInfo: { status: "Accepted" } };
    });
    client.handle("StopTransaction", ({ params }) => {
      for (const c of snap.connectors) if (c.transactionId === params.transactionId) delete c.transactionId;
      return {};
    });
    client.handle("MeterValues", ({ params }) => {
      const c = connector(snap, params.connectorId as number);
      const values = (params.meterValue as Array<{ sampledValue: Array<{ value: string; measurand?: string; phase?: string }> }>).flatMap((m) => m.sampledValue);
      for (const v of values) {
        if (v.measurand !== "Voltage") continue;
        c.voltageV ??= {};
        const key = (v.phase ?? "L1").slice(0, 2).toLowerCase() as "l1" | "l2" | "l3";
        c.voltageV[key] = Number(v.value);
      }
      return {};
    });
    client.once("close", () => {
      if (links.get(identity) === link) {
        links.delete(identity);
        snap.connected = false;
      }
    });
    for (const listener of listeners) listener(link);
    for (const resolve of waiters.get(identity) ?? []) resolve(link);
    waiters.delete(identity);
  });

  const http = await server.listen(0, "127.0.0.1");
  const address = http.address();
  const port = typeof address === "object" && address ? address.port : 0;

  const tagList = new Map<string, IdTagEntry>();
  const tagListeners = new Set<() => void>();
  let version = 0;
  const changed = (): void => {
    version++;
    for (const l of tagListeners) l();
  };

  return {
    url: `ws://127.0.0.1:${port}/ocpp`,
    directory: {
      link: (identity) => links.get(identity),
      snapshot: (identity) => snapshots.get(identity),
      list: () => [...snapshots.values()],
      onConnected: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      recordConfiguration: (identity, configuration) => {
        const snap = snapshots.get(identity) ?? { identity, connected: false, connectors: [] };
        snap.configuration = { ...snap.configuration, ...configuration };
        snapshots.set(identity, snap);
      },
      setTransaction: (identity, connectorId, transactionId) => {
        const snap = snapshots.get(identity);
        if (!snap) throw new Error(`unknown charger ${identity}`);
        connector(snap, connectorId).transactionId = transactionId;
      },
    },
    idTags: {
      entries: () => [...tagList.values()],
      get version() {
        return version;
      },
      onChange: (listener) => {
        tagListeners.add(listener);
        return () => tagListeners.delete(listener);
      },
      set: (entries) => {
        tagList.clear();
        for (const e of entries) tagList.set(e.idTag, e);
        changed();
      },
      upsert: (entry) => {
        tagList.set(entry.idTag, entry);
        changed();
      },
      remove: (idTag) => {
        tagList.delete(idTag);
        changed();
      },
    },
    waitForCharger: (identity, timeoutMs = 3000) => {
      const existing = links.get(identity);
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${identity} did not connect`)), timeoutMs);
        const list = waiters.get(identity) ?? [];
        list.push((link) => {
          clearTimeout(timer);
          resolve(link);
        });
        waiters.set(identity, list);
      });
    },
    close: async () => {
      listeners.clear();
      await server.close({ force: true });
    },
  };
}
