/**
 * A Mennekes AMTRON wallbox speaking MHCP 1.0 over plain HTTP, following the
 * contract in shared/docs/vendor-apis.md §2: GET/POST /MHCP/1.0/ChargeData,
 * GET/POST /MHCP/1.0/DevInfo, POST /MHCP/1.0/HomeManager, DevKey as a query
 * parameter (403 on reads, 401 wrong / 400 missing on writes), Content-Type
 * required on writes, null = unchanged. Like the real unit it answers 200 to
 * writes it then ignores (a current outside app control mode, a pause with no
 * car), which is what read-back confirmation is for.
 *
 * Used by the tests and by `npm start` (port 18082, dev DevKey "1234").
 * No test-framework imports here.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export const DEV_DEVKEY = "1234";
export const DEV_PORT = 18082;

type Doc = Record<string, unknown>;

export interface AmtronSimulatorOptions {
  port?: number;
  host?: string;
  /** The wallbox's PIN1 ("APP-Pin"); default "1234". */
  devKey?: string;
  /** Start with a car plugged in and charging (default false: no car). */
  charging?: boolean;
  /** Phases of the installation (default 3). */
  phases?: number;
  /** Let session energy grow with time while charging (default false, so tests see fixed values). */
  live?: boolean;
  chargeData?: Doc;
  devInfo?: Doc;
}

export interface AmtronSimulatorFaults {
  /** Drop every connection without an answer. */
  reset: boolean;
  /** Delay before each answer, ms. */
  delayMs: number;
  /** "json": broken JSON; "types": ActPwr as text; "html": an HTML page; "array": a JSON list; "huge": 2 MB of JSON. */
  malformed: false | "json" | "types" | "html" | "array" | "huge";
  /** Answer 200 to writes but change nothing. */
  ignoreWrites: boolean;
  /** Answer every request with this HTTP status. */
  status?: number;
  /** ChargeData fields sent as null (as some firmware does for "not measured"). */
  nulls?: string[];
}

export interface RecordedRequest {
  method: string;
  resource: string;
  devKey: string | null;
  accept?: string;
  contentType?: string;
  body?: unknown;
  status: number;
}

export interface AmtronSimulatorState {
  devKey: string;
  chargeData: Doc;
  devInfo: Doc;
  faults: AmtronSimulatorFaults;
  requests: RecordedRequest[];
  /** Most requests ever handled at the same time (the real unit wants 1). */
  maxInFlight: number;
  /** Writes with Permanent: true (each one wears the wallbox's flash). */
  permanentWrites: number;
}

export interface AmtronSimulator {
  url: string;
  port: number;
  state: AmtronSimulatorState;
  plugIn(): void;
  unplug(): void;
  /** Stop listening (connections are refused) until goOnline(). */
  goOffline(): Promise<void>;
  goOnline(): Promise<void>;
  close(): Promise<void>;
}

const VOLTAGE = 230;

function defaultChargeData(): Doc {
  return {
    ChgState: "Idle", Tariff: "T1", Price: 270, Uid: "", ChgDuration: 0, ChgNrg: 0, NrgDemand: 0, Solar: 0,
    EmTime: 1440, RemTime: 1440, ActPwr: 0, ActCurr: 16, MaxCurrT1: 16, BeginH_T1: 4, BeginM_T1: 30, PriceT1: 270,
    MaxCurrT2: 0, BeginH_T2: 22, BeginM_T2: 0, PriceT2: 200, RemoteCurr: 16, SolarPrice: 0, ExcessNrg: true,
    TMaxCurrT1: 16, TBeginH_T1: 4, TBeginM_T1: 30, TPriceT1: 270, TMaxCurrT2: 0, TBeginH_T2: 22, TBeginM_T2: 0,
    TPriceT2: 200, TRemoteCurr: 16, TSolarPrice: 0, TExcessNrg: true, HCCP: "A11",
  };
}

function defaultDevInfo(phases: number): Doc {
  return {
    DevName: "Simulated AMTRON", LocTime: Math.floor(Date.now() / 1000), Summer: false, Tz: 60, ItemNo: "1344201",
    Sn: 420101388, Hcc3: "HCC3 V1.13", Hmi: "SW:1.8 HW:0x3 SN:0xa", Rfid: null, Wifi: "BA 1.1.9", FixedVehCosts: 0,
    OldVehCosts: 0, Color: 0, DevMode: "Time", ChgState: "Idle", WifiOn: true, AutoChg: true, ChgContinue: true, Err: 0,
    Battery: 50000, Phases: phases, Cable: true, Auth: false, DsoEnabled: false, EmEnabled: false, MaxCurr: 16,
    MaxPwr: phases * 16 * VOLTAGE, MaxCurrWb: 16,
  };
}

const RESOURCES = new Set(["ChargeData", "DevInfo", "HomeManager"]);

