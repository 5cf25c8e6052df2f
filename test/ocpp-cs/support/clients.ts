/** Small helpers for driving the central system with real OCPP clients. */
import { once } from "node:events";
import { RPCClient } from "ocpp-rpc";

export type Client = InstanceType<typeof RPCClient>;

export interface ClientOptions {
  password?: string;
  protocols?: string[];
  strictMode?: boolean;
  wsOpts?: Record<string, unknown>;
  reconnect?: boolean;
}

/** Connects an ocpp-rpc charge point; rejects (with the HTTP status in `code`) when refused. */
export async function connect(endpoint: string, identity: string, opts: ClientOptions = {}): Promise<Client> {
  const client = new RPCClient({
    endpoint,
    identity,
    protocols: opts.protocols ?? ["ocpp1.6"],
    strictMode: opts.strictMode ?? false,
    reconnect: opts.reconnect ?? false,
    password: opts.password,
    wsOpts: opts.wsOpts,
    callTimeoutMs: 5000,
    pingIntervalMs: 0,
  } as never);
  await client.connect();
  return client;
}

export async function refusal(promise: Promise<unknown>): Promise<number | string> {
  try {
    const c = (await promise) as Client;
    await c.close({ force: true });
  } catch (err) {
    const e = err as { code?: number | string; message?: string };
    return e.code ?? e.message ?? "error";
  }
  throw new Error("expected the connection to be refused");
}

export function closed(client: Client): Promise<{ code: number; reason: string }> {
  return once(client, "close").then(([ev]) => ev as { code: number; reason: string });
}

export const boot = { chargePointVendor: "Evkit", chargePointModel: "Sim-1", chargePointSerialNumber: "SN-1", firmwareVersion: "1.0" };

export async function waitUntil(check: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
