/**
 * Every OCPP 1.6J command the central system can send to a charger, as a
 * builder from friendly input (`{connector: 1, idTag: "ABC"}`) to the exact
 * OCPP payload, and a check of the charger's answer: an answer meaning "the
 * thing you asked for did not happen" (Rejected, NotSupported, …) becomes a
 * CommandError so a flow can catch it.
 */
import type { ChargerLink, ChargerSnapshot } from "../core/contract";
import { CommandError, classifyCallError } from "../core/command-error";

export const OCPP_COMMANDS = [
  "RemoteStartTransaction",
  "RemoteStopTransaction",
  "Reset",
  "UnlockConnector",
  "ChangeAvailability",
  "ChangeConfiguration",
  "GetConfiguration",
  "ClearCache",
  "TriggerMessage",
  "DataTransfer",
  "SetChargingProfile",
  "ClearChargingProfile",
  "GetCompositeSchedule",
  "SendLocalList",
  "GetLocalListVersion",
  "ReserveNow",
  "CancelReservation",
  "UpdateFirmware",
  "GetDiagnostics",
] as const;
export type OcppCommand = (typeof OCPP_COMMANDS)[number];

/** Short names people type in a change node. */
const ALIASES: Record<string, OcppCommand> = {
  start: "RemoteStartTransaction",
  remotestart: "RemoteStartTransaction",
  stop: "RemoteStopTransaction",
  remotestop: "RemoteStopTransaction",
  unlock: "UnlockConnector",
  availability: "ChangeAvailability",
  trigger: "TriggerMessage",
};

/** The OCPP action for a command name (case-insensitive, a few short aliases), or undefined. */
export function resolveCommand(name: string): OcppCommand | undefined {
  const key = name.trim().toLowerCase();
  return OCPP_COMMANDS.find((c) => c.toLowerCase() === key) ?? ALIASES[key];
}

export interface BuiltCall {
  action: string;
  payload: Record<string, unknown>;
}

export interface BuildContext {
  chargerId: string;
  /** What the central system knows about the charger (for "the session on connector N"). */
  snapshot?: ChargerSnapshot;
  now?: () => Date;
}

export type CommandInput = Record<string, unknown>;

// ---- friendly input readers -------------------------------------------------

const usage = (command: string, text: string): CommandError => new CommandError("bad_input", `${command}: ${text}`, { action: command });

class Fields {
  constructor(
    private readonly command: string,
    private readonly input: CommandInput,
    private readonly example: string,
  ) {}

  /** The first of `names` that is set (null/"" count as unset, as form fields send them). */
  raw(...names: string[]): unknown {
    for (const name of names) {
      const value = this.input[name];
      if (value !== undefined && value !== null && value !== "") return value;
    }
    return undefined;
  }

  fail(text: string): never {
    throw usage(this.command, `${text}, e.g. ${this.example}`);
  }

  int(names: string[], opts: { min?: number; required?: boolean; what: string }): number | undefined {
    const value = this.raw(...names);
    if (value === undefined) {
      if (opts.required) this.fail(`needs ${opts.what} (${names[0]})`);
      return undefined;
    }
    const n = typeof value === "string" ? Number(value.trim()) : value;
    if (typeof n !== "number" || !Number.isInteger(n) || n < (opts.min ?? Number.MIN_SAFE_INTEGER)) {
      this.fail(`${names[0]} must be a whole number${opts.min !== undefined ? ` of at least ${opts.min}` : ""}, not ${JSON.stringify(value)}`);
    }
    return n;
  }

  text(names: string[], opts: { max?: number; required?: boolean; what: string }): string | undefined {
    const value = this.raw(...names);
    if (value === undefined) {
      if (opts.required) this.fail(`needs ${opts.what} (${names[0]})`);
      return undefined;
    }
    if (typeof value !== "string" && typeof value !== "number") this.fail(`${names[0]} must be text, not ${JSON.stringify(value)}`);
    const text = String(value).trim();
    if (opts.max !== undefined && text.length > opts.max) this.fail(`${names[0]} may be at most ${opts.max} characters ("${text}" has ${text.length})`);
    return text;
  }

  choice<T extends string>(names: string[], allowed: readonly T[], opts: { fallback?: T; what: string }): T {
    const value = this.raw(...names);
    if (value === undefined) {
      if (opts.fallback !== undefined) return opts.fallback;
      this.fail(`needs ${opts.what} (${names[0]}: ${allowed.join(" | ")})`);
    }
    const found = allowed.find((a) => a.toLowerCase() === String(value).trim().toLowerCase());
    if (!found) this.fail(`${names[0]} must be one of ${allowed.join(", ")}, not ${JSON.stringify(value)}`);
    return found;
  }

