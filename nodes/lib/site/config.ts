/**
 * Settings of the site charging manager and their defaults. The defaults for
 * start/stop follow evcc (start after 1 min above, stop after 3 min below),
 * so users moving over find the behaviour they know.
 */

export type ChargeMode = "off" | "pv" | "minpv" | "now";
export const CHARGE_MODES: readonly ChargeMode[] = ["off", "pv", "minpv", "now"];
export type Fairness = "equal" | "weighted" | "priority";
export type PhaseCount = 1 | 3;
/** How the fuse is protected: cut at once, or tolerate short spikes as a breaker does (see protection.ts). */
export type Protection = "immediate" | "tolerant";
/** Breaker characteristic: where its magnetic (instant) trip starts, in multiples of the rating. */
export type TripCurve = "B" | "C";
/** Index of a phase: 0 = L1, 1 = L2, 2 = L3. */
export type PhaseIndex = 0 | 1 | 2;

export function isChargeMode(value: unknown): value is ChargeMode {
  return typeof value === "string" && (CHARGE_MODES as readonly string[]).includes(value);
}

export interface ChargerSetup {
  /** The charger's id; "CP1/2" names connector (EVSE) 2 of charger CP1, so each connector of one charger is its own entry. */
  id: string;
  /** Circuit the charger hangs on; the site fuse when left out. */
  circuit?: string;
  minA: number;
  maxA: number;
  /** Phases the charger charges on (3 for a three-phase wallbox, also when a 1-phase car is plugged in). */
  phases: PhaseCount;
  /** The charger can switch between 1 and 3 phases on command. */
  canSwitchPhases: boolean;
  /** Phase a single-phase charger is wired to, until measured currents say otherwise. */
  phase: PhaseIndex;
  /** Higher wins in "priority"; the weight in "weighted". */
  priority: number;
  mode: ChargeMode;
  /** Usable battery of the car usually charged here, kWh: lets a SoC plan work without a capacity in the plan. */
  batteryKWh?: number;
}

export interface CircuitSetup {
  id: string;
  /** Parent circuit; the site fuse when left out. */
  parent?: string;
  /** Limit per phase in A. */
  maxA?: number;
  /** Limit of the whole circuit in W. */
  maxW?: number;
}

export interface SiteConfig {
  /** Main fuse per phase, A. */
  fuseA: number;
  phases: PhaseCount;
  voltageV: number;
  /** Kept free below every fuse and circuit limit, A. */
  marginA: number;
  /** Power left flowing at the grid meter: positive keeps some import, negative some export. */
  residualPowerW: number;
  enableThresholdW: number;
  enableDelayS: number;
  disableThresholdW: number;
  disableDelayS: number;
  /** Minimum time between two phase switches of one charger. */
  phaseDwellS: number;
  /** Time at 0 A around a phase switch. */
  phasePauseS: number;
  /** Smallest change worth a command, A. */
  minStepA: number;
  /** Largest increase per command, A. */
  rampStepA: number;
  /** At most one command per charger per this interval (fuse and failsafe cuts excepted). */
  commandIntervalS: number;
  /** Re-send an unchanged limit this often (keeps OCPP leases alive); 0 = never. */
  refreshS: number;
  /** OCPP failsafe lease: each limit holds this long, then the charger falls back to failsafeA; 0 = no lease. */
  leaseS: number;
  fairness: Fairness;
  /** How long a charger keeps the only slot before another with the same priority gets it. */
  rotationS: number;
  /** Limit every charger gets while the meter is stale, A (0 = pause). */
  failsafeA: number;
  meterTimeoutS: number;
  /** Fresh meter samples needed before leaving failsafe. */
  recoverSamples: number;
  /** A charger drawing more than its limit plus this is not following. */
  followToleranceA: number;
  followAfterS: number;
  /** immediate: cut as soon as the fuse has no headroom; tolerant: ride through short spikes (heat-pump inrush). */
  protection: Protection;
  tripCurve: TripCurve;
  /** tolerant: an overload (a phase above fuse minus margin) is cut after at most this long. */
  toleranceS: number;
  /** tolerant: after a cut, limits go up again only after this long without overload. */
  recoverS: number;
  /** Grid power at or below this price is cheap: solar chargers may then charge from the grid. Unset = only {cheap: true}. */
  priceLimit?: number;
  /** A plan starts this much earlier than the charge would take at full power, %. */
  planMarginPct: number;
  circuits: CircuitSetup[];
  chargers: ChargerSetup[];
}

