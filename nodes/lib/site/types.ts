/** What goes into and comes out of the site charging manager. Times are epoch milliseconds. */
import type { ChargeMode, PhaseCount } from "./config";
import type { Phases3 } from "./capacity";
import type { PlanView } from "./plan";

export interface GridSample {
  time: number;
  /** Import positive, export negative. */
  powerW: number;
  /** Signed like the power (import positive); left out when the meter has none. */
  currentsA?: Phases3;
  voltagesV?: Phases3;
}

export interface ChargerReading {
  time: number;
  powerW?: number;
  currentA?: { l1?: number; l2?: number; l3?: number };
  /** A car is plugged in. */
  connected?: boolean;
  /** The common OperationState word (idle, connected, charging, ...). */
  operationState?: string;
  /** Limit the charger says it applies, A. */
  offeredA?: number;
  phases?: number;
  /** The car's state of charge, %. */
  soc?: number;
}

export type ChargerActivity = "idle" | "waitingEnable" | "charging" | "waitingDisable" | "switchingPhases" | "failsafe";

/** One limit for one charger, ready for the common "limit" input of the charger nodes. */
export interface ChargerCommand {
  chargerId: string;
  /** 0 = pause. */
  amps: number;
  phases: PhaseCount;
  watts: number;
  state: ChargerActivity;
  reason: string;
  /** Sent before the command interval was over, because a fuse or the failsafe demanded it. */
  urgent: boolean;
  /** Same limit as before, sent again to keep a lease alive. */
  refresh: boolean;
}

export interface ChargerView {
  mode: ChargeMode;
  state: ChargerActivity;
  reason: string;
  /** What the algorithm wants now, A. */
  targetA: number;
  /** Last limit sent, A. */
  limitA: number;
  phases: PhaseCount;
  /** Highest measured phase current, A. */
  measuredA: number;
  powerW: number;
  notFollowing: boolean;
  /** The charger's plan: "plan: 12 kWh by 07:00, starts 03:40". */
  plan?: PlanView;
  soc?: number;
}

export interface NextAction {
  chargerId: string;
  action: string;
  at: number;
}

export interface SiteDecision {
  time: number;
  failsafe: boolean;
  failsafeReason?: string;
  gridW?: number;
  pvW?: number;
  batteryW?: number;
  batterySoc?: number;
  /** Power the chargers may use from solar (after the residual power). */
  surplusW?: number;
  /** Main fuse minus measured grid current, per phase. */
  headroomA?: Phases3;
  /** Part of the chargers' power that comes from solar. */
  solarToCarsW: number;
  chargersW: number;
  chargers: Record<string, ChargerView>;
  commands: ChargerCommand[];
  nextAction?: NextAction;
  /** Fuse protection: how long the current overload lasts, how much of the modelled trip it used, a cut. */
  protection?: {
    mode: string;
    overloadS: number;
    risk: number;
    tolerating: boolean;
    cut?: string;
    /** After a cut: limits go up again at the earliest then. */
    raiseAfter?: number;
  };
  /** Grid power is cheap now (price input). */
  cheap?: boolean;
}
