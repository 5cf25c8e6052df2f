/**
 * The site charging manager: shares solar surplus and the house fuse between
 * chargers of any brand. It knows nothing of Node-RED and keeps no timers:
 * the caller feeds samples and calls update(now) (on every meter sample and
 * on a tick), and sends the commands it returns.
 *
 * Each update: (1) a stale meter puts every charger at the failsafe limit
 * until fresh samples return; (2) per-phase fuse headroom from measured
 * currents, walking the circuit tree, and the surplus at the grid meter;
 * (3) "now"/"minpv" chargers get their minimum first, clipped by the fuse;
 * (4) PV chargers start/stop after their delays, or stop at once when the
 * fuse has no room; (5) the rest is water-filled, rebalancing running
 * sessions, with rotation when only some minimums fit; (6) 1p/3p switching;
 * (7) output shaping: decrease at once, increase in steps, deadband, one
 * command per charger per interval; a charger drawing more than its limit is
 * flagged and its real draw is taken from the others.
 *
 * Around that: plans (plan.ts) turn a charger into "now" while it must charge
 * to reach its target by the departure; a cheap price (price.ts) lets solar
 * chargers charge from the grid; in "tolerant" protection (protection.ts) a
 * short overload is ridden through with the house load from before it.
 */
import { Capacity, loadVector, type Phases3 } from "./capacity";
import type { ChargeMode, ChargerSetup, PhaseCount, PhaseIndex, SiteConfig } from "./config";
import type { ChargerActivity, ChargerCommand, ChargerReading, ChargerView, GridSample, NextAction, SiteDecision } from "./types";
import { waterFill, type FillItem } from "./water-fill";
import { chooseWindows, clockText, remainingWh, round1 as planRound1, targetText, type PlanRequest, type PlanState, type PlanView } from "./plan";
import { isCheapSlot, slotAt, type PriceSlot } from "./price";
import { FuseProtection } from "./protection";

interface Target {
  amps: number;
  phases: PhaseCount;
  state: ChargerActivity;
  reason: string;
}

interface ChargerRuntime {
  setup: ChargerSetup;
  mode: ChargeMode;
  priority: number;
  reading?: ChargerReading;
  /** Phase a single-phase load sits on, from measured currents when there are any. */
  phase: PhaseIndex;
  /** Phases the manager asks for (only ever differs from setup.phases on switchable chargers). */
  phases: PhaseCount;
  enabled: boolean;
  runningSince?: number;
  enableSince?: number;
  disableSince?: number;
  upSince?: number;
  downSince?: number;
  lastSwitchAt?: number;
  pauseUntil?: number;
  last?: { amps: number; phases: PhaseCount; at: number };
  overSince?: number;
  notFollowing: boolean;
  /** The user changed the mode: the next command may skip the interval. */
  modeChanged: boolean;
  servedWh: number;
  view?: ChargerView;
  plan?: PlanState;
  /** The plan's last word (also after it ended), for the outputs. */
  planView?: PlanView;
  planActive: boolean;
  /** Charging as "now" only because of a plan or a cheap price: when that ends, it stops at once. */
  forcedNow: boolean;
  /** The car's state of charge, %, when something reports it. */
  soc?: number;
}

const OFF_STATES = new Set(["off", "idle", "fault", "scheduled_downtime", "unscheduled_downtime"]);

export class SiteManager {
  private readonly config: SiteConfig;
  private readonly chargers = new Map<string, ChargerRuntime>();
  private grid?: GridSample;
  private pv?: { powerW: number };
  private battery?: { powerW?: number; soc?: number };
  /** Cheap now: from the {cheap} flag or the price schedule, worked out on each update. */
  private cheap = false;
  private cheapFlag = false;
  private prices: PriceSlot[] = [];
  private readonly protection: FuseProtection;
  /** House load (grid minus chargers) of the last sample without overload, kept while a spike is tolerated. */
  private stableHouse?: { amps: Phases3; watts: number };
  /** Starts false: the first fresh sample is trusted; after a silence, recoverSamples are needed. */
  private failsafe = false;
  private freshSamples = 0;
  private startedAt?: number;

  constructor(config: SiteConfig) {
    this.config = config;
    this.protection = new FuseProtection(config);
    for (const setup of config.chargers) {
      this.chargers.set(setup.id, {
        setup,
        mode: setup.mode,
        priority: setup.priority,
        phase: setup.phase,
        phases: setup.phases,
        enabled: false,
        notFollowing: false,
        modeChanged: false,
        servedWh: 0,
        planActive: false,
        forcedNow: false,
      });
    }
  }

