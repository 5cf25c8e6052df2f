/**
 * A Charge Amps cloud (external API v5) over real HTTP, following the
 * vendor's OpenAPI description: the same paths, verbs, headers (`apiKey` on
 * login, `Authorization: Bearer <JWT>` elsewhere), status codes and bodies.
 * Tokens are JWT-shaped with an `exp` we control; refresh tokens rotate.
 * Behind it sits a simulated garage: an Aura with two connectors whose
 * status, currents and session energy follow the settings written to it, and
 * a read-only Halo. Faults can be injected for the next N requests.
 *
 * No test-framework imports: it is also the simulator for `npm start`
 * (`node --import tsx test/servers/chargeamps-simulator.ts [port]`).
 */
import http from "node:http";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";

export interface SimCredentials {
  email: string;
  password: string;
  apiKey: string;
}

export interface ChargeAmpsSimulatorOptions {
  port?: number;
  host?: string;
  /** When given, only these are accepted; otherwise (dev mode) any non-empty credentials are. */
  credentials?: SimCredentials;
  /** Lifetime of issued JWTs in seconds (default 3600). */
  tokenLifetimeSec?: number;
  /** How long a reboot keeps the charge point Offline (default 5000 ms). */
  rebootMs?: number;
}

export type FaultKind = "429" | "500" | "502" | "503" | "malformed" | "slow" | "401";

export interface Fault {
  kind: FaultKind;
  /** How many matching requests get this fault (default 1). */
  count?: number;
  /** For 429: the Retry-After header in seconds (omitted when undefined). */
  retryAfterSec?: number;
  /** For 429: the Retry-After header as given (e.g. an HTTP date); wins over retryAfterSec. */
  retryAfter?: string;
  /** For "slow": how long to wait before answering normally (default 5000 ms). */
  delayMs?: number;
  /** Only requests whose path contains this; by default every path except /auth/. */
  pathContains?: string;
}

export interface SimConnector {
  connectorId: number;
  type: "Charger" | "Schuko";
  maxCurrent: number | null;
  rfidLock: boolean;
  mode: "Off" | "On" | "Schedule";
  cableLock: boolean;
  /** A car is plugged in. */
  plugged: boolean;
  /** Charging was allowed by a remote start (matters when rfidLock is on). */
  authorized: boolean;
  /** A remote stop paused charging until the next remote start. */
  stopped: boolean;
  sessionType: "OnePhase" | "ThreePhase" | "Schuko";
  sessionId: number | null;
  sessionStart: number | null;
  /** kWh delivered in the current session before `energySince`. */
  energyKwh: number;
  energySince: number;
  /** When set, reported as-is instead of the derived status (e.g. a numeric code). */
  statusOverride?: string | number | null;
}

export interface SimChargePoint {
  id: string;
  name: string;
  password: string;
  type: string;
  firmwareVersion: string;
  hardwareVersion: string;
  ownerReadOnly: boolean;
  ocppVersion: string | null;
  dimmer: "Off" | "Low" | "Medium" | "High";
  downLight: boolean;
  maxCurrent: number | null;
  installationCurrent: number;
  offlineUntil: number;
  connectors: SimConnector[];
}

export interface SimSession {
  id: number;
  chargePointId: string;
  connectorId: number;
  sessionType: "OnePhase" | "ThreePhase" | "Schuko";
  startTime: string;
  endTime: string | null;
  totalConsumptionKwh: number;
}

export interface SimRequest {
  method: string;
  path: string;
  apiKey?: string;
  authorization?: string;
  status: number;
  body?: unknown;
  /** ms since the epoch when the answer was sent. */
  at: number;
}

export interface SimState {
  chargePoints: SimChargePoint[];
  sessions: SimSession[];
  requests: SimRequest[];
  faults: Fault[];
  logins: number;
  refreshes: number;
  tokenLifetimeSec: number;
  /** Refuse every refresh with 400 (the client must then log in). */
  rejectRefresh: boolean;
}

export interface ChargeAmpsSimulator {
  url: string;
  port: number;
  state: SimState;
  close(): Promise<void>;
  injectFault(fault: Fault): void;
  /** Makes every issued token invalid at once, as if the server had expired them early. */
  revokeTokens(): void;
  plug(chargePointId: string, connectorId: number): void;
  unplug(chargePointId: string, connectorId: number): void;
  chargePoint(id: string): SimChargePoint;
  /** Signs a JWT-shaped token with the given expiry (seconds since the epoch). */
  makeToken(expSec: number): string;
}

