/**
 * The retained records instances publish about themselves and their
 * chargers, and the rule that decides which connection of a charger wins.
 * Everything read from the broker is checked here: a record from another
 * version or a stranger on the broker must not break an instance.
 */

/** `node/<instance>/state`, retained; the last will sets online:false. */
export interface NodeStateRecord {
  online: boolean;
  /** Random per start of the instance: two processes using one instance name can be told apart. */
  boot: string;
  since: string;
  /** The instance's number (its stripe of OCPP 1.6 transaction ids). */
  index?: number;
}

/** `cp/<id>/owner/<instance>`, retained while that instance holds the charger's websocket. */
export interface OwnerRecord {
  instance: string;
  /** Unique per websocket connection. */
  conn: string;
  /** Epoch ms when the websocket was accepted; the newest connection wins. */
  gen: number;
  protocol?: string;
  since: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(payload: Buffer | string): unknown {
  try {
    return JSON.parse(typeof payload === "string" ? payload : payload.toString("utf8"));
  } catch {
    return undefined;
  }
}

export function parseNodeState(payload: Buffer | string): NodeStateRecord | undefined {
  const value = parseJson(payload);
  if (!isObject(value) || typeof value.online !== "boolean") return undefined;
  return {
    online: value.online,
    boot: typeof value.boot === "string" ? value.boot : "",
    since: typeof value.since === "string" ? value.since : "",
    index: typeof value.index === "number" && Number.isInteger(value.index) ? value.index : undefined,
  };
}

export function parseOwner(payload: Buffer | string, instance: string): OwnerRecord | undefined {
  const value = parseJson(payload);
  if (!isObject(value)) return undefined;
  if (typeof value.conn !== "string" || typeof value.gen !== "number" || !Number.isFinite(value.gen)) return undefined;
  // The topic names the instance; a record claiming another one is ignored.
  if (value.instance !== instance) return undefined;
  return {
    instance,
    conn: value.conn,
    gen: value.gen,
    protocol: typeof value.protocol === "string" ? value.protocol : undefined,
    since: typeof value.since === "string" ? value.since : "",
  };
}

/** > 0 when `a` is the newer connection. Ties (same millisecond) are broken by instance and connection id, the same way everywhere. */
export function compareOwners(a: OwnerRecord, b: OwnerRecord): number {
  if (a.gen !== b.gen) return a.gen - b.gen;
  if (a.instance !== b.instance) return a.instance < b.instance ? -1 : 1;
  if (a.conn !== b.conn) return a.conn < b.conn ? -1 : 1;
  return 0;
}
