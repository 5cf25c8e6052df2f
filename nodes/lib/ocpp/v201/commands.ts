/**
 * The friendly commands of ev-ocpp-command (the 1.6 names flows already
 * use: start, stop, Reset, ChangeConfiguration, …) built as OCPP 2.0.1
 * frames, plus the 2.0.1 actions by their own names. The answers that mean
 * "did not happen" become CommandErrors, as for 1.6; configuration answers
 * come back in the 1.6 shape so a flow need not care about the version.
 */
import type { ChargerSnapshot } from "../core/contract";
import { CommandError } from "../core/command-error";
import { Fields, resolveCommand, usage, type BuildContext, type BuiltCall, type CommandInput } from "../v16/commands";
import { isSecret, KEY_MAP, parseVariableKey, variableKey } from "./device-model";
import type { AuthorizationStatus, GetVariableResult, SetVariableResult } from "./messages";
import { DEFAULT_TOKEN_TYPE, ID_TOKEN_TYPES, toAuthorizationData } from "./local-list";

/** 2.0.1 actions a flow may name directly. */
export const OCPP201_COMMANDS = [
  "RequestStartTransaction",
  "RequestStopTransaction",
  "Reset",
  "UnlockConnector",
  "ChangeAvailability",
  "SetVariables",
  "GetVariables",
  "ClearCache",
  "TriggerMessage",
  "DataTransfer",
  "SetChargingProfile",
  "ClearChargingProfile",
  "GetCompositeSchedule",
  "GetChargingProfiles",
  "SendLocalList",
  "GetLocalListVersion",
  "ReserveNow",
  "CancelReservation",
  "UpdateFirmware",
  "GetLog",
  "GetTransactionStatus",
  "GetBaseReport",
] as const;
export type Ocpp201Command = (typeof OCPP201_COMMANDS)[number];

const FROM_16: Record<string, Ocpp201Command> = {
  RemoteStartTransaction: "RequestStartTransaction",
  RemoteStopTransaction: "RequestStopTransaction",
  ChangeConfiguration: "SetVariables",
  GetConfiguration: "GetVariables",
  GetDiagnostics: "GetLog",
};

/** The 2.0.1 action for a command name: a 1.6 name or alias (mapped), or a 2.0.1 action name. */
export function resolveCommand201(name: string): Ocpp201Command | undefined {
  const v16 = resolveCommand(name);
  if (v16) return FROM_16[v16] ?? (OCPP201_COMMANDS as readonly string[]).find((c) => c === v16) as Ocpp201Command | undefined;
  const key = name.trim().toLowerCase();
  return OCPP201_COMMANDS.find((c) => c.toLowerCase() === key);
}

export function isOcpp2(protocol: string | undefined): boolean {
  return protocol === "ocpp2.0.1" || protocol === "ocpp2.1";
}

const compact = (payload: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined));

/** Request ids (remoteStartId, requestId, reservation id) that do not restart at each deploy. */
let lastRequestId = 0;
export function newRequestId(now = new Date()): number {
  lastRequestId = Math.max(lastRequestId + 1, Math.floor(now.getTime() / 1000) % 2_000_000_000);
  return lastRequestId;
}

function idToken(f: Fields, required: boolean): { idToken: string; type: string } | undefined {
  const token = f.text(["idTag", "idToken"], { required, max: 36, what: "an id token (the RFID card or app id)" });
  if (token === undefined) return undefined;
  return { idToken: token, type: f.text(["idTokenType", "tokenType"], { max: 20, what: "an id token type" }) ?? "Central" };
}

function evse(f: Fields): { id: number } | undefined {
  const id = f.int(["connector", "connectorId", "evseId", "evse"], { min: 0, what: "an EVSE (connector)" });
  return id === undefined || id === 0 ? undefined : { id };
}

