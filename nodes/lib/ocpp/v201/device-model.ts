/**
 * The OCPP 2.0.1 device model as the core keeps it: "Component/Variable"
 * keys (with "(instance)" and "[evse.connector]" where they apply) → the
 * Actual value, in the charger's `configuration` snapshot; what a variable
 * allows is kept beside it as "key#valuesList" and "key#maxLimit" (with
 * "key#unit"), and a variable the charger reports as ReadOnly as
 * "key#mutability" (the 1.6 `readonly` flag; WriteOnly values are secrets and
 * never kept). From these keys, capabilities201() builds the charger's
 * capabilities (EVSEs, connectors, features) in the shape 1.6 uses. Also
 * the table that lets flows keep using the 1.6 configuration key names.
 */
import type { ComponentRef, ReportDatum, SetVariableResult, VariableRef } from "./messages";
import { bool, csl, defined, int, type ChargerCapabilities, type ConnectorCapability, type EvseCapability } from "../core/capabilities";
import { parseRateUnits } from "../v16/smart-charging";
import { CommandError } from "../core/command-error";

/** 1.6 configuration key → 2.0.1 component and variable. */
export const KEY_MAP: Readonly<Record<string, { component: string; variable: string }>> = {
  HeartbeatInterval: { component: "OCPPCommCtrlr", variable: "HeartbeatInterval" },
  MeterValueSampleInterval: { component: "SampledDataCtrlr", variable: "TxUpdatedInterval" },
  MeterValuesSampledData: { component: "SampledDataCtrlr", variable: "TxUpdatedMeasurands" },
  ChargingScheduleAllowedChargingRateUnit: { component: "SmartChargingCtrlr", variable: "RateUnit" },
  ChargeProfileMaxStackLevel: { component: "SmartChargingCtrlr", variable: "ProfileStackLevel" },
  AuthorizeRemoteTxRequests: { component: "AuthCtrlr", variable: "AuthorizeRemoteStart" },
  LocalAuthListEnabled: { component: "LocalAuthListCtrlr", variable: "Enabled" },
  WebSocketPingInterval: { component: "OCPPCommCtrlr", variable: "WebSocketPingInterval" },
  AuthorizationKey: { component: "SecurityCtrlr", variable: "BasicAuthPassword" },
};

/** Write-only secrets: their values never go into a message, a log or the snapshot. */
const SECRETS = new Set(["SecurityCtrlr/BasicAuthPassword", "AuthorizationKey"]);

/** The most device-model variables kept per charger (a report is thousands of entries at most). */
export const MAX_VARIABLES = 5000;

export function isSecret(key: string): boolean {
  return SECRETS.has(key) || SECRETS.has(key.replace(/\([^)]*\)/g, "").replace(/\[[^\]]*\]/g, ""));
}

export function variableKey(component: ComponentRef, variable: VariableRef): string {
  const inst = (i: string | undefined): string => (i ? `(${i})` : "");
  const evse = component.evse ? `[${component.evse.id}${component.evse.connectorId !== undefined ? `.${component.evse.connectorId}` : ""}]` : "";
  return `${component.name}${inst(component.instance)}${evse}/${variable.name}${inst(variable.instance)}`;
}

/** "SampledDataCtrlr/TxUpdatedInterval", "EVSE[1]/Power", "Comp(inst)/Var(inst)" or a 1.6 key name → component and variable. */
export function parseVariableKey(text: string): { component: ComponentRef; variable: VariableRef } | undefined {
  const mapped = KEY_MAP[text.trim()];
  if (mapped) return { component: { name: mapped.component }, variable: { name: mapped.variable } };
  const match = /^\s*([A-Za-z0-9_.*-]+)(?:\(([^)]*)\))?(?:\[(\d+)(?:\.(\d+))?\])?\s*[/.]\s*([A-Za-z0-9_.*-]+?)(?:\(([^)]*)\))?\s*$/.exec(text);
  if (!match) return undefined;
  const [, cName, cInst, evseId, connectorId, vName, vInst] = match;
  const component: ComponentRef = { name: cName };
  if (cInst) component.instance = cInst;
  if (evseId !== undefined) component.evse = connectorId !== undefined ? { id: Number(evseId), connectorId: Number(connectorId) } : { id: Number(evseId) };
  const variable: VariableRef = { name: vName };
  if (vInst) variable.instance = vInst;
  return { component, variable };
}