  get chargerIds(): string[] {
    return [...this.chargers.keys()];
  }

  hasCharger(id: string): boolean {
    return this.chargers.has(id);
  }

  setGrid(sample: GridSample): void {
    if (this.grid && sample.time < this.grid.time) return; // late sample: keep the newer one
    this.grid = sample;
    if (this.failsafe) this.freshSamples++;
  }

  setPv(powerW: number): void {
    this.pv = { powerW };
  }

  setBattery(powerW: number | undefined, soc: number | undefined): void {
    this.battery = { powerW, soc };
  }

  /** Cheap grid power: PV chargers charge as if in "now". Replaces a price schedule. */
  setCheap(cheap: boolean): void {
    this.cheapFlag = cheap;
    this.prices = [];
  }

  /** A price schedule: cheap while the slot's price is at or below the price limit; plans use the cheapest slots. */
  setPrices(slots: PriceSlot[]): void {
    this.prices = slots;
    this.cheapFlag = false;
  }

  /** A target by a departure; undefined clears it. Energy counts from now. */
  setPlan(id: string, request: PlanRequest | undefined): void {
    const charger = this.runtime(id);
    charger.plan = request && { ...request, startWh: charger.servedWh };
    charger.planView = undefined;
    charger.planActive = false;
  }

  /** The car's state of charge, %, e.g. from the car's own integration. */
  setSoc(id: string, soc: number): void {
    this.runtime(id).soc = soc;
  }

  setMode(id: string, mode: ChargeMode): void {
    const charger = this.runtime(id);
    if (charger.mode !== mode) charger.modeChanged = true;
    charger.mode = mode;
  }

  setPriority(id: string, priority: number): void {
    this.runtime(id).priority = priority;
  }

  /** A charger's state; with `merge`, fields left out keep their last value (OCPP sends status and meter values apart). */
  setReading(id: string, update: ChargerReading, merge = false): void {
    const charger = this.runtime(id);
    const previous = charger.reading;
    if (previous && update.time < previous.time) return;
    const defined = Object.fromEntries(Object.entries(update).filter(([, v]) => v !== undefined)) as unknown as ChargerReading;
    const reading: ChargerReading = merge && previous ? { ...previous, ...defined } : update;
    if (previous?.powerW !== undefined && reading.time > previous.time) {
      const hours = Math.min(reading.time - previous.time, 300_000) / 3_600_000;
      charger.servedWh += Math.max(0, previous.powerW) * hours;
    }
    charger.reading = reading;
    if (update.soc !== undefined) charger.soc = update.soc;
  }

  private runtime(id: string): ChargerRuntime {
    const charger = this.chargers.get(id);
    if (!charger) throw new UnknownChargerError(id);
    return charger;
  }

  update(now: number): SiteDecision {
    const cfg = this.config;
    this.startedAt ??= now;
    this.cheap = this.cheapFlag || isCheapSlot(slotAt(this.prices, now), cfg.priceLimit);
    const fresh = this.grid !== undefined && now - this.grid.time <= cfg.meterTimeoutS * 1000;
    if (this.grid === undefined && now - this.startedAt < cfg.meterTimeoutS * 1000) {
      return this.failsafeStep(now, "waiting for the first grid meter sample", false);
    }
    if (!fresh) {
      this.failsafe = true;
      this.freshSamples = 0;
    } else if (this.failsafe && this.freshSamples >= cfg.recoverSamples) {
      this.failsafe = false;
    }
    if (this.failsafe) {
      const reason = this.grid === undefined ? "no grid meter sample yet" : fresh ? "waiting for steady meter samples" : `grid meter silent for more than ${cfg.meterTimeoutS} s`;
      return this.failsafeStep(now, reason);
    }
    return this.normalStep(now, this.grid as GridSample);
  }

  // (1) Freshness: clamp every charger to the failsafe limit, never raise one.
  private failsafeStep(now: number, reason: string, act = true): SiteDecision {
    const commands: ChargerCommand[] = [];
    const views: Record<string, ChargerView> = {};
    for (const charger of this.chargers.values()) {
      charger.enabled = false;
      charger.enableSince = charger.disableSince = charger.upSince = charger.downSince = undefined;
      const amps = charger.mode === "off" ? 0 : Math.min(charger.last?.amps ?? this.config.failsafeA, this.config.failsafeA);
      const target: Target = { amps, phases: charger.phases, state: "failsafe", reason };
      if (!act) target.state = "idle";
      const command = act ? this.shape(charger, target, true, now) : undefined;
      if (command) commands.push(command);
      views[charger.setup.id] = this.view(charger, target);
    }
    const chargersW = this.sumPower();
    return {
      time: now,
      failsafe: act,
      failsafeReason: reason,
      gridW: this.grid?.powerW,
      pvW: this.pv?.powerW,
      batteryW: this.battery?.powerW,
      batterySoc: this.battery?.soc,
      solarToCarsW: 0,
      chargersW,
      chargers: views,
      commands,
    };
  }