export async function startAmtronSimulator(options: AmtronSimulatorOptions = {}): Promise<AmtronSimulator> {
  const host = options.host ?? "127.0.0.1";
  const phases = options.phases ?? 3;
  const state: AmtronSimulatorState = {
    devKey: options.devKey ?? DEV_DEVKEY,
    chargeData: { ...defaultChargeData(), ...options.chargeData },
    devInfo: { ...defaultDevInfo(phases), ...options.devInfo },
    faults: { reset: false, delayMs: 0, malformed: false, ignoreWrites: false },
    requests: [],
    maxInFlight: 0,
    permanentWrites: 0,
  };
  let inFlight = 0;
  let lastTick = Date.now();
  const sockets = new Set<Socket>();
  // Pending "slow" answers end with the server, so a closed simulator keeps no timer alive.
  const delays = new Set<() => void>();
  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        delays.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      delays.add(done);
    });

  const num = (field: string, doc: Doc = state.chargeData): number => (typeof doc[field] === "number" ? (doc[field] as number) : 0);
  const carPresent = (): boolean => state.chargeData.ChgState !== "Idle";

  /** Power follows the current limit while charging; energy grows with time when live. */
  function settle(): void {
    const cd = state.chargeData;
    const now = Date.now();
    const charging = cd.ChgState === "Charging";
    cd.ActPwr = charging ? Math.round(num("ActCurr") * VOLTAGE * num("Phases", state.devInfo)) : 0;
    if (options.live && charging) {
      const hours = (now - lastTick) / 3_600_000;
      cd.ChgNrg = Math.round(num("ChgNrg") + num("ActPwr") * hours);
      cd.ChgDuration = num("ChgDuration") + Math.round((now - lastTick) / 1000);
    }
    lastTick = now;
    cd.HCCP = cd.ChgState === "Idle" ? "A11" : charging ? "C2" : "B1";
    state.devInfo.ChgState = cd.ChgState;
    state.devInfo.LocTime = Math.floor(now / 1000);
  }

  function maxCurrent(): number {
    const limits = [num("MaxCurrWb", state.devInfo), num("MaxCurr", state.devInfo)].filter((v) => v > 0);
    return limits.length ? Math.min(...limits) : 32;
  }

  function applyChargeData(body: Doc): number {
    if (typeof body.Permanent !== "boolean") return 400;
    if (body.Permanent) state.permanentWrites++;
    if (state.faults.ignoreWrites) return 200;
    const cd = state.chargeData;
    const current = body.RemoteCurr;
    if (current !== null && current !== undefined) {
      if (typeof current !== "number") return 400;
      const min = num("Phases", state.devInfo) >= 3 ? 6 : 0;
      // Outside app control, or out of range, the unit keeps its value without complaint.
      if (state.devInfo.DevMode === "Remote" && current >= min && current <= maxCurrent()) {
        cd.RemoteCurr = current;
        cd.TRemoteCurr = current;
        cd.ActCurr = current;
      }
    }
    if (typeof body.AutoChg === "boolean") state.devInfo.AutoChg = body.AutoChg;
    switch (body.ChgState) {
      case "Pause":
        if (cd.ChgState === "Charging" || cd.ChgState === "StandbyConnect") cd.ChgState = "Paused";
        break;
      case "Continue":
        if (cd.ChgState === "Paused") cd.ChgState = "Charging";
        break;
      case "Start":
        if (carPresent() && body.Uid === "00000000") cd.ChgState = "Charging";
        break;
      case "Terminate":
        if (carPresent()) cd.ChgState = "Terminated";
        break;
      case null:
      case undefined:
        break;
      default:
        return 400;
    }
    return 200;
  }

  function applyDevInfo(body: Doc): number {
    if (state.faults.ignoreWrites) return 200;
    if (body.DevMode !== null && body.DevMode !== undefined) {
      if (!["Remote", "HomeManager", "Time"].includes(String(body.DevMode))) return 400;
      state.devInfo.DevMode = body.DevMode;
    }
    for (const field of ["DevName", "LocTime", "Summer", "Tz", "FixedVehCosts", "OldVehCosts", "Battery"]) {
      if (body[field] !== null && body[field] !== undefined) state.devInfo[field] = body[field];
    }
    return 200;
  }

  function applyHomeManager(body: Doc): number {
    if (typeof body.Permanent !== "boolean") return 400;
    if (body.Permanent) state.permanentWrites++;
    if (state.faults.ignoreWrites) return 200;
    const cd = state.chargeData;
    if (typeof body.NrgDemand === "number") cd.NrgDemand = body.NrgDemand;
    if (typeof body.RemTime === "number") {
      cd.EmTime = body.RemTime;
      cd.RemTime = body.RemTime;
    }
    if (typeof body.ExcessNrg === "boolean") cd.ExcessNrg = cd.TExcessNrg = body.ExcessNrg;
    if (typeof body.SolarPrice === "number") cd.SolarPrice = cd.TSolarPrice = body.SolarPrice;
    return 200;
  }

  function malformedBody(doc: Doc): { type: string; text: string } {
    switch (state.faults.malformed) {
      case "json":
        return { type: "application/json", text: '{"ChgState":"Idle","ActPwr":' };
      case "types":
        return { type: "application/json", text: JSON.stringify({ ...doc, ActPwr: "lots", HCCP: 7 }) };
      case "html":
        return { type: "text/html", text: "<html><body>Service unavailable</body></html>" };
      case "array":
        return { type: "application/json", text: "[]" };
      case "huge":
        return { type: "application/json", text: JSON.stringify({ ...doc, Padding: "x".repeat(2 * 1024 * 1024) }) };
      default:
        return { type: "application/json", text: JSON.stringify(doc) };
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://wallbox");
    const match = /^\/MHCP\/1\.0\/([A-Za-z]+)$/.exec(url.pathname);
    const resource = match?.[1] ?? url.pathname;
    const devKey = url.searchParams.get("DevKey");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      resource,
      devKey,
      accept: req.headers.accept,
      contentType: req.headers["content-type"],
      status: 200,
    };
    state.requests.push(record);
    if (state.faults.delayMs > 0) await delay(state.faults.delayMs);
    const send = (status: number, text = "", type = "text/plain"): void => {
      record.status = status;
      if (res.destroyed) return;
      res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (state.faults.status) return send(state.faults.status, "Internal error");
    if (!match || !RESOURCES.has(resource)) return send(404, "Not found");
    const isRead = req.method === "GET";
    if (isRead) {
      if (devKey !== state.devKey) return send(403);
      if (resource === "HomeManager") return send(405);
      settle();
      const nulls = resource === "ChargeData" && state.faults.nulls ? Object.fromEntries(state.faults.nulls.map((f) => [f, null])) : {};
      const { type, text } = malformedBody(resource === "ChargeData" ? { ...state.chargeData, ...nulls } : state.devInfo);
      return send(200, text, type);
    }
    if (req.method !== "POST") return send(405);
    if (devKey === null || devKey === "") return send(400, "DevKey missing");
    if (devKey !== state.devKey) return send(401);
    // Like the Whitelist endpoint of the real unit: no JSON content type, no service.
    if (!String(req.headers["content-type"] ?? "").includes("application/json")) return send(500, "Unsupported media type");
    let body: Doc;
    try {
      body = JSON.parse(raw) as Doc;
    } catch {
      return send(400, "Bad JSON");
    }
    record.body = body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) return send(400, "Bad JSON");
    settle();
    const status = resource === "ChargeData" ? applyChargeData(body) : resource === "DevInfo" ? applyDevInfo(body) : applyHomeManager(body);
    settle();
    return send(status);
  }

  const server = http.createServer((req, res) => {
    if (state.faults.reset) {
      req.socket.destroy();
      return;
    }
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    res.on("close", () => inFlight--);
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      for (const done of [...delays]) done();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });

  await listen(options.port ?? 0);
  const port = (server.address() as AddressInfo).port;

  const sim: AmtronSimulator = {
    url: `http://${host}:${port}`,
    port,
    state,
    plugIn() {
      state.chargeData.ChgState = state.devInfo.AutoChg ? "Charging" : "StandbyAuthorize";
      settle();
    },
    unplug() {
      state.chargeData.ChgState = "Idle";
      state.chargeData.ChgNrg = 0;
      state.chargeData.ChgDuration = 0;
      settle();
    },
    async goOffline() {
      await stop();
      // Let clients see their kept-alive sockets close, so the next request meets a refused connection.
      await new Promise((resolve) => setTimeout(resolve, 50));
    },
    goOnline: () => listen(port),
    close: stop,
  };
  if (options.charging) sim.plugIn();
  else settle();
  return sim;
}

/**
 * For `npm start` (test/servers/dev-simulators.ts): a charging car whose
 * energy grows, on 127.0.0.1:18082, DevKey "1234" (type it into the node's
 * DevKey field, or give npm start's dev credentials { "ev-amtron": { devKey: DEV_DEVKEY } }).
 */
export const amtronDevSimulator = {
  name: "AMTRON wallbox simulator (MHCP)",
  port: DEV_PORT,
  start: (port: number): Promise<AmtronSimulator> => startAmtronSimulator({ port, devKey: DEV_DEVKEY, charging: true, live: true }),
};

/** `node --import tsx test/servers/amtron-simulator.ts` runs the dev wallbox on 127.0.0.1:18082 with DevKey 1234. */
if (require.main === module) {
  startAmtronSimulator({ port: DEV_PORT, devKey: DEV_DEVKEY, charging: true, live: true }).then(
    (sim) => console.log(`AMTRON simulator on ${sim.url} (DevKey ${DEV_DEVKEY})`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
