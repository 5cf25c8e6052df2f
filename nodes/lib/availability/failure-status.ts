/** Status words for a poll of a feed where nothing could be read. */
import { formatDelay } from "../backoff";

/** The status for a poll where nothing could be read: the kind of failure, so 401, 429 and a timeout look different. */
export function failureStatusText(kind: string | undefined, retryAfterMs: number | undefined, fallback: string): string {
  switch (kind) {
    case "rate_limited":
      return retryAfterMs ? `rate limited · retry ${formatDelay(retryAfterMs)}` : "rate limited (HTTP 429)";
    case "unauthorized":
      return "key refused (HTTP 401)";
    case "forbidden":
      return "access denied (HTTP 403)";
    case "timeout":
      return "feed timeout";
    case "BudgetExceededError":
      return "time budget ran out";
    case "unreachable":
      return "feed unreachable";
    case "too_large":
      return "answer too large";
    case "server":
      return "feed server error";
    default:
      return fallback;
  }
}