  private normalStep(now: number, grid: GridSample): SiteDecision {
    const cfg = this.config;
    const V = cfg.voltageV;
    const sitePhases = cfg.phases;
    const all = [...this.chargers.values()];

    // (2) Budgets from measured values.
    const measured = new Map<ChargerRuntime, { load: Phases3; watts: number }>();
    const sumA: Phases3 = [0, 0, 0];
    let sumW = 0;
    for (const charger of all) {
      const m = this.measure(charger);
      measured.set(charger, m);
      for (let p = 0; p < 3; p++) sumA[p] += m.load[p];
      sumW += m.watts;
    }
    const gridA: Phases3 = [0, 0, 0];
    let house = { amps: [0, 0, 0] as Phases3, watts: grid.powerW - sumW };
    for (let p = 0; p < sitePhases; p++) {
      gridA[p] = grid.currentsA ? grid.currentsA[p] : grid.powerW / V / sitePhases;
      house.amps[p] = grid.currentsA ? grid.currentsA[p] - sumA[p] : (grid.powerW - sumW) / V / sitePhases;
    }
    // Fuse protection: a tolerated spike is planned around with the house load from before it.
    const verdict = this.protection.assess(gridA, now);
    if (verdict.tolerate && verdict.overloaded && this.stableHouse) house = this.stableHouse;
    else if (!verdict.overloaded) this.stableHouse = house;
    const settled = this.protection.settle(house.amps, now);
    house = { amps: settled.amps, watts: house.watts };
    const rootA: Phases3 = [0, 0, 0];
    for (let p = 0; p < sitePhases; p++) rootA[p] = cfg.fuseA - cfg.marginA - house.amps[p];
    const surplusW = -house.watts - cfg.residualPowerW;
    for (const charger of all) {
      this.evaluatePlan(charger, now);
      // A plan reached or a cheap hour over: back to the mode without lingering for the stop delay.
      const forced = charger.mode !== "now" && this.effectiveMode(charger) === "now";
      if (charger.forcedNow && !forced && charger.mode === "pv") this.stop(charger);
      charger.forcedNow = forced;
    }
    const capacity = new Capacity(rootA, cfg.circuits, cfg.marginA, V, sitePhases);
    const overloaded = this.commandedOverload(capacity, measured);

    const targets = new Map<ChargerRuntime, Target>();
    let pot = surplusW;
    const eligible: ChargerRuntime[] = [];
    for (const charger of all) {
      this.trackFollowing(charger, measured.get(charger) as { load: Phases3; watts: number }, now);
      const mode = this.effectiveMode(charger);
      if (mode === "off" || !this.carConnected(charger)) {
        this.stop(charger);
        targets.set(charger, { amps: 0, phases: charger.phases, state: "idle", reason: mode === "off" ? "mode off" : "no car" });
        continue;
      }
      if (charger.notFollowing && charger.last) {
        // Its real draw is what the others must live with.
        const m = measured.get(charger) as { load: Phases3; watts: number };
        capacity.take(charger.setup.circuit, m.load, m.watts);
        pot -= m.watts;
        targets.set(charger, { amps: charger.last.amps, phases: charger.last.phases, state: "charging", reason: "not following its limit" });
        continue;
      }
      if (charger.pauseUntil !== undefined && now < charger.pauseUntil) {
        targets.set(charger, { amps: 0, phases: charger.phases, state: "switchingPhases", reason: `pause after switching to ${charger.phases}p` });
        continue;
      }
      charger.pauseUntil = undefined;
      eligible.push(charger);
    }

    const byPriority = (a: ChargerRuntime, b: ChargerRuntime): number => b.priority - a.priority || (a.setup.id < b.setup.id ? -1 : 1);
    const fill = new Map<ChargerRuntime, FillItem>();
    const item = (charger: ChargerRuntime, amps: number): FillItem => ({
      id: charger.setup.id,
      circuit: charger.setup.circuit,
      phases: this.loadPhases(charger),
      phase: charger.phase,
      amps,
      maxA: charger.setup.maxA,
      priority: charger.priority,
    });

    // (3) Mandatory minimums first; the fuse wins over wishes.
    const mandatory = eligible.filter((c) => ["now", "minpv"].includes(this.effectiveMode(c))).sort(byPriority);
    for (const charger of mandatory) {
      const load = this.minLoad(charger);
      if (!capacity.fits(charger.setup.circuit, load.load, load.watts)) {
        this.stop(charger);
        targets.set(charger, { amps: 0, phases: charger.phases, state: "idle", reason: "no fuse headroom for the minimum" });
        continue;
      }
      capacity.take(charger.setup.circuit, load.load, load.watts);
      pot -= load.watts;
      if (!charger.enabled) charger.runningSince = now;
      charger.enabled = true;
      charger.disableSince = charger.enableSince = undefined;
      fill.set(charger, item(charger, charger.setup.minA));
    }
    // "now" chargers take what the fuse allows, whatever the sun does.
    const fast = [...fill.entries()].filter(([c]) => this.effectiveMode(c) === "now");
    const fastBefore = fast.reduce((sum, [, i]) => sum + i.amps * V * i.phases, 0);
    waterFill(fast.map(([, i]) => i), Infinity, capacity, cfg.fairness, V);
    pot -= fast.reduce((sum, [, i]) => sum + i.amps * V * i.phases, 0) - fastBefore;
    for (const [charger, i] of fast) {
      const reason = charger.planActive && charger.planView ? charger.planView.text : this.cheap && charger.mode !== "now" ? "cheap grid power" : "fast charging";
      targets.set(charger, { amps: i.amps, phases: charger.phases, state: "charging", reason });
    }

    // (4) PV chargers: who fits, in rank order, then start/stop after the delays.
    const solar = eligible.filter((c) => this.effectiveMode(c) === "pv").sort((a, b) => this.rank(a, b, now));
    const trial = capacity.clone();
    let trialPot = pot;
    const fits = new Set<ChargerRuntime>();
    for (const charger of solar) {
      const load = this.minLoad(charger);
      const need = load.watts + (charger.enabled ? -cfg.disableThresholdW : cfg.enableThresholdW);
      if (trialPot >= need && trial.fits(charger.setup.circuit, load.load, load.watts)) {
        fits.add(charger);
        trial.take(charger.setup.circuit, load.load, load.watts);
        trialPot -= load.watts;
      }
    }
    const ordered = [...solar.filter((c) => fits.has(c)), ...solar.filter((c) => !fits.has(c))];
    for (const charger of ordered) {
      const load = this.minLoad(charger);
      const room = capacity.fits(charger.setup.circuit, load.load, load.watts);
      const allocate = (state: ChargerActivity, reason: string): void => {
        capacity.take(charger.setup.circuit, load.load, load.watts);
        pot -= load.watts;
        fill.set(charger, item(charger, charger.setup.minA));
        targets.set(charger, { amps: charger.setup.minA, phases: charger.phases, state, reason });
      };
      if (fits.has(charger) && room) {
        charger.disableSince = undefined;
        if (!charger.enabled) {
          charger.enableSince ??= now;
          if (now - charger.enableSince >= cfg.enableDelayS * 1000) {
            charger.enabled = true;
            charger.runningSince = now;
            charger.enableSince = undefined;
          }
        }
        if (charger.enabled) allocate("charging", "solar surplus");
        else targets.set(charger, { amps: 0, phases: charger.phases, state: "waitingEnable", reason: "surplus above the minimum, waiting to start" });
        continue;
      }
      charger.enableSince = undefined;
      if (!charger.enabled) {
        targets.set(charger, { amps: 0, phases: charger.phases, state: "idle", reason: "waiting for solar surplus" });
        continue;
      }
      if (!room) {
        this.stop(charger);
        targets.set(charger, { amps: 0, phases: charger.phases, state: "idle", reason: "no fuse headroom for the minimum" });
        continue;
      }
      charger.disableSince ??= now;
      if (now - charger.disableSince >= cfg.disableDelayS * 1000) {
        this.stop(charger);
        targets.set(charger, { amps: 0, phases: charger.phases, state: "idle", reason: "not enough solar surplus" });
        continue;
      }
      allocate("waitingDisable", "surplus below the minimum, waiting to stop");
    }

    // (5) Share the rest of the surplus above the minimums: rebalances running sessions.
    const sharing = [...fill.entries()].filter(([c]) => this.effectiveMode(c) !== "now" && targets.get(c)?.state !== "waitingDisable");
    for (const [c] of fill) if (this.effectiveMode(c) === "minpv") targets.set(c, { amps: c.setup.minA, phases: c.phases, state: "charging", reason: "minimum + solar" });
    const before = sharing.reduce((sum, [, i]) => sum + i.amps * V * i.phases, 0);
    waterFill(sharing.map(([, i]) => i), Math.max(0, pot), capacity, cfg.fairness, V);
    pot -= sharing.reduce((sum, [, i]) => sum + i.amps * V * i.phases, 0) - before;
    for (const [charger, i] of fill) {
      const target = targets.get(charger) as Target;
      target.amps = Math.max(charger.setup.minA, Math.floor(i.amps / cfg.minStepA + 1e-9) * cfg.minStepA);
    }

    // (6) Phase switching for chargers that can.
    for (const charger of eligible) {
      if (!charger.setup.canSwitchPhases || sitePhases === 1) continue;
      const target = targets.get(charger) as Target;
      const availW = (fill.has(charger) ? target.amps * V * charger.phases : 0) + pot;
      this.phaseSwitch(charger, target, availW, now);
    }

    // (7) Shape and send.
    const commands: ChargerCommand[] = [];
    const views: Record<string, ChargerView> = {};
    for (const charger of all) {
      const target = targets.get(charger) as Target;
      const plan = charger.planView;
      if (plan && !target.reason.startsWith("plan")) target.reason = `${target.reason}; ${plan.text}`;
      const command = this.shape(charger, target, overloaded, now);
      if (command) commands.push(command);
      views[charger.setup.id] = this.view(charger, target);
    }
    const headroomA = grid.currentsA
      ? (grid.currentsA.map((a, p) => (p < sitePhases ? round1(cfg.fuseA - a) : 0)) as Phases3)
      : ([0, 1, 2].map((p) => (p < sitePhases ? round1(cfg.fuseA - grid.powerW / V / sitePhases) : 0)) as Phases3);
    return {
      time: now,
      failsafe: false,
      gridW: grid.powerW,
      pvW: this.pv?.powerW,
      batteryW: this.battery?.powerW,
      batterySoc: this.battery?.soc,
      surplusW: Math.round(surplusW),
      headroomA,
      solarToCarsW: Math.round(Math.max(0, Math.min(sumW, sumW - grid.powerW))),
      chargersW: Math.round(sumW),
      chargers: views,
      commands,
      nextAction: this.nextAction(),
      protection: {
        mode: cfg.protection,
        overloadS: verdict.overloadS,
        risk: verdict.risk,
        tolerating: verdict.tolerate && verdict.overloaded,
        cut: verdict.cutReason,
        raiseAfter: settled.raiseAfter,
      },
      cheap: this.cheap,
    };
  }

