/**
 * Learns what a charger can do from its configuration (feature profiles,
 * smart-charging limits, local-list sizes, measurands) and optionally sets
 * the meter-value and heartbeat settings the central system wants. Meant to
 * run when a charger boots; the result's `configuration` goes into
 * `directory.recordConfiguration`, where smart charging and local-list sync
 * find it without asking the charger again.
 *
 * A charger that refuses a setting does not make discovery fail: the refusal
 * is reported in `changes`. For measurands, a refused list is probed one
 * measurand at a time and the accepted ones are set (some firmware rejects
 * the whole list for one measurand it does not know).
 */
import type { ChargerDirectory, ChargerLink } from "../core/contract";
import { classifyCallError } from "../core/command-error";
import { parseRateUnits } from "./smart-charging";
import { isSecretKey } from "../core/secret-keys";
import { bool, csl, defined, int, type ChargerCapabilities } from "../core/capabilities";

export interface DiscoverySettings {
  /** Measurands to sample, e.g. ["Energy.Active.Import.Register", "Power.Active.Import", "Voltage"]. */
  meterValuesSampledData?: string | string[];
  /** Seconds between meter values during a session. */
  meterValueSampleInterval?: number;
  /** Seconds between heartbeats. */
  heartbeatInterval?: number;
}

export interface DiscoveryOptions {
  set?: DiscoverySettings;
  timeoutMs?: number;
}

export interface ConfigurationChange {
  key: string;
  value: string;
  /** The charger's answer (Accepted, RebootRequired, Rejected, NotSupported) or "CALLERROR <code>". */
  status: string;
}

export interface DiscoveryResult extends ChargerCapabilities {
  chargerId: string;
  /** Every key the charger reported, with the values after the changes. */
  configuration: Record<string, string>;
  readonlyKeys: string[];
  unknownKeys: string[];
  changes: ConfigurationChange[];
}

/** Keys some firmware leaves out of a GetConfiguration without keys but answers when asked by name. */
export const IMPORTANT_KEYS = [
  "SupportedFeatureProfiles",
  "NumberOfConnectors",
  "HeartbeatInterval",
  "MeterValueSampleInterval",
  "MeterValuesSampledData",
  "ChargingScheduleAllowedChargingRateUnit",
  "ChargeProfileMaxStackLevel",
  "ChargingScheduleMaxPeriods",
  "MaxChargingProfilesInstalled",
  "LocalAuthListEnabled",
  "LocalAuthListMaxLength",
  "SendLocalListMaxLength",
] as const;

type ConfigAnswer = { configurationKey?: Array<{ key: string; readonly?: boolean; value?: string }>; unknownKey?: string[] };

const list = csl;

/**
 * The charger's capabilities from its 1.6 configuration keys, in the shape
 * every version gives (../core/capabilities.ts); kept in the charger's state
 * and in the answer of `discover`.
 */
export function capabilities16(configuration: Readonly<Record<string, string>>): ChargerCapabilities {
  const featureProfiles = list(configuration.SupportedFeatureProfiles);
  const has = (profile: string): boolean => featureProfiles.some((p) => p.toLowerCase() === profile.toLowerCase());
  const result: ChargerCapabilities = {
    featureProfiles,
    measurands: list(configuration.MeterValuesSampledData),
    numberOfConnectors: int(configuration.NumberOfConnectors),
  };
  if (configuration.StopTxnSampledData !== undefined) result.measurandsEnded = list(configuration.StopTxnSampledData);
  if (configuration.HeartbeatInterval !== undefined) result.heartbeatIntervalS = int(configuration.HeartbeatInterval);
  if (has("SmartCharging") || configuration.ChargingScheduleAllowedChargingRateUnit !== undefined) {
    result.smartCharging = {
      units: parseRateUnits(configuration.ChargingScheduleAllowedChargingRateUnit),
      maxStackLevel: int(configuration.ChargeProfileMaxStackLevel ?? configuration.ChargePointMaxProfileMaxStackLevel),
      maxPeriods: int(configuration.ChargingScheduleMaxPeriods),
      maxProfiles: int(configuration.MaxChargingProfilesInstalled),
    };
  }
  if (has("LocalAuthListManagement") || configuration.LocalAuthListMaxLength !== undefined) {
    result.localList = {
      enabled: configuration.LocalAuthListEnabled?.toLowerCase() !== "false",
      maxLength: int(configuration.LocalAuthListMaxLength),
      maxPerMessage: int(configuration.SendLocalListMaxLength),
    };
  }
  if (has("Reservation")) result.reservation = { enabled: true };
  const authorization = defined({
    authorizeRemoteStart: bool(configuration.AuthorizeRemoteTxRequests),
    localAuthorizeOffline: bool(configuration.LocalAuthorizeOffline),
    localPreAuthorize: bool(configuration.LocalPreAuthorize),
    offlineTxForUnknownId: bool(configuration.AllowOfflineTxForUnknownId),
  });
  if (Object.keys(authorization).length > 0) result.authorization = authorization;
  return result;
}

