/**
 * One HTTP client for every node that talks to a charger, a cloud or a feed.
 * It wraps axios with: a timeout per request, retry with exponential backoff on
 * network errors, 429 and 5xx (honouring Retry-After), abort of everything in
 * flight on close, and errors that say in plain words what went wrong.
 */
import { setMaxListeners } from "node:events";
import type { Readable } from "node:stream";
import type { AxiosResponse, Method } from "axios";
import { AbortedError, backoffDelay, type BackoffOptions, parseRetryAfter, sleep, timerDelay } from "./backoff";
import { redact, shortText } from "./errors";
import { ACCEPTED_ENCODINGS, readCapped, ResponseTooLargeError } from "./http-body";
import { lazyRequire } from "./lazy";

export { ResponseTooLargeError } from "./http-body";

const loadAxios = lazyRequire<typeof import("axios")>("axios");

export type HttpErrorKind =
  | "timeout"
  | "unreachable"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "rate_limited"
  | "server"
  | "bad_request"
  | "bad_response"
  | "too_large"
  | "aborted";

export class HttpError extends Error {
  readonly kind: HttpErrorKind;
  readonly status?: number;
  readonly method: string;
  readonly url: string;
  /** Start of the response body (redacted), when there was one. */
  readonly body?: string;
  readonly retryAfterMs?: number;

  constructor(
    kind: HttpErrorKind,
    message: string,
    details: { status?: number; method: string; url: string; body?: string; retryAfterMs?: number },
  ) {
    super(message);
    this.name = "HttpError";
    this.kind = kind;
    this.status = details.status;
    this.method = details.method;
    this.url = details.url;
    this.body = details.body;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** True for failures that may go away by themselves (worth retrying later). */
  get transient(): boolean {
    return this.kind === "timeout" || this.kind === "unreachable" || this.kind === "rate_limited" || this.kind === "server";
  }
}

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface HttpClientOptions {
  /** Name used in error messages, e.g. "Charge Amps cloud" or "the wallbox". */
  serviceName: string;
  baseURL?: string;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** Retries after the first try for transient failures (default 2). */
  retries?: number;
  backoff?: BackoffOptions;
  /** Longest Retry-After we are willing to wait inside one request (default 30 s). */
  maxRetryAfterMs?: number;
  headers?: Record<string, string>;
  /** Secrets to blank out of error messages. */
  secrets?: () => ReadonlyArray<string | undefined>;
  /**
   * Most bytes one response may have, both as sent (compressed) and unpacked
   * (default 10 MB). A larger one is cut off while it arrives, never buffered.
   */
  maxResponseBytes?: number;
  /** Where a user can raise maxResponseBytes, for the error message (e.g. "the node's Max. response setting"). */
  maxResponseHint?: string;
  /** What the service sends, for the error message (default "answer"), e.g. "feed". */
  responseNoun?: string;
}

export interface HttpRequest {
  method?: HttpMethod;
  url: string;
  params?: Record<string, string | number | boolean | undefined>;
  data?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Overrides the client's retries. POST/PATCH are not retried unless this is set. */
  retries?: number;
  /** "json" (default) parses the body and fails clearly when it is not JSON. */
  responseType?: "json" | "text";
  signal?: AbortSignal;
  /** Overrides the client's maxResponseBytes for this request. */
  maxResponseBytes?: number;
}

export interface HttpResponse<T> {
  status: number;
  data: T;
  text: string;
  headers: Record<string, string>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** An answer larger than this is refused unless the node asks for more. */
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const DEFAULT_HTTP_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 10_000, factor: 2, jitter: 0.2 };

export class HttpClient {
  private readonly options: HttpClientOptions;
  private readonly lifetime = new AbortController();
  private readonly axios: typeof import("axios");

  constructor(options: HttpClientOptions) {
    this.options = options;
    // Loaded with the node that makes the client (see lazy.ts); throws DependencyError if axios is missing.
    this.axios = loadAxios();
    // Each request in flight listens here; parallel polls of many sites are normal, not a leak.
    setMaxListeners(0, this.lifetime.signal);
  }

  get closed(): boolean {
    return this.lifetime.signal.aborted;
  }

  /** Aborts every request in flight and refuses new ones. */
  close(): void {
    this.lifetime.abort();
  }

  get<T>(url: string, request: Omit<HttpRequest, "url" | "method"> = {}): Promise<HttpResponse<T>> {
    return this.request<T>({ ...request, url, method: "GET" });
  }