  private effectiveMode(charger: ChargerRuntime): ChargeMode {
    if (charger.planActive && charger.mode !== "off") return "now";
    if (this.cheap && (charger.mode === "pv" || charger.mode === "minpv")) return "now";
    return charger.mode;
  }

  private carConnected(charger: ChargerRuntime): boolean {
    const reading = charger.reading;
    if (!reading) return true; // no state input wired: the limit decides
    if (reading.connected !== undefined) return reading.connected;
    return reading.operationState === undefined || !OFF_STATES.has(reading.operationState);
  }

  /**
   * Decides whether a charger's plan must charge now, and says so in words.
   * Until then the charger follows its mode; what solar gives counts towards the target.
   */
  private evaluatePlan(charger: ChargerRuntime, now: number): void {
    const plan = charger.plan;
    charger.planActive = false;
    if (!plan) return;
    const cfg = this.config;
    const target = targetText(plan);
    const left = remainingWh(plan, charger.servedWh, charger.soc, charger.setup.batteryKWh);
    if (left !== undefined && left <= 0) {
      charger.plan = undefined;
      charger.planView = { text: `plan reached: ${target}`, by: plan.by, remainingKWh: 0, active: false, done: true };
      return;
    }
    if (now >= plan.by) {
      charger.plan = undefined;
      const short = left === undefined ? "" : `, ${planRound1(left / 1000)} kWh short`;
      charger.planView = { text: `plan ended at ${clockText(plan.by)}${short}`, by: plan.by, remainingKWh: left === undefined ? undefined : planRound1(left / 1000), active: false, done: true };
      return;
    }
    if (left === undefined) {
      const missing = charger.soc === undefined ? "the car's SoC" : "the car's battery size (batteryKWh)";
      charger.planView = { text: `plan: cannot plan ${target} without ${missing}; charging in ${charger.mode} mode`, by: plan.by, active: false, unplannable: true };
      return;
    }
    if (charger.mode === "off") {
      charger.planView = { text: `plan: ${target}, on hold while the mode is off`, by: plan.by, remainingKWh: planRound1(left / 1000), active: false };
      return;
    }
    // Full power of this charger: a switchable one charges a plan on all its phases.
    const phases = charger.setup.canSwitchPhases ? charger.setup.phases : this.loadPhases(charger);
    const fullW = charger.setup.maxA * cfg.voltageV * phases;
    const needMs = (left / fullW) * 3_600_000 * (1 + cfg.planMarginPct / 100);
    const windows = chooseWindows(now, plan.by, needMs, this.prices);
    const current = windows.find((w) => w.start <= now && now < w.end);
    if (plan.activeUntil !== undefined && now >= plan.activeUntil) plan.activeUntil = undefined;
    if (current && (plan.activeUntil === undefined || current.end > plan.activeUntil)) plan.activeUntil = current.end;
    const active = plan.activeUntil !== undefined;
    if (active) plan.startedAt ??= now;
    else plan.startedAt = undefined;
    const startsAt = active ? undefined : windows[0]?.start;
    const when = active ? `started ${clockText(plan.startedAt as number)}` : startsAt !== undefined ? `starts ${clockText(startsAt)}` : "";
    charger.planActive = active;
    charger.planView = { text: `plan: ${target}${when ? `, ${when}` : ""}`, by: plan.by, remainingKWh: planRound1(left / 1000), startsAt, active };
  }

