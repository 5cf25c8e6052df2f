/**
 * OCPP security profiles (OCPP 1.6 security whitepaper): what the central
 * system checks during the websocket upgrade. Kept apart from the server so
 * each rule can be tested on its own.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { IncomingMessage } from "node:http";

export type SecurityProfile = 0 | 1 | 2 | 3;

/** The whitepaper asks for 16–40 characters; real chargers often ship 8-digit defaults. */
export const MIN_PASSWORD_LENGTH = 16;

/**
 * Hashes first so the comparison takes the same time whatever the lengths;
 * timingSafeEqual alone throws (and so leaks) on a length mismatch.
 */
export function passwordMatches(offered: Buffer | string | undefined, expected: string | undefined): boolean {
  if (offered === undefined || expected === undefined || expected === "") return false;
  const a = createHash("sha256").update(offered).digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b);
}

/**
 * Parses the password list kept in Node-RED credentials:
 * `identity:password` entries separated by whitespace or new lines. The
 * password may contain colons (split at the first one), not spaces.
 */
export function parsePasswordList(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of (text ?? "").split(/\s+/)) {
    if (!entry) continue;
    const colon = entry.indexOf(":");
    if (colon <= 0) continue;
    out.set(entry.slice(0, colon), entry.slice(colon + 1));
  }
  return out;
}

/** Names the entries of a password list that could not be read, without echoing any secret. */
export function badPasswordEntries(text: string | undefined): number {
  return (text ?? "").split(/\s+/).filter((e) => e && e.indexOf(":") <= 0).length;
}

export type AuthOutcome =
  | { ok: true; warning?: string }
  | { ok: false; status: number; reason: string };

export interface AuthPolicy {
  profile: SecurityProfile;
  /** identity → password, for profiles 1 and 2. */
  passwords: ReadonlyMap<string, string>;
  /** Reject passwords shorter than MIN_PASSWORD_LENGTH instead of warning. */
  strictPasswords: boolean;
}

/** Basic-auth check for profiles 1 and 2 (ocpp-rpc only fills `password` when the username equals the identity). */
export function checkBasicAuth(
  policy: AuthPolicy,
  identity: string,
  offered: Buffer | undefined,
  hasAuthorizationHeader: boolean,
): AuthOutcome {
  const expected = policy.passwords.get(identity);
  if (expected === undefined) return { ok: false, status: 401, reason: `no password is configured for charger "${identity}"` };
  if (offered === undefined) {
    return {
      ok: false,
      status: 401,
      reason: hasAuthorizationHeader
        ? `the basic-auth username is not the charger id "${identity}"`
        : "the charger sent no password (basic auth)",
    };
  }
  if (!passwordMatches(offered, expected)) return { ok: false, status: 401, reason: "wrong password" };
  if (expected.length < MIN_PASSWORD_LENGTH) {
    const text = `the password of "${identity}" is shorter than ${MIN_PASSWORD_LENGTH} characters`;
    if (policy.strictPasswords) return { ok: false, status: 401, reason: text };
    return { ok: true, warning: text };
  }
  return { ok: true };
}

/** Profile 3: the client certificate must verify against our CA and its CN must be the identity. */
export function checkClientCertificate(request: IncomingMessage, identity: string): AuthOutcome {
  const socket = request.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== "function") {
    return { ok: false, status: 401, reason: "the connection is not TLS (security profile 3 needs wss://)" };
  }
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return { ok: false, status: 401, reason: "the charger sent no client certificate" };
  if (!socket.authorized) {
    return { ok: false, status: 401, reason: `the client certificate was not accepted (${String(socket.authorizationError ?? "unknown reason")})` };
  }
  const cn = cert.subject?.CN;
  const names = Array.isArray(cn) ? cn : [cn];
  if (!names.includes(identity)) {
    return { ok: false, status: 401, reason: `the certificate is for "${names.join(",")}", not for charger "${identity}"` };
  }
  return { ok: true };
}
