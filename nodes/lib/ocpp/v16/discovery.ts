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
import { parseRateUnits, type RateUnit } from "./smart-charging";

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

export interface DiscoveryResult {
  chargerId: string;
  /** Every key the charger reported, with the values after the changes. */
  configuration: Record<string, string>;
  readonlyKeys: string[];
  unknownKeys: string[];
  featureProfiles: string[];
  /** Measurands the charger samples now (MeterValuesSampledData). */
  measurands: string[];
  smartCharging?: { units: RateUnit[]; maxStackLevel?: number; maxPeriods?: number; maxProfiles?: number };
  localList?: { enabled: boolean; maxLength?: number; maxPerMessage?: number };
  numberOfConnectors?: number;
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

const list = (value: string | undefined): string[] =>
  (value ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "");

const int = (value: string | undefined): number | undefined => {
  const n = Number.parseInt(value ?? "", 10);
  return Number.isFinite(n) ? n : undefined;
};

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

  const featureProfiles = list(configuration.SupportedFeatureProfiles);
  const has = (profile: string): boolean => featureProfiles.some((p) => p.toLowerCase() === profile.toLowerCase());
  const result: DiscoveryResult = {
    chargerId,
    configuration,
    readonlyKeys: [...readonlyKeys],
    unknownKeys: [...unknownKeys],
    featureProfiles,
    measurands: list(configuration.MeterValuesSampledData),
    numberOfConnectors: int(configuration.NumberOfConnectors),
    changes,
  };
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
  return result;
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