  post<T>(url: string, data: unknown, request: Omit<HttpRequest, "url" | "method" | "data"> = {}): Promise<HttpResponse<T>> {
    return this.request<T>({ ...request, url, method: "POST", data });
  }

  put<T>(url: string, data: unknown, request: Omit<HttpRequest, "url" | "method" | "data"> = {}): Promise<HttpResponse<T>> {
    return this.request<T>({ ...request, url, method: "PUT", data });
  }

  async request<T>(request: HttpRequest): Promise<HttpResponse<T>> {
    const method = request.method ?? "GET";
    const idempotent = method === "GET" || method === "PUT" || method === "DELETE";
    const retries = request.retries ?? (idempotent ? this.options.retries ?? 2 : 0);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(request, method);
      } catch (err) {
        if (!(err instanceof HttpError) || !err.transient || attempt >= retries) throw err;
        const maxWait = this.options.maxRetryAfterMs ?? 30_000;
        if (err.retryAfterMs !== undefined && err.retryAfterMs > maxWait) throw err;
        const delay = err.retryAfterMs ?? backoffDelay(attempt, this.options.backoff ?? DEFAULT_HTTP_BACKOFF);
        await this.wait(delay, request.signal, method, request.url);
      }
    }
  }

  private async wait(ms: number, signal: AbortSignal | undefined, method: string, url: string): Promise<void> {
    const linked = linkSignals([this.lifetime.signal, signal]);
    try {
      await sleep(ms, linked.signal);
    } catch (err) {
      if (err instanceof AbortedError) throw this.abortedError(method, url);
      throw err;
    } finally {
      linked.dispose();
    }
  }

  private abortedError(method: string, url: string): HttpError {
    return new HttpError("aborted", `Request to ${this.options.serviceName} was cancelled because the node stopped`, {
      method,
      url,
    });
  }

  private async once<T>(request: HttpRequest, method: Method & HttpMethod): Promise<HttpResponse<T>> {
    if (this.closed) throw this.abortedError(method, request.url);
    const timeoutMs = request.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timerDelay(timeoutMs));
    // Linked per request and unlinked after it, or every request would leave a listener on the lifetime signal.
    const linked = linkSignals([this.lifetime.signal, request.signal, timeout.signal]);
    const signal = linked.signal;
    const maxBytes = request.maxResponseBytes ?? this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    let response: AxiosResponse<Readable>;
    let text: string;
    try {
      try {
        response = await this.axios.request<Readable>({
          method,
          baseURL: this.options.baseURL,
          url: request.url,
          params: request.params,
          data: request.data,
          headers: { Accept: "application/json", "Accept-Encoding": ACCEPTED_ENCODINGS, ...this.options.headers, ...request.headers },
          signal,
          // The body is read (and unpacked) by readCapped, which stops at maxBytes while it
          // arrives: axios would buffer a 2 GB answer, or unpack a 2 MB gzip bomb to 2 GB.
          responseType: "stream",
          decompress: false,
          validateStatus: () => true,
          maxRedirects: 5,
          proxy: false,
        });
        text = (await readCapped(response.data, response.headers["content-encoding"] as string | undefined, maxBytes, signal)).toString("utf8");
      } catch (err) {
        if (err instanceof ResponseTooLargeError) throw this.tooLargeError(err, method, request.url);
        if (timeout.signal.aborted && !this.lifetime.signal.aborted && !request.signal?.aborted) {
          throw new HttpError(
            "timeout",
            `${this.options.serviceName} did not answer within ${formatSeconds(timeoutMs)} (${method} ${this.describeUrl(request.url)})`,
            { method, url: request.url },
          );
        }
        if (signal.aborted) throw this.abortedError(method, request.url);
        throw this.networkError(err, method, request.url);
      }
    } finally {
      clearTimeout(timer);
      linked.dispose();
    }
    const headers = flattenHeaders(response.headers as Record<string, unknown>);
    if (response.status >= 400) throw this.statusError(response.status, text, headers, method, request.url);
    let data: unknown = text;
    if ((request.responseType ?? "json") === "json") {
      if (text.trim() === "") data = undefined;
      else {
        try {
          data = JSON.parse(text);
        } catch {
          throw new HttpError(
            "bad_response",
            `${this.options.serviceName} answered with something that is not valid JSON: "${this.snippet(text)}"`,
            { status: response.status, method, url: request.url, body: this.snippet(text) },
          );
        }
      }
    }
    return { status: response.status, data: data as T, text, headers };
  }

  private tooLargeError(err: ResponseTooLargeError, method: string, url: string): HttpError {
    const noun = this.options.responseNoun ?? "answer";
    const how = err.compressed ? " (counting the compressed data)" : err.unpacked ? " once unpacked" : "";
    const raise = this.options.maxResponseHint ? `; raise the limit in ${this.options.maxResponseHint}` : "";
    return new HttpError(
      "too_large",
      `${this.options.serviceName} sent an ${noun} of more than ${formatBytes(err.limit)}${how}; stopped reading it (${method} ${this.describeUrl(url)})${raise}`,
      { method, url },
    );
  }

  private describeUrl(url: string): string {
    // Query strings can hold keys (e.g. DevKey), so only the path is shown.
    return url.split("?")[0];
  }

  private snippet(text: string): string {
    const secrets = this.options.secrets?.() ?? [];
    return shortText(redact(text.replace(/\s+/g, " ").trim(), secrets), 120);
  }

  private networkError(err: unknown, method: string, url: string): HttpError {
    const code = (err as { code?: string } | undefined)?.code ?? "";
    const where = this.options.baseURL ?? this.describeUrl(url);
    const name = this.options.serviceName;
    const details = { method, url };
    switch (code) {
      case "ECONNREFUSED":
        return new HttpError("unreachable", `Cannot reach ${name} at ${where}: connection refused. Is it running, and are the host and port right?`, details);
      case "ENOTFOUND":
      case "EAI_AGAIN":
        return new HttpError("unreachable", `Cannot find the host of ${name} (${where}). Check the address.`, details);
      case "EHOSTUNREACH":
      case "ENETUNREACH":
        return new HttpError("unreachable", `No network route to ${name} at ${where}. Is it switched on and on the same network?`, details);
      case "ECONNRESET":
      case "EPIPE":
      case "ERR_BAD_RESPONSE":
        return new HttpError("unreachable", `${name} closed the connection unexpectedly (${code}).`, details);
      case "ETIMEDOUT":
      case "ECONNABORTED":
        return new HttpError("timeout", `${name} did not answer in time (${code}).`, details);
      default: {
        const message = err instanceof Error ? err.message : String(err);
        return new HttpError("unreachable", `Could not talk to ${name} at ${where}: ${message}`, details);
      }
    }
  }

  private statusError(status: number, text: string, headers: Record<string, string>, method: string, url: string): HttpError {
    const name = this.options.serviceName;
    const body = this.snippet(text);
    const suffix = body ? `: ${body}` : "";
    const details = { status, method, url, body, retryAfterMs: parseRetryAfter(headers["retry-after"]) };
    const path = this.describeUrl(url);
    if (status === 401) return new HttpError("unauthorized", `${name} refused the credentials (HTTP 401). Check the user name, password or key${suffix}`, details);
    if (status === 403) return new HttpError("forbidden", `${name} denied access (HTTP 403). The key or account may not be allowed to do this${suffix}`, details);
    if (status === 404) return new HttpError("not_found", `${name} does not know ${path} (HTTP 404)${suffix}`, details);
    if (status === 429) {
      const wait = details.retryAfterMs !== undefined ? `; it asks us to wait ${formatSeconds(details.retryAfterMs)}` : "";
      return new HttpError("rate_limited", `${name} is limiting our requests (HTTP 429)${wait}`, details);
    }
    if (status >= 500) return new HttpError("server", `${name} had a server error (HTTP ${status})${suffix}`, details);
    return new HttpError("bad_request", `${name} rejected the request (HTTP ${status})${suffix}`, details);
  }
}

/** "50 MB", "512 kB", "900 bytes". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} kB`;
  return `${bytes} bytes`;
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function flattenHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (value === undefined || value === null) continue;
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

/** An AbortSignal that aborts when any of the given signals does. */
export function anySignal(signals: ReadonlyArray<AbortSignal | undefined>): AbortSignal {
  return linkSignals(signals).signal;
}

/**
 * Like anySignal, plus `dispose()` to detach from the source signals once the
 * linked signal is no longer needed (long-lived sources otherwise collect listeners).
 */
export function linkSignals(signals: ReadonlyArray<AbortSignal | undefined>): { signal: AbortSignal; dispose: () => void } {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length === 1) return { signal: present[0], dispose: () => undefined };
  const controller = new AbortController();
  const cleanups: Array<() => void> = [];
  const dispose = (): void => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  };
  const abort = (): void => {
    dispose();
    controller.abort();
  };
  for (const signal of present) {
    if (signal.aborted) {
      abort();
      break;
    }
    signal.addEventListener("abort", abort, { once: true });
    cleanups.push(() => signal.removeEventListener("abort", abort));
  }
  return { signal: controller.signal, dispose };
}