export const AURA_ID = "2012000000A1";
export const HALO_ID = "2016000000B2";
const USER_ID = "00000000-0000-0000-0000-000000000001";
const PHASE_VOLTAGES = [230.4, 231.1, 229.8];

export async function startChargeAmpsSimulator(options: ChargeAmpsSimulatorOptions = {}): Promise<ChargeAmpsSimulator> {
  const now = Date.now();
  const state: SimState = {
    chargePoints: [defaultAura(now), defaultHalo(now)],
    sessions: [
      { id: 1001, chargePointId: AURA_ID, connectorId: 1, sessionType: "ThreePhase", startTime: iso(now - 26 * 3600_000), endTime: iso(now - 22 * 3600_000), totalConsumptionKwh: 31.402 },
      { id: 1002, chargePointId: AURA_ID, connectorId: 2, sessionType: "OnePhase", startTime: iso(now - 5 * 3600_000), endTime: iso(now - 3 * 3600_000), totalConsumptionKwh: 7.25 },
    ],
    requests: [],
    faults: [],
    logins: 0,
    refreshes: 0,
    tokenLifetimeSec: options.tokenLifetimeSec ?? 3600,
    rejectRefresh: false,
  };
  let nextSessionId = 2001;
  const tokens = new Map<string, number>(); // token -> exp (ms)
  const refreshTokens = new Map<string, string>(); // refresh token -> token it belongs to
  const sockets = new Set<import("node:net").Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const rebootMs = options.rebootMs ?? 5000;

  function makeToken(expSec: number): string {
    const header = b64({ alg: "HS256", typ: "JWT" });
    const payload = b64({ sub: USER_ID, iat: Math.floor(Date.now() / 1000), exp: expSec, jti: randomBytes(6).toString("hex") });
    return `${header}.${payload}.${randomBytes(16).toString("base64url")}`;
  }

  function issue(): { token: string; refreshToken: string } {
    const exp = Math.floor(Date.now() / 1000) + state.tokenLifetimeSec;
    const token = makeToken(exp);
    tokens.set(token, exp * 1000);
    const refreshToken = randomBytes(16).toString("hex");
    refreshTokens.set(refreshToken, token);
    return { token, refreshToken };
  }

  function credentialsOk(email: unknown, password: unknown, apiKey: unknown): boolean {
    if (typeof email !== "string" || typeof password !== "string" || typeof apiKey !== "string") return false;
    if (!options.credentials) return email !== "" && password !== "" && apiKey !== "";
    const c = options.credentials;
    return email === c.email && password === c.password && apiKey === c.apiKey;
  }

  function bearerOk(auth: string | undefined): boolean {
    const match = /^Bearer (.+)$/.exec(auth ?? "");
    if (!match) return false;
    const exp = tokens.get(match[1]);
    return exp !== undefined && Date.now() < exp;
  }

  function findCp(id: string): SimChargePoint | undefined {
    return state.chargePoints.find((cp) => cp.id === id);
  }

  function takeFault(path: string): Fault | undefined {
    const index = state.faults.findIndex((f) =>
      f.pathContains !== undefined ? path.includes(f.pathContains) : !path.includes("/auth/"),
    );
    if (index < 0) return undefined;
    const fault = state.faults[index];
    const left = (fault.count ?? 1) - 1;
    if (left <= 0) state.faults.splice(index, 1);
    else fault.count = left;
    return fault;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, res, Buffer.concat(chunks).toString("utf8")).catch(() => {
        if (!res.headersSent) send(res, 500, "text/plain", "Internal Server Error");
      });
    });
  });

  const record = (req: http.IncomingMessage, path: string, status: number, body?: unknown): void => {
    state.requests.push({
      method: req.method ?? "",
      path,
      apiKey: header(req, "apikey"),
      authorization: header(req, "authorization"),
      status,
      body,
      at: Date.now(),
    });
    // A simulator left running under `npm start` must not grow without bound.
    if (state.requests.length > 5000) state.requests.splice(0, state.requests.length - 5000);
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sim");
    const path = url.pathname;
    const method = req.method ?? "GET";
    let body: unknown;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        record(req, path, 400);
        return send(res, 400, "application/json", JSON.stringify({ error: "Request body is not valid JSON", messageCode: "InvalidJson" }));
      }
    }
    const reply = (status: number, payload?: unknown, type = "application/json"): void => {
      record(req, path, status, body);
      if (payload === undefined) return send(res, status, "application/octet-stream", "");
      send(res, status, type, typeof payload === "string" ? payload : JSON.stringify(payload));
    };

    const fault = takeFault(path);
    if (fault) {
      switch (fault.kind) {
        case "429":
          record(req, path, 429, body);
          res.writeHead(429, { "Content-Type": "text/plain", ...(fault.retryAfter !== undefined ? { "Retry-After": fault.retryAfter } : fault.retryAfterSec !== undefined ? { "Retry-After": String(fault.retryAfterSec) } : {}) });
          res.end("Too Many Requests");
          return;
        case "500":
        case "502":
        case "503":
          return reply(Number(fault.kind), "Internal error", "text/plain");
        case "401":
          return reply(401, "Unauthorized", "text/plain");
        case "malformed":
          return reply(200, '{"id": "' + AURA_ID + '", "status": Onl', "application/json");
        case "slow":
          await delay(fault.delayMs ?? 5000, timers);
          break;
      }
    }

    const p = path.replace(/^\/api\/v5/i, "");
    if (p === path) return reply(404, "Not Found", "text/plain");

    // --- auth ---
    if (method === "POST" && /^\/auth\/login$/i.test(p)) {
      const b = (body ?? {}) as { email?: unknown; password?: unknown };
      if (!credentialsOk(b.email, b.password, header(req, "apikey"))) return reply(401, "Unauthorized", "text/plain");
      state.logins++;
      const { token, refreshToken } = issue();
      return reply(200, {
        message: null,
        token,
        refreshToken,
        user: { id: USER_ID, firstName: "Ada", lastName: "Lovelace", email: b.email, mobile: null, rfidTags: [{ active: true, rfid: "04A1B2C3", rfidDec: "77705923", rfidDecReverse: "3283263748" }], userStatus: "Valid" },
      });
    }
    if (method === "POST" && /^\/auth\/refreshtoken$/i.test(p)) {
      const b = (body ?? {}) as { token?: unknown; refreshToken?: unknown };
      const owner = typeof b.refreshToken === "string" ? refreshTokens.get(b.refreshToken) : undefined;
      if (state.rejectRefresh || owner === undefined || owner !== b.token) {
        return reply(400, { error: "Invalid token or refresh token", messageCode: "InvalidRefreshToken" });
      }
      refreshTokens.delete(b.refreshToken as string);
      tokens.delete(owner);
      state.refreshes++;
      return reply(200, issue());
    }

    if (!bearerOk(header(req, "authorization"))) return reply(401, "Unauthorized", "text/plain");

    // --- charge points ---
    if (method === "GET" && p === "/chargepoints/owned") return reply(200, state.chargePoints.map((cp) => chargePointView(cp, false)));

    const m = /^\/chargepoints\/([^/]+)(\/.*)?$/.exec(p);
    if (!m) return reply(404, "Not Found", "text/plain");
    const cp = findCp(decodeURIComponent(m[1]));
    if (!cp) return reply(404, "Charge point not found", "text/plain");
    const rest = m[2] ?? "";
    const write = method !== "GET";
    if (write && cp.ownerReadOnly) return reply(403, "Forbidden: read-only access to this charge point", "text/plain");

    if (method === "GET" && rest === "") return reply(200, chargePointView(cp, url.searchParams.get("expand") === "settings"));
    if (method === "GET" && rest === "/status") return reply(200, statusView(cp));
    if (rest === "/settings") {
      if (method === "GET") return reply(200, { ...cpSettings(cp), installationCurrent: cp.installationCurrent });
      if (method === "PUT") {
        const problem = checkExact(body, ["id", "dimmer", "downLight", "maxCurrent"]);
        if (problem) return reply(400, problem, "text/plain");
        const b = body as { dimmer: string; downLight: boolean | null; maxCurrent: number | null };
        if (!["Off", "Low", "Medium", "High"].includes(b.dimmer)) return reply(400, "Invalid dimmer", "text/plain");
        if (b.maxCurrent !== null && (typeof b.maxCurrent !== "number" || b.maxCurrent > cp.installationCurrent)) return reply(400, "Invalid maxCurrent", "text/plain");
        cp.dimmer = b.dimmer as SimChargePoint["dimmer"];
        cp.downLight = b.downLight ?? false;
        cp.maxCurrent = b.maxCurrent;
        return reply(200);
      }
    }
    if (method === "PUT" && rest === "/reboot") {
      cp.offlineUntil = Date.now() + rebootMs;
      return reply(200);
    }
    if (method === "GET" && rest === "/chargingsessions") return reply(200, sessionsView(cp.id, undefined, url.searchParams));

    const cm = /^\/connectors\/(\d+)(\/.*)$/.exec(rest);
    if (cm) {
      const connector = cp.connectors.find((c) => c.connectorId === Number(cm[1]));
      if (!connector) return reply(404, "Connector not found", "text/plain");
      const sub = cm[2];
      if (sub === "/settings" && method === "GET") return reply(200, { ...connectorSettings(cp, connector), installationCurrent: cp.installationCurrent });
      if (sub === "/settings" && method === "PUT") {
        const problem = checkExact(body, ["chargePointId", "connectorId", "maxCurrent", "rfidLock", "mode", "cableLock"]);
        if (problem) return reply(400, problem, "text/plain");
        const b = body as { maxCurrent: number | null; rfidLock: boolean; mode: string; cableLock: boolean; connectorId: number };
        if (b.connectorId !== connector.connectorId) return reply(400, "connectorId does not match the path", "text/plain");
        if (!["Off", "On", "Schedule"].includes(b.mode)) return reply(400, "Invalid mode", "text/plain");
        if (b.maxCurrent !== null && (typeof b.maxCurrent !== "number" || b.maxCurrent < 6 || b.maxCurrent > cp.installationCurrent)) {
          return reply(400, "Invalid maxCurrent", "text/plain");
        }
        settle(connector);
        connector.maxCurrent = b.maxCurrent;
        connector.rfidLock = Boolean(b.rfidLock);
        connector.cableLock = Boolean(b.cableLock);
        connector.mode = b.mode as SimConnector["mode"];
        return reply(200);
      }
      if (sub === "/remotestart" && method === "PUT") {
        const b = (body ?? {}) as { rfid?: unknown; rfidFormat?: unknown; rfidLength?: unknown };
        if (typeof b.rfid !== "string" || !["Hex", "Dec", "ReverseDec"].includes(String(b.rfidFormat))) return reply(400, "Invalid StartAuth", "text/plain");
        settle(connector);
        connector.authorized = true;
        connector.stopped = false;
        return reply(200);
      }
      if (sub === "/remotestop" && method === "PUT") {
        settle(connector);
        connector.stopped = true;
        return reply(200);
      }
      if (sub === "/chargingsessions" && method === "GET") return reply(200, sessionsView(cp.id, connector.connectorId, url.searchParams));
    }
    return reply(404, "Not Found", "text/plain");
  }

  function statusView(cp: SimChargePoint): unknown {
    const offline = Date.now() < cp.offlineUntil;
    return {
      id: cp.id,
      status: offline ? "Offline" : "Online",
      connectorStatuses: cp.connectors.map((c) => {
        const amps = offline ? 0 : chargingCurrent(cp, c);
        const phases = c.sessionType === "ThreePhase" ? 3 : 1;
        const measurements = c.plugged && c.sessionId !== null
          ? PHASE_VOLTAGES.slice(0, phases).map((v, i) => ({ phase: `L${i + 1}`, current: amps, voltage: v }))
          : null;
        const powerKw = measurements ? round(measurements.reduce((s, x) => s + x.current * x.voltage, 0) / 1000, 3) : 0;
        return {
          chargePointId: cp.id,
          connectorId: c.connectorId,
          totalConsumptionKwh: round(energyNow(cp, c), 3),
          chargingPowerKw: powerKw,
          sessionType: c.sessionId !== null ? c.sessionType : null,
          status: c.statusOverride !== undefined ? c.statusOverride : derivedStatus(cp, c),
          measurements,
          startTime: c.sessionStart !== null ? iso(c.sessionStart) : null,
          endTime: null,
          sessionId: c.sessionId,
        };
      }),
    };
  }

  function derivedStatus(cp: SimChargePoint, c: SimConnector): string {
    if (c.mode === "Off") return "Unavailable";
    if (!c.plugged) return "Available";
    if (c.stopped) return "SuspendedEVSE";
    if (c.rfidLock && !c.authorized) return "Preparing";
    return chargingCurrent(cp, c) > 0 ? "Charging" : "SuspendedEVSE";
  }

  function chargingCurrent(cp: SimChargePoint, c: SimConnector): number {
    if (Date.now() < cp.offlineUntil || c.mode === "Off" || !c.plugged || c.stopped || (c.rfidLock && !c.authorized)) return 0;
    const limits = [c.maxCurrent ?? cp.installationCurrent, cp.maxCurrent ?? cp.installationCurrent, cp.installationCurrent];
    return Math.min(...limits);
  }

  function powerKwOf(cp: SimChargePoint, c: SimConnector): number {
    const phases = c.sessionType === "ThreePhase" ? 3 : 1;
    return (chargingCurrent(cp, c) * 230 * phases) / 1000;
  }

  function energyNow(cp: SimChargePoint, c: SimConnector): number {
    if (c.sessionId === null) return 0;
    return c.energyKwh + (powerKwOf(cp, c) * (Date.now() - c.energySince)) / 3600_000;
  }

  /** Banks the energy so far before something that changes the power. */
  function settle(c: SimConnector): void {
    const cp = state.chargePoints.find((x) => x.connectors.includes(c));
    if (!cp) return;
    c.energyKwh = energyNow(cp, c);
    c.energySince = Date.now();
  }

  function sessionsView(cpId: string, connectorId: number | undefined, q: URLSearchParams): unknown[] {
    const start = q.get("startTime") ? Date.parse(q.get("startTime") as string) : -Infinity;
    const end = q.get("endTime") ? Date.parse(q.get("endTime") as string) : Infinity;
    const max = q.get("maxCount") ? Number(q.get("maxCount")) : Infinity;
    return state.sessions
      .filter((s) => s.chargePointId === cpId && (connectorId === undefined || s.connectorId === connectorId))
      .filter((s) => Date.parse(s.startTime) >= start && Date.parse(s.startTime) <= end)
      .slice(0, max)
      .map((s) => ({
        id: s.id,
        chargePointId: s.chargePointId,
        connectorId: s.connectorId,
        userId: USER_ID,
        rfid: "04A1B2C3",
        rfidDec: "77705923",
        rfidDecReverse: "3283263748",
        organisationId: null,
        sessionType: s.sessionType,
        startTime: s.startTime,
        endTime: s.endTime,
        externalTransactionId: null,
        totalConsumptionKwh: s.totalConsumptionKwh,
        externalId: null,
      }));
  }

  function chargePoint(id: string): SimChargePoint {
    const cp = findCp(id);
    if (!cp) throw new Error(`No simulated charge point ${id}`);
    return cp;
  }

  function connectorOf(cpId: string, connectorId: number): SimConnector {
    const c = chargePoint(cpId).connectors.find((x) => x.connectorId === connectorId);
    if (!c) throw new Error(`No connector ${connectorId} on ${cpId}`);
    return c;
  }

  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    state,
    injectFault: (fault) => state.faults.push({ ...fault }),
    revokeTokens: () => tokens.clear(),
    makeToken,
    chargePoint,
    plug(cpId, connectorId) {
      const c = connectorOf(cpId, connectorId);
      if (c.plugged) return;
      c.plugged = true;
      c.authorized = false;
      c.stopped = false;
      c.sessionId = nextSessionId++;
      c.sessionStart = Date.now();
      c.energyKwh = 0;
      c.energySince = Date.now();
    },
    unplug(cpId, connectorId) {
      const cp = chargePoint(cpId);
      const c = connectorOf(cpId, connectorId);
      if (!c.plugged) return;
      if (c.sessionId !== null && c.sessionStart !== null) {
        state.sessions.push({
          id: c.sessionId,
          chargePointId: cp.id,
          connectorId: c.connectorId,
          sessionType: c.sessionType,
          startTime: iso(c.sessionStart),
          endTime: iso(Date.now()),
          totalConsumptionKwh: round(energyNow(cp, c), 3),
        });
      }
      Object.assign(c, { plugged: false, authorized: false, stopped: false, sessionId: null, sessionStart: null, energyKwh: 0, energySince: Date.now() });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function chargePointView(cp: SimChargePoint, expand: boolean): unknown {
  return {
    id: cp.id,
    name: cp.name,
    password: cp.password,
    type: cp.type,
    isLoadbalanced: false,
    firmwareVersion: cp.firmwareVersion,
    hardwareVersion: cp.hardwareVersion,
    ownerReadOnly: cp.ownerReadOnly,
    ocppVersion: cp.ocppVersion,
    settings: expand ? cpSettings(cp) : null,
    connectors: cp.connectors.map((c) => ({
      chargePointId: cp.id,
      connectorId: c.connectorId,
      type: c.type,
      settings: expand ? connectorSettings(cp, c) : null,
      connectorUserId: null,
    })),
  };
}

function cpSettings(cp: SimChargePoint): Record<string, unknown> {
  return { id: cp.id, dimmer: cp.dimmer, downLight: cp.downLight, maxCurrent: cp.maxCurrent };
}

function connectorSettings(cp: SimChargePoint, c: SimConnector): Record<string, unknown> {
  return { chargePointId: cp.id, connectorId: c.connectorId, maxCurrent: c.maxCurrent, rfidLock: c.rfidLock, mode: c.mode, cableLock: c.cableLock };
}

/** The Swagger marks bodies additionalProperties:false and the API expects whole objects. */
function checkExact(body: unknown, keys: string[]): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "Body must be a JSON object";
  const have = Object.keys(body);
  const extra = have.filter((k) => !keys.includes(k));
  const missing = keys.filter((k) => !have.includes(k));
  if (extra.length) return `Unknown properties: ${extra.join(", ")}`;
  if (missing.length) return `Missing properties: ${missing.join(", ")}`;
  return undefined;
}

