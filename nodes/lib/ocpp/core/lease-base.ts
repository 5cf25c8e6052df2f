/**
 * The failsafe base under a leased limit, the same for every OCPP version:
 * installed once per charger (again when the safe current changes), one
 * install at a time, cached apart for whole-charger and connector (EVSE)
 * limits. Each version's adapter only says how its base profile goes on the
 * wire (see leaseBase in v16/smart-charging.ts for why the bases are what
 * they are).
 */
import { classifyCallError } from "./command-error";
import type { ChargerLink } from "./contract";
import { KeyedSerial } from "./keyed-serial";

/** What a leased limit's answer says about its lease. */
export interface LeaseInfo {
  validTo: string;
  safeA?: number;
  base?: "installed" | "kept";
  warning?: string;
  verified?: boolean;
}

export interface LeaseBaseInput {
  link: ChargerLink;
  /** Whose cache the installed base goes in (the directory, or the link without one). */
  owner: object;
  leaseS: number;
  safeA?: number;
  /** The limit is on one connector (EVSE): its base is a separate profile. */
  scoped: boolean;
  /** The charger's highest stack level: 0 leaves no room above a base. */
  stackLevel: number;
  now: Date;
  /** Sends this version's base profile at `safeA` and answers the charger's status. */
  send: (safeA: number, scoped: boolean) => Promise<unknown>;
}

/** Safe currents installed as base profiles, per owner and charger (and scope). */
const baseByOwner = new WeakMap<object, Map<string, number>>();

export async function leaseOverBase(input: LeaseBaseInput): Promise<LeaseInfo> {
  const { link, owner, scoped, safeA } = input;
  if (input.stackLevel === 0) {
    return { validTo: "", warning: `Charger ${link.identity} takes stack level 0 only, so the limit cannot be leased above a safe base: it stays until replaced` };
  }
  const validTo = new Date(input.now.getTime() + input.leaseS * 1000).toISOString();
  if (safeA === undefined) return { validTo };
  const key = scoped ? `${link.identity}#scoped` : link.identity;
  // Two connectors limited at once would both find no base yet and install it twice: one install at a time per base.
  return oneBaseAtATime(owner, key, async (): Promise<LeaseInfo> => {
    let installed = baseByOwner.get(owner);
    if (!installed) baseByOwner.set(owner, (installed = new Map()));
    if (installed.get(key) === safeA) return { validTo, safeA, base: "kept" };
    let status: unknown;
    try {
      status = await input.send(safeA, scoped);
    } catch (err) {
      const error = classifyCallError(err, link.identity, "SetChargingProfile");
      if (error.kind !== "call_error") throw error;
      status = `CALLERROR ${error.rpcErrorCode ?? ""}`.trim();
    }
    if (status !== "Accepted") {
      return { validTo: "", warning: `Charger ${link.identity} refused the safe base profile (${String(status)}), so the limit is not leased: it stays until replaced` };
    }
    installed.set(key, safeA);
    return { validTo, safeA, base: "installed" };
  });
}

/** Base installs queued per owner and base, so one runs after the other. */
const baseQueue = new WeakMap<object, KeyedSerial>();

function oneBaseAtATime<T>(owner: object, key: string, install: () => Promise<T>): Promise<T> {
  let queue = baseQueue.get(owner);
  if (!queue) baseQueue.set(owner, (queue = new KeyedSerial()));
  return queue.run(key, install);
}
