/**
 * Configuration keys that hold write-only secrets. OCPP 1.6 says a charger
 * must not return AuthorizationKey in GetConfiguration; some do anyway. What
 * such a key holds is never stored, logged or sent on (issue 13 item 4).
 */

/** AuthorizationKey, and any key whose name says password, passphrase, secret or key. */
export function isSecretKey(key: string): boolean {
  return /(pass(word|wd|phrase)?|secret|key)$/i.test(key) || /password|passwd|secret|privatekey/i.test(key);
}

/** A copy without the secret keys (the same object when there are none). */
export function withoutSecrets(configuration: Record<string, string>): Record<string, string> {
  const keys = Object.keys(configuration);
  if (!keys.some(isSecretKey)) return configuration;
  const out: Record<string, string> = {};
  for (const key of keys) if (!isSecretKey(key)) out[key] = configuration[key];
  return out;
}