function openTransactions(snapshot: ChargerSnapshot | undefined): Array<{ connectorId: number; transactionId: string }> {
  return (snapshot?.connectors ?? []).filter((c) => c.transactionId !== undefined).map((c) => ({ connectorId: c.connectorId, transactionId: String(c.transactionId) }));
}

function transactionToStop(f: Fields, context: BuildContext): string {
  const byId = f.text(["transactionId", "transaction"], { max: 36, what: "a transaction id" });
  if (byId !== undefined) return byId;
  const connector = f.int(["connector", "connectorId", "evseId"], { min: 1, what: "a connector" });
  const open = openTransactions(context.snapshot);
  if (connector !== undefined) {
    const found = open.find((t) => t.connectorId === connector);
    if (!found) throw usage("RequestStopTransaction", `no session is running on connector ${connector} of charger ${context.chargerId}`);
    return found.transactionId;
  }
  if (open.length === 1) return open[0].transactionId;
  if (open.length === 0) throw usage("RequestStopTransaction", `no session is running on charger ${context.chargerId}`);
  f.fail(`charger ${context.chargerId} has sessions on connectors ${open.map((t) => t.connectorId).join(", ")}; say which (connector or transactionId)`);
}

function variableRefs(f: Fields, names: string[]): Array<{ key: string; component: { name: string }; variable: { name: string } }> {
  return names.map((key) => {
    const ref = parseVariableKey(key);
    if (!ref) f.fail(`"${key}" is neither a 1.6 key we map (${Object.keys(KEY_MAP).join(", ")}) nor Component/Variable`);
    return { key, ...ref } as never;
  });
}

const TRIGGERS = [
  "BootNotification",
  "LogStatusNotification",
  "FirmwareStatusNotification",
  "Heartbeat",
  "MeterValues",
  "SignChargingStationCertificate",
  "StatusNotification",
  "TransactionEvent",
] as const;

type Builder = (f: Fields, context: BuildContext) => Record<string, unknown>;

