/**
 * The id-tag list as the user types it into the central system's
 * credentials (never the flow JSON): entries separated by spaces, commas or
 * new lines.
 *   04A2B3C4              accepted
 *   04A2B3C4@2027-01-31   accepted until that date (ISO 8601), Expired after
 *   !DEADBEEF             blocked
 *   04A2B3C4>PARENT1      with a parent id tag (groups)
 */
import type { IdTagEntry } from "./contract";

export function parseIdTagText(text: string | undefined): { entries: IdTagEntry[]; errors: string[] } {
  const entries = new Map<string, IdTagEntry>();
  const errors: string[] = [];
  for (const raw of (text ?? "").split(/[\s,;]+/)) {
    if (!raw) continue;
    const m = /^(!?)([^@>!]+)(?:>([^@>]+))?(?:@(.+))?$/.exec(raw);
    if (!m) {
      errors.push(`"${raw}" is not an id tag entry`);
      continue;
    }
    const [, blocked, idTag, parentIdTag, expiry] = m;
    if (idTag.length > 20) errors.push(`"${idTag}" is longer than the 20 characters OCPP 1.6 allows`);
    let expiryDate: string | undefined;
    if (expiry !== undefined) {
      const t = Date.parse(expiry);
      if (Number.isNaN(t)) {
        errors.push(`"${expiry}" (expiry of ${idTag}) is not a date like 2027-01-31`);
        continue;
      }
      expiryDate = new Date(t).toISOString();
    }
    const entry: IdTagEntry = { idTag, status: blocked ? "Blocked" : "Accepted" };
    if (expiryDate) entry.expiryDate = expiryDate;
    if (parentIdTag) entry.parentIdTag = parentIdTag;
    entries.set(idTag, entry);
  }
  return { entries: [...entries.values()], errors };
}