  private stop(charger: ChargerRuntime): void {
    charger.enabled = false;
    charger.runningSince = charger.enableSince = charger.disableSince = undefined;
  }

  /** The phase currents a charger draws now; a 1-phase car also tells us which phase it loads. */
  private measure(charger: ChargerRuntime): { load: Phases3; watts: number } {
    const reading = charger.reading;
    const V = this.config.voltageV;
    if (!reading) return { load: [0, 0, 0], watts: 0 };
    const c = reading.currentA;
    if (c && (c.l1 !== undefined || c.l2 !== undefined || c.l3 !== undefined)) {
      const load: Phases3 = [Math.max(0, c.l1 ?? 0), Math.max(0, c.l2 ?? 0), Math.max(0, c.l3 ?? 0)];
      const active = load.filter((a) => a > 1).length;
      if (active === 1) charger.phase = load.indexOf(Math.max(...load)) as PhaseIndex;
      return { load, watts: reading.powerW ?? (load[0] + load[1] + load[2]) * V };
    }
    const watts = Math.max(0, reading.powerW ?? 0);
    const phases = this.loadPhases(charger);
    return { load: loadVector(watts / V / phases, phases, charger.phase), watts };
  }

  /** Phases the charger loads: a 1-phase car on a 3-phase wallbox loads one. */
  private loadPhases(charger: ChargerRuntime): PhaseCount {
    if (charger.phases === 1 || this.config.phases === 1) return 1;
    const reading = charger.reading;
    const c = reading?.currentA;
    if (c && [c.l1 ?? 0, c.l2 ?? 0, c.l3 ?? 0].filter((a) => a > 1).length === 1) return 1;
    if (reading?.phases === 1) return 1;
    return 3;
  }

