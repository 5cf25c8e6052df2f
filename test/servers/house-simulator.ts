/**
 * A house for `npm start` and the site manager's end-to-end tests: PV on a
 * (sped-up) day with passing clouds, a house load with a heat pump that
 * cycles and a cooker at noon, and three cars whose current follows the
 * limit the flow gives each charger. Over HTTP:
 *
 *   GET  /house        → [{topic: "pv", ...}, {topic: "charger/<id>", payload: <ChargerState>} ...,
 *                         {topic: "grid", payload: {powerW, currentsA, time}}], ready for ev-site-manager
 *                         (the grid meter last: it runs the algorithm, which then sees this sample's PV and cars)
 *   POST /limit/<id>   ← {amps, phases} (the site manager's limit message): the car follows it
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { HouseModel, cloudFactor, pvCurve, type Phases3, type SimCar } from "./house-model";

export interface HouseSimulatorOptions {
  port?: number;
  /** Simulated seconds per real second (default 12: a 14-hour day in 70 minutes). */
  speed?: number;
  /** Simulated clock at start, hours (default 9). */
  startHour?: number;
  pvPeakW?: number;
  /**
   * Real seconds a cloud (or a clear spell) lasts, whatever the speed (default 90). The day is sped up, but the site
   * manager's start and stop delays are real seconds: clouds passing every few real seconds would keep the cars in
   * PV mode from ever starting.
   */
  cloudSlotS?: number;
  /** Replace the PV curve or the house load (tests). */
  pvW?: (t: number) => number;
  houseA?: (t: number) => Phases3;
  cars?: SimCar[];
}

export interface HouseSimulator {
  url: string;
  port: number;
  model: HouseModel;
  /** Simulated seconds of the day now. */
  clock(): number;
  close(): Promise<void>;
}

export const DEFAULT_CARS: SimCar[] = [
  { id: "garage", carPhases: 3, phase: 0, carMaxA: 16, connected: true, limitA: 0, phases: 3 },
  { id: "driveway", carPhases: 1, phase: 1, carMaxA: 16, connected: true, limitA: 0, phases: 3 },
  { id: "carport", carPhases: 3, phase: 0, carMaxA: 16, connected: true, limitA: 0, phases: 3 },
];

/** Base load, a heat pump 10 minutes in every 40 (all phases), a cooker on L2 around noon. */
function houseLoad(t: number): Phases3 {
  const day = t % 86400;
  const heatPump = day % 2400 < 600 ? 7 : 0;
  const cooker = day > 11.5 * 3600 && day < 12.5 * 3600 ? 12 : 0;
  return [1.5 + heatPump, 1.2 + heatPump + cooker, 1.8 + heatPump];
}

export async function startHouseSimulator(options: HouseSimulatorOptions = {}): Promise<HouseSimulator> {
  const speed = options.speed ?? 12;
  const started = Date.now();
  const clock = (): number => (options.startHour ?? 9) * 3600 + ((Date.now() - started) / 1000) * speed;
  const clouds = cloudFactor(7);
  // cloudFactor() changes its factor every 240 s of its argument: give it real time stretched to one change per cloudSlotS.
  const cloudClock = (): number => ((Date.now() - started) / 1000) * (240 / (options.cloudSlotS ?? 90));
  const pvW = options.pvW ?? pvCurve(options.pvPeakW ?? 12_000, 6 * 3600, 20 * 3600, () => clouds(cloudClock()));
  const model = new HouseModel({ pvW, houseA: options.houseA ?? houseLoad }, (options.cars ?? DEFAULT_CARS).map((car) => ({ ...car })));

  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const url = req.url ?? "/";
    if (req.method === "GET" && url === "/house") {
      const sample = model.sample(clock());
      const time = new Date().toISOString();
      const messages: Array<{ topic: string; payload: unknown }> = [{ topic: "pv", payload: { powerW: sample.pvW } }];
      for (const [id, car] of Object.entries(sample.cars)) {
        const sim = model.cars.get(id) as SimCar;
        messages.push({
          topic: `charger/${id}`,
          payload: {
            source: "house-simulator",
            chargerId: id,
            operationState: !car.connected ? "idle" : car.powerW > 0 ? "charging" : "suspended",
            vehicleConnected: car.connected,
            powerW: car.powerW,
            currentA: { l1: car.currentA[0], l2: car.currentA[1], l3: car.currentA[2] },
            maxCurrentA: sim.limitA,
            samplingTime: time,
          },
        });
      }
      // Last: the grid sample runs the site manager's algorithm, which should see this sample's PV and cars.
      messages.push({ topic: "grid", payload: { powerW: sample.gridW, currentsA: sample.gridA, time } });
      reply(200, messages);
      return;
    }
    const limit = /^\/limit\/([^/?]+)$/.exec(url);
    if (req.method === "POST" && limit) {
      const car = model.cars.get(decodeURIComponent(limit[1]));
      if (!car) return reply(404, { error: `no car at charger ${limit[1]}` });
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
        if (body.length > 10_000) req.destroy();
      });
      req.on("end", () => {
        let parsed: { amps?: unknown; phases?: unknown; payload?: { amps?: unknown; phases?: unknown } };
        try {
          parsed = JSON.parse(body || "{}") as typeof parsed;
        } catch {
          return reply(400, { error: "body must be JSON {amps, phases}" });
        }
        const value = parsed.payload ?? parsed;
        if (typeof value.amps !== "number") return reply(400, { error: "amps must be a number" });
        car.limitA = value.amps;
        if (value.phases === 1 || value.phases === 3) car.phases = value.phases;
        reply(200, { id: car.id, limitA: car.limitA, phases: car.phases });
      });
      return;
    }
    reply(404, { error: "GET /house or POST /limit/<id>" });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    model,
    clock,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