export const SITE_DEFAULTS: Omit<SiteConfig, "circuits" | "chargers"> = {
  fuseA: 25,
  phases: 3,
  voltageV: 230,
  marginA: 1,
  residualPowerW: 0,
  enableThresholdW: 0,
  enableDelayS: 60,
  disableThresholdW: 0,
  disableDelayS: 180,
  phaseDwellS: 600,
  phasePauseS: 30,
  minStepA: 1,
  rampStepA: 2,
  commandIntervalS: 10,
  refreshS: 60,
  leaseS: 180,
  fairness: "equal",
  rotationS: 1800,
  failsafeA: 6,
  meterTimeoutS: 30,
  recoverSamples: 2,
  followToleranceA: 1.5,
  followAfterS: 30,
  protection: "immediate",
  tripCurve: "B",
  toleranceS: 20,
  recoverS: 900,
  planMarginPct: 20,
};

export const CHARGER_DEFAULTS: Omit<ChargerSetup, "id"> = {
  minA: 6,
  maxA: 16,
  phases: 3,
  canSwitchPhases: false,
  phase: 0,
  priority: 1,
  mode: "pv",
};

/** Which charger and connector an entry's id names: "CP1/2" → CP1, connector 2; "CP1" → the whole charger. */
export function splitConnector(id: string): { chargerId: string; connector?: number } {
  const match = /^(.+)\/([1-9]\d{0,2})$/.exec(id);
  return match ? { chargerId: match[1], connector: Number(match[2]) } : { chargerId: id };
}

/** The entry id of one connector (EVSE) of a charger. */
export function connectorEntryId(chargerId: string, connector: number): string {
  return `${chargerId}/${connector}`;
}

export class SiteConfigError extends Error {
  override readonly name = "SiteConfigError";
}

type PartialCharger = Partial<ChargerSetup> & { id: string };
export type SiteConfigInput = Partial<Omit<SiteConfig, "chargers">> & { chargers: PartialCharger[] };

