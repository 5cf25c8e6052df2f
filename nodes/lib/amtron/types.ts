/**
 * The documents of the Mennekes AMTRON local API (MHCP 1.0), as the wallbox
 * sends them, and a strict reader that turns "something unexpected" into an
 * error a user can act on instead of NaN further down the flow.
 * Field meanings: shared/docs/vendor-apis.md §2.
 */

export const CHARGE_STATES = ["Idle", "Charging", "Paused", "StandbyConnect", "StandbyAuthorize", "Terminated", "Error"] as const;
export type ChargeStateName = (typeof CHARGE_STATES)[number];

/** DevMode: "Remote" is what the app calls "App control", "HomeManager" is the energy manager. */
export const DEV_MODES = ["Remote", "HomeManager", "Time"] as const;
export type DevMode = (typeof DEV_MODES)[number];

/** Commands accepted by `ChgState` in POST /ChargeData. */
export type ChargeCommand = "Continue" | "Pause" | "Start" | "Terminate";

/** GET /ChargeData. Prices are in 0.1 ct/kWh, times in minutes, energies in Wh. */
export interface ChargeData {
  ChgState: string;
  Tariff?: string;
  Price?: number;
  Uid?: string;
  /** Seconds [infer]. */
  ChgDuration?: number;
  /** Session energy, Wh. */
  ChgNrg?: number;
  NrgDemand?: number;
  Solar?: number;
  EmTime?: number;
  RemTime?: number;
  /** Active power, W. */
  ActPwr?: number;
  /** The current limit in effect per phase, A (not a measured current). */
  ActCurr?: number;
  MaxCurrT1?: number;
  BeginH_T1?: number;
  BeginM_T1?: number;
  PriceT1?: number;
  MaxCurrT2?: number;
  BeginH_T2?: number;
  BeginM_T2?: number;
  PriceT2?: number;
  /** The app-control current, A. */
  RemoteCurr?: number;
  SolarPrice?: number;
  ExcessNrg?: boolean;
  /** Control-pilot state, e.g. "A11": IEC 61851 letter plus a sub-code [infer]. */
  HCCP?: string;
  /** The T* duplicates and anything newer firmware adds. */
  [field: string]: unknown;
}

/** GET /DevInfo. */
export interface DevInfo {
  DevName?: string;
  LocTime?: number;
  Summer?: boolean;
  Tz?: number;
  ItemNo?: string;
  Sn?: number | string;
  Hcc3?: string;
  Hmi?: string;
  Wifi?: string;
  DevMode?: string;
  ChgState?: string;
  AutoChg?: boolean;
  ChgContinue?: boolean;
  /** 0 = no error. */
  Err?: number;
  Battery?: number;
  Phases?: number;
  Cable?: boolean;
  Auth?: boolean;
  EmEnabled?: boolean;
  /** Installation maximum, A (0 when not set). */
  MaxCurr?: number;
  MaxPwr?: number;
  /** Hardware maximum, A (0 when not set). */
  MaxCurrWb?: number;
  [field: string]: unknown;
}

/** POST /ChargeData: null means "leave unchanged"; Permanent is required. */
export interface ChargeDataWrite {
  Permanent: boolean;
  RemoteCurr: number | null;
  AutoChg: boolean | null;
  ChgState: ChargeCommand | null;
  Uid: string | null;
}

/** POST /DevInfo: null means "leave unchanged". */
export interface DevInfoWrite {
  DevName: string | null;
  LocTime: number | null;
  Summer: boolean | null;
  Tz: number | null;
  FixedVehCosts: number | null;
  OldVehCosts: number | null;
  Battery: number | null;
  DevMode: DevMode | null;
}

/** POST /HomeManager. Demand and time count from plug-in. */
export interface HomeManagerWrite {
  Permanent: boolean;
  NrgDemand: number | null;
  ExcessNrg: boolean | null;
  SolarPrice: number | null;
  RemTime: number | null;
}

type Kind = "number" | "string" | "boolean";

const CHARGE_DATA_FIELDS: Record<string, Kind> = {
  ChgState: "string",
  Tariff: "string",
  Price: "number",
  Uid: "string",
  ChgDuration: "number",
  ChgNrg: "number",
  NrgDemand: "number",
  Solar: "number",
  EmTime: "number",
  RemTime: "number",
  ActPwr: "number",
  ActCurr: "number",
  RemoteCurr: "number",
  SolarPrice: "number",
  ExcessNrg: "boolean",
  HCCP: "string",
};

const DEV_INFO_FIELDS: Record<string, Kind> = {
  DevName: "string",
  DevMode: "string",
  ChgState: "string",
  Err: "number",
  Battery: "number",
  Phases: "number",
  MaxCurr: "number",
  MaxPwr: "number",
  MaxCurrWb: "number",
  LocTime: "number",
};

/** The wallbox sent a document we cannot use; the poll fails with this message. */
export class UnexpectedDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnexpectedDocumentError";
  }
}

function check(doc: unknown, what: string, fields: Record<string, Kind>, required: string[]): Record<string, unknown> {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new UnexpectedDocumentError(`The wallbox sent ${what} that is not a JSON object (got ${describe(doc)})`);
  }
  const record = doc as Record<string, unknown>;
  for (const name of required) {
    if (record[name] === undefined || record[name] === null) {
      throw new UnexpectedDocumentError(`The wallbox sent ${what} without the field ${name}; is this an AMTRON with the MHCP API?`);
    }
  }
  for (const [name, kind] of Object.entries(fields)) {
    const value = record[name];
    // Null shows up on real units for fields a model does not have (e.g. Rfid); treat it as absent.
    if (value === undefined || value === null) continue;
    if (typeof value !== kind || (kind === "number" && !Number.isFinite(value))) {
      throw new UnexpectedDocumentError(`The wallbox sent ${what} with an unexpected ${name}: expected a ${kind}, got ${describe(value)}`);
    }
  }
  return record;
}

function describe(value: unknown): string {
  // An empty body parses to undefined: say so, not "undefined undefined".
  if (value === undefined) return "an empty answer";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `"${value.length > 20 ? `${value.slice(0, 19)}…` : value}"`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

export function parseChargeData(doc: unknown): ChargeData {
  return check(doc, "ChargeData", CHARGE_DATA_FIELDS, ["ChgState"]) as ChargeData;
}

export function parseDevInfo(doc: unknown): DevInfo {
  return check(doc, "DevInfo", DEV_INFO_FIELDS, []) as DevInfo;
}

export function isDevMode(value: unknown): value is DevMode {
  return typeof value === "string" && (DEV_MODES as readonly string[]).includes(value);
}

export function isChargeState(value: unknown): value is ChargeStateName {
  return typeof value === "string" && (CHARGE_STATES as readonly string[]).includes(value);
}