function defaultConnector(connectorId: number, now: number, overrides: Partial<SimConnector> = {}): SimConnector {
  return {
    connectorId,
    type: "Charger",
    maxCurrent: 16,
    rfidLock: false,
    mode: "On",
    cableLock: false,
    plugged: false,
    authorized: false,
    stopped: false,
    sessionType: "ThreePhase",
    sessionId: null,
    sessionStart: null,
    energyKwh: 0,
    energySince: now,
    ...overrides,
  };
}

function defaultAura(now: number): SimChargePoint {
  return {
    id: AURA_ID,
    name: "Garage Aura",
    password: "aura-ocpp-pw",
    type: "Aura",
    firmwareVersion: "1.9.4",
    hardwareVersion: "2.0",
    ownerReadOnly: false,
    ocppVersion: "1.6",
    dimmer: "Low",
    downLight: true,
    maxCurrent: null,
    installationCurrent: 16,
    offlineUntil: 0,
    connectors: [
      // A car has been charging for 25 minutes at start-up, so a poll shows real numbers.
      defaultConnector(1, now, { plugged: true, authorized: true, sessionId: 2000, sessionStart: now - 25 * 60_000, energyKwh: 4.6, energySince: now }),
      defaultConnector(2, now, { sessionType: "OnePhase" }),
    ],
  };
}

function defaultHalo(now: number): SimChargePoint {
  return {
    id: HALO_ID,
    name: "Neighbour's Halo",
    password: "halo-ocpp-pw",
    type: "Halo",
    firmwareVersion: "184",
    hardwareVersion: "1.0",
    ownerReadOnly: true,
    ocppVersion: null,
    dimmer: "Off",
    downLight: false,
    maxCurrent: null,
    installationCurrent: 10,
    offlineUntil: 0,
    connectors: [defaultConnector(1, now, { sessionType: "OnePhase", maxCurrent: 10 }), defaultConnector(2, now, { type: "Schuko", sessionType: "Schuko", maxCurrent: 10 })],
  };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

function delay(ms: number, timers: Set<NodeJS.Timeout>): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      timers.delete(t);
      resolve();
    }, ms);
    timers.add(t);
  });
}

if (require.main === module) {
  const port = Number(process.argv[2] ?? process.env.CHARGEAMPS_SIM_PORT ?? 18081);
  startChargeAmpsSimulator({ port }).then(
    (sim) => console.log(`Charge Amps simulator on ${sim.url} (any non-empty email, password and API key)`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