export async function discoverCharger(link: ChargerLink, options: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const chargerId = link.identity;
  const call = async <T>(action: string, payload: object): Promise<T> => {
    try {
      return await link.call<T>(action, payload, { timeoutMs: options.timeoutMs });
    } catch (err) {
      throw classifyCallError(err, chargerId, action);
    }
  };

  const configuration: Record<string, string> = {};
  const readonlyKeys = new Set<string>();
  const unknownKeys = new Set<string>();
  const take = (answer: ConfigAnswer): void => {
    for (const entry of answer?.configurationKey ?? []) {
      // A charger that (against the spec) returns its AuthorizationKey must not have it copied into flow messages.
      if (isSecretKey(entry.key)) continue;
      if (entry.value !== undefined) configuration[entry.key] = entry.value;
      if (entry.readonly) readonlyKeys.add(entry.key);
    }
    for (const key of answer?.unknownKey ?? []) unknownKeys.add(key);
  };
  take(await call<ConfigAnswer>("GetConfiguration", {}));
  const missing = IMPORTANT_KEYS.filter((k) => configuration[k] === undefined);
  if (missing.length > 0) take(await call<ConfigAnswer>("GetConfiguration", { key: missing }));

  const changes: ConfigurationChange[] = [];
  const change = async (key: string, value: string): Promise<boolean> => {
    if (configuration[key] === value) return true;
    let status: string;
    try {
      const answer = await call<{ status?: string }>("ChangeConfiguration", { key, value });
      status = String(answer?.status);
    } catch (err) {
      const error = classifyCallError(err, chargerId, "ChangeConfiguration");
      if (error.kind !== "call_error") throw error;
      status = `CALLERROR ${error.rpcErrorCode ?? ""}`.trim();
    }
    changes.push({ key, value, status });
    const ok = status === "Accepted" || status === "RebootRequired";
    if (ok) configuration[key] = value;
    return ok;
  };

  const set = options.set ?? {};
  if (set.meterValuesSampledData !== undefined) {
    const wanted = Array.isArray(set.meterValuesSampledData) ? set.meterValuesSampledData : list(set.meterValuesSampledData);
    if (wanted.length > 0 && !(await change("MeterValuesSampledData", wanted.join(","))) && wanted.length > 1) {
      const accepted: string[] = [];
      for (const measurand of wanted) if (await change("MeterValuesSampledData", measurand)) accepted.push(measurand);
      if (accepted.length > 1) await change("MeterValuesSampledData", accepted.join(","));
    }
  }
  if (set.meterValueSampleInterval !== undefined) await change("MeterValueSampleInterval", String(set.meterValueSampleInterval));
  if (set.heartbeatInterval !== undefined) await change("HeartbeatInterval", String(set.heartbeatInterval));

  return { chargerId, configuration, readonlyKeys: [...readonlyKeys], unknownKeys: [...unknownKeys], ...capabilities16(configuration), changes };
}

/** Discovers and stores the configuration in the directory (kept across reconnects). */
export async function discoverAndRecord(directory: ChargerDirectory, link: ChargerLink, options: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const result = await discoverCharger(link, options);
  directory.recordConfiguration(link.identity, result.configuration);
  return result;
}

/**
 * Runs discovery each time a charger (re)connects, for a central system that
 * is configured to do so. Failures go to onError (never thrown). Returns a stop function.
 */
export function startAutoDiscovery(
  directory: ChargerDirectory,
  options: DiscoveryOptions & { onResult?: (result: DiscoveryResult) => void; onError?: (error: Error, chargerId: string) => void } = {},
): () => void {
  let stopped = false;
  const off = directory.onConnected((link) => {
    discoverAndRecord(directory, link, options).then(
      (result) => {
        if (!stopped) options.onResult?.(result);
      },
      (err: unknown) => {
        if (!stopped) options.onError?.(classifyCallError(err, link.identity, "GetConfiguration"), link.identity);
      },
    );
  });
  return () => {
    stopped = true;
    off();
  };
}
