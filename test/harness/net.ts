/** Loopback port helpers and an outage proxy, for tests that need real servers. */
import net from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port. */
export async function waitForPort(port: number, host = "127.0.0.1", timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`Nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Listens on host:port, retrying briefly while the port is still being released. */
export async function listenOn(server: net.Server, port: number, host = "127.0.0.1"): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 40) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export interface OutageProxy {
  /** Port the proxy listens on (stays the same across down/up). */
  port: number;
  /** `target` URL with host:port replaced by the proxy's. */
  url: string;
  /** Refuses new connections and cuts every open one, like a server going away. */
  down(): Promise<void>;
  /** Accepts connections again on the same port. */
  up(): Promise<void>;
  readonly isUp: boolean;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of any engine, so an outage can be simulated the same
 * way for an embedded engine and for a real server the test does not own.
 */
export async function startOutageProxy(targetUrl: string): Promise<OutageProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port);
  const targetHost = target.hostname === "localhost" ? "127.0.0.1" : target.hostname;
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const port = await freePort();

  const open = async (): Promise<void> => {
    const s = net.createServer((client) => {
      const upstream = net.connect({ port: targetPort, host: targetHost });
      sockets.add(client);
      sockets.add(upstream);
      const cleanup = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on("error", cleanup).on("close", cleanup);
      upstream.on("error", cleanup).on("close", cleanup);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await listenOn(s, port);
    server = s;
  };
  const shut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await open();
  const url = new URL(targetUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    port,
    url: url.toString().replace(/\/$/, targetUrl.endsWith("/") ? "/" : ""),
    down: shut,
    up: async () => {
      if (!server) await open();
    },
    get isUp() {
      return server !== undefined;
    },
    close: shut,
  };
}
