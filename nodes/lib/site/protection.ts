/**
 * Fuse protection that tolerates short spikes ("risk accumulator"), after
 * the idea of hass-evse-load-balancer: a heat pump's inrush of a second or
 * two must not stop the cars, but a sustained or large overload must be cut
 * before the main breaker would trip.
 *
 * A miniature circuit breaker (IEC 60898) trips thermally after a time that
 * falls with the square of the overload: it holds 1.13 x its rating for an
 * hour, and trips at 1.45 x within the hour and at 2.55 x within 1-60 s. Its
 * magnetic release trips at once from 3-5 x (curve B) or 5-10 x (curve C).
 * The model below is deliberately faster than a real breaker:
 *   tripS(k) = 52 / (k^2 - 1.13^2)   (about 60 s at 1.45 x, 10 s at 2.55 x)
 * Risk accumulates as the fraction of that time spent at the measured
 * overload, and cools down again while the current stays under the rating.
 *
 * An "overload" here is what the algorithm calls negative headroom: a phase
 * above fuse minus margin. Whatever the model says, an overload is cut after
 * `toleranceS`, and at once when a phase reaches the magnetic threshold
 * (the cut cannot beat a magnetic trip; it stops the overload from lasting).
 *
 * Recovery: headroom that appears (the heat pump stops) is used only once it
 * has been there for `recoverS`: the manager plans with the highest house
 * current of that period (`settle`), so a load that cycles does not pump the
 * cars up and down.
 */
import type { Phases3 } from "./capacity";
import type { Protection, TripCurve } from "./config";

export interface ProtectionSettings {
  protection: Protection;
  tripCurve: TripCurve;
  fuseA: number;
  marginA: number;
  toleranceS: number;
  recoverS: number;
}

/** What the manager should do with this meter sample. */
export interface ProtectionVerdict {
  /** A phase is above fuse minus margin in this sample. */
  overloaded: boolean;
  /** Use the house load from before the spike: the overload is being tolerated. */
  tolerate: boolean;
  /** Seconds the current overload has lasted (0 when none). */
  overloadS: number;
  /** 0..1: share of the modelled breaker trip already used. */
  risk: number;
  /** Why the overload was cut, while it is. */
  cutReason?: string;
}

/** The house load to plan with after `settle`, and when held-back headroom is released. */
export interface SettledHouse {
  amps: Phases3;
  /** Headroom is held back until then (a higher house load is still inside the recovery period). */
  raiseAfter?: number;
}

/** Bounded: one sample per update, at most this many in the recovery window. */
const MAX_WINDOW = 4000;

/** Multiple of the rating a breaker holds for an hour (IEC 60898 conventional non-tripping current). */
const HOLD_K = 1.13;
const THERMAL_S = 52;
/** The risk cools off over this time at or below the rating. */
const COOL_S = 300;
/** The cut happens at this share of the modelled trip time. */
const CUT_AT_RISK = 0.5;
const MAGNETIC_K: Record<TripCurve, number> = { B: 3, C: 5 };

/** Seconds a breaker would hold `k` x its rating (thermal part), by the conservative model above. */
export function tripSeconds(k: number): number {
  return k <= HOLD_K ? Infinity : THERMAL_S / (k * k - HOLD_K * HOLD_K);
}

export class FuseProtection {
  private risk = 0;
  private lastAt?: number;
  private lastK = 0;
  private overSince?: number;
  private cut = false;
  private cutReason?: string;
  private readonly window: Array<{ at: number; amps: Phases3 }> = [];

  constructor(private readonly settings: ProtectionSettings) {}

  /**
   * Called with each fresh grid sample's per-phase currents (A, import
   * positive) at its time. Samples arrive in order; a repeated time adds nothing.
   */
  assess(gridA: Phases3, now: number): ProtectionVerdict {
    const s = this.settings;
    const worst = Math.max(...gridA);
    const k = worst / s.fuseA;
    // Heat from the interval since the last sample, at the current seen then (held until this sample).
    if (this.lastAt !== undefined && now > this.lastAt) {
      const dt = Math.min(now - this.lastAt, 60_000) / 1000;
      if (this.lastK > HOLD_K) this.risk += dt / tripSeconds(this.lastK);
      else if (this.lastK <= 1) this.risk = Math.max(0, this.risk - dt / COOL_S);
    }
    this.lastAt = Math.max(now, this.lastAt ?? now);
    this.lastK = k;

    const over = worst > s.fuseA - s.marginA + 1e-6;
    if (!over) {
      this.overSince = undefined;
      this.cut = false;
      this.cutReason = undefined;
      return this.verdict(false, false, 0);
    }
    this.overSince ??= now;
    const overloadS = (now - this.overSince) / 1000;
    if (s.protection === "immediate") return this.verdict(false, true, overloadS);

    if (!this.cut) {
      if (k >= MAGNETIC_K[s.tripCurve]) this.cutReason = `${round1(worst)} A is ${round1(k)} x the fuse: cut at once`;
      else if (overloadS >= s.toleranceS) this.cutReason = `over the fuse for ${Math.round(overloadS)} s: cut`;
      else if (this.risk >= CUT_AT_RISK) this.cutReason = `${round1(worst)} A for ${Math.round(overloadS)} s heats the breaker: cut`;
      if (this.cutReason) this.cut = true;
    }
    return this.verdict(!this.cut, true, overloadS);
  }

  /**
   * Tolerant mode: the house current to plan with is the highest of the last
   * `recoverS` (per phase), so new headroom is used only once it lasted.
   * `amps` is the house load the manager would plan with now (the one from
   * before a tolerated spike, never the spike itself).
   */
  settle(amps: Phases3, now: number): SettledHouse {
    if (this.settings.protection !== "tolerant" || this.settings.recoverS === 0) return { amps };
    const from = now - this.settings.recoverS * 1000;
    this.window.push({ at: now, amps: [...amps] as Phases3 });
    while (this.window.length > 0 && (this.window[0].at < from || this.window.length > MAX_WINDOW)) this.window.shift();
    const worst: Phases3 = [...amps] as Phases3;
    let heldUntil: number | undefined;
    for (const sample of this.window) {
      for (let p = 0; p < 3; p++) {
        if (sample.amps[p] > worst[p]) worst[p] = sample.amps[p];
        // Held back by more than a trifle: say until when.
        if (sample.amps[p] > amps[p] + 0.5) heldUntil = sample.at + this.settings.recoverS * 1000;
      }
    }
    return { amps: worst, raiseAfter: heldUntil };
  }

  private verdict(tolerate: boolean, overloaded: boolean, overloadS: number): ProtectionVerdict {
    return {
      overloaded,
      tolerate,
      overloadS: round1(overloadS),
      risk: Math.min(1, round2(this.risk / CUT_AT_RISK)),
      cutReason: this.cut ? this.cutReason : undefined,
    };
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