/** Fills defaults and checks the settings, with a message a hobbyist understands. */
export function normaliseConfig(input: SiteConfigInput): SiteConfig {
  const config: SiteConfig = { ...SITE_DEFAULTS, circuits: [], ...stripUndefined(input), chargers: [] } as SiteConfig;
  const positive = (key: keyof SiteConfig, allowZero = false): void => {
    const value = config[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
      throw new SiteConfigError(`${String(key)} must be a ${allowZero ? "non-negative" : "positive"} number, got ${String(value)}`);
    }
  };
  positive("fuseA");
  positive("voltageV");
  for (const key of ["toleranceS", "recoverS", "planMarginPct", "leaseS", "marginA", "enableDelayS", "disableDelayS", "phaseDwellS", "phasePauseS", "commandIntervalS", "refreshS", "rotationS", "failsafeA", "followToleranceA", "followAfterS"] as const) positive(key, true);
  positive("minStepA");
  positive("rampStepA");
  positive("meterTimeoutS");
  if (config.phases !== 1 && config.phases !== 3) throw new SiteConfigError(`phases must be 1 or 3, got ${String(config.phases)}`);
  if (!["equal", "weighted", "priority"].includes(config.fairness)) throw new SiteConfigError(`fairness must be equal, weighted or priority, got ${String(config.fairness)}`);
  if (config.protection !== "immediate" && config.protection !== "tolerant") throw new SiteConfigError(`protection must be immediate or tolerant, got ${String(config.protection)}`);
  if (config.tripCurve !== "B" && config.tripCurve !== "C") throw new SiteConfigError(`breaker curve must be B or C, got ${String(config.tripCurve)}`);
  if (config.priceLimit !== undefined && !Number.isFinite(config.priceLimit)) throw new SiteConfigError(`price limit must be a number or empty, got ${String(config.priceLimit)}`);
  config.recoverSamples = Math.max(1, Math.round(config.recoverSamples));
  if (config.leaseS > 0 && (config.refreshS === 0 || config.refreshS * 2 > config.leaseS)) {
    throw new SiteConfigError(`re-send every ${config.refreshS} s must be at most half the lease of ${config.leaseS} s, or the lease runs out between refreshes`);
  }

  const circuitIds = new Set<string>();
  for (const circuit of config.circuits) {
    if (!circuit.id) throw new SiteConfigError("every circuit needs a name");
    if (circuitIds.has(circuit.id)) throw new SiteConfigError(`circuit "${circuit.id}" is listed twice`);
    circuitIds.add(circuit.id);
  }
  for (const circuit of config.circuits) {
    if (circuit.parent !== undefined && circuit.parent !== "" && !circuitIds.has(circuit.parent)) {
      throw new SiteConfigError(`circuit "${circuit.id}" hangs on "${circuit.parent}", which is not a circuit`);
    }
    // A loop would make the walk to the fuse endless.
    const seen = new Set<string>();
    for (let at: CircuitSetup | undefined = circuit; at; at = config.circuits.find((c) => c.id === at?.parent)) {
      if (seen.has(at.id)) throw new SiteConfigError(`circuit "${circuit.id}" is part of a loop of circuits`);
      seen.add(at.id);
    }
  }

  const chargerIds = new Set<string>();
  for (const raw of input.chargers) {
    const charger: ChargerSetup = { ...CHARGER_DEFAULTS, ...stripUndefined(raw) } as ChargerSetup;
    if (!charger.id) throw new SiteConfigError("every charger needs a name");
    if (chargerIds.has(charger.id)) throw new SiteConfigError(`charger "${charger.id}" is listed twice`);
    chargerIds.add(charger.id);
    if (charger.circuit === "") delete charger.circuit;
    if (charger.circuit !== undefined && !circuitIds.has(charger.circuit)) {
      throw new SiteConfigError(`charger "${charger.id}" is on circuit "${charger.circuit}", which is not defined`);
    }
    if (!(charger.minA > 0) || !(charger.maxA >= charger.minA)) {
      throw new SiteConfigError(`charger "${charger.id}": minimum ${charger.minA} A and maximum ${charger.maxA} A do not make sense`);
    }
    if (charger.phases !== 1 && charger.phases !== 3) throw new SiteConfigError(`charger "${charger.id}": phases must be 1 or 3`);
    if (config.phases === 1 && charger.phases === 3) charger.phases = 1;
    if (![0, 1, 2].includes(charger.phase)) throw new SiteConfigError(`charger "${charger.id}": phase must be L1, L2 or L3`);
    if (charger.batteryKWh !== undefined && !(charger.batteryKWh > 0)) throw new SiteConfigError(`charger "${charger.id}": batteryKWh must be a positive number of kWh`);
    if (!isChargeMode(charger.mode)) throw new SiteConfigError(`charger "${charger.id}": mode must be off, pv, minpv or now`);
    config.chargers.push(charger);
  }
  // A whole-charger entry beside one of its connectors would limit that connector twice, from two shares.
  for (const charger of config.chargers) {
    const { chargerId, connector } = splitConnector(charger.id);
    if (connector !== undefined && chargerIds.has(chargerId)) {
      throw new SiteConfigError(`charger "${chargerId}" is listed as a whole and by its connector "${charger.id}": list either the whole charger or each connector`);
    }
  }
  return config;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}
