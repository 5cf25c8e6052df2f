/**
 * Reads the expiry of a JWT without verifying it: we only need to know when
 * to refresh, and the server is the one that checks signatures.
 */

/** Expiry of the token in ms since the epoch, or undefined if it has none or cannot be read. */
export function jwtExpiryMs(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    const exp = (payload as { exp?: unknown } | null)?.exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