/** Kept beside a variable's value when the charger reports it ReadOnly (ReadWrite, the usual case, is not kept). */
export const MUTABILITY_SUFFIX = "#mutability";

/** The variables the device model says are read-only, as "Component/Variable" keys: the 1.6 discover answer's `readonlyKeys`. */
export function readonlyKeys201(cfg: Readonly<Record<string, string>> | undefined): string[] {
  return Object.keys(cfg ?? {})
    .filter((k) => k.endsWith(MUTABILITY_SUFFIX) && cfg?.[k] === "ReadOnly")
    .map((k) => k.slice(0, -MUTABILITY_SUFFIX.length));
}

/** The Actual values of one NotifyReport part, secrets left out. */
export function reportValues(reportData: readonly ReportDatum[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const datum of (Array.isArray(reportData) ? reportData : []).slice(0, MAX_VARIABLES)) {
    if (!datum?.component?.name || !datum.variable?.name) continue;
    const key = variableKey(datum.component, datum.variable);
    if (isSecret(key)) continue;
    const actual = (Array.isArray(datum.variableAttribute) ? datum.variableAttribute : []).find((a: { type?: string; value?: string }) => (a?.type ?? "Actual") === "Actual");
    // A WriteOnly variable is a secret (a password, a key) whatever its name: its value is never kept.
    if (actual?.mutability === "WriteOnly") continue;
    if (actual && typeof actual.value === "string") out[key] = actual.value;
    if (actual?.mutability === "ReadOnly") out[`${key}${MUTABILITY_SUFFIX}`] = "ReadOnly";
    // The list of allowed values says what the charger can do (e.g. the measurands it can sample).
    const characteristics = datum.variableCharacteristics;
    if (typeof characteristics?.valuesList === "string") out[`${key}#valuesList`] = characteristics.valuesList;
    // The most it allows: EVSE.Power's maxLimit is the EVSE's power, Entries' the size of a list.
    if (typeof characteristics?.maxLimit === "number" && Number.isFinite(characteristics.maxLimit)) {
      out[`${key}#maxLimit`] = String(characteristics.maxLimit);
      if (typeof characteristics.unit === "string") out[`${key}#unit`] = characteristics.unit;
    }
  }
  return out;
}