  date(names: string[], opts: { required?: boolean; what: string }): string | undefined {
    const value = this.raw(...names);
    if (value === undefined) {
      if (opts.required) this.fail(`needs ${opts.what} (${names[0]})`);
      return undefined;
    }
    const date = value instanceof Date ? value : typeof value === "number" || typeof value === "string" ? new Date(value) : undefined;
    if (!date || Number.isNaN(date.getTime())) this.fail(`${names[0]} must be a date (ISO 8601 text or milliseconds), not ${JSON.stringify(value)}`);
    return date.toISOString();
  }

  url(names: string[], what: string): string {
    const text = this.text(names, { required: true, what }) as string;
    try {
      new URL(text);
    } catch {
      this.fail(`${names[0]} must be a full URL like ftp://host/path, not "${text}"`);
    }
    return text;
  }

  object(names: string[], opts: { required?: boolean; what: string }): Record<string, unknown> | undefined {
    const value = this.raw(...names);
    if (value === undefined) {
      if (opts.required) this.fail(`needs ${opts.what} (${names[0]})`);
      return undefined;
    }
    if (typeof value !== "object" || Array.isArray(value)) this.fail(`${names[0]} must be an object, not ${JSON.stringify(value)}`);
    return value as Record<string, unknown>;
  }
}

const compact = (payload: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined));

// ---- builders -----------------------------------------------------------------

export const PROFILE_PURPOSES = ["ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"] as const;
export type ProfilePurpose = (typeof PROFILE_PURPOSES)[number];
const PROFILE_KINDS = ["Absolute", "Recurring", "Relative"] as const;
const TRIGGER_MESSAGES = [
  "BootNotification",
  "DiagnosticsStatusNotification",
  "FirmwareStatusNotification",
  "Heartbeat",
  "MeterValues",
  "StatusNotification",
] as const;
const TAG_STATUSES = ["Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"] as const;

/** Stable reservation ids without a counter that would restart at each deploy. */
let lastReservationId = 0;
function newReservationId(now: Date): number {
  lastReservationId = Math.max(lastReservationId + 1, Math.floor(now.getTime() / 1000) % 2_000_000_000);
  return lastReservationId;
}

function openTransactions(snapshot: ChargerSnapshot | undefined): Array<{ connectorId: number; transactionId: number }> {
  return (snapshot?.connectors ?? [])
    .filter((c) => c.transactionId !== undefined)
    .map((c) => ({ connectorId: c.connectorId, transactionId: c.transactionId as number }));
}

/** The transaction to stop: by id, by connector, or the only one running. */
function transactionToStop(f: Fields, context: BuildContext): number {
  const byId = f.int(["transactionId", "transaction"], { what: "a transaction id" });
  if (byId !== undefined) return byId;
  const connector = f.int(["connector", "connectorId"], { min: 1, what: "a connector" });
  const open = openTransactions(context.snapshot);
  if (connector !== undefined) {
    const found = open.find((t) => t.connectorId === connector);
    if (!found) throw usage("RemoteStopTransaction", `no session is running on connector ${connector} of charger ${context.chargerId}`);
    return found.transactionId;
  }
  if (open.length === 1) return open[0].transactionId;
  if (open.length === 0) throw usage("RemoteStopTransaction", `no session is running on charger ${context.chargerId}`);
  f.fail(`charger ${context.chargerId} has sessions on connectors ${open.map((t) => t.connectorId).join(", ")}; say which (connector or transactionId)`);
}

function checkProfile(f: Fields, profile: Record<string, unknown>): Record<string, unknown> {
  const p = new Fields("SetChargingProfile", profile, "{chargingProfileId: 1, stackLevel: 0, chargingProfilePurpose: \"TxDefaultProfile\", chargingProfileKind: \"Absolute\", chargingSchedule: {chargingRateUnit: \"A\", chargingSchedulePeriod: [{startPeriod: 0, limit: 16}]}}");
  p.int(["chargingProfileId"], { required: true, what: "a profile id" });
  p.int(["stackLevel"], { required: true, min: 0, what: "a stack level" });
  p.choice(["chargingProfilePurpose"], PROFILE_PURPOSES, { what: "a purpose" });
  p.choice(["chargingProfileKind"], PROFILE_KINDS, { what: "a kind" });
  const schedule = p.object(["chargingSchedule"], { required: true, what: "a schedule" }) as Record<string, unknown>;
  const s = new Fields("SetChargingProfile", schedule, "{chargingRateUnit: \"A\", chargingSchedulePeriod: [{startPeriod: 0, limit: 16}]}");
  s.choice(["chargingRateUnit"], ["A", "W"] as const, { what: "a rate unit" });
  const periods = schedule.chargingSchedulePeriod;
  if (!Array.isArray(periods) || periods.length === 0) f.fail("the schedule needs at least one period in chargingSchedulePeriod");
  for (const period of periods as unknown[]) {
    const limit = (period as { limit?: unknown })?.limit;
    if (typeof limit !== "number" || limit < 0) f.fail(`every period needs a limit of 0 or more, not ${JSON.stringify(limit)}`);
  }
  return profile;
}

