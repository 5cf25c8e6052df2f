/**
 * Validation and merging for settings writes. The API takes only whole
 * objects, so a change is applied to what we just read; every value is
 * checked here, before anything is sent, with errors a hobbyist can act on.
 */
import {
  CONNECTOR_MODES,
  DIMMER_VALUES,
  type ChargePointSettings,
  type ConnectorSettings,
  type DimmerValue,
  type OnOffMode,
  type ViewChargePointSettings,
  type ViewConnectorSettings,
} from "./models";

/** The range every Aura/Halo accepts for a current limit. */
export const MIN_CURRENT_A = 6;
export const MAX_CURRENT_A = 32;

export interface ConnectorSettingsChange {
  maxCurrent?: number;
  rfidLock?: boolean;
  /** "toggle" flips On to Off, and Off or Schedule to On. */
  mode?: OnOffMode | "toggle";
  cableLock?: boolean;
}

export interface ChargePointSettingsChange {
  dimmer?: DimmerValue;
  downLight?: boolean;
  /** null clears the charge-point level limit. */
  maxCurrent?: number | null;
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

const CONNECTOR_KEYS = ["maxCurrent", "rfidLock", "mode", "cableLock"] as const;
const CHARGE_POINT_KEYS = ["dimmer", "downLight", "maxCurrent"] as const;

/** Checks a connector change coming from a message, before any request. */
export function parseConnectorChange(input: unknown): ConnectorSettingsChange {
  const obj = asChangeObject(input, CONNECTOR_KEYS, "connector");
  const change: ConnectorSettingsChange = {};
  if (obj.maxCurrent !== undefined) change.maxCurrent = currentValue(obj.maxCurrent, "maxCurrent");
  if (obj.rfidLock !== undefined) change.rfidLock = booleanValue(obj.rfidLock, "rfidLock");
  if (obj.cableLock !== undefined) change.cableLock = booleanValue(obj.cableLock, "cableLock");
  if (obj.mode !== undefined) {
    const mode = String(obj.mode).trim().toLowerCase();
    if (mode === "toggle") change.mode = "toggle";
    else {
      const found = CONNECTOR_MODES.find((m) => m.toLowerCase() === mode);
      if (!found) throw new SettingsError(`mode must be one of On, Off, Schedule or toggle, not "${String(obj.mode)}"`);
      change.mode = found;
    }
  }
  return change;
}

export function parseChargePointChange(input: unknown): ChargePointSettingsChange {
  const obj = asChangeObject(input, CHARGE_POINT_KEYS, "charge point");
  const change: ChargePointSettingsChange = {};
  if (obj.maxCurrent !== undefined) change.maxCurrent = obj.maxCurrent === null ? null : currentValue(obj.maxCurrent, "maxCurrent");
  if (obj.downLight !== undefined) change.downLight = booleanValue(obj.downLight, "downLight");
  if (obj.dimmer !== undefined) {
    const found = DIMMER_VALUES.find((d) => d.toLowerCase() === String(obj.dimmer).trim().toLowerCase());
    if (!found) throw new SettingsError(`dimmer must be one of Off, Low, Medium or High, not "${String(obj.dimmer)}"`);
    change.dimmer = found;
  }
  return change;
}

/** The whole connector object to PUT: what was read, with the change applied. */
export function applyConnectorChange(current: ViewConnectorSettings, change: ConnectorSettingsChange): ConnectorSettings {
  const next: ConnectorSettings = {
    chargePointId: current.chargePointId,
    connectorId: current.connectorId,
    maxCurrent: current.maxCurrent,
    rfidLock: current.rfidLock,
    mode: current.mode,
    cableLock: current.cableLock,
  };
  if (change.maxCurrent !== undefined) {
    checkAgainstInstallation(change.maxCurrent, current.installationCurrent, `connector ${current.connectorId}`);
    next.maxCurrent = change.maxCurrent;
  }
  if (change.rfidLock !== undefined) next.rfidLock = change.rfidLock;
  if (change.cableLock !== undefined) next.cableLock = change.cableLock;
  if (change.mode === "toggle") next.mode = current.mode === "On" ? "Off" : "On";
  else if (change.mode !== undefined) next.mode = change.mode;
  return next;
}

export function applyChargePointChange(current: ViewChargePointSettings, change: ChargePointSettingsChange): ChargePointSettings {
  const next: ChargePointSettings = {
    id: current.id,
    dimmer: current.dimmer,
    downLight: current.downLight,
    maxCurrent: current.maxCurrent,
  };
  if (change.maxCurrent !== undefined) {
    if (change.maxCurrent !== null) checkAgainstInstallation(change.maxCurrent, current.installationCurrent, "the charge point");
    next.maxCurrent = change.maxCurrent;
  }
  if (change.dimmer !== undefined) next.dimmer = change.dimmer;
  if (change.downLight !== undefined) next.downLight = change.downLight;
  return next;
}

function checkAgainstInstallation(value: number, installation: number | null | undefined, where: string): void {
  if (typeof installation === "number" && installation > 0 && value > installation) {
    throw new SettingsError(
      `maxCurrent ${value} A is more than the installation current of ${installation} A for ${where}; ` +
        `the fuse limit set by the installer cannot be exceeded. Nothing was changed.`,
    );
  }
}

function asChangeObject<K extends string>(input: unknown, keys: readonly K[], what: string): Partial<Record<K, unknown>> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new SettingsError(`To change ${what} settings, send msg.payload as an object, e.g. {"maxCurrent": 10}`);
  }
  const unknown = Object.keys(input).filter((k) => !(keys as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new SettingsError(`Unknown ${what} setting ${unknown.map((k) => `"${k}"`).join(", ")}; known settings are ${keys.join(", ")}`);
  }
  if (Object.keys(input).length === 0) {
    throw new SettingsError(`No ${what} setting to change; msg.payload should name at least one of ${keys.join(", ")}`);
  }
  return input as Partial<Record<K, unknown>>;
}

function currentValue(value: unknown, name: string): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n)) throw new SettingsError(`${name} must be a number of amperes, not "${String(value)}"`);
  if (n < MIN_CURRENT_A || n > MAX_CURRENT_A) {
    throw new SettingsError(`${name} must be between ${MIN_CURRENT_A} and ${MAX_CURRENT_A} A, not ${n} A. Nothing was changed.`);
  }
  return n;
}

function booleanValue(value: unknown, name: string): boolean {
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "on") return true;
  if (value === "false" || value === "off") return false;
  throw new SettingsError(`${name} must be true or false, not "${String(value)}"`);
}
