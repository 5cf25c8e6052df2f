/**
 * A small server that follows the InfluxDB 2.x write API contract
 * (POST /api/v2/write, docs.influxdata.com/influxdb/v2/api/#operation/PostWrite):
 * Token auth (401), unknown bucket (404), malformed line protocol (400, no
 * point written), field type conflicts (422, the other points written, as a
 * partial write), gzip bodies, and a switch to answer 429/503 for a while.
 * It keeps what it stored, with field types, so tests can compare exactly.
 * Usable as a simulator: no test-framework imports.
 */
import http from "node:http";
import zlib from "node:zlib";
import type { AddressInfo } from "node:net";

export type LpFieldType = "float" | "integer" | "unsigned" | "string" | "boolean";

export interface StoredPoint {
  bucket: string;
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, { type: LpFieldType; value: number | string | boolean }>;
  /** The timestamp as sent (in the request's precision), or undefined. */
  timestamp?: string;
  precision: string;
}

export interface InfluxSimulatorState {
  points: StoredPoint[];
  /** Number of write requests answered, whatever the status. */
  requests: number;
  /** Answer the next `count` writes with `status` (e.g. 503, 429). */
  failNext(status: number, count?: number, retryAfterS?: number): void;
}

export interface InfluxSimulatorOptions {
  port?: number;
  org?: string;
  buckets?: string[];
  token?: string;
  /** Most points kept (oldest forgotten first), so a long-running simulator stays small. */
  maxPoints?: number;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, "$1");
}

/** Splits at `sep` outside quotes and not preceded by a backslash. */
function splitUnescaped(text: string, sep: string, limit = Infinity): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted && parts.length < limit - 1) {
      parts.push(current);
      current = "";
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts;
}

