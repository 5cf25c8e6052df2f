/** Pool settings from the config node's fields, checked in plain words. */
import type { PoolConfig } from "pg";
import { lazyRequire } from "../lazy";
import { checkIdentifier } from "./sql";

/** The PostgreSQL driver, loaded with the first pool (see lazy.ts). */
export const loadPg = lazyRequire<typeof import("pg")>("pg");

export type SslMode = "disable" | "require" | "verify";

export interface PoolSettings {
  host: string;
  port: number | string;
  database: string;
  user: string;
  password?: string;
  ssl: SslMode;
  poolSize: number | string;
  timeoutS?: number | string;
  /** Schema for unqualified table names (search_path), empty for the server's default. */
  schema?: string;
}

export function poolConfig(s: PoolSettings): PoolConfig {
  const host = (s.host || "").trim();
  if (!host) throw new Error("No PostgreSQL host set in the config node");
  const port = Number(s.port || 5432);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`Port ${s.port} is not a port number (1-65535)`);
  if (!(s.database || "").trim()) throw new Error("No database name set in the config node");
  const size = Number(s.poolSize || 4);
  const schema = (s.schema || "").trim();
  if (schema) checkIdentifier(schema, "Schema");
  const timeoutMs = Math.max(1, Number(s.timeoutS || 10)) * 1000;
  return {
    host,
    port,
    database: s.database.trim(),
    user: (s.user || "").trim() || undefined,
    password: s.password || undefined,
    // "require" encrypts without checking the certificate, like libpq's sslmode=require.
    ssl: s.ssl === "verify" ? { rejectUnauthorized: true } : s.ssl === "require" ? { rejectUnauthorized: false } : false,
    max: Number.isInteger(size) && size >= 1 ? size : 4,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs * 3,
    idleTimeoutMillis: 30_000,
    application_name: "node-red-ev",
    // The identifier check above keeps this a plain name; public stays reachable for extensions.
    ...(schema ? { options: `-c search_path="${schema}",public` } : {}),
  };
}
