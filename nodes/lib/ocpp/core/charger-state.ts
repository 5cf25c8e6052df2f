/**
 * The package's common ChargerState (nodes/lib/types.ts) for OCPP chargers,
 * 1.6 and 2.0.1 alike, built from what the central system already knows:
 * the connector status and latest measurements in the registry, plus what
 * only the events carry (Current.Offered, the session's energy) and the last
 * limit a command applied. One state per connector (2.0.1: per EVSE), sent
 * only when it changed and at most once per interval per charger, so a flow
 * can wire OCPP chargers into the site manager exactly like Charge Amps and
 * AMTRON ones. Knows nothing of Node-RED.
 */
import type { OperationState, PhaseValues } from "../../types";
import type { ChargerSnapshot, ConnectorSnapshot } from "./contract";
import type { ChargerStateEvent, OcppEvent } from "./events";

export const CHARGER_STATE_KIND = "charger.state";

/** Events that can change a charger's state; they must be built while anyone wants charger.state. */
export const STATE_INPUT_KINDS: ReadonlySet<string> = new Set(["connected", "disconnected", "status", "meter", "session.started", "session.updated", "session.ended"]);

/** OCPP 1.6 status words (2.0.1 statuses are merged into them by the adapter) → the common state words, as for Charge Amps. */
const STATE_BY_STATUS: Record<string, OperationState> = {
  Available: "idle",
  Preparing: "connected",
  Finishing: "connected",
  Charging: "charging",
  SuspendedEV: "suspended",
  SuspendedEVSE: "suspended",
  Reserved: "idle",
  // Taken out of service on purpose (ChangeAvailability Inoperative).
  Unavailable: "off",
  Faulted: "fault",
};
const PLUGGED_IN = new Set(["Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"]);
const NOT_PLUGGED_IN = new Set(["Available", "Reserved"]);
/** States in which a car may draw current; otherwise the last measurements are history. */
const DRAWING = new Set<OperationState>(["charging", "suspended", "connected"]);
/** A phase carrying more than this counts as in use (noise and standby currents stay below). */
const PHASE_IN_USE_A = 1;

export function operationStateOf(status: string | undefined, online: boolean): OperationState {
  // An offline charger's last status is stale: it is out of our reach (as Charge Amps reports an offline charge point).
  if (!online) return "unscheduled_downtime";
  return (status !== undefined && STATE_BY_STATUS[status]) || "unknown";
}

export function vehicleConnectedOf(status: string | undefined, online: boolean): boolean | undefined {
  if (!online || status === undefined) return undefined;
  if (PLUGGED_IN.has(status)) return true;
  if (NOT_PLUGGED_IN.has(status)) return false;
  return undefined;
}

/** How many phases draw current, from the measured currents; undefined when none is measured or none draws. */
export function phasesInUse(currents: PhaseValues | undefined): number | undefined {
  if (!currents) return undefined;
  const count = [currents.l1, currents.l2, currents.l3].filter((a) => a !== undefined && a > PHASE_IN_USE_A).length;
  return count > 0 ? count : undefined;
}

/** What the events tell about one connector beyond the registry. */
interface ConnectorExtras {
  /** Latest Current.Offered, A, and when it came. */
  offered?: { amps: number; at: number };
  /** Last limit a command applied, A, and when. */
  limit?: { amps: number; at: number };
  /** Energy of the open session, Wh. */
  sessionWh?: number;
  /** When the last meter event came, and when measurements became history (session end, disconnect). */
  meterAt?: number;
  resetAt?: number;
}