function localListEntry(f: Fields, value: unknown, full: boolean): Record<string, unknown> {
  if (typeof value === "string") return { idTag: value, idTagInfo: { status: "Accepted" } };
  if (!value || typeof value !== "object") f.fail(`each list entry must be an id tag or {idTag, status}, not ${JSON.stringify(value)}`);
  const entry = value as Record<string, unknown>;
  const e = new Fields("SendLocalList", entry, "{idTag: \"ABC123\", status: \"Accepted\"}");
  const idTag = e.text(["idTag"], { required: true, max: 20, what: "an id tag" }) as string;
  if (entry.idTagInfo && typeof entry.idTagInfo === "object") return { idTag, idTagInfo: entry.idTagInfo };
  if (entry.remove === true || (!full && entry.status === undefined)) {
    if (full) f.fail(`a Full list cannot remove ${idTag}; leave it out instead`);
    return { idTag };
  }
  const status = e.choice(["status"], TAG_STATUSES, { fallback: "Accepted", what: "a status" });
  const info = compact({
    status,
    expiryDate: e.date(["expiryDate", "expiry"], { what: "an expiry date" }),
    parentIdTag: e.text(["parentIdTag"], { max: 20, what: "a parent id tag" }),
  });
  return { idTag, idTagInfo: info };
}

type Builder = (f: Fields, context: BuildContext) => Record<string, unknown>;

