/**
 * Keeps what a charger sends from coming back at length, and answers
 * framing errors the OCPP 1.6 way (issue 13 items 6–8). ocpp-rpc answers
 * framing errors with OCPP 2.0.1 codes (RpcFrameworkError,
 * MessageTypeNotSupported, always message id "-1"), echoes any message id
 * and action name, copies the whole payload into the details of a
 * validation error, and closes the socket when those details cannot be
 * serialised (a deeply nested payload). The guard sits in front of
 * ocpp-rpc's message handler: well-formed frames (a bounded look at their
 * head) pass untouched; the rest are answered here, short, and counted
 * with ocpp-rpc's own garbage counter.
 */
import type standardValidatorsType from "ocpp-rpc/lib/standard-validators";
import type { RpcServerClient } from "../core/rpc-link";
import { lazyRequire } from "../../lazy";

// Loaded with the central system that uses them (see lazy.ts), not when Node-RED loads the package.
const loadOcppRpc = lazyRequire<typeof import("ocpp-rpc")>("ocpp-rpc");
const loadStandardValidators = lazyRequire<typeof standardValidatorsType>("ocpp-rpc/lib/standard-validators");
const createRPCError: (typeof import("ocpp-rpc"))["createRPCError"] = (...args) => loadOcppRpc().createRPCError(...args);

/** OCPP-J message ids are at most 36 characters (a UUID). */
export const MAX_MESSAGE_ID = 36;
/** OCPP 1.6 payloads nest 6 levels deep (MeterValues); anything far deeper is an attack or a bug. */
export const MAX_DEPTH = 32;
/** The longest error text we send back. */
const MAX_ERROR_TEXT = 120;
/** Default largest frame we accept: OCPP 1.6 frames are a few KiB; GetConfiguration answers stay well below this. */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024;

const CALL_HEAD = /^\s*\[\s*2\s*,\s*"[^"\\]{1,36}"\s*,\s*"[A-Za-z0-9]{1,40}"\s*,/;
const RESPONSE_HEAD = /^\s*\[\s*[34]\s*,\s*"[^"\\]{1,36}"\s*,/;
const ID_GUESS = /^\s*\[\s*\d+\s*,\s*"([^"\\]{1,36})"/;
const HEAD_BYTES = 128;

type Validator = (typeof standardValidatorsType)[number];
type CallError = [4, string, string, string, Record<string, never>];

/** Cuts text for an answer or a log line (whatever a charger sent may be megabytes). */
export function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The OCPP 1.6 schema check, for connections that negotiated ocpp1.6 and for
 * those that offered no subprotocol (""), so validation stays on for them:
 * error texts cut short, no payload copied into the details, OCPP 1.6 codes
 * (errata spellings), NotImplemented for an action without a schema.
 */
export function ocpp16Validators(): Validator[] {
  const base = loadStandardValidators().find((v) => v.subprotocol === "ocpp1.6");
  if (!base) throw new Error("ocpp-rpc has no OCPP 1.6 schemas");
  const make = (subprotocol: string): Validator =>
    ({
      subprotocol,
      validate(schemaId: string, params: unknown): ReturnType<Validator["validate"]> {
        try {
          return base.validate(schemaId, params);
        } catch (err) {
          throw shortSchemaError(err, schemaId);
        }
      },
    }) as unknown as Validator;
  return [make("ocpp1.6"), make("")];
}

const CODES_16: Record<string, string> = {
  FormatViolation: "FormationViolation",
  OccurenceConstraintViolation: "OccurrenceConstraintViolation",
  RpcFrameworkError: "FormationViolation",
  MessageTypeNotSupported: "NotImplemented",
};

function shortSchemaError(err: unknown, schemaId: string): Error {
  const e = err as { rpcErrorCode?: string; message?: string; details?: { errors?: unknown } };
  const text = String(e?.message ?? "");
  if (/^Schema '.*' is missing/s.test(text)) {
    const action = schemaId.replace(/^urn:/, "").replace(/\.(req|conf)$/, "");
    return createRPCError("NotImplemented", `Unknown action ${cut(action, 40)}`, {}) as Error;
  }
  const code = e?.rpcErrorCode ?? "FormationViolation";
  const out = createRPCError(CODES_16[code] ?? code, cut(text, MAX_ERROR_TEXT), {}) as Error;
  // Kept off the wire (details are sent to the charger): tells our own command side the check failed.
  Object.defineProperty(out, "schemaErrors", { value: Array.isArray(e?.details?.errors) ? e.details.errors.slice(0, 5) : [], enumerable: false });
  return out;
}

/** Depth of [ and { nesting, strings skipped; stops counting past `limit`. UTF-8 bytes ≥ 0x80 never look like ASCII. */
export function nestingDepth(bytes: Uint8Array, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return max;
}

export interface BadFrame {
  /** What is wrong, in words, without the charger's data. */
  reason: string;
  /** The message id, when it could be read. */
  messageId?: string;
  /** The start of the frame, cut and safe to show. */
  excerpt: string;
}

export interface FrameGuardOptions {
  maxBadMessages: number;
  /**
   * Scan every frame for deep nesting. Needed only where no schema check runs (lenient chargers, validation
   * off): the schema check stops at the first value of the wrong type, and its error no longer carries the
   * payload, so a validated connection is safe without paying for the scan on every MeterValues.
   */
  checkDepth: boolean;
  onBadFrame(frame: BadFrame): void;
}

interface Internals {
  _onMessage(buffer: Buffer): void;
  _badMessagesCount: number;
}

/**
 * OCPP 2.0.1 (and 2.1) name the same framing errors differently; a
 * connection is answered in its own version's words.
 */