/** Builds the state of one connector; `now` is the central system's clock. */
export function chargerStateOf(snapshot: ChargerSnapshot, connector: ConnectorSnapshot, extras: ConnectorExtras, now: Date): ChargerStateEvent {
  const online = snapshot.connected;
  const operationState = operationStateOf(connector.status, online);
  // After a session ended the registry still holds its last power and currents: not what flows now.
  const fresh = extras.resetAt === undefined || (extras.meterAt !== undefined && extras.meterAt > extras.resetAt);
  const drawing = online && DRAWING.has(operationState) && fresh;
  const offered = [extras.offered, extras.limit].filter((v) => v !== undefined).sort((a, b) => b.at - a.at)[0];
  const time = now.toISOString();
  const state: ChargerStateEvent = {
    kind: CHARGER_STATE_KIND,
    identity: snapshot.identity,
    time,
    source: "ocpp",
    chargerId: snapshot.identity,
    connectorId: connector.connectorId,
    operationState,
    online,
    samplingTime: time,
  };
  const plugged = vehicleConnectedOf(connector.status, online);
  if (plugged !== undefined) state.vehicleConnected = plugged;
  if (online) state.powerW = drawing ? (connector.powerW ?? 0) : 0;
  if (drawing && connector.currentA) {
    state.currentA = { ...connector.currentA };
    const phases = phasesInUse(connector.currentA);
    if (phases !== undefined) state.phases = phases;
  }
  if (connector.voltageV) state.voltageV = { ...connector.voltageV };
  if (offered) state.maxCurrentA = offered.amps;
  if (connector.transactionId !== undefined && extras.sessionWh !== undefined) state.sessionEnergyWh = extras.sessionWh;
  if (connector.energyWh !== undefined) state.totalEnergyWh = connector.energyWh;
  state.raw = compactRaw(connector);
  return state;
}

function compactRaw(connector: ConnectorSnapshot): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  if (connector.status !== undefined) raw.status = connector.status;
  if (connector.errorCode !== undefined) raw.errorCode = connector.errorCode;
  if (connector.transactionId !== undefined) raw.transactionId = connector.transactionId;
  if (connector.connectorStatus !== undefined) raw.connectorStatus = connector.connectorStatus;
  if (connector.chargingState !== undefined) raw.chargingState = connector.chargingState;
  return raw;
}

export interface ChargerStateFeedOptions {
  /** What the central system knows about a charger now. */
  snapshot(identity: string): ChargerSnapshot | undefined;
  emit(event: ChargerStateEvent): void;
  /** At most one round of states per charger per this many ms (default 1000). */
  minIntervalMs?: number;
  /** Connectors remembered at most (default 4000); the oldest is forgotten first. */
  maxEntries?: number;
  clock?: () => number;
}

/** "all": every connector of the charger (connect, disconnect, a status of connector 0, a limit on the whole charger). */
type Dirty = Set<number> | "all";

/** Watches a central system's events and emits each connector's ChargerState when it changed, at a bounded rate. */
export class ChargerStateFeed {
  private readonly extras = new Map<string, ConnectorExtras>();
  /** What was last sent per connector, without its times. */
  private readonly sent = new Map<string, string>();
  private readonly lastRound = new Map<string, number>();
  private readonly pending = new Map<string, { dirty: Dirty; timer: NodeJS.Timeout }>();
  private readonly minIntervalMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;
  private closed = false;

  constructor(private readonly options: ChargerStateFeedOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    this.maxEntries = options.maxEntries ?? 4000;
    this.clock = options.clock ?? Date.now;
  }

