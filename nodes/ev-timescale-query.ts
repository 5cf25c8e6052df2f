/**
 * ev-timescale-query: runs the SQL written in the node (never SQL from a
 * message) with msg.params as $1, $2 ... and sends the rows on.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import type { TimescaleConfigNode } from "./lib/timescale/config-node";
import { describePgError } from "./lib/timescale/writer";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { Status } from "./lib/node-red/status";

interface TimescaleQueryDef extends NodeDef {
  timescale: string;
  sql: string;
}

interface QueryMsg extends NodeMessageInFlow {
  params?: unknown;
}

export = (RED: NodeAPI): void => {
  function TimescaleQuery(this: Node, def: TimescaleQueryDef): void {
    RED.nodes.createNode(this, def);
    const life = new Lifecycle(this);
    const config = RED.nodes.getNode(def.timescale) as TimescaleConfigNode | null;
    const pool = config ? config.getPool() : new Error("Choose a PostgreSQL / TimescaleDB server (ev-timescale-config) in this node");
    const sql = (def.sql || "").trim();
    if (pool instanceof Error || !sql) {
      const error = pool instanceof Error ? pool : new Error("Write the SQL query in the node");
      life.refuse(error.message, error);
      return;
    }
    let running = 0;
    life.onInput<QueryMsg>(async (msg, send) => {
      const params = msg.params === undefined ? [] : msg.params;
      if (!Array.isArray(params)) throw new Error("msg.params must be an array: its items become $1, $2 ... in the query");
      running++;
      this.status(Status.busy("querying"));
      try {
        const result = await pool.query(sql, params);
        msg.payload = result.rows;
        (msg as QueryMsg & { rowCount?: number | null }).rowCount = result.rowCount;
        this.status(Status.ok(`${result.rowCount ?? result.rows.length} rows · ${new Date().toTimeString().slice(0, 8)}`));
        send(msg);
      } catch (err) {
        const described = describePgError(err, config!.target, [config!.credentials?.password]);
        this.status(Status.error(described.message));
        throw described;
      } finally {
        running--;
      }
    });
    life.onClose(() => {
      if (running === 0) this.status({});
    });
  }
  RED.nodes.registerType("ev-timescale-query", TimescaleQuery);
};
