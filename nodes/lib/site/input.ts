/**
 * Turns the messages a flow sends to the site manager (by topic) into calls
 * on SiteManager, with a clear error for anything it cannot use.
 */
import { isOperationState } from "../types";
import { connectorEntryId, isChargeMode } from "./config";
import type { Phases3 } from "./capacity";
import type { SiteManager } from "./manager";
import type { ChargerReading } from "./types";
import { parsePlan } from "./plan";
import { parsePriceInput } from "./price";
import { isObject, num, timeOf } from "./values";

export class SiteInputError extends Error {
  override readonly name = "SiteInputError";
}

export interface SiteInputMessage {
  topic?: unknown;
  payload?: unknown;
  chargerId?: unknown;
  timestamp?: unknown;
}

export const SITE_TOPICS = "grid, pv, battery, charger/<id>, mode/<id>, priority/<id>, plan/<id>, soc/<id>, price";

/** What happened, so the node knows whether to run the algorithm at once. */
export type InputKind = "grid" | "pv" | "battery" | "charger" | "mode" | "priority" | "plan" | "soc" | "price" | "ignored";

/** Applies one message; returns its kind. `now` caps timestamps from the future. */
export function applySiteInput(manager: SiteManager, msg: SiteInputMessage, now: number): InputKind {
  const topic = typeof msg.topic === "string" ? msg.topic.trim() : "";
  const [head, ...rest] = topic.split("/");
  const tail = rest.join("/");
  const payload = msg.payload;
  const obj = isObject(payload) ? payload : undefined;
  const time = Math.min(now, timeOf(obj?.time ?? obj?.samplingTime ?? obj?.timestamp ?? msg.timestamp) ?? now);
  // The common ChargerState of any brand (OCPP in's charger.state, Charge Amps, AMTRON) wired straight in, whatever its topic:
  // read like charger/<chargerId>; states of chargers not in the list are ignored (several chargers may share one wire).
  if (obj && !TOPIC_HEADS.has(head) && isChargerState(obj)) {
    const id = entryFor(manager, obj.chargerId, obj.connectorId ?? obj.connector);
    if (id === undefined) return "ignored";
    manager.setReading(id, readingOf(obj, time));
    return "charger";
  }
  // Events of the OCPP in node, wired straight in (topic "<identity>/<kind>").
  if (obj && typeof obj.kind === "string" && typeof obj.identity === "string") return applyOcppEvent(manager, obj, time);

  switch (head) {
    case "grid": {
      const powerW = typeof payload === "number" ? payload : num(obj?.powerW ?? obj?.power);
      if (powerW === undefined) throw new SiteInputError(`grid: payload.powerW must be the grid power in W (import positive, export negative), got ${describe(obj?.powerW ?? payload)}`);
      manager.setGrid({ time, powerW, currentsA: phases(obj?.currentsA ?? obj?.currentA, "currentsA"), voltagesV: phases(obj?.voltagesV ?? obj?.voltageV, "voltagesV") });
      return "grid";
    }
    case "pv": {
      const powerW = typeof payload === "number" ? payload : num(obj?.powerW ?? obj?.power);
      if (powerW === undefined) throw new SiteInputError(`pv: payload.powerW must be the PV power in W, got ${describe(payload)}`);
      manager.setPv(powerW);
      return "pv";
    }
    case "battery": {
      if (!obj) throw new SiteInputError(`battery: payload must be {powerW, soc}, got ${describe(payload)}`);
      manager.setBattery(num(obj.powerW ?? obj.power), num(obj.soc));
      return "battery";
    }
    case "charger": {
      const id = chargerId(tail, msg, obj);
      if (!obj) throw new SiteInputError(`charger/${id}: payload must be a charger state (powerW, currentA, operationState, ...), got ${describe(payload)}`);
      manager.setReading(id, readingOf(obj, time));
      return "charger";
    }
    case "mode": {
      const id = chargerId(tail, msg, obj);
      const mode = obj ? obj.mode : payload;
      if (!isChargeMode(mode)) throw new SiteInputError(`mode/${id}: payload must be off, pv, minpv or now, got ${describe(mode)}`);
      manager.setMode(id, mode);
      return "mode";
    }
    case "priority": {
      const id = chargerId(tail, msg, obj);
      const priority = num(obj ? obj.priority : payload);
      if (priority === undefined || priority < 0) throw new SiteInputError(`priority/${id}: payload must be a number of 0 or more, got ${describe(payload)}`);
      manager.setPriority(id, priority);
      return "priority";
    }
    case "plan": {
      const id = chargerId(tail, msg, obj);
      if (!manager.hasCharger(id)) throw new SiteInputError(`plan/${id}: no charger "${id}" in the list`);
      manager.setPlan(id, wrap(`plan/${id}`, () => parsePlan(payload, now)));
      return "plan";
    }
    case "soc": {
      const id = chargerId(tail, msg, obj);
      const soc = num(obj ? obj.soc : payload);
      if (soc === undefined || soc < 0 || soc > 100) throw new SiteInputError(`soc/${id}: payload must be the car's state of charge in % (0-100), got ${describe(payload)}`);
      manager.setSoc(id, soc);
      return "soc";
    }
    case "price": {
      const price = wrap("price", () => parsePriceInput(payload));
      if ("cheap" in price) manager.setCheap(price.cheap);
      else manager.setPrices(price.slots);
      return "price";
    }
    default:
      throw new SiteInputError(`Unknown topic "${topic}": use ${SITE_TOPICS}`);
  }
}