const BUILDERS: Record<OcppCommand, { example: string; build: Builder }> = {
  RemoteStartTransaction: {
    example: '{connector: 1, idTag: "ABC123"}',
    build: (f) =>
      compact({
        connectorId: f.int(["connector", "connectorId"], { min: 1, what: "a connector" }),
        idTag: f.text(["idTag"], { required: true, max: 20, what: "an id tag (the RFID card or app id that starts the session)" }),
        chargingProfile: f.object(["chargingProfile"], { what: "a charging profile" }),
      }),
  },
  RemoteStopTransaction: {
    example: "{connector: 1} or {transactionId: 42}",
    build: (f, context) => ({ transactionId: transactionToStop(f, context) }),
  },
  Reset: {
    example: '{type: "Soft"}',
    build: (f) => ({ type: f.choice(["type"], ["Soft", "Hard"] as const, { fallback: "Soft", what: "a reset type" }) }),
  },
  UnlockConnector: {
    example: "{connector: 1}",
    build: (f) => ({ connectorId: f.int(["connector", "connectorId"], { min: 1, required: true, what: "the connector to unlock" }) }),
  },
  ChangeAvailability: {
    example: '{connector: 0, type: "Inoperative"}',
    build: (f) => {
      const available = f.raw("available");
      const type =
        typeof available === "boolean"
          ? available
            ? "Operative"
            : "Inoperative"
          : f.choice(["type", "availability"], ["Operative", "Inoperative"] as const, { what: "the availability" });
      return { connectorId: f.int(["connector", "connectorId"], { min: 0, what: "a connector" }) ?? 0, type };
    },
  },
  ChangeConfiguration: {
    example: '{key: "HeartbeatInterval", value: 300}',
    build: (f) => {
      const key = f.text(["key"], { required: true, max: 50, what: "the configuration key" }) as string;
      const raw = f.raw("value");
      if (raw === undefined) f.fail(`needs the new value for ${key} (value)`);
      const value = Array.isArray(raw) ? raw.join(",") : typeof raw === "object" ? JSON.stringify(raw) : String(raw);
      if (value.length > 500) f.fail(`value may be at most 500 characters`);
      return { key, value };
    },
  },
  GetConfiguration: {
    example: '{keys: ["HeartbeatInterval"]} or {} for all',
    build: (f) => {
      const raw = f.raw("keys", "key");
      if (raw === undefined) return {};
      const keys = (Array.isArray(raw) ? raw : String(raw).split(",")).map((k) => String(k).trim()).filter((k) => k !== "");
      if (keys.some((k) => k.length > 50)) f.fail("configuration keys are at most 50 characters");
      return keys.length > 0 ? { key: keys } : {};
    },
  },
  ClearCache: { example: "{}", build: () => ({}) },
  TriggerMessage: {
    example: '{message: "StatusNotification", connector: 1}',
    build: (f) =>
      compact({
        requestedMessage: f.choice(["message", "requestedMessage"], TRIGGER_MESSAGES, { what: "the message to trigger" }),
        connectorId: f.int(["connector", "connectorId"], { min: 0, what: "a connector" }),
      }),
  },
  DataTransfer: {
    example: '{vendorId: "com.example", messageId: "SetLed", data: "on"}',
    build: (f) => {
      const data = f.raw("data");
      return compact({
        vendorId: f.text(["vendorId"], { required: true, max: 255, what: "the vendor id" }),
        messageId: f.text(["messageId"], { max: 50, what: "a message id" }),
        data: data === undefined ? undefined : typeof data === "string" ? data : JSON.stringify(data),
      });
    },
  },
  SetChargingProfile: {
    example: "{connector: 0, profile: {...}} (use the limit command for simple limits)",
    build: (f) => ({
      connectorId: f.int(["connector", "connectorId"], { min: 0, what: "a connector" }) ?? 0,
      csChargingProfiles: checkProfile(f, f.object(["profile", "csChargingProfiles", "chargingProfile"], { required: true, what: "the charging profile" }) as Record<string, unknown>),
    }),
  },
  ClearChargingProfile: {
    example: '{id: 1} or {connector: 1, purpose: "TxProfile"}',
    build: (f) =>
      compact({
        id: f.int(["id", "chargingProfileId"], { what: "a profile id" }),
        connectorId: f.int(["connector", "connectorId"], { min: 0, what: "a connector" }),
        chargingProfilePurpose: f.raw("purpose", "chargingProfilePurpose") === undefined ? undefined : f.choice(["purpose", "chargingProfilePurpose"], PROFILE_PURPOSES, { what: "a purpose" }),
        stackLevel: f.int(["stackLevel"], { min: 0, what: "a stack level" }),
      }),
  },
  GetCompositeSchedule: {
    example: '{connector: 1, duration: 3600, unit: "A"}',
    build: (f) =>
      compact({
        connectorId: f.int(["connector", "connectorId"], { min: 0, what: "a connector" }) ?? 0,
        duration: f.int(["duration"], { min: 1, what: "a duration in seconds" }) ?? 3600,
        chargingRateUnit: f.raw("unit", "chargingRateUnit") === undefined ? undefined : f.choice(["unit", "chargingRateUnit"], ["A", "W"] as const, { what: "a unit" }),
      }),
  },
  SendLocalList: {
    example: '{version: 3, updateType: "Full", list: ["ABC123", {idTag: "DEF", status: "Blocked"}]}',
    build: (f) => {
      const updateType = f.choice(["updateType", "type"], ["Full", "Differential"] as const, { fallback: "Full", what: "an update type" });
      const listVersion = f.int(["version", "listVersion"], { required: true, min: 0, what: "the list version" }) as number;
      const raw = f.raw("list", "localAuthorizationList", "tags") ?? [];
      if (!Array.isArray(raw)) f.fail("list must be an array of id tags or {idTag, status}");
      return { listVersion, updateType, localAuthorizationList: (raw as unknown[]).map((e) => localListEntry(f, e, updateType === "Full")) };
    },
  },
  GetLocalListVersion: { example: "{}", build: () => ({}) },
  ReserveNow: {
    example: '{connector: 1, idTag: "ABC123", minutes: 30}',
    build: (f, context) => {
      const now = (context.now ?? (() => new Date()))();
      const minutes = f.raw("minutes") === undefined ? undefined : Number(f.raw("minutes"));
      if (minutes !== undefined && !(minutes > 0)) f.fail("minutes must be a number above 0");
      return compact({
        connectorId: f.int(["connector", "connectorId"], { min: 0, required: true, what: "the connector to reserve (0 = any)" }),
        expiryDate: f.date(["expiryDate", "expiry"], { what: "an expiry" }) ?? new Date(now.getTime() + (minutes ?? 30) * 60_000).toISOString(),
        idTag: f.text(["idTag"], { required: true, max: 20, what: "the id tag the reservation is for" }),
        parentIdTag: f.text(["parentIdTag"], { max: 20, what: "a parent id tag" }),
        reservationId: f.int(["reservationId"], { min: 0, what: "a reservation id" }) ?? newReservationId(now),
      });
    },
  },
  CancelReservation: {
    example: "{reservationId: 7}",
    build: (f) => ({ reservationId: f.int(["reservationId"], { required: true, min: 0, what: "the reservation id" }) }),
  },
  UpdateFirmware: {
    example: '{location: "https://example.com/fw.bin"}',
    build: (f, context) =>
      compact({
        location: f.url(["location", "url"], "where the firmware is"),
        retrieveDate: f.date(["retrieveDate"], { what: "when to fetch it" }) ?? (context.now ?? (() => new Date()))().toISOString(),
        retries: f.int(["retries"], { min: 0, what: "a retry count" }),
        retryInterval: f.int(["retryInterval"], { min: 0, what: "a retry interval (s)" }),
      }),
  },
  GetDiagnostics: {
    example: '{location: "ftp://user@example.com/diag/"}',
    build: (f) =>
      compact({
        location: f.url(["location", "url"], "where to upload the diagnostics"),
        retries: f.int(["retries"], { min: 0, what: "a retry count" }),
        retryInterval: f.int(["retryInterval"], { min: 0, what: "a retry interval (s)" }),
        startTime: f.date(["startTime"], { what: "a start time" }),
        stopTime: f.date(["stopTime"], { what: "a stop time" }),
      }),
  },
};

