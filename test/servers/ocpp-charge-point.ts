/**
 * A simulated OCPP 1.6J charge point (an ocpp-rpc RPCClient in strict mode,
 * so every frame it receives is checked against the official 1.6 JSON
 * schemas) that answers every central-system command. Behaviour is
 * configurable so tests and example flows can reproduce the quirks real
 * chargers have: rate unit A or W only, a maximum stack level, profile
 * purposes it refuses, no `numberPhases`, a CALLERROR or no answer at all.
 *
 * No test-framework imports: it doubles as the simulator for example flows
 * (from the command line it also runs charging sessions on a cycle, see ocpp-demo-sessions.ts):
 *   npx tsx test/servers/ocpp-charge-point.ts ws://127.0.0.1:1880/ocpp CP1
 */
import { RPCClient, createRPCError, NOREPLY } from "ocpp-rpc";
import { runDemoSessions } from "./ocpp-demo-sessions";

export type RateUnit = "A" | "W";
export type ProfilePurpose = "ChargePointMaxProfile" | "TxDefaultProfile" | "TxProfile";

export interface ChargePointBehaviour {
  /** Units listed in ChargingScheduleAllowedChargingRateUnit; profiles in another unit are rejected. */
  rateUnits: RateUnit[];
  /** ChargeProfileMaxStackLevel; profiles above it are rejected. */
  maxStackLevel: number;
  /** Purposes that SetChargingProfile accepts; others answer Rejected. */
  acceptedPurposes: ProfilePurpose[];
  /** Rejects any profile that carries numberPhases (go-e style firmware). */
  numberPhasesUnsupported: boolean;
  /** Purposes the charger answers Accepted for but silently ignores (composite unchanged). */
  ignoredPurposes: ProfilePurpose[];
  /** Rejects profiles of kind Absolute (firmware that needs Relative). */
  relativeOnly: boolean;
  /** action → CALLERROR code (e.g. "NotImplemented"). */
  callErrors: Record<string, string>;
  /** Actions the charger never answers (the central system times out). */
  noReply: string[];
  /** action → status to answer instead of the normal one (e.g. Reset: "Rejected"). */
  statusOverrides: Record<string, string>;
  /** Whether the local authorization list is supported (GetLocalListVersion answers -1 otherwise). */
  localListSupported: boolean;
  /** Answer VersionMismatch to the next Differential SendLocalList. */
  versionMismatchOnce: boolean;
  /** Number of connectors (ids 1..n). */
  connectors: number;
  /** Extra configuration keys (key → value). */
  configuration: Record<string, string>;
  /** Measurands MeterValuesSampledData may contain; a list with any other is Rejected. */
  supportedMeasurands: string[];
  /** Keys left out of a GetConfiguration without keys (answered only when asked by name). */
  hiddenKeys: string[];
  /** Keys the charger lets nobody change. */
  readonlyKeys: string[];
  /** Line voltage reported in MeterValues (V). */
  voltage: number;
  /** Keeps profiles in force after their validTo (firmware that ignores validity). */
  ignoresValidTo: boolean;
}

export interface ReceivedCall {
  action: string;
  payload: Record<string, unknown>;
}

export interface InstalledProfile {
  connectorId: number;
  profile: ChargingProfile;
}

export interface ChargingProfile {
  chargingProfileId: number;
  transactionId?: number;
  stackLevel: number;
  chargingProfilePurpose: ProfilePurpose;
  chargingProfileKind: "Absolute" | "Recurring" | "Relative";
  validTo?: string;
  chargingSchedule: {
    chargingRateUnit: RateUnit;
    startSchedule?: string;
    duration?: number;
    chargingSchedulePeriod: Array<{ startPeriod: number; limit: number; numberPhases?: number }>;
  };
}

export interface LocalListEntry {
  idTag: string;
  idTagInfo?: { status: string; expiryDate?: string; parentIdTag?: string };
}

