/**
 * Shares a power budget and the per-phase headroom between chargers that
 * already hold their minimum, raising them in small steps: always the one
 * with the lowest level (equal), the lowest level per weight (weighted) or
 * the highest priority (priority). Because every call starts from the
 * minimums, running sessions are rebalanced each time (the evcc gap).
 */
import type { Capacity } from "./capacity";
import { loadVector } from "./capacity";
import type { Fairness, PhaseCount, PhaseIndex } from "./config";

export interface FillItem {
  id: string;
  circuit?: string;
  phases: PhaseCount;
  phase: PhaseIndex;
  /** Current level, A (the minimum when the fill starts). */
  amps: number;
  maxA: number;
  priority: number;
}

/** Resolution of the fill; outputs are rounded down to the minimum step afterwards. */
const STEP_A = 0.1;

/**
 * Raises `items` in place and returns the power budget left.
 * `capacity` is reduced by what was handed out.
 */
export function waterFill(items: FillItem[], budgetW: number, capacity: Capacity, fairness: Fairness, voltageV: number): number {
  let budget = budgetW;
  const blocked = new Set<string>();
  // Bounded: every round raises one item by STEP_A or blocks one.
  for (let guard = 0; guard < 100_000; guard++) {
    let pick: FillItem | undefined;
    for (const item of items) {
      if (blocked.has(item.id)) continue;
      if (item.amps + STEP_A > item.maxA + 1e-9) {
        blocked.add(item.id);
        continue;
      }
      if (!pick || before(item, pick, fairness)) pick = item;
    }
    if (!pick) break;
    const watts = STEP_A * voltageV * pick.phases;
    const load = loadVector(STEP_A, pick.phases, pick.phase);
    if (watts > budget + 1e-6 || !capacity.fits(pick.circuit, load, watts)) {
      blocked.add(pick.id);
      continue;
    }
    capacity.take(pick.circuit, load, watts);
    budget -= watts;
    pick.amps = Math.round((pick.amps + STEP_A) * 10) / 10;
  }
  return budget;
}

function before(a: FillItem, b: FillItem, fairness: Fairness): boolean {
  if (fairness === "priority" && a.priority !== b.priority) return a.priority > b.priority;
  const levelA = fairness === "weighted" ? a.amps / Math.max(a.priority, 1e-3) : a.amps;
  const levelB = fairness === "weighted" ? b.amps / Math.max(b.priority, 1e-3) : b.amps;
  if (Math.abs(levelA - levelB) > 1e-9) return levelA < levelB;
  return a.id < b.id;
}
