/**
 * The few words a Charge Amps node's status gives for a failure. One place, so
 * the account (whose login state every node using it shows) and the poll and
 * control nodes say the same thing about the same problem: "unreachable" is
 * never "login failed" on one node and "unreachable" on the next.
 */
import { errorMessage } from "../errors";
import { HttpError } from "../http-client";

export function shortReason(err: unknown): string {
  if (err instanceof HttpError) {
    switch (err.kind) {
      case "unauthorized": return "login refused";
      case "forbidden": return "read-only (403)";
      case "not_found": return "unknown charger";
      case "rate_limited": return "rate limited";
      case "server": return `server error ${err.status ?? ""}`.trim();
      case "timeout": return "timeout";
      case "unreachable": return "unreachable";
      case "bad_response": return "bad answer";
      case "too_large": return "answer too large";
      case "aborted": return "stopped";
      default: return `HTTP ${err.status ?? "error"}`;
    }
  }
  if (err instanceof Error && err.name === "SettingsError") return "invalid input";
  const text = errorMessage(err);
  return /missing its/.test(text) ? "credentials missing" : "error";
}