const TOPIC_HEADS: ReadonlySet<string> = new Set(["grid", "pv", "battery", "charger", "mode", "priority", "price"]);

/** The shape of the package's ChargerState (nodes/lib/types.ts): who made it, for which charger, and its state word. */
function isChargerState(obj: Record<string, unknown>): obj is Record<string, unknown> & { chargerId: string } {
  return typeof obj.source === "string" && typeof obj.chargerId === "string" && obj.chargerId !== "" && isOperationState(obj.operationState);
}

/** OCPP connector states that mean a car is plugged in. */
const PLUGGED = new Set(["Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"]);

/**
 * A status or meter event of ev-ocpp-in: status tells whether a car is plugged in, meter values give power,
 * per-phase currents and Current.Offered. Events of chargers the manager does not manage are ignored.
 */
function applyOcppEvent(manager: SiteManager, event: Record<string, unknown>, time: number): InputKind {
  const id = entryFor(manager, event.identity as string, event.connectorId);
  if (id === undefined) return "ignored";
  if (event.kind === "status" && typeof event.status === "string" && event.connectorId !== 0) {
    manager.setReading(id, { time, connected: PLUGGED.has(event.status), operationState: event.status === "Charging" ? "charging" : undefined }, true);
    return "charger";
  }
  if (event.kind !== "meter" || !Array.isArray(event.samples)) return "ignored";
  const reading: ChargerReading = { time };
  const currents: Record<string, number> = {};
  for (const sample of event.samples as Array<{ measurand?: string; phase?: string; value?: number }>) {
    if (typeof sample.value !== "number") continue;
    const phase = /^L([123])/.exec(sample.phase ?? "")?.[1];
    if (sample.measurand === "Power.Active.Import" && !phase) reading.powerW = sample.value; // already in W (meter-values converts units)
    if (sample.measurand === "Current.Import" && phase) currents[`l${phase}`] = sample.value;
    if (sample.measurand === "Current.Offered" && !phase) reading.offeredA = sample.value;
  }
  if (Object.keys(currents).length > 0) reading.currentA = currents;
  manager.setReading(id, reading, true);
  return "charger";
}

/**
 * The manager's entry for a state of `chargerId`: "CP1/2" when the state is for connector (EVSE) 2 and the list
 * names that connector, else "CP1" (the whole charger, as before connectors could be named); undefined when neither is listed.
 */
export function entryFor(manager: SiteManager, chargerId: string, connector: unknown): string | undefined {
  if (typeof connector === "number" && Number.isInteger(connector) && connector > 0) {
    const id = connectorEntryId(chargerId, connector);
    if (manager.hasCharger(id)) return id;
  }
  return manager.hasCharger(chargerId) ? chargerId : undefined;
}

/** The common ChargerState (nodes/lib/types.ts) as the manager reads it. */
function readingOf(state: Record<string, unknown>, time: number): ChargerReading {
  const currents = isObject(state.currentA) ? state.currentA : undefined;
  return {
    time,
    powerW: num(state.powerW),
    currentA: currents ? { l1: num(currents.l1), l2: num(currents.l2), l3: num(currents.l3) } : undefined,
    connected: typeof state.vehicleConnected === "boolean" ? state.vehicleConnected : typeof state.connected === "boolean" ? state.connected : undefined,
    operationState: typeof state.operationState === "string" ? state.operationState : undefined,
    offeredA: num(state.maxCurrentA ?? state.offeredA),
    phases: num(state.phases),
    soc: num(state.soc ?? state.socPct),
  };
}

/** Runs a parser and turns its error into a SiteInputError naming the topic. */
function wrap<T>(topic: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new SiteInputError(`${topic}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function chargerId(fromTopic: string, msg: SiteInputMessage, obj: Record<string, unknown> | undefined): string {
  const id = fromTopic || (typeof msg.chargerId === "string" ? msg.chargerId : "") || (typeof obj?.chargerId === "string" ? obj.chargerId : "");
  if (!id) throw new SiteInputError(`Which charger? Use topic charger/<id> (or mode/<id>, priority/<id>, plan/<id>, soc/<id>), or set msg.chargerId`);
  return id;
}

function phases(value: unknown, name: string): Phases3 | undefined {
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? value : isObject(value) ? [value.l1, value.l2, value.l3] : undefined;
  const numbers = list?.map(num);
  if (!numbers || numbers.length < 1 || numbers.some((n) => n === undefined)) {
    throw new SiteInputError(`grid: ${name} must be [L1, L2, L3] or {l1, l2, l3} numbers, got ${describe(value)}`);
  }
  return [numbers[0] ?? 0, numbers[1] ?? 0, numbers[2] ?? 0] as Phases3;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  const text = JSON.stringify(value);
  return text && text.length > 60 ? `${text.slice(0, 57)}...` : (text ?? typeof value);
}