export interface ChargePointState {
  /** Every CALL received from the central system, in order, exactly as sent. */
  received: ReceivedCall[];
  configuration: Map<string, string>;
  profiles: InstalledProfile[];
  localList: { version: number; entries: Map<string, LocalListEntry> };
  /** connectorId → open transaction id (assigned by the central system). */
  transactions: Map<number, number>;
  reservations: Map<number, { connectorId: number; idTag: string }>;
  availability: Map<number, "Operative" | "Inoperative">;
  resets: string[];
  /** The energy register (Wh): sessions start and stop at its value. */
  meterWh: number;
}

export interface ChargePointSimulator {
  readonly identity: string;
  readonly state: ChargePointState;
  behaviour: ChargePointBehaviour;
  /** Calls the given action of the central system (e.g. StatusNotification). */
  send(action: string, payload: object): Promise<unknown>;
  /** Starts a session as if a driver had swiped a card (Authorize is skipped). */
  startSession(connectorId: number, idTag: string): Promise<number>;
  /** Stops the open session on a connector (StopTransaction, then StatusNotification Finishing). */
  stopSession(connectorId: number, reason: string): Promise<void>;
  /** Received calls of one action, in order. */
  calls(action: string): Array<Record<string, unknown>>;
  /** The limit in force right now on a connector (composite of installed profiles) in `unit`. */
  compositeLimit(connectorId: number, unit: RateUnit, at?: number): number | undefined;
  close(): Promise<void>;
}

export function defaultBehaviour(): ChargePointBehaviour {
  return {
    rateUnits: ["A", "W"],
    maxStackLevel: 8,
    acceptedPurposes: ["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"],
    numberPhasesUnsupported: false,
    relativeOnly: false,
    ignoredPurposes: [],
    callErrors: {},
    noReply: [],
    statusOverrides: {},
    localListSupported: true,
    versionMismatchOnce: false,
    connectors: 1,
    configuration: {},
    readonlyKeys: [],
    supportedMeasurands: ["Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage", "SoC"],
    hiddenKeys: [],
    voltage: 230,
    ignoresValidTo: false,
  };
}

const UNIT_NAMES: Record<RateUnit, string> = { A: "Current", W: "Power" };