const BUILDERS: Partial<Record<Ocpp201Command, { example: string; build: Builder }>> = {
  RequestStartTransaction: {
    example: '{connector: 1, idTag: "ABC123"}',
    build: (f, context) =>
      compact({
        idToken: idToken(f, true),
        remoteStartId: f.int(["remoteStartId"], { min: 0, what: "a remote start id" }) ?? newRequestId((context.now ?? (() => new Date()))()),
        evseId: f.int(["connector", "connectorId", "evseId"], { min: 1, what: "an EVSE (connector)" }),
        chargingProfile: f.object(["chargingProfile"], { what: "a charging profile" }),
      }),
  },
  RequestStopTransaction: {
    example: '{connector: 1} or {transactionId: "f3a9…"}',
    build: (f, context) => ({ transactionId: transactionToStop(f, context) }),
  },
  Reset: {
    example: '{type: "Soft"} (OnIdle) or {type: "Hard"} (Immediate)',
    build: (f) => {
      const type = f.choice(["type"], ["Soft", "Hard", "OnIdle", "Immediate"] as const, { fallback: "Soft", what: "a reset type" });
      return compact({ type: type === "Soft" || type === "OnIdle" ? "OnIdle" : "Immediate", evseId: evse(f)?.id });
    },
  },
  UnlockConnector: {
    example: "{connector: 1}",
    build: (f) => ({
      evseId: f.int(["connector", "connectorId", "evseId"], { min: 1, required: true, what: "the EVSE (connector) to unlock" }),
      connectorId: f.int(["evseConnector", "evseConnectorId"], { min: 1, what: "the connector on the EVSE" }) ?? 1,
    }),
  },
  ChangeAvailability: {
    example: '{connector: 0, type: "Inoperative"}',
    build: (f) => {
      const available = f.raw("available");
      const operationalStatus =
        typeof available === "boolean"
          ? available
            ? "Operative"
            : "Inoperative"
          : f.choice(["type", "availability", "operationalStatus"], ["Operative", "Inoperative"] as const, { what: "the availability" });
      return compact({ operationalStatus, evse: evse(f) });
    },
  },
  SetVariables: {
    example: '{key: "HeartbeatInterval", value: 300} or {key: "OCPPCommCtrlr/HeartbeatInterval", value: 300}',
    build: (f) => {
      const given = f.raw("setVariableData");
      if (Array.isArray(given)) return { setVariableData: given };
      const key = f.text(["key"], { required: true, max: 100, what: "the configuration key or Component/Variable" }) as string;
      const raw = f.raw("value");
      if (raw === undefined) f.fail(`needs the new value for ${key} (value)`);
      const value = Array.isArray(raw) ? raw.join(",") : typeof raw === "object" ? JSON.stringify(raw) : String(raw);
      if (value.length > 1000) f.fail("value may be at most 1000 characters");
      const [ref] = variableRefs(f, [key]);
      return { setVariableData: [{ attributeValue: value, component: ref.component, variable: ref.variable }] };
    },
  },
  GetVariables: {
    example: '{keys: ["HeartbeatInterval", "SmartChargingCtrlr/RateUnit"]} or {} for the mapped 1.6 keys',
    build: (f) => {
      const given = f.raw("getVariableData");
      if (Array.isArray(given)) return { getVariableData: given };
      const raw = f.raw("keys", "key");
      const names =
        raw === undefined
          ? Object.keys(KEY_MAP).filter((k) => !isSecret(k))
          : (Array.isArray(raw) ? raw : String(raw).split(",")).map((k) => String(k).trim()).filter((k) => k !== "");
      return { getVariableData: variableRefs(f, names).map((r) => ({ component: r.component, variable: r.variable })) };
    },
  },
  ClearCache: { example: "{}", build: () => ({}) },
  TriggerMessage: {
    example: '{message: "StatusNotification", connector: 1}',
    build: (f) => {
      const given = String(f.raw("message", "requestedMessage") ?? "");
      const requestedMessage = given === "DiagnosticsStatusNotification" ? "LogStatusNotification" : f.choice(["message", "requestedMessage"], TRIGGERS, { what: "the message to trigger" });
      const target = evse(f);
      return compact({ requestedMessage, evse: target && requestedMessage === "StatusNotification" ? { ...target, connectorId: 1 } : target });
    },
  },
  DataTransfer: {
    example: '{vendorId: "com.example", messageId: "SetLed", data: "on"}',
    build: (f) =>
      compact({
        vendorId: f.text(["vendorId"], { required: true, max: 255, what: "the vendor id" }),
        messageId: f.text(["messageId"], { max: 50, what: "a message id" }),
        data: f.raw("data"),
      }),
  },
  SetChargingProfile: {
    example: "{connector: 0, profile: {...}} (use the limit command for simple limits)",
    build: (f) => ({
      evseId: f.int(["connector", "connectorId", "evseId"], { min: 0, what: "an EVSE (connector)" }) ?? 0,
      chargingProfile: f.object(["profile", "chargingProfile"], { required: true, what: "the 2.0.1 charging profile" }),
    }),
  },
  ClearChargingProfile: {
    example: '{id: 1} or {connector: 1, purpose: "TxDefaultProfile"}',
    build: (f) => {
      const criteria = compact({
        evseId: f.int(["connector", "connectorId", "evseId"], { min: 0, what: "an EVSE (connector)" }),
        chargingProfilePurpose: f.raw("purpose", "chargingProfilePurpose") === undefined ? undefined : f.choice(["purpose", "chargingProfilePurpose"], ["ChargingStationExternalConstraints", "ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"] as const, { what: "a purpose" }),
        stackLevel: f.int(["stackLevel"], { min: 0, what: "a stack level" }),
      });
      return compact({
        chargingProfileId: f.int(["id", "chargingProfileId"], { what: "a profile id" }),
        chargingProfileCriteria: Object.keys(criteria).length > 0 ? criteria : undefined,
      });
    },
  },
  GetCompositeSchedule: {
    example: '{connector: 1, duration: 3600, unit: "A"}',
    build: (f) =>
      compact({
        duration: f.int(["duration"], { min: 1, what: "a duration in seconds" }) ?? 3600,
        evseId: f.int(["connector", "connectorId", "evseId"], { min: 0, what: "an EVSE (connector)" }) ?? 0,
        chargingRateUnit: f.raw("unit", "chargingRateUnit") === undefined ? undefined : f.choice(["unit", "chargingRateUnit"], ["A", "W"] as const, { what: "a unit" }),
      }),
  },
  SendLocalList: {
    example: '{version: 3, updateType: "Full", list: ["ABC123", {idTag: "DEF", status: "Blocked"}]}',
    build: (f) => {
      const updateType = f.choice(["updateType", "type"], ["Full", "Differential"] as const, { fallback: "Full", what: "an update type" });
      const versionNumber = f.int(["version", "listVersion", "versionNumber"], { required: true, min: 0, what: "the list version" }) as number;
      const raw = f.raw("list", "localAuthorizationList", "tags") ?? [];
      if (!Array.isArray(raw)) f.fail("list must be an array of id tags or {idTag, status}");
      const entries = (raw as unknown[]).map((entry) => {
        const e = typeof entry === "string" ? { idTag: entry } : ((entry ?? {}) as Record<string, unknown>);
        const idTag = String(e.idTag ?? e.idToken ?? "");
        if (!idTag) f.fail(`each list entry needs an idTag, not ${JSON.stringify(entry)}`);
        const type = String(e.type ?? e.idTokenType ?? DEFAULT_TOKEN_TYPE);
        if (!(ID_TOKEN_TYPES as readonly string[]).includes(type)) f.fail(`"${type}" is not an id-token type; use one of ${ID_TOKEN_TYPES.join(", ")}`);
        if (e.remove === true) return { idToken: { idToken: idTag, type } };
        const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
        // The 1.6 fields (expiryDate, parentIdTag) become cacheExpiryDateTime and groupIdToken.
        const status = (text(e.status) ?? "Accepted") as AuthorizationStatus;
        return toAuthorizationData({ idTag, status, expiryDate: text(e.expiryDate ?? e.cacheExpiryDateTime), parentIdTag: text(e.parentIdTag ?? e.groupIdToken) }, type);
      });
      return compact({ versionNumber, updateType, localAuthorizationList: entries.length > 0 ? entries : undefined });
    },
  },
  GetLocalListVersion: { example: "{}", build: () => ({}) },
  ReserveNow: {
    example: '{connector: 1, idTag: "ABC123", minutes: 30}',
    build: (f, context) => {
      const now = (context.now ?? (() => new Date()))();
      const minutes = f.raw("minutes") === undefined ? 30 : Number(f.raw("minutes"));
      if (!(minutes > 0)) f.fail("minutes must be a number above 0");
      return compact({
        id: f.int(["reservationId", "id"], { min: 0, what: "a reservation id" }) ?? newRequestId(now),
        expiryDateTime: f.date(["expiryDate", "expiry", "expiryDateTime"], { what: "an expiry" }) ?? new Date(now.getTime() + minutes * 60_000).toISOString(),
        idToken: idToken(f, true),
        evseId: f.int(["connector", "connectorId", "evseId"], { min: 1, what: "an EVSE (connector)" }),
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
        requestId: newRequestId((context.now ?? (() => new Date()))()),
        retries: f.int(["retries"], { min: 0, what: "a retry count" }),
        retryInterval: f.int(["retryInterval"], { min: 0, what: "a retry interval (s)" }),
        firmware: {
          location: f.url(["location", "url"], "where the firmware is"),
          retrieveDateTime: f.date(["retrieveDate", "retrieveDateTime"], { what: "when to fetch it" }) ?? (context.now ?? (() => new Date()))().toISOString(),
        },
      }),
  },
  GetLog: {
    example: '{location: "https://example.com/upload/"}',
    build: (f, context) =>
      compact({
        logType: f.choice(["logType"], ["DiagnosticsLog", "SecurityLog"] as const, { fallback: "DiagnosticsLog", what: "a log type" }),
        requestId: newRequestId((context.now ?? (() => new Date()))()),
        retries: f.int(["retries"], { min: 0, what: "a retry count" }),
        retryInterval: f.int(["retryInterval"], { min: 0, what: "a retry interval (s)" }),
        log: compact({
          remoteLocation: f.url(["location", "url", "remoteLocation"], "where to upload the log"),
          oldestTimestamp: f.date(["startTime", "oldestTimestamp"], { what: "a start time" }),
          latestTimestamp: f.date(["stopTime", "latestTimestamp"], { what: "a stop time" }),
        }),
      }),
  },
  GetTransactionStatus: {
    example: '{transactionId: "f3a9…"} or {}',
    build: (f) => compact({ transactionId: f.text(["transactionId", "transaction"], { max: 36, what: "a transaction id" }) }),
  },
  GetBaseReport: {
    example: '{reportBase: "FullInventory"}',
    build: (f, context) => ({
      requestId: f.int(["requestId"], { min: 0, what: "a request id" }) ?? newRequestId((context.now ?? (() => new Date()))()),
      reportBase: f.choice(["reportBase"], ["ConfigurationInventory", "FullInventory", "SummaryInventory"] as const, { fallback: "FullInventory", what: "a report base" }),
    }),
  },
};

/** Friendly input → the exact OCPP 2.0.1 request. 2.0.1 actions without a builder are sent with the input as their payload. */
export function buildCommand201(command: string, input: CommandInput | undefined, context: BuildContext): BuiltCall {
  const action = resolveCommand201(command);
  if (!action) throw new CommandError("bad_input", `Unknown command "${command}" for an OCPP 2.0.1 charger. Use one of: ${OCPP201_COMMANDS.join(", ")} (or raw mode for anything else)`);
  const spec = BUILDERS[action];
  if (!spec) return { action, payload: { ...(input ?? {}) } };
  const fields = new Fields(action, input ?? {}, spec.example);
  return { action, payload: spec.build(fields, context) };
}

const SUCCESS: Record<string, string[]> = {
  RequestStartTransaction: ["Accepted"],
  RequestStopTransaction: ["Accepted"],
  Reset: ["Accepted", "Scheduled"],
  UnlockConnector: ["Unlocked"],
  ChangeAvailability: ["Accepted", "Scheduled"],
  ClearCache: ["Accepted"],
  TriggerMessage: ["Accepted"],
  DataTransfer: ["Accepted"],
  SetChargingProfile: ["Accepted"],
  ClearChargingProfile: ["Accepted", "Unknown"],
  GetCompositeSchedule: ["Accepted"],
  SendLocalList: ["Accepted"],
  ReserveNow: ["Accepted"],
  CancelReservation: ["Accepted"],
  UpdateFirmware: ["Accepted", "AcceptedCanceled"],
  GetLog: ["Accepted", "AcceptedCanceled"],
  GetBaseReport: ["Accepted", "EmptyResultSet"],
};

/** Throws a CommandError when the answer says the requested action did not happen. */
export function checkAnswer201(call: BuiltCall, answer: unknown, chargerId: string): void {
  const ok = SUCCESS[call.action];
  if (!ok) return;
  const status = (answer as { status?: unknown } | undefined)?.status;
  if (typeof status === "string" && ok.includes(status)) return;
  const kind = status === "NotSupported" || status === "UnknownVendorId" || status === "UnknownMessageId" ? "not_supported" : "rejected";
  throw new CommandError(kind, `Charger ${chargerId} ${kind === "not_supported" ? "does not support" : "refused"} ${call.action} (${String(status)})`, { chargerId, action: call.action, answer });
}

const HIDDEN = "********";

/** The request as a flow may see it: write-only secrets replaced. */
export function shownRequest(call: BuiltCall): Record<string, unknown> {
  if (call.action !== "SetVariables" || !Array.isArray(call.payload.setVariableData)) return call.payload;
  return {
    ...call.payload,
    setVariableData: (call.payload.setVariableData as Array<Record<string, unknown>>).map((d) =>
      d && isSecret(variableKey(d.component as never, d.variable as never)) ? { ...d, attributeValue: HIDDEN } : d,
    ),
  };
}

/** SetVariables statuses that say the variable does not exist there (1.6: NotSupported). */
const UNKNOWN_VARIABLE: ReadonlySet<string> = new Set(["UnknownComponent", "UnknownVariable", "NotSupportedAttributeType"]);

/**
 * Answers in the shape a 1.6 flow expects: GetVariables as
 * `{configurationKey, unknownKey}` (secrets left out; `readonly` as the
 * collected device model says), SetVariables as
 * `{status}` (Accepted / RebootRequired / Rejected / UnknownVariable …),
 * GetLocalListVersion as `{listVersion}`, each with the 2.0.1 answer kept
 * in `ocpp201`.
 */
export function adaptAnswer201(call: BuiltCall, answer: unknown, chargerId: string, asked: string[] = [], readonlyKeys: ReadonlySet<string> = new Set()): unknown {
  if (call.action === "GetVariables") {
    const results = ((answer as { getVariableResult?: GetVariableResult[] })?.getVariableResult ?? []).filter((r) => r && r.component && r.variable);
    const configurationKey: Array<{ key: string; value?: string; readonly: boolean }> = [];
    const unknownKey: string[] = [];
    results.forEach((r, i) => {
      const key = asked[i] ?? variableKey(r.component, r.variable);
      // GetVariables does not say whether a variable may be set; the device model (NotifyReport) does, when it was collected.
      const readonly = readonlyKeys.has(variableKey(r.component, r.variable));
      if (r.attributeStatus !== "Accepted") unknownKey.push(key);
      else configurationKey.push(isSecret(variableKey(r.component, r.variable)) ? { key, readonly } : { key, value: r.attributeValue, readonly });
    });
    const safe = results.map((r) => (isSecret(variableKey(r.component, r.variable)) ? { ...r, attributeValue: undefined } : r));
    return { configurationKey, unknownKey, ocpp201: { getVariableResult: safe } };
  }
  if (call.action === "GetLocalListVersion") {
    // The 1.6 name beside the 2.0.1 answer, so a flow reads `listVersion` for both.
    const versionNumber = (answer as { versionNumber?: unknown } | undefined)?.versionNumber;
    return { listVersion: versionNumber, ocpp201: answer };
  }
  if (call.action === "SetVariables") {
    const results = (answer as { setVariableResult?: SetVariableResult[] })?.setVariableResult ?? [];
    const status = results.length === 1 ? results[0].attributeStatus : results.every((r) => r.attributeStatus === "Accepted") ? "Accepted" : "Rejected";
    if (!["Accepted", "RebootRequired"].includes(status)) {
      // A variable the station does not have is 1.6's NotSupported (an unknown key): the same error kind whatever the version.
      const unknown = results.length > 0 && results.every((r) => UNKNOWN_VARIABLE.has(r.attributeStatus));
      const kind = unknown ? "not_supported" : "rejected";
      throw new CommandError(kind, `Charger ${chargerId} ${unknown ? "does not support setting" : "refused to set"} ${results.map((r) => variableKey(r.component, r.variable)).join(", ")} (${unknown ? results.map((r) => r.attributeStatus).join(", ") : status})`, {
        chargerId,
        action: call.action,
        answer,
      });
    }
    return { status, ocpp201: answer };
  }
  return answer;
}