  private minLoad(charger: ChargerRuntime): { load: Phases3; watts: number } {
    const phases = this.loadPhases(charger);
    return { load: loadVector(charger.setup.minA, phases, charger.phase), watts: charger.setup.minA * this.config.voltageV * phases };
  }

  /** Would the limits already sent overload a fuse? Then cuts may skip the command interval. */
  private commandedOverload(capacity: Capacity, measured: Map<ChargerRuntime, { load: Phases3; watts: number }>): boolean {
    const check = capacity.clone();
    for (const charger of this.chargers.values()) {
      const m = measured.get(charger) as { load: Phases3; watts: number };
      if (!charger.last || charger.last.amps === 0) {
        check.take(charger.setup.circuit, m.load, m.watts);
        continue;
      }
      const phases = this.loadPhases(charger);
      const load = loadVector(charger.last.amps, phases, charger.phase);
      for (let p = 0; p < 3; p++) load[p] = Math.max(load[p], m.load[p]);
      check.take(charger.setup.circuit, load, Math.max(m.watts, charger.last.amps * this.config.voltageV * phases));
    }
    return check.overloaded();
  }

  /** Rank for PV slots: priority, then the holder inside its rotation period, then least energy served. */
  private rank(a: ChargerRuntime, b: ChargerRuntime, now: number): number {
    if (a.priority !== b.priority) return b.priority - a.priority;
    const holds = (c: ChargerRuntime): number => (c.enabled && c.runningSince !== undefined && now - c.runningSince < this.config.rotationS * 1000 ? 0 : 1);
    const byHold = holds(a) - holds(b);
    if (byHold !== 0) return byHold;
    if (Math.abs(a.servedWh - b.servedWh) > 1) return a.servedWh - b.servedWh;
    return a.setup.id < b.setup.id ? -1 : 1;
  }