/** Friendly input → the exact OCPP 1.6J request. Throws CommandError("bad_input") with an example. */
export function buildCommand(command: string, input: CommandInput | undefined, context: BuildContext): BuiltCall {
  const action = resolveCommand(command);
  if (!action) throw new CommandError("bad_input", `Unknown command "${command}". Use one of: ${OCPP_COMMANDS.join(", ")} (or raw mode for anything else)`);
  const spec = BUILDERS[action];
  const fields = new Fields(action, input ?? {}, spec.example);
  return { action, payload: spec.build(fields, context) };
}

// ---- answers ------------------------------------------------------------------

/** Statuses that mean "done" (or "will be done"), per action. */
const SUCCESS: Record<string, string[]> = {
  RemoteStartTransaction: ["Accepted"],
  RemoteStopTransaction: ["Accepted"],
  Reset: ["Accepted"],
  UnlockConnector: ["Unlocked"],
  ChangeAvailability: ["Accepted", "Scheduled"],
  ChangeConfiguration: ["Accepted", "RebootRequired"],
  ClearCache: ["Accepted"],
  TriggerMessage: ["Accepted"],
  DataTransfer: ["Accepted"],
  SetChargingProfile: ["Accepted"],
  // Unknown = no matching profile, so the wanted state (no such profile) already holds.
  ClearChargingProfile: ["Accepted", "Unknown"],
  GetCompositeSchedule: ["Accepted"],
  SendLocalList: ["Accepted"],
  ReserveNow: ["Accepted"],
  CancelReservation: ["Accepted"],
};

const NOT_SUPPORTED = new Set(["NotSupported", "NotImplemented", "UnknownVendorId", "UnknownMessageId"]);

/** Throws a CommandError when the answer says the requested action did not happen. */
export function checkAnswer(call: BuiltCall, answer: unknown, chargerId: string): void {
  const ok = SUCCESS[call.action];
  if (!ok) return;
  const status = (answer as { status?: unknown } | undefined)?.status;
  if (typeof status === "string" && ok.includes(status)) return;
  const kind = typeof status === "string" && NOT_SUPPORTED.has(status) ? "not_supported" : "rejected";
  const what = describe(call);
  throw new CommandError(kind, `Charger ${chargerId} ${kind === "not_supported" ? "does not support" : "refused"} ${what} (${String(status)})`, {
    chargerId,
    action: call.action,
    answer,
  });
}

function describe(call: BuiltCall): string {
  const p = call.payload;
  switch (call.action) {
    case "RemoteStartTransaction":
      return `to start a session${p.connectorId !== undefined ? ` on connector ${String(p.connectorId)}` : ""}`;
    case "RemoteStopTransaction":
      return `to stop session ${String(p.transactionId)}`;
    case "ChangeConfiguration":
      return `to set ${String(p.key)} to "${String(p.value)}"`;
    case "UnlockConnector":
      return `to unlock connector ${String(p.connectorId)}`;
    default:
      return call.action;
  }
}

/** Sends a built call over a live link and checks the answer. */
export async function sendCall<T = unknown>(
  link: ChargerLink,
  call: BuiltCall,
  options: { timeoutMs?: number; signal?: AbortSignal; check?: boolean } = {},
): Promise<T> {
  let answer: T;
  try {
    answer = await link.call<T>(call.action, call.payload, { timeoutMs: options.timeoutMs, signal: options.signal });
  } catch (err) {
    throw classifyCallError(err, link.identity, call.action);
  }
  if (options.check ?? true) checkAnswer(call, answer, link.identity);
  return answer;
}
