/**
 * One error type for everything that can go wrong when the central system
 * asks a charger to do something, so flows can branch on `kind` in a Catch
 * node instead of parsing texts.
 */
export type CommandErrorKind =
  /** The input cannot be turned into a valid OCPP request. */
  | "bad_input"
  /** The charger is not connected (and the command was not queued). */
  | "offline"
  /** The command waited in the offline queue longer than its time-to-live. */
  | "expired"
  /** The charger did not answer in time. */
  | "timeout"
  /** The charger answered with a CALLERROR. */
  | "call_error"
  /** The charger answered, but refused (Rejected, Failed, Occupied, …). */
  | "rejected"
  /** The charger answered that it does not support this (NotSupported, UnknownVendorId, …). */
  | "not_supported"
  /** The node or queue was stopped before the command was sent. */
  | "closed"
  /** Anything else (connection dropped mid-call, …). */
  | "failed";

export class CommandError extends Error {
  readonly kind: CommandErrorKind;
  readonly chargerId?: string;
  readonly action?: string;
  /** The charger's answer, for rejected / not_supported. */
  readonly answer?: unknown;
  /** The OCPP-J error code, for call_error. */
  readonly rpcErrorCode?: string;

  constructor(
    kind: CommandErrorKind,
    message: string,
    details: { chargerId?: string; action?: string; answer?: unknown; rpcErrorCode?: string } = {},
  ) {
    super(message);
    this.name = "CommandError";
    this.kind = kind;
    this.chargerId = details.chargerId;
    this.action = details.action;
    this.answer = details.answer;
    this.rpcErrorCode = details.rpcErrorCode;
  }
}

/** Turns whatever ChargerLink.call rejected with into a CommandError. */
export function classifyCallError(err: unknown, chargerId: string, action: string): CommandError {
  if (err instanceof CommandError) return err;
  const e: Error & { rpcErrorCode?: string } = err instanceof Error ? err : new Error(String(err));
  const details = { chargerId, action, rpcErrorCode: e.rpcErrorCode };
  // The link's message already says what happened; only add who and what when it does not.
  const text = e.message.includes(chargerId) ? e.message : `${action} to charger ${chargerId}: ${e.message}`;
  // The central system's own schema check refused our request before sending it: the input is wrong, not the charger.
  if (e.rpcErrorCode && /not valid OCPP|was not sent/i.test(e.message)) return new CommandError("bad_input", text, details);
  if (e.rpcErrorCode) return new CommandError("call_error", text, details);
  if (e.name === "TimeoutError" || /time(d)?[ -]?out|did not answer/i.test(e.message)) return new CommandError("timeout", text, details);
  if (e.name === "AbortError" || /cancel+ed/i.test(e.message)) return new CommandError("closed", text, details);
  if (/not connected|socket not open|disconnected|going away/i.test(e.message)) return new CommandError("offline", text, details);
  return new CommandError("failed", text, details);
}