  private trackFollowing(charger: ChargerRuntime, m: { load: Phases3 }, now: number): void {
    const last = charger.last;
    const over = last !== undefined && Math.max(...m.load) > last.amps + this.config.followToleranceA;
    if (!over) {
      charger.overSince = undefined;
      charger.notFollowing = false;
      return;
    }
    charger.overSince ??= now;
    if (now - charger.overSince >= this.config.followAfterS * 1000) charger.notFollowing = true;
  }

  private phaseSwitch(charger: ChargerRuntime, target: Target, availW: number, now: number): void {
    const cfg = this.config;
    const V = cfg.voltageV;
    const min3W = charger.setup.minA * V * 3;
    const mode = this.effectiveMode(charger);
    const wantDown = mode !== "now" && availW < min3W - cfg.disableThresholdW;
    const wantUp = mode === "now" || availW >= min3W + cfg.enableThresholdW;
    const idleNow = !charger.last || charger.last.amps === 0;
    if (idleNow && !charger.enabled && target.amps === 0) {
      // Nothing flows: pick the phases freely, the next start uses them.
      if (charger.phases === 3 && wantDown) charger.phases = 1;
      else if (charger.phases === 1 && wantUp) charger.phases = 3;
      target.phases = charger.phases;
      charger.upSince = charger.downSince = undefined;
      return;
    }
    charger.downSince = charger.phases === 3 && wantDown ? (charger.downSince ?? now) : undefined;
    charger.upSince = charger.phases === 1 && wantUp ? (charger.upSince ?? now) : undefined;
    const dwellOk = charger.lastSwitchAt === undefined || now - charger.lastSwitchAt >= cfg.phaseDwellS * 1000;
    const intervalOk = !charger.last || now - charger.last.at >= cfg.commandIntervalS * 1000;
    if (!dwellOk || !intervalOk) return;
    let to: PhaseCount | undefined;
    if (charger.downSince !== undefined && now - charger.downSince >= cfg.disableDelayS * 1000) to = 1;
    if (charger.upSince !== undefined && now - charger.upSince >= cfg.enableDelayS * 1000) to = 3;
    if (to === undefined) return;
    charger.phases = to;
    charger.lastSwitchAt = now;
    charger.pauseUntil = now + cfg.phasePauseS * 1000;
    charger.upSince = charger.downSince = undefined;
    charger.disableSince = undefined;
    target.amps = 0;
    target.phases = to;
    target.state = "switchingPhases";
    target.reason = `switching to ${to} phase${to === 1 ? "" : "s"}`;
  }

  /** (7) Decrease at once, increase in steps, deadband, one command per interval. */
  private shape(charger: ChargerRuntime, target: Target, urgent: boolean, now: number): ChargerCommand | undefined {
    const cfg = this.config;
    const last = charger.last;
    let amps = target.amps;
    // Ramp from the last limit sent, or at first from what the charger offers or draws now.
    const c = charger.reading?.currentA;
    const from = last?.amps ?? charger.reading?.offeredA ?? (c ? Math.max(c.l1 ?? 0, c.l2 ?? 0, c.l3 ?? 0) : 0);
    if (amps > from) amps = Math.min(amps, Math.max(charger.setup.minA, Math.floor(from) + cfg.rampStepA));

    const phasesChanged = last !== undefined && target.phases !== last.phases;
    let refresh = false;
    if (last) {
      const sinceLast = now - last.at;
      if (amps === last.amps && !phasesChanged) {
        if (cfg.refreshS === 0 || sinceLast < cfg.refreshS * 1000) return undefined;
        refresh = true;
      } else if (!phasesChanged && amps !== 0 && last.amps !== 0 && Math.abs(amps - last.amps) < cfg.minStepA) {
        return undefined;
      }
      const cut = urgent && amps < last.amps;
      if (sinceLast < cfg.commandIntervalS * 1000 && !cut && !charger.modeChanged) return undefined;
    }
    charger.modeChanged = false;
    charger.last = { amps, phases: target.phases, at: now };
    const phases = target.phases;
    return {
      chargerId: charger.setup.id,
      amps,
      phases,
      watts: Math.round(amps * cfg.voltageV * phases),
      state: target.state,
      reason: target.reason,
      urgent: urgent && last !== undefined && amps < last.amps,
      refresh,
    };
  }

