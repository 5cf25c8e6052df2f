/**
 * Charge Amps external API v5 over the shared HttpClient. Every call carries
 * `Authorization: Bearer <JWT>` (and the apiKey, which does no harm); a 401
 * means the session went stale, so we log in again and retry exactly once.
 * HTTP errors are re-worded for the operation at hand (unknown charger,
 * read-only ownership).
 */
import { HttpClient, HttpError, type HttpMethod } from "../http-client";
import { ChargeAmpsSession, type ChargeAmpsCredentials, type SessionState } from "./session";
import {
  API_PREFIX,
  type ChargePoint,
  type ChargePointSettings,
  type ChargePointStatus,
  type ChargingSession,
  type ConnectorSettings,
  type SessionQuery,
  type StartAuth,
  type ViewChargePointSettings,
  type ViewConnectorSettings,
} from "./models";
import {
  applyChargePointChange,
  applyConnectorChange,
  type ChargePointSettingsChange,
  type ConnectorSettingsChange,
} from "./settings";

export interface ChargeAmpsClientOptions {
  baseUrl: string;
  credentials: ChargeAmpsCredentials;
  timeoutMs?: number;
  retries?: number;
  refreshMarginMs?: number;
  onSessionState?: (state: SessionState, error?: Error) => void;
}

export interface SettingsWriteResult<T> {
  before: T;
  sent: T;
  after: T;
}

export class ChargeAmpsClient {
  readonly http: HttpClient;
  readonly session: ChargeAmpsSession;
  /** ocppVersion per charge point, learnt from owned/get; decides how numeric statuses read. */
  private readonly protocols = new Map<string, string | null>();

  constructor(options: ChargeAmpsClientOptions) {
    this.http = new HttpClient({
      serviceName: "Charge Amps cloud",
      baseURL: options.baseUrl.replace(/\/+$/, ""),
      timeoutMs: options.timeoutMs,
      retries: options.retries,
      // The session does not exist yet here; by the time anything fails, it does.
      secrets: () => this.session?.secrets() ?? [options.credentials.password, options.credentials.apiKey],
    });
    this.session = new ChargeAmpsSession(this.http, options.credentials, {
      refreshMarginMs: options.refreshMarginMs,
      onState: options.onSessionState,
    });
  }

  close(): void {
    this.http.close();
  }

  async listOwned(signal?: AbortSignal): Promise<ChargePoint[]> {
    const list = await this.call<ChargePoint[]>("GET", "/chargepoints/owned", { signal, what: "the list of charge points" });
    if (!Array.isArray(list)) throw badShape("the list of charge points", "an array");
    for (const cp of list) if (cp?.id) this.protocols.set(cp.id, cp.ocppVersion ?? null);
    return list;
  }

  async getChargePoint(id: string, signal?: AbortSignal): Promise<ChargePoint> {
    const cp = await this.call<ChargePoint>("GET", `/chargepoints/${enc(id)}`, { signal, chargePointId: id, params: { expand: "settings" } });
    if (!isObject(cp)) throw badShape(`charge point ${id}`, "an object");
    this.protocols.set(id, cp.ocppVersion ?? null);
    return cp;
  }

  /** ocppVersion of a charge point (null = CAPI), asking the cloud once if not yet known. */
  async protocolOf(id: string, signal?: AbortSignal): Promise<string | null> {
    if (!this.protocols.has(id)) await this.getChargePoint(id, signal);
    return this.protocols.get(id) ?? null;
  }

  rememberProtocol(id: string, ocppVersion: string | null): void {
    this.protocols.set(id, ocppVersion);
  }

  async getStatus(id: string, signal?: AbortSignal): Promise<ChargePointStatus> {
    const status = await this.call<ChargePointStatus>("GET", `/chargepoints/${enc(id)}/status`, { signal, chargePointId: id });
    if (!isObject(status)) throw badShape(`the status of charge point ${id}`, "an object");
    return status;
  }

  async getChargePointSettings(id: string, signal?: AbortSignal): Promise<ViewChargePointSettings> {
    const settings = await this.call<ViewChargePointSettings>("GET", `/chargepoints/${enc(id)}/settings`, { signal, chargePointId: id });
    if (!isObject(settings)) throw badShape(`the settings of charge point ${id}`, "an object");
    return settings;
  }

  async getConnectorSettings(id: string, connectorId: number, signal?: AbortSignal): Promise<ViewConnectorSettings> {
    const settings = await this.call<ViewConnectorSettings>("GET", `/chargepoints/${enc(id)}/connectors/${connectorId}/settings`, {
      signal,
      chargePointId: id,
      connectorId,
    });
    if (!isObject(settings)) throw badShape(`the settings of connector ${connectorId}`, "an object");
    return settings;
  }

  /**
   * Read-modify-write: the API wants the whole object, so we read it, apply
   * the change (validated against the installation current before anything
   * is sent), PUT it back and read it again to report what the charger now has.
   */
  async setConnectorSettings(
    id: string,
    connectorId: number,
    change: ConnectorSettingsChange,
    signal?: AbortSignal,
  ): Promise<SettingsWriteResult<ViewConnectorSettings>> {
    const before = await this.getConnectorSettings(id, connectorId, signal);
    const sent: ConnectorSettings = applyConnectorChange(before, change);
    await this.call("PUT", `/chargepoints/${enc(id)}/connectors/${connectorId}/settings`, {
      signal,
      chargePointId: id,
      connectorId,
      data: sent,
      json: false,
      write: true,
    });
    const after = await this.getConnectorSettings(id, connectorId, signal);
    return { before, sent: { ...sent, installationCurrent: before.installationCurrent }, after };
  }

