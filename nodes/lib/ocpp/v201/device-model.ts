/**
 * The OCPP 2.0.1 device model as the core keeps it: "Component/Variable"
 * keys (with "(instance)" and "[evse.connector]" where they apply) → the
 * Actual value, in the charger's `configuration` snapshot. Also the table
 * that lets flows keep using the 1.6 configuration key names.
 */
import type { ComponentRef, ReportDatum, VariableRef } from "./messages";

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

/** The Actual values of one NotifyReport part, secrets left out. */
export function reportValues(reportData: readonly ReportDatum[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const datum of (Array.isArray(reportData) ? reportData : []).slice(0, MAX_VARIABLES)) {
    if (!datum?.component?.name || !datum.variable?.name) continue;
    const key = variableKey(datum.component, datum.variable);
    if (isSecret(key)) continue;
    const actual = (Array.isArray(datum.variableAttribute) ? datum.variableAttribute : []).find((a: { type?: string; value?: string }) => (a?.type ?? "Actual") === "Actual");
    if (actual && typeof actual.value === "string") out[key] = actual.value;
    // The list of allowed values says what the charger can do (e.g. the measurands it can sample).
    const valuesList = datum.variableCharacteristics?.valuesList;
    if (typeof valuesList === "string") out[`${key}#valuesList`] = valuesList;
    // The upper limit says how much it holds (e.g. LocalAuthListCtrlr/Entries: the local list's capacity).
    const maxLimit = datum.variableCharacteristics?.maxLimit;
    if (typeof maxLimit === "number" && Number.isFinite(maxLimit)) out[`${key}#maxLimit`] = String(maxLimit);
  }
  return out;
}