/** "EVSE[1]/Power", "Connector[1.2]/ConnectorType#maxLimit" → its parts (undefined for keys without an EVSE). */
const EVSE_KEY = /^([A-Za-z0-9_.*-]+)(?:\([^)]*\))?\[(\d+)(?:\.(\d+))?\]\/([A-Za-z0-9_.*-]+)(?:\([^)]*\))?(?:#(\w+))?$/;

/** EVSE.Power's maxLimit in W (the spec allows the unit to say kW). */
function watts(cfg: Readonly<Record<string, string>>, key: string): number | undefined {
  const value = Number(cfg[`${key}#maxLimit`]);
  if (cfg[`${key}#maxLimit`] === undefined || !Number.isFinite(value) || value <= 0) return undefined;
  return /^kw$/i.test(cfg[`${key}#unit`] ?? "") ? value * 1000 : value;
}

/** The EVSEs and connectors the device model reports, in id order. */
function evsesOf(cfg: Readonly<Record<string, string>>): EvseCapability[] {
  const evses = new Map<number, EvseCapability>();
  const evse = (id: number): EvseCapability => {
    let found = evses.get(id);
    if (!found) evses.set(id, (found = { evseId: id, connectors: [] }));
    return found;
  };
  for (const key of Object.keys(cfg)) {
    const match = EVSE_KEY.exec(key);
    if (!match) continue;
    const [, component, evseText, connectorText, , suffix] = match;
    const evseId = Number(evseText);
    // EVSE 0 is the station itself, not a place to charge.
    if (evseId < 1 || suffix !== undefined) continue;
    if (component === "EVSE") evse(evseId);
    if (component === "Connector" && connectorText !== undefined && Number(connectorText) >= 1) {
      const e = evse(evseId);
      if (!e.connectors.some((c) => c.connectorId === Number(connectorText))) e.connectors.push({ connectorId: Number(connectorText) });
    }
  }
  for (const e of evses.values()) {
    const at = `EVSE[${e.evseId}]`;
    e.maxPowerW = watts(cfg, `${at}/Power`);
    e.supplyPhases = int(cfg[`${at}/SupplyPhases`]);
    e.phaseSwitching = bool(cfg[`SmartChargingCtrlr[${e.evseId}]/ACPhaseSwitchingSupported`] ?? cfg[`${at}/ACPhaseSwitchingSupported`]);
    e.connectors = e.connectors
      .sort((a, b) => a.connectorId - b.connectorId)
      .map((c) => {
        const ck = `Connector[${e.evseId}.${c.connectorId}]`;
        return defined<ConnectorCapability>({ connectorId: c.connectorId, type: cfg[`${ck}/ConnectorType`], supplyPhases: int(cfg[`${ck}/SupplyPhases`]) });
      });
  }
  return [...evses.values()].sort((a, b) => a.evseId - b.evseId).map((e) => defined(e));
}

/** Whether a controller is on: its Enabled variable, else Available; undefined when the charger said neither. */
function switchedOn(cfg: Readonly<Record<string, string>>, component: string): boolean | undefined {
  return bool(cfg[`${component}/Enabled`]) ?? bool(cfg[`${component}/Available`]);
}

const has = (cfg: Readonly<Record<string, string>>, component: string): boolean => Object.keys(cfg).some((k) => k.startsWith(`${component}/`));

/**
 * The charger's capabilities from its device model, in the shape 1.6
 * discovery gives (see ../core/capabilities.ts): the EVSEs are what flows
 * call connectors; a controller that is reported but switched off is kept
 * with enabled false and left out of featureProfiles.
 */
export function capabilities201(cfg: Readonly<Record<string, string>>): ChargerCapabilities {
  const evses = evsesOf(cfg);
  const sc = "SmartChargingCtrlr";
  const smartCharging = has(cfg, sc)
    ? defined({
        units: parseRateUnits(cfg[`${sc}/RateUnit`]),
        maxStackLevel: int(cfg[`${sc}/ProfileStackLevel`]),
        maxPeriods: int(cfg[`${sc}/PeriodsPerSchedule`]),
        maxProfiles: int(cfg[`${sc}/Entries(ChargingProfiles)#maxLimit`] ?? cfg[`${sc}/Entries#maxLimit`]),
        enabled: switchedOn(cfg, sc),
        phaseSwitching: bool(cfg[`${sc}/ACPhaseSwitchingSupported`]),
        phases3to1: bool(cfg[`${sc}/Phases3to1`]),
      })
    : undefined;
  const ll = "LocalAuthListCtrlr";
  const localList = has(cfg, ll)
    ? defined({
        enabled: switchedOn(cfg, ll) ?? false,
        maxLength: int(cfg[`${ll}/Entries#maxLimit`]),
        maxPerMessage: int(cfg[`${ll}/ItemsPerMessage`]),
        maxBytesPerMessage: int(cfg[`${ll}/BytesPerMessage`]),
      })
    : undefined;
  const reservation = has(cfg, "ReservationCtrlr") ? { enabled: switchedOn(cfg, "ReservationCtrlr") ?? false } : undefined;
  const ac = "AuthCtrlr";
  const authorization = has(cfg, ac)
    ? defined({
        enabled: bool(cfg[`${ac}/Enabled`]),
        authorizeRemoteStart: bool(cfg[`${ac}/AuthorizeRemoteStart`]),
        localAuthorizeOffline: bool(cfg[`${ac}/LocalAuthorizeOffline`]),
        localPreAuthorize: bool(cfg[`${ac}/LocalPreAuthorize`]),
        offlineTxForUnknownId: bool(cfg[`${ac}/OfflineTxForUnknownIdEnabled`]),
      })
    : undefined;
  // Core, firmware and TriggerMessage are required of every 2.0.1 station; the rest only when switched on.
  const featureProfiles = ["Core", "FirmwareManagement", "RemoteTrigger"];
  if (smartCharging && smartCharging.enabled !== false) featureProfiles.push("SmartCharging");
  if (localList?.enabled) featureProfiles.push("LocalAuthListManagement");
  if (reservation?.enabled) featureProfiles.push("Reservation");
  const ended = cfg["SampledDataCtrlr/TxEndedMeasurands"];
  return defined<ChargerCapabilities>({
    numberOfConnectors: evses.length > 0 ? evses.length : undefined,
    featureProfiles,
    measurands: csl(cfg["SampledDataCtrlr/TxUpdatedMeasurands"]),
    measurandsEnded: ended === undefined ? undefined : csl(ended),
    heartbeatIntervalS: int(cfg["OCPPCommCtrlr/HeartbeatInterval"]),
    smartCharging,
    localList,
    reservation,
    authorization,
    evses: evses.length > 0 ? evses : undefined,
  });
}

/** The settings in a `discover` command's input (the same fields as on 1.6); a bad number is a bad_input CommandError. */
export function discoverySettings201(input: Readonly<Record<string, unknown>>): DiscoverySettings201 {
  const seconds = (name: string, value: unknown): number | undefined => {
    if (value === undefined || value === null || value === "") return undefined;
    const n = Number(value);
    if (!(Number.isInteger(n) && n > 0)) throw new CommandError("bad_input", `discover: ${name} must be a whole number of seconds above 0`, { action: "discover" });
    return n;
  };
  return defined({
    meterValuesSampledData: input.measurands as string | string[] | undefined,
    meterValueSampleInterval: seconds("meterValueSampleInterval", input.sampleInterval),
    heartbeatInterval: seconds("heartbeatInterval", input.heartbeatInterval),
  });
}

/** What `discover` may set, by the 1.6 key names flows already use. */
export interface DiscoverySettings201 {
  meterValuesSampledData?: string | string[];
  meterValueSampleInterval?: number;
  heartbeatInterval?: number;
}

export interface DiscoveryChange201 {
  /** The 1.6 key name, as in a 1.6 discover answer. */
  key: string;
  /** The 2.0.1 variable it is, "Component/Variable". */
  variable: string;
  value: string;
  /** The charger's attributeStatus (Accepted, RebootRequired, Rejected, UnknownVariable, …) or "CALLERROR <code>". */
  status: string;
}

type SetVariablesCall = (payload: object) => Promise<{ setVariableResult?: SetVariableResult[] } | undefined>;

/**
 * The settings of `discover` on a 2.0.1 charger, with SetVariables: the
 * sampled measurands, the sample interval and the heartbeat interval. A
 * measurand list refused as a whole is tried one measurand at a time and the
 * accepted ones are set (as 1.6 discovery does). Returns the changes and the
 * values now in force, to record in the device model.
 */
export async function applyDiscoverySettings201(
  set: DiscoverySettings201,
  setVariables: SetVariablesCall,
  current: Readonly<Record<string, string>> = {},
): Promise<{ changes: DiscoveryChange201[]; values: Record<string, string> }> {
  const changes: DiscoveryChange201[] = [];
  const values: Record<string, string> = {};
  const change = async (key: keyof typeof KEY_MAP, value: string): Promise<boolean> => {
    const { component, variable } = KEY_MAP[key];
    // Already so: nothing to ask (as on 1.6).
    if (current[`${component}/${variable}`] === value) return true;
    let status: string;
    try {
      const answer = await setVariables({ setVariableData: [{ attributeValue: value, component: { name: component }, variable: { name: variable } }] });
      status = String(answer?.setVariableResult?.[0]?.attributeStatus);
    } catch (err) {
      const code = (err as { rpcErrorCode?: string }).rpcErrorCode;
      if (!code) throw err;
      status = `CALLERROR ${code}`;
    }
    changes.push({ key, variable: `${component}/${variable}`, value, status });
    const ok = status === "Accepted" || status === "RebootRequired";
    if (ok) values[`${component}/${variable}`] = value;
    return ok;
  };
  if (set.meterValuesSampledData !== undefined) {
    const wanted = Array.isArray(set.meterValuesSampledData) ? set.meterValuesSampledData.map(String) : csl(set.meterValuesSampledData);
    if (wanted.length > 0 && !(await change("MeterValuesSampledData", wanted.join(","))) && wanted.length > 1) {
      const accepted: string[] = [];
      for (const measurand of wanted) if (await change("MeterValuesSampledData", measurand)) accepted.push(measurand);
      if (accepted.length > 1) await change("MeterValuesSampledData", accepted.join(","));
    }
  }
  if (set.meterValueSampleInterval !== undefined) await change("MeterValueSampleInterval", String(set.meterValueSampleInterval));
  if (set.heartbeatInterval !== undefined) await change("HeartbeatInterval", String(set.heartbeatInterval));
  return { changes, values };
}