  async setChargePointSettings(
    id: string,
    change: ChargePointSettingsChange,
    signal?: AbortSignal,
  ): Promise<SettingsWriteResult<ViewChargePointSettings>> {
    const before = await this.getChargePointSettings(id, signal);
    const sent: ChargePointSettings = applyChargePointChange(before, change);
    await this.call("PUT", `/chargepoints/${enc(id)}/settings`, { signal, chargePointId: id, data: sent, json: false, write: true });
    const after = await this.getChargePointSettings(id, signal);
    return { before, sent: { ...sent, installationCurrent: before.installationCurrent }, after };
  }

  async remoteStart(id: string, connectorId: number, auth: StartAuth, signal?: AbortSignal): Promise<void> {
    await this.call("PUT", `/chargepoints/${enc(id)}/connectors/${connectorId}/remotestart`, {
      signal,
      chargePointId: id,
      connectorId,
      data: auth,
      json: false,
      write: true,
    });
  }

  async remoteStop(id: string, connectorId: number, signal?: AbortSignal): Promise<void> {
    await this.call("PUT", `/chargepoints/${enc(id)}/connectors/${connectorId}/remotestop`, {
      signal,
      chargePointId: id,
      connectorId,
      data: {},
      json: false,
      write: true,
    });
  }

  async reboot(id: string, signal?: AbortSignal): Promise<void> {
    await this.call("PUT", `/chargepoints/${enc(id)}/reboot`, { signal, chargePointId: id, data: {}, json: false, write: true });
  }

  async getSessions(id: string, query: SessionQuery, connectorId?: number, signal?: AbortSignal): Promise<ChargingSession[]> {
    const path =
      connectorId === undefined
        ? `/chargepoints/${enc(id)}/chargingsessions`
        : `/chargepoints/${enc(id)}/connectors/${connectorId}/chargingsessions`;
    const list = await this.call<ChargingSession[]>("GET", path, {
      signal,
      chargePointId: id,
      connectorId,
      params: { startTime: query.startTime, endTime: query.endTime, maxCount: query.maxCount },
    });
    if (!Array.isArray(list)) throw badShape("the charging sessions", "an array");
    return list;
  }

  /** One authenticated call; on 401 a fresh login and exactly one retry. */
  private async call<T>(method: HttpMethod, path: string, opts: CallOptions): Promise<T> {
    let token = await this.session.token();
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.http.request<T>({
          method,
          url: `${API_PREFIX}${path}`,
          params: opts.params,
          data: opts.data,
          signal: opts.signal,
          responseType: opts.json === false ? "text" : "json",
          headers: { Authorization: `Bearer ${token}`, apiKey: this.session.apiKey },
        });
        return res.data;
      } catch (err) {
        if (err instanceof HttpError && err.kind === "unauthorized" && attempt === 0) {
          token = await this.session.renew(token);
          continue;
        }
        throw explain(err, opts);
      }
    }
  }
}

interface CallOptions {
  signal?: AbortSignal;
  params?: Record<string, string | number | boolean | undefined>;
  data?: unknown;
  /** false: the answer is `application/octet-stream` text we do not parse. */
  json?: boolean;
  chargePointId?: string;
  connectorId?: number;
  what?: string;
  /** The call changes something (403 then likely means read-only ownership). */
  write?: boolean;
}

function explain(err: unknown, opts: CallOptions): unknown {
  if (!(err instanceof HttpError)) return err;
  const target =
    opts.what ??
    (opts.chargePointId !== undefined
      ? `charge point "${opts.chargePointId}"${opts.connectorId !== undefined ? ` connector ${opts.connectorId}` : ""}`
      : "this request");
  const details = { status: err.status, method: err.method, url: err.url, body: err.body, retryAfterMs: err.retryAfterMs };
  switch (err.kind) {
    case "unauthorized":
      return new HttpError("unauthorized", `Charge Amps still refuses our session for ${target} after a fresh login (HTTP 401). Check the account and API key.`, details);
    case "forbidden":
      return new HttpError(
        "forbidden",
        opts.write
          ? `Charge Amps does not allow this account to change ${target} (HTTP 403). The account may only have read-only access (ownerReadOnly).`
          : `Charge Amps does not allow this account to see ${target} (HTTP 403).`,
        details,
      );
    case "not_found":
      return new HttpError(
        "not_found",
        opts.chargePointId !== undefined
          ? `Charge Amps does not know ${target} (HTTP 404). Check the charge point ID and connector; the "list" operation shows the ones this account owns.`
          : err.message,
        details,
      );
    default:
      return err;
  }
}

function badShape(what: string, expected: string): HttpError {
  return new HttpError("bad_response", `Charge Amps cloud sent ${what} in an unexpected shape (expected ${expected})`, {
    method: "GET",
    url: "",
  });
}

function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function enc(id: string): string {
  return encodeURIComponent(id);
}
