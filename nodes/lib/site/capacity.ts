/**
 * What is left for the chargers under the site fuse and every circuit, per
 * phase. Each charger's load is a vector of three phase currents, so a
 * single-phase car on L2 uses only L2's headroom (evcc #29532: an overload on
 * L3 stopped a car on L1).
 */
import type { CircuitSetup, PhaseCount, PhaseIndex } from "./config";

export type Phases3 = [number, number, number];

export const ROOT = "\u0000site";

interface CapacityNode {
  parent?: string;
  remainingA: Phases3;
  remainingW: number;
}

/** The phase currents of a charger drawing `amps` on `phases` (a 1-phase load sits on `phase`). */
export function loadVector(amps: number, phases: PhaseCount, phase: PhaseIndex): Phases3 {
  if (phases === 3) return [amps, amps, amps];
  const load: Phases3 = [0, 0, 0];
  load[phase] = amps;
  return load;
}

export class Capacity {
  private readonly nodes = new Map<string, CapacityNode>();

  /**
   * @param rootA what the chargers may draw per phase under the main fuse
   * @param circuits the circuit tree; a circuit has no meter, so its limit is on the chargers alone
   */
  constructor(rootA: Phases3, circuits: CircuitSetup[], marginA: number, voltageV: number, sitePhases: PhaseCount) {
    this.nodes.set(ROOT, { remainingA: [...rootA] as Phases3, remainingW: Infinity });
    for (const circuit of circuits) {
      const perPhase = circuit.maxA === undefined ? Infinity : Math.max(0, circuit.maxA - marginA);
      const remainingA: Phases3 = sitePhases === 1 ? [perPhase, 0, 0] : [perPhase, perPhase, perPhase];
      const remainingW = circuit.maxW === undefined ? Infinity : Math.max(0, circuit.maxW - marginA * voltageV);
      this.nodes.set(circuit.id, { parent: circuit.parent || ROOT, remainingA, remainingW });
    }
  }

  clone(): Capacity {
    const copy = Object.create(Capacity.prototype) as Capacity;
    const nodes = new Map<string, CapacityNode>();
    for (const [id, node] of this.nodes) nodes.set(id, { parent: node.parent, remainingA: [...node.remainingA] as Phases3, remainingW: node.remainingW });
    (copy as unknown as { nodes: Map<string, CapacityNode> }).nodes = nodes;
    return copy;
  }

  /** Walks from a charger's circuit up to the main fuse. */
  private *path(circuit: string | undefined): Generator<CapacityNode> {
    let id: string | undefined = circuit ?? ROOT;
    while (id !== undefined) {
      const node = this.nodes.get(id);
      if (!node) return;
      yield node;
      id = node.parent;
    }
  }

  /** True when `load` (plus `watts`) fits under every limit on the way to the fuse. Tiny rounding is tolerated. */
  fits(circuit: string | undefined, load: Phases3, watts: number): boolean {
    for (const node of this.path(circuit)) {
      if (watts > node.remainingW + 1e-6) return false;
      for (let p = 0; p < 3; p++) if (load[p] > 0 && load[p] > node.remainingA[p] + 1e-6) return false;
    }
    return true;
  }

  take(circuit: string | undefined, load: Phases3, watts: number): void {
    for (const node of this.path(circuit)) {
      node.remainingW -= watts;
      for (let p = 0; p < 3; p++) node.remainingA[p] -= load[p];
    }
  }

  /** True when some limit is already below zero. */
  overloaded(): boolean {
    for (const node of this.nodes.values()) {
      if (node.remainingW < -1e-6 || node.remainingA.some((a) => a < -1e-6)) return true;
    }
    return false;
  }

  /** Per-phase headroom left at the main fuse. */
  rootA(): Phases3 {
    return [...(this.nodes.get(ROOT) as CapacityNode).remainingA] as Phases3;
  }
}