const CODES_201: Record<string, string> = {
  FormationViolation: "FormatViolation",
  OccurrenceConstraintViolation: "OccurrenceConstraintViolation",
};

/** Whether a negotiated subprotocol speaks the 2.0.1 error vocabulary. */
function isV2(protocol: string | undefined): boolean {
  return !!protocol && /^ocpp2\./.test(protocol);
}

/** Checks one frame; undefined when ocpp-rpc may have it as it is. `protocol`: the connection's, for the error codes. */
export function checkFrame(buffer: Buffer, checkDepth = true, protocol?: string): { reply?: CallError; reason: string; messageId?: string } | undefined {
  const v2 = isV2(protocol);
  const head = buffer.toString("utf8", 0, HEAD_BYTES);
  const wellFormedHead = CALL_HEAD.test(head) || RESPONSE_HEAD.test(head);
  if (wellFormedHead && (!checkDepth || buffer.length <= 2 * MAX_DEPTH || nestingDepth(buffer, MAX_DEPTH) <= MAX_DEPTH)) return undefined;
  if (buffer.length === 0) return undefined;
  const guess = ID_GUESS.exec(head)?.[1];
  // `code` is the 1.6 word; `code2` the 2.0.1 one where it differs beyond spelling.
  const answer = (id: string | undefined, code: string, text: string, code2?: string): { reply: CallError; reason: string; messageId?: string } => ({
    reply: [4, id ?? "-1", v2 ? (code2 ?? CODES_201[code] ?? code) : code, text, {}],
    reason: text,
    messageId: id,
  });
  if (wellFormedHead) return answer(guess, "FormationViolation", `Payload nested deeper than ${MAX_DEPTH} levels`);
  let frame: unknown;
  try {
    frame = JSON.parse(buffer.toString("utf8"));
  } catch {
    return answer(guess, "FormationViolation", "Message is not JSON", "RpcFrameworkError");
  }
  if (!Array.isArray(frame) || typeof frame[0] !== "number") return answer(guess, "FormationViolation", "Message is not an OCPP-J array [type, id, ...]", "RpcFrameworkError");
  const [type, id, action] = frame as [number, unknown, unknown];
  const readableId = typeof id === "string" && id.length >= 1 && id.length <= MAX_MESSAGE_ID ? id : undefined;
  if (type === 3 || type === 4) {
    // Responses are never answered.
    return readableId ? undefined : { reason: `A ${type === 3 ? "CALLRESULT" : "CALLERROR"} without a valid message id` };
  }
  if (type !== 2) return answer(readableId, "NotImplemented", `Message type ${cut(String(type), 10)} is not supported`, "MessageTypeNotSupported");
  if (!readableId) return answer(undefined, "FormationViolation", `Message id must be text of 1-${MAX_MESSAGE_ID} characters`, "RpcFrameworkError");
  if (typeof action !== "string") return answer(readableId, "FormationViolation", "Action must be text", "RpcFrameworkError");
  if (!/^[A-Za-z0-9]{1,40}$/.test(action)) return answer(readableId, "NotImplemented", "Unknown action");
  // Well-formed after all (spaces or escapes the quick look does not expect): ocpp-rpc may have it.
  return undefined;
}

/** Puts the guard in front of ocpp-rpc's handler of this client's frames (call before any frame arrives). */
export function guardFrames(client: RpcServerClient, options: FrameGuardOptions): void {
  const inner = client as unknown as RpcServerClient & Internals;
  const original = inner._onMessage.bind(inner);
  inner._onMessage = (buffer: Buffer): void => {
    const bytes = Buffer.isBuffer(buffer) ? buffer : Buffer.from(String(buffer));
    const verdict = checkFrame(bytes, options.checkDepth, client.protocol || undefined);
    if (!verdict) {
      original(buffer);
      return;
    }
    const excerpt = cut(bytes.toString("utf8", 0, 200), 120);
    client.emit("message", { message: excerpt, outbound: false });
    options.onBadFrame({ reason: verdict.reason, messageId: verdict.messageId, excerpt });
    if (++inner._badMessagesCount > options.maxBadMessages) {
      void client.close({ code: 1002, reason: "Too many frames that are not OCPP-J" }).catch(() => undefined);
    } else if (verdict.reply && client.state === 1) {
      (client as unknown as { sendRaw(message: string): void }).sendRaw(JSON.stringify(verdict.reply));
    }
  };
  // ocpp-rpc's own framing errors (a frame with a good head that is not JSON, a response to an unknown id):
  // rewritten to OCPP 1.6 before ocpp-rpc sends them (it emits badMessage with the reply it is about to send).
  client.on("badMessage", ({ buffer, error, response }: { buffer: Buffer; error: unknown; response: unknown[] | null }) => {
    const head = Buffer.isBuffer(buffer) ? buffer.toString("utf8", 0, HEAD_BYTES) : "";
    if (response) {
      if (response[1] === "-1") response[1] = ID_GUESS.exec(head)?.[1] ?? "-1";
      const code = String(response[2]);
      // ocpp-rpc answers in 2.0.1 words: right for 2.0.1 connections, translated for 1.6 ones.
      if (!isV2(client.protocol || undefined)) response[2] = CODES_16[code] ?? code;
      response[3] = cut(String(response[3] ?? ""), MAX_ERROR_TEXT);
      response[4] = {};
    }
    const message = cut(String((error as { message?: string })?.message ?? error), MAX_ERROR_TEXT);
    options.onBadFrame({ reason: message, messageId: response ? String(response[1]) : undefined, excerpt: cut(head, 120) });
  });
}