function parseField(raw: string): { type: LpFieldType; value: number | string | boolean } {
  if (raw.startsWith('"')) {
    if (!raw.endsWith('"') || raw.length < 2) throw new Error("unterminated string");
    return { type: "string", value: raw.slice(1, -1).replace(/\\(["\\])/g, "$1") };
  }
  if (/^(t|T|true|True|TRUE)$/.test(raw)) return { type: "boolean", value: true };
  if (/^(f|F|false|False|FALSE)$/.test(raw)) return { type: "boolean", value: false };
  if (/^-?\d+i$/.test(raw)) return { type: "integer", value: Number(raw.slice(0, -1)) };
  if (/^\d+u$/.test(raw)) return { type: "unsigned", value: Number(raw.slice(0, -1)) };
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) return { type: "float", value: Number(raw) };
  throw new Error(`invalid field value ${raw}`);
}

export function parseLine(line: string, bucket: string, precision: string): StoredPoint {
  const [series, fieldText, timestamp, extra] = splitUnescaped(line, " ");
  if (!series || !fieldText || extra !== undefined) throw new Error("expected 'measurement[,tags] fields [timestamp]'");
  const [measurementRaw, ...tagParts] = splitUnescaped(series, ",");
  const tags: Record<string, string> = {};
  for (const part of tagParts) {
    const [k, v] = splitUnescaped(part, "=", 2);
    if (!k || v === undefined || v === "") throw new Error(`invalid tag ${part}`);
    tags[unescape(k)] = unescape(v);
  }
  const fields: StoredPoint["fields"] = {};
  for (const part of splitUnescaped(fieldText, ",")) {
    const [k, v] = splitUnescaped(part, "=", 2);
    if (!k || v === undefined) throw new Error(`invalid field ${part}`);
    fields[unescape(k)] = parseField(v);
  }
  if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) throw new Error(`invalid timestamp ${timestamp}`);
  return { bucket, measurement: unescape(measurementRaw), tags, fields, timestamp, precision };
}

function seriesKey(point: StoredPoint): string {
  const tags = Object.keys(point.tags)
    .sort()
    .map((k) => `${k}=${point.tags[k]}`);
  return [point.bucket, point.measurement, ...tags, point.timestamp].join("\u0000");
}

export async function startInfluxSimulator(options: InfluxSimulatorOptions = {}): Promise<{ url: string; close(): Promise<void>; state: InfluxSimulatorState }> {
  const org = options.org ?? "evkit";
  const buckets = new Set(options.buckets ?? ["evkit"]);
  const token = options.token ?? "sim-token";
  const maxPoints = options.maxPoints ?? 100_000;
  const types = new Map<string, LpFieldType>();
  const stored = new Map<string, StoredPoint>();
  let failures: { status: number; count: number; retryAfterS?: number } | undefined;
  const state: InfluxSimulatorState = {
    points: [],
    requests: 0,
    failNext(status, count = 1, retryAfterS) {
      failures = { status, count, retryAfterS };
    },
  };
  const json = (res: http.ServerResponse, status: number, code: string, message: string): void => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify({ code, message }));
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "GET" && url.pathname === "/ping") {
        res.writeHead(204).end();
        return;
      }
      if (req.method !== "POST" || url.pathname !== "/api/v2/write") {
        json(res, 404, "not found", "path not found");
        return;
      }
      state.requests++;
      if (failures && failures.count > 0) {
        failures.count--;
        const headers: http.OutgoingHttpHeaders = { "content-type": "application/json" };
        if (failures.retryAfterS !== undefined) headers["retry-after"] = String(failures.retryAfterS);
        res.writeHead(failures.status, headers);
        res.end(JSON.stringify({ code: failures.status === 429 ? "too many requests" : "unavailable", message: "try again later" }));
        return;
      }
      if (req.headers.authorization !== `Token ${token}`) {
        json(res, 401, "unauthorized", "unauthorized access");
        return;
      }
      const bucket = url.searchParams.get("bucket") ?? "";
      if (url.searchParams.get("org") !== org) {
        json(res, 404, "not found", `organization name "${url.searchParams.get("org")}" not found`);
        return;
      }
      if (!buckets.has(bucket)) {
        json(res, 404, "not found", `bucket "${bucket}" not found`);
        return;
      }
      const precision = url.searchParams.get("precision") ?? "ns";
      if (!["ns", "us", "ms", "s"].includes(precision)) {
        json(res, 400, "invalid", `invalid precision "${precision}"`);
        return;
      }
      let body: Buffer = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = zlib.gunzipSync(body);
      const lines = body.toString("utf8").split("\n").filter((l) => l.trim() && !l.startsWith("#"));
      const parsed: StoredPoint[] = [];
      for (const line of lines) {
        try {
          parsed.push(parseLine(line, bucket, precision));
        } catch (err) {
          // InfluxDB 2.x writes nothing when a line is malformed.
          json(res, 400, "invalid", `unable to parse '${line}': ${(err as Error).message}`);
          return;
        }
      }
      const conflicts: string[] = [];
      for (const point of parsed) {
        const conflict = Object.entries(point.fields).find(([name, f]) => {
          const known = types.get(`${bucket}\u0000${point.measurement}\u0000${name}`);
          return known !== undefined && known !== f.type;
        });
        if (conflict) {
          const known = types.get(`${bucket}\u0000${point.measurement}\u0000${conflict[0]}`);
          conflicts.push(`input field "${conflict[0]}" on measurement "${point.measurement}" is type ${conflict[1].type}, already exists as type ${known}`);
          continue;
        }
        for (const [name, f] of Object.entries(point.fields)) types.set(`${bucket}\u0000${point.measurement}\u0000${name}`, f.type);
        // Like InfluxDB, a point with the same series and timestamp overwrites
        // (merges into) the stored one, so a retried write is idempotent.
        const key = seriesKey(point);
        const existing = point.timestamp === undefined ? undefined : stored.get(key);
        if (existing) Object.assign(existing.fields, point.fields);
        else {
          if (point.timestamp !== undefined) stored.set(key, point);
          state.points.push(point);
          if (state.points.length > maxPoints) {
            const old = state.points.shift()!;
            stored.delete(seriesKey(old));
          }
        }
      }
      if (conflicts.length > 0) {
        json(res, 422, "unprocessable entity", `failure writing points to database: partial write: field type conflict: ${conflicts[0]} dropped=${conflicts.length}`);
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