  /** An event the central system emitted; anything but the state inputs is ignored. */
  note(event: OcppEvent): void {
    if (this.closed || !STATE_INPUT_KINDS.has(event.kind)) return;
    const now = this.clock();
    switch (event.kind) {
      case "connected":
        return this.mark(event.identity, "all");
      case "disconnected":
        if (event.replaced) return; // the charger is still connected on its newer socket
        for (const [key, extras] of this.extras) if (key.startsWith(`${event.identity}\u0000`)) extras.resetAt = now;
        return this.mark(event.identity, "all");
      case "status":
        if (event.stale) return;
        return this.mark(event.identity, event.connectorId === 0 ? "all" : event.connectorId);
      case "meter": {
        if (event.late || event.replayed) return;
        const extras = this.connector(event.identity, event.connectorId);
        extras.meterAt = now;
        let offered: number | undefined;
        for (const sample of event.samples) {
          if (sample.measurand === "Current.Offered" && typeof sample.value === "number" && Number.isFinite(sample.value)) offered = Math.max(offered ?? 0, sample.value);
        }
        if (offered !== undefined) extras.offered = { amps: offered, at: now };
        return this.mark(event.identity, event.connectorId);
      }
      case "session.started":
      case "session.updated":
      case "session.ended": {
        if (event.replayed || event.connectorId === undefined) return;
        const extras = this.connector(event.identity, event.connectorId);
        if (event.kind === "session.ended") {
          extras.sessionWh = undefined;
          extras.resetAt = now;
        } else {
          extras.sessionWh = event.energyWh ?? (event.kind === "session.started" ? 0 : extras.sessionWh);
        }
        return this.mark(event.identity, event.connectorId);
      }
    }
  }

  /** A command applied a limit (A per phase); connector 0 or undefined is the whole charger. */
  noteLimit(identity: string, connectorId: number | undefined, amps: number): void {
    if (this.closed || !Number.isFinite(amps)) return;
    const now = this.clock();
    const ids = connectorId ? [connectorId] : (this.options.snapshot(identity)?.connectors.map((c) => c.connectorId).filter((id) => id > 0) ?? []);
    for (const id of ids) this.connector(identity, id).limit = { amps, at: now };
    this.mark(identity, connectorId ? connectorId : "all");
  }

  close(): void {
    this.closed = true;
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private connector(identity: string, connectorId: number): ConnectorExtras {
    const key = `${identity}\u0000${connectorId}`;
    let extras = this.extras.get(key);
    if (!extras) {
      if (this.extras.size >= this.maxEntries) this.forgetOldest();
      extras = {};
      this.extras.set(key, extras);
    }
    return extras;
  }

  private forgetOldest(): void {
    const oldest = this.extras.keys().next().value;
    if (oldest === undefined) return;
    this.extras.delete(oldest);
    this.sent.delete(oldest);
  }

  /** Schedules a round for this charger: after the current event is fully handled, and not sooner than the interval allows. */
  private mark(identity: string, connectors: number | "all"): void {
    const waiting = this.pending.get(identity);
    if (waiting) {
      if (connectors === "all") waiting.dirty = "all";
      else if (waiting.dirty !== "all") waiting.dirty.add(connectors);
      return;
    }
    const since = this.clock() - (this.lastRound.get(identity) ?? -Infinity);
    const delay = Math.max(0, this.minIntervalMs - since);
    const timer = setTimeout(() => this.round(identity), delay);
    timer.unref();
    this.pending.set(identity, { dirty: connectors === "all" ? "all" : new Set([connectors]), timer });
  }

  private round(identity: string): void {
    const waiting = this.pending.get(identity);
    this.pending.delete(identity);
    if (this.closed || !waiting) return;
    const now = this.clock();
    this.lastRound.delete(identity);
    this.lastRound.set(identity, now);
    if (this.lastRound.size > this.maxEntries) this.lastRound.delete(this.lastRound.keys().next().value as string);
    const snapshot = this.options.snapshot(identity);
    if (!snapshot) return;
    for (const connector of snapshot.connectors) {
      if (connector.connectorId === 0 || (waiting.dirty !== "all" && !waiting.dirty.has(connector.connectorId))) continue;
      const key = `${identity}\u0000${connector.connectorId}`;
      const state = chargerStateOf(snapshot, connector, this.extras.get(key) ?? this.connector(identity, connector.connectorId), new Date(now));
      const { time: _time, samplingTime: _sampled, ...content } = state;
      const signature = JSON.stringify(content);
      if (this.sent.get(key) === signature) continue;
      this.sent.set(key, signature);
      this.options.emit(state);
    }
  }
}
