/**
 * A house on a three-phase grid connection: PV, house loads per phase and
 * cars that draw what their charger offers. It turns charger limits into the
 * grid meter's per-phase currents, for the site manager's trace tests and the
 * `npm start` house simulator.
 */
export type Phases3 = [number, number, number];

export interface SimCar {
  id: string;
  /** Phases the car itself can draw on (1 for a single-phase car). */
  carPhases: 1 | 3;
  /** Phase a single-phase car loads. */
  phase: 0 | 1 | 2;
  /** Most the car's on-board charger takes, A. */
  carMaxA: number;
  connected: boolean;
  /** Limit the charger applies, A; below 6 A the car does not charge. */
  limitA: number;
  /** Phases the charger offers. */
  phases: 1 | 3;
  /** A car (or charger) that draws this much whatever its limit says. */
  ignoresLimitA?: number;
}

export interface HouseOptions {
  voltageV?: number;
  /** PV output in W at a time in seconds. */
  pvW(t: number): number;
  /** House load per phase in A at a time in seconds (positive = import). */
  houseA(t: number): Phases3;
}

export interface HouseSample {
  gridW: number;
  gridA: Phases3;
  pvW: number;
  cars: Record<string, { currentA: Phases3; powerW: number; connected: boolean; phases: number }>;
}

export class HouseModel {
  readonly voltageV: number;
  readonly cars = new Map<string, SimCar>();

  constructor(private readonly options: HouseOptions, cars: SimCar[]) {
    this.voltageV = options.voltageV ?? 230;
    for (const car of cars) this.cars.set(car.id, { ...car });
  }

  /** What a car draws per phase with the limit its charger applies. */
  carCurrents(car: SimCar): Phases3 {
    const out: Phases3 = [0, 0, 0];
    if (!car.connected) return out;
    const amps = car.ignoresLimitA ?? (car.limitA >= 6 ? Math.min(car.limitA, car.carMaxA) : 0);
    if (car.carPhases === 1 || car.phases === 1) out[car.carPhases === 1 ? car.phase : 0] = amps;
    else out.fill(amps);
    return out;
  }

  sample(t: number): HouseSample {
    const V = this.voltageV;
    const pvW = Math.max(0, this.options.pvW(t));
    const house = this.options.houseA(t);
    const gridA: Phases3 = [0, 1, 2].map((p) => house[p] - pvW / V / 3) as Phases3;
    const cars: HouseSample["cars"] = {};
    for (const car of this.cars.values()) {
      const currentA = this.carCurrents(car);
      for (let p = 0; p < 3; p++) gridA[p] += currentA[p];
      cars[car.id] = {
        currentA,
        powerW: Math.round((currentA[0] + currentA[1] + currentA[2]) * V),
        connected: car.connected,
        phases: currentA.filter((a) => a > 0).length || car.phases,
      };
    }
    const gridW = Math.round(gridA.reduce((sum, a) => sum + a * V, 0));
    return { gridW, gridA: gridA.map((a) => Math.round(a * 100) / 100) as Phases3, pvW: Math.round(pvW), cars };
  }
}

/** A clear-sky PV bell between sunrise and sunset (seconds of the day), optionally with passing clouds. */
export function pvCurve(peakW: number, sunrise = 6 * 3600, sunset = 20 * 3600, clouds?: (t: number) => number): (t: number) => number {
  return (t) => {
    const day = ((t % 86400) + 86400) % 86400;
    if (day <= sunrise || day >= sunset) return 0;
    const clear = peakW * Math.sin((Math.PI * (day - sunrise)) / (sunset - sunrise)) ** 1.5;
    return clear * (clouds ? clouds(t) : 1);
  };
}

/** Deterministic clouds: a factor between 0.2 and 1 that changes every few minutes. */
export function cloudFactor(seed = 1): (t: number) => number {
  return (t) => {
    const slot = Math.floor(t / 240);
    const x = Math.sin(slot * 12.9898 + seed * 78.233) * 43758.5453;
    const r = x - Math.floor(x);
    return r < 0.35 ? 0.2 + r : 1 - r * 0.2;
  };
}
