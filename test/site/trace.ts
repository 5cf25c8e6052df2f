/**
 * Runs the site manager against the house model, one meter sample per tick,
 * and records everything so tests can assert properties over the whole trace.
 */
import { normaliseConfig, type SiteConfigInput } from "../../nodes/lib/site/config";
import { SiteManager } from "../../nodes/lib/site/manager";
import type { ChargerCommand, SiteDecision } from "../../nodes/lib/site/types";
import { HouseModel, type HouseSample } from "../servers/house-model";

export interface TraceRow {
  t: number;
  sample: HouseSample;
  /** Whether the meter sample reached the manager. */
  meterSent: boolean;
  decision: SiteDecision;
}

export interface TraceOptions {
  fromS?: number;
  durationS: number;
  tickS?: number;
  /** False while the meter is silent. */
  meterAlive?: (t: number) => boolean;
  /** Called before each tick, to plug cars in or change modes. */
  before?: (t: number, house: HouseModel, manager: SiteManager) => void;
}

export function runTrace(input: SiteConfigInput, house: HouseModel, options: TraceOptions): { rows: TraceRow[]; manager: SiteManager } {
  const manager = new SiteManager(normaliseConfig(input));
  const tick = options.tickS ?? 5;
  const rows: TraceRow[] = [];
  const from = options.fromS ?? 0;
  for (let t = from; t <= from + options.durationS; t += tick) {
    options.before?.(t, house, manager);
    const sample = house.sample(t);
    const now = t * 1000;
    const meterSent = options.meterAlive ? options.meterAlive(t) : true;
    if (meterSent) manager.setGrid({ time: now, powerW: sample.gridW, currentsA: sample.gridA });
    manager.setPv(sample.pvW);
    for (const [id, car] of Object.entries(sample.cars)) {
      if (!manager.hasCharger(id)) continue;
      manager.setReading(id, {
        time: now,
        powerW: car.powerW,
        currentA: { l1: car.currentA[0], l2: car.currentA[1], l3: car.currentA[2] },
        connected: car.connected,
      });
    }
    const decision = manager.update(now);
    for (const command of decision.commands) {
      const car = house.cars.get(command.chargerId);
      if (!car) continue;
      car.limitA = command.amps;
      car.phases = command.phases;
    }
    rows.push({ t, sample, meterSent, decision });
  }
  return { rows, manager };
}

export function commandsOf(rows: TraceRow[], id: string): Array<ChargerCommand & { t: number }> {
  return rows.flatMap((row) => row.decision.commands.filter((c) => c.chargerId === id).map((c) => ({ ...c, t: row.t })));
}

/** Every pair of commands to one charger is at least `intervalS` apart, cuts for the fuse or failsafe excepted. */
export function assertRateLimited(rows: TraceRow[], ids: string[], intervalS: number): void {
  for (const id of ids) {
    const commands = commandsOf(rows, id);
    for (let i = 1; i < commands.length; i++) {
      if (commands[i].urgent) continue;
      const gap = commands[i].t - commands[i - 1].t;
      if (gap < intervalS) throw new Error(`${id}: commands at ${commands[i - 1].t}s and ${commands[i].t}s are ${gap}s apart (< ${intervalS}s)`);
    }
  }
}

/** No phase above the fuse (plus tolerance) for longer than `maxS` in a row. */
export function assertFuseHeld(rows: TraceRow[], fuseA: number, toleranceA: number, maxS: number): void {
  let overSince: number | undefined;
  for (const row of rows) {
    const worst = Math.max(...row.sample.gridA.map(Math.abs));
    if (worst > fuseA + toleranceA) {
      overSince ??= row.t;
      if (row.t - overSince > maxS) throw new Error(`fuse exceeded from ${overSince}s to ${row.t}s (${worst} A > ${fuseA} A)`);
    } else overSince = undefined;
  }
}

/** A charger's state history as runs: [state, from, to]. */
export function stateRuns(rows: TraceRow[], id: string): Array<{ state: string; from: number; to: number }> {
  const runs: Array<{ state: string; from: number; to: number }> = [];
  for (const row of rows) {
    const state = row.decision.chargers[id]?.state ?? "none";
    const lastRun = runs[runs.length - 1];
    if (lastRun && lastRun.state === state) lastRun.to = row.t;
    else runs.push({ state, from: row.t, to: row.t });
  }
  return runs;
}
