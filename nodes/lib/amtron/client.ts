/**
 * MHCP 1.0 client for one AMTRON wallbox. The wallbox copes badly with
 * parallel requests, so every request goes through one queue; the DevKey
 * travels only as a query parameter and is blanked out of every error.
 */
import { HttpClient, HttpError } from "../http-client";
import {
  type ChargeData,
  type ChargeDataWrite,
  type DevInfo,
  type DevInfoWrite,
  type HomeManagerWrite,
  parseChargeData,
  parseDevInfo,
} from "./types";

export const DEFAULT_PORT = 25000;
export const DEFAULT_TIMEOUT_MS = 5000;

export interface AmtronClientOptions {
  host: string;
  port?: number;
  devKey: string;
  timeoutMs?: number;
  /** Retries of a failed read inside one call (default 0: the poller retries later). */
  retries?: number;
}

/** Runs async tasks strictly one after another. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    // The chain must not break on a failure, nor leave a rejection unhandled.
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export class AmtronClient {
  private readonly http: HttpClient;
  private readonly devKey: string;
  private readonly queue = new SerialQueue();
  readonly baseURL: string;

  constructor(options: AmtronClientOptions) {
    const host = options.host.trim();
    if (!host) throw new Error("No wallbox address set: enter the host name or IP address of the AMTRON");
    if (!options.devKey) throw new Error("No DevKey set: enter the wallbox's APP-Pin (PIN1) in the DevKey field");
    const port = options.port ?? DEFAULT_PORT;
    this.devKey = options.devKey;
    this.baseURL = `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}/MHCP/1.0`;
    this.http = new HttpClient({
      serviceName: "the wallbox",
      baseURL: this.baseURL,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      retries: options.retries ?? 0,
      backoff: { initialMs: 1000, maxMs: 5000, factor: 2, jitter: 0.2 },
      secrets: () => [this.devKey],
      // An AMTRON answer is a few kB; anything near a megabyte is not a wallbox talking.
      maxResponseBytes: 1024 * 1024,
    });
  }

  close(): void {
    this.http.close();
  }

  async getChargeData(signal?: AbortSignal): Promise<ChargeData> {
    return parseChargeData(await this.get("ChargeData", signal));
  }

  async getDevInfo(signal?: AbortSignal): Promise<DevInfo> {
    return parseDevInfo(await this.get("DevInfo", signal));
  }

  postChargeData(body: ChargeDataWrite, signal?: AbortSignal): Promise<void> {
    return this.post("ChargeData", body, signal);
  }

  postDevInfo(body: DevInfoWrite, signal?: AbortSignal): Promise<void> {
    return this.post("DevInfo", body, signal);
  }

  postHomeManager(body: HomeManagerWrite, signal?: AbortSignal): Promise<void> {
    return this.post("HomeManager", body, signal);
  }

  private get(resource: string, signal?: AbortSignal): Promise<unknown> {
    return this.queue.run(async () => {
      try {
        const response = await this.http.get<unknown>(resource, { params: { DevKey: this.devKey }, signal });
        return response.data;
      } catch (err) {
        throw this.explain(err, "read", resource);
      }
    });
  }

  private post(resource: string, body: unknown, signal?: AbortSignal): Promise<void> {
    return this.queue.run(async () => {
      try {
        await this.http.post<unknown>(resource, body, {
          params: { DevKey: this.devKey },
          headers: { "Content-Type": "application/json" },
          responseType: "text",
          signal,
        });
      } catch (err) {
        throw this.explain(err, "write", resource);
      }
    });
  }

  /** MHCP-specific wording: the wallbox answers a wrong DevKey with 403 (reads) or 401/400 (writes). */
  private explain(err: unknown, action: "read" | "write", resource: string): unknown {
    if (!(err instanceof HttpError)) return err;
    const details = { status: err.status, method: err.method, url: err.url, body: err.body };
    const key = "Check the DevKey: it is the APP-Pin (PIN1) printed in the wallbox documents.";
    if (err.kind === "forbidden" || err.kind === "unauthorized") {
      return new HttpError(err.kind, `The wallbox refused the DevKey (HTTP ${err.status}) when we tried to ${action} ${resource}. ${key}`, details);
    }
    if (err.kind === "bad_request" && action === "write") {
      return new HttpError(
        err.kind,
        `The wallbox rejected the change to ${resource} (HTTP ${err.status}). Either the DevKey is wrong or the wallbox does not accept this value. ${key}`,
        details,
      );
    }
    if (err.kind === "not_found") {
      return new HttpError(err.kind, `The wallbox does not know /MHCP/1.0/${resource} (HTTP 404). Is this an AMTRON with the MHCP app API (HCC3 firmware)?`, details);
    }
    if (/^[a-z]/.test(err.message)) {
      const message = err.message.charAt(0).toUpperCase() + err.message.slice(1);
      return new HttpError(err.kind, message, { ...details, retryAfterMs: err.retryAfterMs });
    }
    return err;
  }
}