  private view(charger: ChargerRuntime, target: Target): ChargerView {
    const m = charger.reading?.currentA;
    const view: ChargerView = {
      mode: this.effectiveMode(charger),
      state: target.state,
      reason: target.reason,
      targetA: target.amps,
      limitA: charger.last?.amps ?? 0,
      phases: charger.last?.phases ?? target.phases,
      measuredA: m ? round1(Math.max(m.l1 ?? 0, m.l2 ?? 0, m.l3 ?? 0)) : 0,
      powerW: Math.round(charger.reading?.powerW ?? 0),
      notFollowing: charger.notFollowing,
    };
    if (charger.planView) view.plan = charger.planView;
    if (charger.soc !== undefined) view.soc = charger.soc;
    charger.view = view;
    return view;
  }

  private nextAction(): NextAction | undefined {
    const cfg = this.config;
    let next: NextAction | undefined;
    const consider = (chargerId: string, action: string, at: number | undefined): void => {
      if (at !== undefined && (!next || at < next.at)) next = { chargerId, action, at };
    };
    for (const c of this.chargers.values()) {
      const id = c.setup.id;
      if (c.enableSince !== undefined) consider(id, "start", c.enableSince + cfg.enableDelayS * 1000);
      if (c.disableSince !== undefined) consider(id, "stop", c.disableSince + cfg.disableDelayS * 1000);
      if (c.upSince !== undefined) consider(id, "switch to 3 phases", Math.max(c.upSince + cfg.enableDelayS * 1000, (c.lastSwitchAt ?? 0) + cfg.phaseDwellS * 1000));
      if (c.downSince !== undefined) consider(id, "switch to 1 phase", Math.max(c.downSince + cfg.disableDelayS * 1000, (c.lastSwitchAt ?? 0) + cfg.phaseDwellS * 1000));
      if (c.pauseUntil !== undefined) consider(id, "resume after phase switch", c.pauseUntil);
      if (c.planView && !c.planView.active && c.planView.startsAt !== undefined) consider(id, "plan starts", c.planView.startsAt);
    }
    return next;
  }

  private sumPower(): number {
    let sum = 0;
    for (const c of this.chargers.values()) sum += Math.max(0, c.reading?.powerW ?? 0);
    return Math.round(sum);
  }
}

export class UnknownChargerError extends Error {
  override readonly name = "UnknownChargerError";
  constructor(readonly chargerId: string) {
    super(`Charger "${chargerId}" is not in the site manager's list of chargers`);
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** "2 cars, 9.4 kW from solar, L2 headroom 3 A" */
export function statusText(decision: SiteDecision): string {
  if (decision.failsafe) return `failsafe: ${decision.failsafeReason ?? "meter stale"}`;
  if (decision.failsafeReason) return decision.failsafeReason;
  const views = Object.values(decision.chargers);
  const charging = views.filter((v) => v.state === "charging" || v.state === "waitingDisable").length;
  const parts = [`${charging} car${charging === 1 ? "" : "s"}`];
  if (decision.solarToCarsW > 0) parts.push(`${(decision.solarToCarsW / 1000).toFixed(1)} kW from solar`);
  else if (decision.surplusW !== undefined) parts.push(`surplus ${(decision.surplusW / 1000).toFixed(1)} kW`);
  if (decision.headroomA) {
    const h = decision.headroomA;
    const worst = h.slice(0, h.every((a, i) => i === 0 || a === 0) ? 1 : 3).reduce((best, a, i) => (a < h[best] ? i : best), 0);
    parts.push(`L${worst + 1} headroom ${Math.round(h[worst])} A`);
  }
  if (views.some((v) => v.notFollowing)) parts.push("a charger ignores its limit");
  const protection = decision.protection;
  if (protection?.cut) parts.unshift(`fuse: ${protection.cut}`);
  else if (protection?.tolerating) parts.push(`riding out ${protection.overloadS} s over the fuse`);
  else if (protection?.raiseAfter !== undefined) parts.push(`more after ${clockText(protection.raiseAfter)}`);
  return parts.join(", ");
}
