/**
 * Lets several central systems share one HTTP server (Node-RED's own) by
 * path prefix. One 'upgrade' listener per HTTP server, added once and kept:
 * adding one per deploy would pile up listeners, and other listeners
 * (Node-RED's editor, the core websocket node) share the event, so requests
 * for paths we do not own are left alone rather than destroyed.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";

export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

class UpgradeRouter {
  private readonly routes = new Map<string, UpgradeHandler>();

  constructor(server: Server) {
    server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const handler = this.routes.get(prefixOf(request.url ?? "/"));
      if (handler) handler(request, socket, head);
    });
  }

  add(prefix: string, handler: UpgradeHandler): () => void {
    const key = normalizePrefix(prefix);
    if (this.routes.has(key)) throw new Error(`Another OCPP central system already uses the path ${key || "/"} on Node-RED's port`);
    this.routes.set(key, handler);
    return () => {
      if (this.routes.get(key) === handler) this.routes.delete(key);
    };
  }
}

const routers = new WeakMap<Server, UpgradeRouter>();

/** Routes websocket upgrades under `prefix` on `server` to `handler`; returns the remover. */
export function routeUpgrades(server: Server, prefix: string, handler: UpgradeHandler): () => void {
  let router = routers.get(server);
  if (!router) {
    router = new UpgradeRouter(server);
    routers.set(server, router);
  }
  return router.add(prefix, handler);
}

/** "/ocpp/" and "ocpp" both become "/ocpp"; the root becomes "". */
export function normalizePrefix(prefix: string): string {
  const parts = prefix.split("/").filter(Boolean);
  return parts.length ? `/${parts.join("/")}` : "";
}

/** The path of an upgrade request without its last segment (the charger identity). */
export function prefixOf(url: string): string {
  const pathname = new URL(url, "http://localhost").pathname;
  return normalizePrefix(pathname.slice(0, pathname.lastIndexOf("/")));
}
