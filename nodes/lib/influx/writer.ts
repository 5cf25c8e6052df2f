/**
 * Sends line protocol to the InfluxDB v2 write API (`POST /api/v2/write`),
 * which InfluxDB 2.x, Cloud, 1.8+ (compatibility API), InfluxDB 3 and
 * VictoriaMetrics all accept. The HTTP goes through the client library's
 * transport; retries and batching are the shared WriteBuffer's job, so
 * every writer in the package behaves the same.
 */
import type { HttpError, InfluxDB, WritePrecisionType } from "@influxdata/influxdb-client";
import { parseRetryAfter } from "../backoff";
import { redact, shortText } from "../errors";
import { lazyRequire } from "../lazy";
import type { RetryHint } from "../write-buffer";

export interface InfluxConnection {
  url: string;
  org: string;
  bucket: string;
  token?: string;
  precision: WritePrecisionType;
  timeoutMs?: number;
  /** False accepts self-signed certificates. */
  rejectUnauthorized?: boolean;
}

/** The Influx client library, loaded by the first writer (at deploy, see lazy.ts). */
export const loadInfluxClient = lazyRequire<typeof import("@influxdata/influxdb-client")>("@influxdata/influxdb-client");

export const PRECISIONS: readonly WritePrecisionType[] = ["ns", "us", "ms", "s"];

/** A write failure in plain words; `permanent` means the data itself was refused. */
export class InfluxWriteError extends Error implements RetryHint {
  readonly permanent: boolean;
  readonly status?: number;
  /** From Retry-After (429/503): the shared WriteBuffer waits at least this long. */
  retryAfterMs?: number;
  constructor(message: string, permanent: boolean, status?: number) {
    super(message);
    this.name = "InfluxWriteError";
    this.permanent = permanent;
    this.status = status;
  }
}

export function isPermanentInfluxError(error: Error): boolean {
  return error instanceof InfluxWriteError && error.permanent;
}

function serverMessage(error: HttpError): string {
  const json = error.json as { message?: unknown } | undefined;
  const text = typeof json?.message === "string" ? json.message : (error.body ?? "");
  return shortText(text.trim().replace(/\s+/g, " "), 200);
}

/** Maps whatever the transport threw to an InfluxWriteError with plain words. */
export function describeInfluxError(err: unknown, conn: Pick<InfluxConnection, "url" | "org" | "bucket" | "token" | "timeoutMs">): InfluxWriteError {
  const described = describe(err, conn);
  if (err instanceof loadInfluxClient().HttpError && !described.permanent) described.retryAfterMs = parseRetryAfter(err.headers?.["retry-after"]);
  return described;
}

function describe(err: unknown, conn: Pick<InfluxConnection, "url" | "org" | "bucket" | "token" | "timeoutMs">): InfluxWriteError {
  const secrets = [conn.token];
  const { HttpError, RequestTimedOutError } = loadInfluxClient();
  if (err instanceof HttpError) {
    const detail = redact(serverMessage(err), secrets);
    const said = detail ? `: ${detail}` : "";
    switch (err.statusCode) {
      case 400:
        return new InfluxWriteError(`InfluxDB refused the data (HTTP 400)${said}`, true, 400);
      case 422:
        return new InfluxWriteError(`InfluxDB refused the data, probably a field type conflict (HTTP 422)${said}`, true, 422);
      case 413:
        return new InfluxWriteError(`The batch is too large for the server (HTTP 413)`, true, 413);
      case 401:
        return new InfluxWriteError(`Wrong or missing InfluxDB token (HTTP 401): check the token in the config node`, false, 401);
      case 403:
        return new InfluxWriteError(`The token may not write to bucket "${conn.bucket}" (HTTP 403)`, false, 403);
      case 404:
        return new InfluxWriteError(`Bucket "${conn.bucket}" or organisation "${conn.org}" not found (HTTP 404)${said}`, false, 404);
      case 429:
        return new InfluxWriteError(`InfluxDB is rate limiting writes (HTTP 429); retrying`, false, 429);
      default:
        if (err.statusCode >= 500) return new InfluxWriteError(`InfluxDB server error (HTTP ${err.statusCode})${said}; retrying`, false, err.statusCode);
        return new InfluxWriteError(`InfluxDB answered HTTP ${err.statusCode}${said}`, false, err.statusCode);
    }
  }
  if (err instanceof RequestTimedOutError) {
    return new InfluxWriteError(`InfluxDB at ${conn.url} did not answer within ${Math.round((conn.timeoutMs ?? 10_000) / 1000)} s`, false);
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === "ECONNREFUSED") return new InfluxWriteError(`Cannot reach InfluxDB at ${conn.url} (connection refused)`, false);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new InfluxWriteError(`Cannot find the host of ${conn.url} (DNS)`, false);
  if (code === "ECONNRESET" || code === "EPIPE") return new InfluxWriteError(`The connection to InfluxDB at ${conn.url} was cut`, false);
  if (code && /CERT|SSL|TLS/.test(code)) return new InfluxWriteError(`TLS problem talking to ${conn.url}: ${message}`, false);
  return new InfluxWriteError(`Writing to InfluxDB failed: ${redact(message, secrets)}`, false);
}

export class InfluxLineWriter {
  private readonly client: InfluxDB;
  private readonly conn: InfluxConnection;
  private readonly path: string;

  constructor(conn: InfluxConnection) {
    let parsed: URL;
    try {
      parsed = new URL(conn.url);
    } catch {
      throw new Error(`"${conn.url}" is not a URL (expected e.g. http://127.0.0.1:8086)`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(`The InfluxDB URL must start with http:// or https://`);
    if (!conn.bucket) throw new Error("No bucket set in the InfluxDB config node");
    if (!PRECISIONS.includes(conn.precision)) throw new Error(`Unknown precision "${conn.precision}" (use ns, us, ms or s)`);
    this.conn = conn;
    this.client = new (loadInfluxClient().InfluxDB)({
      url: conn.url,
      token: conn.token || undefined,
      timeout: conn.timeoutMs ?? 10_000,
      transportOptions: { rejectUnauthorized: conn.rejectUnauthorized ?? true },
    });
    const query = new URLSearchParams({ org: conn.org, bucket: conn.bucket, precision: conn.precision });
    this.path = `/api/v2/write?${query.toString()}`;
  }

  get precision(): WritePrecisionType {
    return this.conn.precision;
  }

  /** Writes the lines in one request; throws InfluxWriteError. */
  async write(lines: readonly string[], signal?: AbortSignal): Promise<void> {
    if (lines.length === 0) return;
    // One signal per request: the transport leaves its listener on the signal
    // it is given, and the caller's signal lives as long as the node.
    const request = new AbortController();
    const abort = (): void => request.abort();
    if (signal?.aborted) request.abort();
    else signal?.addEventListener("abort", abort, { once: true });
    try {
      await this.client.transport.request(
        this.path,
        lines.join("\n"),
        { method: "POST", headers: { "content-type": "text/plain; charset=utf-8" }, gzipThreshold: 64 * 1024, signal: request.signal },
      );
    } catch (err) {
      throw describeInfluxError(err, this.conn);
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }
}