type Handler = (params: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>;

export async function startChargePointSimulator(options: {
  url: string;
  identity: string;
  behaviour?: Partial<ChargePointBehaviour>;
  /** Send BootNotification and StatusNotification Available after connecting (default true). */
  boot?: boolean;
  reconnect?: boolean;
  /**
   * While a session runs, send MeterValues this often (energy register in Wh,
   * power in W at 7.4 kW), and stop with the register's reading. Off by default.
   */
  meterIntervalMs?: number;
}): Promise<ChargePointSimulator> {
  const behaviour: ChargePointBehaviour = { ...defaultBehaviour(), ...options.behaviour };
  const state: ChargePointState = {
    received: [],
    configuration: new Map(),
    profiles: [],
    localList: { version: 0, entries: new Map() },
    transactions: new Map(),
    reservations: new Map(),
    availability: new Map(),
    resets: [],
    meterWh: 0,
  };
  const baseConfiguration = (): Record<string, string> => ({
    SupportedFeatureProfiles: "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger",
    ChargingScheduleAllowedChargingRateUnit: behaviour.rateUnits.map((u) => UNIT_NAMES[u]).join(","),
    ChargeProfileMaxStackLevel: String(behaviour.maxStackLevel),
    ChargingScheduleMaxPeriods: "24",
    MaxChargingProfilesInstalled: "10",
    HeartbeatInterval: "300",
    MeterValueSampleInterval: "60",
    MeterValuesSampledData: "Energy.Active.Import.Register,Power.Active.Import",
    MeterValuesSampledDataMaxLength: "8",
    NumberOfConnectors: String(behaviour.connectors),
    LocalAuthListEnabled: "true",
    LocalAuthListMaxLength: "100",
    SendLocalListMaxLength: "50",
    ...behaviour.configuration,
  });
  for (const [key, value] of Object.entries(baseConfiguration())) state.configuration.set(key, value);

  const client = new RPCClient({
    endpoint: options.url,
    identity: options.identity,
    protocols: ["ocpp1.6"],
    strictMode: true,
    reconnect: options.reconnect ?? false,
    callTimeoutMs: 5000,
  } as unknown as ConstructorParameters<typeof RPCClient>[0]);

  const status = (requested: string | undefined, fallback: string): string =>
    requested ?? fallback;
  const override = (action: string): string | undefined => behaviour.statusOverrides[action];
  const validConnector = (id: unknown): boolean =>
    typeof id === "number" && id >= 0 && id <= behaviour.connectors;

  const sendStatus = (connectorId: number, value: string): void => {
    client
      .call("StatusNotification", { connectorId, errorCode: "NoError", status: value, timestamp: new Date().toISOString() })
      .catch(() => undefined);
  };

  const sessionStartWh = new Map<number, number>();
  // The timers sending MeterValues while a session runs, when meterIntervalMs is set; they advance the energy register.
  const meterTimers = new Map<number, NodeJS.Timeout>();
  const powerW = 7400;
  const sendMeterValues = (connectorId: number, transactionId: number): void => {
    const interval = options.meterIntervalMs ?? 0;
    state.meterWh += (powerW * interval) / 3_600_000;
    const wh = Math.round(state.meterWh);
    client
      .call("MeterValues", {
        connectorId,
        transactionId,
        meterValue: [
          {
            timestamp: new Date().toISOString(),
            sampledValue: [
              { value: String(wh), measurand: "Energy.Active.Import.Register", unit: "Wh" },
              { value: String(powerW), measurand: "Power.Active.Import", unit: "W" },
            ],
          },
        ],
      })
      .catch(() => undefined);
  };

  const startSession = async (connectorId: number, idTag: string): Promise<number> => {
    sessionStartWh.set(connectorId, Math.round(state.meterWh));
    const answer = (await client.call("StartTransaction", {
      connectorId,
      idTag,
      meterStart: Math.round(state.meterWh),
      timestamp: new Date().toISOString(),
    })) as { transactionId: number };
    state.transactions.set(connectorId, answer.transactionId);
    sendStatus(connectorId, "Charging");
    if (options.meterIntervalMs) {
      clearInterval(meterTimers.get(connectorId));
      meterTimers.set(connectorId, setInterval(() => sendMeterValues(connectorId, answer.transactionId), options.meterIntervalMs));
    }
    return answer.transactionId;
  };

  const stopSession = async (connectorId: number, reason: string): Promise<void> => {
    const transactionId = state.transactions.get(connectorId);
    if (transactionId === undefined) return;
    state.transactions.delete(connectorId);
    clearInterval(meterTimers.get(connectorId));
    meterTimers.delete(connectorId);
    state.profiles = state.profiles.filter((p) => p.profile.transactionId !== transactionId);
    // A session nobody metered (tests) still charged something: 1 kWh.
    if (Math.round(state.meterWh) === sessionStartWh.get(connectorId)) state.meterWh += 1000;
    await client
      .call("StopTransaction", { transactionId, meterStop: Math.round(state.meterWh), timestamp: new Date().toISOString(), reason })
      .catch(() => undefined);
    sendStatus(connectorId, "Finishing");
  };

  const profileProblem = (connectorId: number, profile: ChargingProfile): string | undefined => {
    if (!behaviour.acceptedPurposes.includes(profile.chargingProfilePurpose)) return "purpose";
    if (profile.stackLevel > behaviour.maxStackLevel) return "stackLevel";
    if (!behaviour.rateUnits.includes(profile.chargingSchedule.chargingRateUnit)) return "unit";
    if (behaviour.numberPhasesUnsupported && profile.chargingSchedule.chargingSchedulePeriod.some((p) => p.numberPhases !== undefined)) return "numberPhases";
    if (behaviour.relativeOnly && profile.chargingProfileKind === "Absolute") return "kind";
    if (profile.chargingProfilePurpose === "ChargePointMaxProfile" && connectorId !== 0) return "connector";
    if (profile.chargingProfilePurpose === "TxProfile") {
      if (connectorId === 0) return "connector";
      const open = state.transactions.get(connectorId);
      if (open === undefined || (profile.transactionId !== undefined && profile.transactionId !== open)) return "transaction";
    }
    return undefined;
  };

  const limitOf = (profile: ChargingProfile, unit: RateUnit): number => {
    const schedule = profile.chargingSchedule;
    const period = schedule.chargingSchedulePeriod[0];
    if (schedule.chargingRateUnit === unit) return period.limit;
    const phases = period.numberPhases ?? 3;
    return unit === "W" ? period.limit * behaviour.voltage * phases : period.limit / (behaviour.voltage * phases);
  };

  const compositeLimit = (connectorId: number, unit: RateUnit, at = Date.now()): number | undefined => {
    const highest = (list: InstalledProfile[]): InstalledProfile | undefined =>
      list.sort((a, b) => b.profile.stackLevel - a.profile.stackLevel)[0];
    // A profile past its validTo no longer counts (OCPP 1.6 §3.13.2), unless the firmware ignores it.
    const valid = (p: InstalledProfile): boolean => behaviour.ignoresValidTo || !p.profile.validTo || Date.parse(p.profile.validTo) > at;
    const max = highest(state.profiles.filter((p) => p.profile.chargingProfilePurpose === "ChargePointMaxProfile" && valid(p)));
    const txId = state.transactions.get(connectorId);
    const tx = highest(state.profiles.filter((p) => p.profile.chargingProfilePurpose === "TxProfile" && p.connectorId === connectorId && txId !== undefined && valid(p)));
    // A connector's own TxDefaultProfile replaces the connector-0 default; once past its validTo, the default counts again.
    const txDefault =
      highest(state.profiles.filter((p) => p.profile.chargingProfilePurpose === "TxDefaultProfile" && p.connectorId === connectorId && valid(p))) ??
      highest(state.profiles.filter((p) => p.profile.chargingProfilePurpose === "TxDefaultProfile" && p.connectorId === 0 && valid(p)));
    const limits = [max, connectorId === 0 ? txDefault : (tx ?? txDefault)]
      .filter((p): p is InstalledProfile => p !== undefined)
      .map((p) => limitOf(p.profile, unit));
    if (limits.length === 0) return undefined;
    const value = Math.min(...limits);
    return unit === "A" ? Math.round(value * 10) / 10 : Math.round(value);
  };

  const handlers: Record<string, Handler> = {
    RemoteStartTransaction: (p) => {
      const connectorId = (p.connectorId as number | undefined) ?? 1;
      const result = status(override("RemoteStartTransaction"), validConnector(connectorId) && !state.transactions.has(connectorId) ? "Accepted" : "Rejected");
      if (result === "Accepted") setTimeout(() => void startSession(connectorId, p.idTag as string).catch(() => undefined), 20);
      return { status: result };
    },
    RemoteStopTransaction: (p) => {
      const entry = [...state.transactions.entries()].find(([, id]) => id === p.transactionId);
      const result = status(override("RemoteStopTransaction"), entry ? "Accepted" : "Rejected");
      if (result === "Accepted" && entry) setTimeout(() => void stopSession(entry[0], "Remote"), 20);
      return { status: result };
    },
    Reset: (p) => {
      const result = status(override("Reset"), "Accepted");
      if (result === "Accepted") state.resets.push(p.type as string);
      return { status: result };
    },
    UnlockConnector: (p) => ({ status: status(override("UnlockConnector"), validConnector(p.connectorId) ? "Unlocked" : "NotSupported") }),
    ChangeAvailability: (p) => {
      const connectorId = p.connectorId as number;
      const result = status(override("ChangeAvailability"), validConnector(connectorId) ? (state.transactions.has(connectorId) ? "Scheduled" : "Accepted") : "Rejected");
      if (result !== "Rejected") state.availability.set(connectorId, p.type as "Operative" | "Inoperative");
      return { status: result };
    },
    ChangeConfiguration: (p) => {
      const key = p.key as string;
      let result = "Accepted";
      if (behaviour.readonlyKeys.includes(key)) result = "Rejected";
      else if (!state.configuration.has(key)) result = "NotSupported";
      else if (key === "MeterValuesSampledData" && String(p.value).split(",").some((m) => !behaviour.supportedMeasurands.includes(m.trim()))) result = "Rejected";
      result = status(override("ChangeConfiguration"), result);
      if (result === "Accepted" || result === "RebootRequired") state.configuration.set(key, p.value as string);
      return { status: result };
    },
    GetConfiguration: (p) => {
      const wanted = p.key as string[] | undefined;
      const keys = wanted && wanted.length > 0 ? wanted : [...state.configuration.keys()].filter((k) => !behaviour.hiddenKeys.includes(k));
      const configurationKey = keys
        .filter((k) => state.configuration.has(k))
        .map((k) => ({ key: k, readonly: behaviour.readonlyKeys.includes(k), value: state.configuration.get(k) }));
      const unknownKey = keys.filter((k) => !state.configuration.has(k));
      return unknownKey.length > 0 ? { configurationKey, unknownKey } : { configurationKey };
    },
    ClearCache: () => ({ status: status(override("ClearCache"), "Accepted") }),
    TriggerMessage: (p) => {
      const result = status(override("TriggerMessage"), "Accepted");
      if (result === "Accepted" && p.requestedMessage === "StatusNotification") {
        setTimeout(() => sendStatus((p.connectorId as number | undefined) ?? 1, state.transactions.size > 0 ? "Charging" : "Available"), 20);
      }
      return { status: result };
    },
    DataTransfer: (p) => {
      const result = status(override("DataTransfer"), p.vendorId === "evkit" ? "Accepted" : "UnknownVendorId");
      return result === "Accepted" ? { status: result, data: `echo:${(p.data as string | undefined) ?? ""}` } : { status: result };
    },
    SetChargingProfile: (p) => {
      const connectorId = p.connectorId as number;
      const profile = p.csChargingProfiles as unknown as ChargingProfile;
      const problem = validConnector(connectorId) ? profileProblem(connectorId, profile) : "connector";
      const result = status(override("SetChargingProfile"), problem ? "Rejected" : "Accepted");
      if (result === "Accepted" && !behaviour.ignoredPurposes.includes(profile.chargingProfilePurpose)) {
        state.profiles = state.profiles.filter(
          (x) =>
            x.profile.chargingProfileId !== profile.chargingProfileId &&
            !(x.profile.stackLevel === profile.stackLevel && x.profile.chargingProfilePurpose === profile.chargingProfilePurpose && x.connectorId === connectorId),
        );
        state.profiles.push({ connectorId, profile });
      }
      return { status: result };
    },
    ClearChargingProfile: (p) => {
      const before = state.profiles.length;
      state.profiles = state.profiles.filter((x) => {
        if (p.id !== undefined) return x.profile.chargingProfileId !== p.id;
        if (p.connectorId !== undefined && x.connectorId !== p.connectorId) return true;
        if (p.chargingProfilePurpose !== undefined && x.profile.chargingProfilePurpose !== p.chargingProfilePurpose) return true;
        if (p.stackLevel !== undefined && x.profile.stackLevel !== p.stackLevel) return true;
        return false;
      });
      return { status: status(override("ClearChargingProfile"), state.profiles.length < before ? "Accepted" : "Unknown") };
    },
    GetCompositeSchedule: (p) => {
      const connectorId = p.connectorId as number;
      const unit = (p.chargingRateUnit as RateUnit | undefined) ?? behaviour.rateUnits[0];
      const forced = override("GetCompositeSchedule");
      if (forced) return { status: forced };
      if (!validConnector(connectorId)) return { status: "Rejected" };
      const limit = compositeLimit(connectorId, unit);
      const nowMs = Date.now();
      const now = new Date(nowMs).toISOString();
      const periods = limit === undefined ? [] : [{ startPeriod: 0, limit }];
      // A profile whose validTo falls inside the requested window ends there: the next period shows what follows.
      if (!behaviour.ignoresValidTo && limit !== undefined) {
        const ends = [...new Set(state.profiles.map((x) => Date.parse(x.profile.validTo ?? "")).filter((t) => t > nowMs && t < nowMs + (p.duration as number) * 1000))].sort((a, b) => a - b);
        for (const end of ends) {
          const next = compositeLimit(connectorId, unit, end + 1);
          if (next !== undefined && next !== periods[periods.length - 1].limit) periods.push({ startPeriod: Math.ceil((end - nowMs) / 1000), limit: next });
        }
      }
      const schedule = {
        duration: p.duration as number,
        startSchedule: now,
        chargingRateUnit: unit,
        chargingSchedulePeriod: periods,
      };
      return { status: "Accepted", connectorId, scheduleStart: now, chargingSchedule: schedule };
    },
    SendLocalList: (p) => {
      if (!behaviour.localListSupported) return { status: "NotSupported" };
      const forced = override("SendLocalList");
      if (forced) return { status: forced };
      const list = (p.localAuthorizationList as LocalListEntry[] | undefined) ?? [];
      if (p.updateType === "Differential") {
        if (behaviour.versionMismatchOnce) {
          behaviour.versionMismatchOnce = false;
          return { status: "VersionMismatch" };
        }
        for (const entry of list) {
          if (entry.idTagInfo) state.localList.entries.set(entry.idTag, entry);
          else state.localList.entries.delete(entry.idTag);
        }
      } else {
        state.localList.entries = new Map(list.map((e) => [e.idTag, e]));
      }
      state.localList.version = p.listVersion as number;
      return { status: "Accepted" };
    },
    GetLocalListVersion: () => ({ listVersion: behaviour.localListSupported ? state.localList.version : -1 }),
    ReserveNow: (p) => {
      const connectorId = p.connectorId as number;
      let result = validConnector(connectorId) ? "Accepted" : "Rejected";
      if (state.transactions.has(connectorId)) result = "Occupied";
      result = status(override("ReserveNow"), result);
      if (result === "Accepted") state.reservations.set(p.reservationId as number, { connectorId, idTag: p.idTag as string });
      return { status: result };
    },
    CancelReservation: (p) => {
      const found = state.reservations.delete(p.reservationId as number);
      return { status: status(override("CancelReservation"), found ? "Accepted" : "Rejected") };
    },
    UpdateFirmware: () => ({}),
    GetDiagnostics: () => ({ fileName: `diagnostics-${options.identity}.log` }),
  };

  client.handle(async ({ method, params }) => {
    const action = method ?? "";
    const payload = (params ?? {}) as Record<string, unknown>;
    state.received.push({ action, payload });
    const code = behaviour.callErrors[action];
    if (code) throw createRPCError(code, `Simulated ${code} for ${action}`);
    if (behaviour.noReply.includes(action)) return NOREPLY as unknown as Record<string, unknown>;
    const handler = handlers[action];
    if (!handler) throw createRPCError("NotImplemented", `${action} is not implemented`);
    return handler(payload);
  });

  await client.connect();
  if (options.boot ?? true) {
    try {
      await client.call("BootNotification", { chargePointVendor: "evkit", chargePointModel: "Simulator", chargePointSerialNumber: options.identity, firmwareVersion: "1.0.0" });
      for (let id = 1; id <= behaviour.connectors; id++) sendStatus(id, "Available");
      await client.call("MeterValues", {
        connectorId: 1,
        meterValue: [
          {
            timestamp: new Date().toISOString(),
            sampledValue: ["L1", "L2", "L3"].map((phase) => ({ value: String(behaviour.voltage), measurand: "Voltage", phase: `${phase}-N`, unit: "V" })),
          },
        ],
      });
    } catch (err) {
      // No half-started charger left behind (it would reconnect forever beside a retried one).
      await client.close({ force: true });
      throw err;
    }
  }

  return {
    identity: options.identity,
    state,
    get behaviour() {
      return behaviour;
    },
    set behaviour(next: ChargePointBehaviour) {
      Object.assign(behaviour, next);
    },
    send: (action, payload) => client.call(action, payload),
    startSession,
    stopSession,
    calls: (action) => state.received.filter((c) => c.action === action).map((c) => c.payload),
    compositeLimit,
    close: async () => {
      for (const timer of meterTimers.values()) clearInterval(timer);
      meterTimers.clear();
      await client.close({ force: true });
    },
  };
}

if (require.main === module) {
  const [url = "ws://127.0.0.1:1880/ocpp", identity = "CP1"] = process.argv.slice(2);
  startChargePointSimulator({ url, identity, reconnect: true }).then(
    (sim) => {
      const demo = runDemoSessions(sim);
      console.log(`Charge point ${sim.identity} connected to ${url}; a charging session starts every minute or so`);
      process.on("SIGINT", () => void demo.stop().then(() => sim.close()).finally(() => process.exit(0)));
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
