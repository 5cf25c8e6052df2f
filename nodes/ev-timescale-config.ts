/**
 * ev-timescale-config: a PostgreSQL / TimescaleDB server (host, port,
 * database, user, password as a credential, SSL) and the connection pool
 * all writer and query nodes that use it share.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import type { Pool } from "pg";
import { errorMessage, redact } from "./lib/errors";
import type { TimescaleConfigCredentials, TimescaleConfigNode } from "./lib/timescale/config-node";
import { loadPg, poolConfig, type SslMode } from "./lib/timescale/pool";
import { Lifecycle } from "./lib/node-red/lifecycle";

interface TimescaleConfigDef extends NodeDef {
  host: string;
  port: number | string;
  database: string;
  user: string;
  ssl: SslMode;
  poolSize: number | string;
  timeout: number | string;
  schema?: string;
}

export = (RED: NodeAPI): void => {
  function TimescaleConfig(this: Node<TimescaleConfigCredentials>, def: TimescaleConfigDef): void {
    RED.nodes.createNode(this, def);
    const node = this as TimescaleConfigNode;
    const life = new Lifecycle(this);
    let pool: Pool | undefined;
    const holds = new Set<Promise<unknown>>();
    node.hold = (flush) => {
      const held = flush.catch(() => undefined).finally(() => holds.delete(held));
      holds.add(held);
    };
    node.target = `${def.host}:${def.port || 5432}/${def.database}`;
    node.getPool = () => {
      if (pool) return pool;
      try {
        // pg is loaded here, when the first writer or query node is deployed (see lib/lazy.ts).
        const created = new (loadPg().Pool)(
          poolConfig({
            host: def.host,
            port: def.port,
            database: def.database,
            user: def.user,
            password: node.credentials?.password,
            ssl: def.ssl,
            poolSize: def.poolSize,
            timeoutS: def.timeout,
            schema: def.schema,
          }),
        );
        // An idle connection that dies emits here; without a listener Node-RED would crash.
        created.on("error", (err) => node.warn(`PostgreSQL connection lost: ${redact(errorMessage(err), [node.credentials?.password])}`));
        pool = created;
        return created;
      } catch (err) {
        return err as Error;
      }
    };
    life.onClose(async () => {
      // Node-RED stops users and config nodes at the same time: let the users'
      // close handlers register their last flush, then wait for them (bounded).
      await new Promise((r) => setImmediate(r));
      if (holds.size > 0) await Promise.race([Promise.allSettled([...holds]), new Promise((r) => setTimeout(r, 7000))]);
      const closing = pool;
      pool = undefined;
      if (!closing) return;
      await Promise.race([closing.end(), new Promise((r) => setTimeout(r, 2000))]);
    });
  }
  RED.nodes.registerType<Node<TimescaleConfigCredentials>, TimescaleConfigDef, unknown, TimescaleConfigCredentials>("ev-timescale-config", TimescaleConfig, {
    credentials: { password: { type: "password" } },
  });
};
