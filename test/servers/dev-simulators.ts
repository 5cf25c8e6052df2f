/**
 * What `npm start` runs before Node-RED so every example flow works offline:
 * the project's simulators and embedded engines, each on the fixed loopback
 * port the example flows point at. Add yours here:
 *
 *   { name: "Charge Amps cloud", port: 18081, start: (port) => startChargeAmpsSimulator({ port }) }
 *
 * A simulator whose port is taken is skipped with a message (e.g. a real
 * Mosquitto already on 1883 serves the examples just as well). Simulators
 * that connect to Node-RED (an OCPP charge point) set `afterNodeRed`.
 * Credentials for the examples' config nodes: dev-credentials.json.
 */
import net from "node:net";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { startChargeAmpsSimulator } from "./chargeamps-simulator";
import { startAvailabilityFeeds } from "./availability-feeds";
import { startAmtronSimulator } from "./amtron-simulator";
import { startInfluxSimulator } from "./influx-v2";
import { startChargePointSimulator } from "./ocpp-charge-point";
import { startOcpp201Simulator } from "./ocpp201-charge-point";
import { runDemoSessions } from "./ocpp-demo-sessions";
import fs from "node:fs";
import path from "node:path";
import { startHouseSimulator } from "./house-simulator";

export interface RunningSimulator {
  close(): Promise<void> | void;
}

export interface DevSimulator {
  name: string;
  /** The loopback port the example flows use (for afterNodeRed: the port it connects to). */
  port: number;
  /** Start once Node-RED runs the flows (it connects to a server in them) instead of before. */
  afterNodeRed?: boolean;
  start(port: number): Promise<RunningSimulator>;
}

/** An MQTT broker (aedes) on 127.0.0.1:port, for the examples that publish charger state. */
export async function startMqttBroker(port: number): Promise<RunningSimulator & { url: string }> {
  // aedes 1.x is ESM-only: a dynamic import works from CommonJS on every Node version.
  const { Aedes } = await import("aedes");
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

/**
 * PostgreSQL wire protocol on 127.0.0.1:port, backed by an in-memory PGlite
 * (no TimescaleDB extension: writers fall back to plain tables). Any user,
 * password and database name are accepted.
 */
export async function startPostgres(port: number): Promise<RunningSimulator & { url: string }> {
  const db = await PGlite.create();
  // pglite-socket mixes up the protocol messages of clients querying at the same time, so the
  // examples share one config node with a pool of one; 2 leaves room for a reconnect.
  const server = new PGLiteSocketServer({ db, port, host: "127.0.0.1", maxConnections: 2 });
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

/** The house simulator's clock from the environment; a value that is not a sensible number is refused in words. */
export function houseTimeLapse(env: NodeJS.ProcessEnv): { speed?: number; startHour?: number } {
  const read = (name: string, min: number, max: number): number | undefined => {
    const text = env[name]?.trim();
    if (!text) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${name} must be a number from ${min} to ${max}, got "${text}"`);
    return value;
  };
  return { speed: read("EV_HOUSE_SPEED", 0.1, 3600), startHour: read("EV_HOUSE_START_HOUR", 0, 24) };
}

export const devSimulators: DevSimulator[] = [
  { name: "MQTT broker (aedes)", port: 1883, start: startMqttBroker },
  { name: "PostgreSQL (PGlite)", port: 5432, start: startPostgres },
  { name: "InfluxDB v2 write API (org evkit, bucket ev)", port: 8086, start: (port) => startInfluxSimulator({ port, org: "evkit", buckets: ["ev", "evkit"] }) },
  // Only the dev credentials log in, so a wrong password shows "login refused" as with the real cloud.
  { name: "Charge Amps cloud simulator", port: 18081, start: (port) => startChargeAmpsSimulator({ port, credentials: JSON.parse(fs.readFileSync(path.join(__dirname, "dev-credentials.json"), "utf8"))["ev-chargeamps-account"] }) },
  { name: "AMTRON wallbox simulator", port: 18082, start: (port) => startAmtronSimulator({ port, charging: true }) },
  // dynamic: connector states drift over time, so the availability examples show changes.
  { name: "Availability feeds simulator", port: 18083, start: (port) => startAvailabilityFeeds({ port, dynamic: true }) },
  // PV, house load and three cars that follow their chargers' limits, for "Charge from solar and share the fuse".
  // Time-lapse: EV_HOUSE_SPEED simulated seconds per second (default 12), the day starting at EV_HOUSE_START_HOUR (default 9).
  { name: "House simulator (grid meter, PV, cars)", port: 18084, start: (port) => startHouseSimulator({ port, ...houseTimeLapse(process.env) }) },
  {
    name: "OCPP charge point 'garage' -> ws://127.0.0.1:9220/ocpp",
    port: 9220,
    afterNodeRed: true,
    // Sessions on a cycle (plug in, card, charge, stop, sometimes a fault), so the OCPP tabs show data.
    start: async (port) => {
      const cp = await startChargePointSimulator({ url: `ws://127.0.0.1:${port}/ocpp`, identity: "garage", reconnect: true });
      const demo = runDemoSessions(cp);
      return { close: () => demo.stop().then(() => cp.close()) };
    },
  },
  {
    name: "OCPP 2.0.1 charging station 'carport' -> ws://127.0.0.1:9220/ocpp",
    port: 9220,
    afterNodeRed: true,
    start: (port) => startOcpp201Simulator({ url: `ws://127.0.0.1:${port}/ocpp`, identity: "carport", reconnect: true }),
  },
];
