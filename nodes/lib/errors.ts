/** Turns anything thrown into an Error, so callers never handle `unknown`. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === "string") return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

/** The message of anything thrown, for status texts and logs. */
export function errorMessage(value: unknown): string {
  return toError(value).message;
}

/** Cuts a text to fit a Node-RED status (which should stay short). */
export function shortText(text: string, max = 32): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Removes secrets from a text before it reaches a log, a status or a msg. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 3) out = out.split(secret).join("***");
  }
  return out;
}
