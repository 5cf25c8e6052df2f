/**
 * The central system's RFID / id-tag list: answers Authorize and
 * StartTransaction, and is what local-list sync sends to chargers
 * (it implements IdTagDirectory from contract.ts).
 *
 * The list is typed by users into a Node-RED credential field, so parsing
 * accepts a forgiving text format and JSON, and reports every problem with
 * its line in plain words instead of stopping at the first.
 */
import { errorMessage } from "../../errors";
import type { IdTagDirectory, IdTagEntry } from "./contract";

export type IdTagStatus = IdTagEntry["status"];

/** What Authorize.conf / StartTransaction.conf carry as idTagInfo. */
export interface IdTagCheck {
  status: IdTagStatus;
  expiryDate?: string;
  parentIdTag?: string;
}

export interface IdTagListOptions {
  /**
   * Unknown tags answer Invalid instead of Accepted. Off by default only so
   * that a fresh install with an empty list can charge; turn it on as soon
   * as the list holds your tags, or any RFID card will start a session.
   */
  denyUnknown?: boolean;
  /** Version to start from (persist it so the local-list version keeps rising across restarts). Default 1. */
  initialVersion?: number;
}

export interface IdTagProblem {
  /** 1-based line in the typed text. */
  line?: number;
  /** 1-based position in a JSON list (or in the entries given in code). */
  entry?: number;
  message: string;
}

export class IdTagListError extends Error {
  constructor(readonly problems: IdTagProblem[]) {
    super(describeProblems(problems));
    this.name = "IdTagListError";
  }
}

const STATUSES: readonly IdTagStatus[] = ["Accepted", "Blocked", "Expired", "Invalid"];
/** OCPP 1.6 IdToken is a CiString20Type. */
const MAX_TAG = 20;

function describeProblems(problems: readonly IdTagProblem[]): string {
  const parts = problems.slice(0, 5).map((p) => {
    if (p.line !== undefined) return `line ${p.line}: ${p.message}`;
    if (p.entry !== undefined) return `entry ${p.entry}: ${p.message}`;
    return p.message;
  });
  const more = problems.length > 5 ? `; and ${problems.length - 5} more` : "";
  const head = problems.length === 1 ? "Problem in the id-tag list" : `${problems.length} problems in the id-tag list`;
  return `${head}: ${parts.join("; ")}${more}`;
}

/** OCPP compares id tags without regard to case. */
function tagKey(idTag: string): string {
  return idTag.toUpperCase();
}

function checkTag(value: unknown, what: string): { tag?: string; problem?: string } {
  if (typeof value !== "string" || value.trim() === "") return { problem: `${what} is missing` };
  const tag = value.trim();
  if (tag.length > MAX_TAG) return { problem: `${what} "${tag}" is longer than ${MAX_TAG} characters (the OCPP 1.6 limit)` };
  // Printable ASCII without spaces: what RFID readers produce and what chargers can store.
  if (!/^[\x21-\x7e]+$/.test(tag)) {
    return { problem: `${what} "${tag}" may only contain letters, digits and punctuation (no spaces or special characters)` };
  }
  return { tag };
}

function parseStatus(value: unknown): { status?: IdTagStatus; problem?: string } {
  if (value === undefined || value === null || value === "") return { status: "Accepted" };
  const found = STATUSES.find((s) => typeof value === "string" && s.toLowerCase() === value.trim().toLowerCase());
  if (found) return { status: found };
  return { problem: `status "${String(value)}" is not one of ${STATUSES.join(", ")}` };
}

/** A bare date means "valid through that day" (UTC), which is what people mean when they type one. */
function parseExpiry(value: unknown): { expiryDate?: string; problem?: string } {
  if (value === undefined || value === null || value === "") return {};
  const text = typeof value === "string" ? value.trim() : "";
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const ms = Date.parse(dateOnly ? `${text}T23:59:59.000Z` : text);
  if (text === "" || Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(text)) {
    return { problem: `expiry date "${String(value)}" is not a date; write it as YYYY-MM-DD or as an ISO 8601 time` };
  }
  return { expiryDate: new Date(ms).toISOString() };
}

type Where = { line: number } | { entry: number };

function entryFrom(
  fields: { idTag: unknown; status?: unknown; expiryDate?: unknown; parentIdTag?: unknown },
  where: Where,
  problems: IdTagProblem[],
): IdTagEntry | undefined {
  const before = problems.length;
  const tag = checkTag(fields.idTag, "id tag");
  if (tag.problem) problems.push({ ...where, message: tag.problem });
  const status = parseStatus(fields.status);
  if (status.problem) problems.push({ ...where, message: status.problem });
  const expiry = parseExpiry(fields.expiryDate);
  if (expiry.problem) problems.push({ ...where, message: expiry.problem });
  let parentIdTag: string | undefined;
  if (fields.parentIdTag !== undefined && fields.parentIdTag !== null && fields.parentIdTag !== "") {
    const parent = checkTag(fields.parentIdTag, "parent tag");
    if (parent.problem) problems.push({ ...where, message: parent.problem });
    parentIdTag = parent.tag;
  }
  if (problems.length > before || !tag.tag || !status.status) return undefined;
  const entry: IdTagEntry = { idTag: tag.tag, status: status.status };
  if (expiry.expiryDate) entry.expiryDate = expiry.expiryDate;
  if (parentIdTag) entry.parentIdTag = parentIdTag;
  return entry;
}

function rejectDuplicates(
  items: ReadonlyArray<{ entry: IdTagEntry; where: Where }>,
  problems: IdTagProblem[],
): IdTagEntry[] {
  const seen = new Map<string, Where>();
  const out: IdTagEntry[] = [];
  for (const { entry, where } of items) {
    const k = tagKey(entry.idTag);
    const first = seen.get(k);
    if (first) {
      const at = "line" in first ? `line ${first.line}` : `entry ${first.entry}`;
      problems.push({
        ...where,
        message: `id tag "${entry.idTag}" is listed twice (first at ${at}); tags are compared without regard to case`,
      });
      continue;
    }
    seen.set(k, where);
    out.push(entry);
  }
  return out;
}

/** Checks entries coming from code or JSON (a list of entries or of plain tag strings). */
export function validateIdTagEntries(value: unknown): { entries: IdTagEntry[]; problems: IdTagProblem[] } {
  const problems: IdTagProblem[] = [];
  const items: Array<{ entry: IdTagEntry; where: Where }> = [];
  if (!Array.isArray(value)) {
    return { entries: [], problems: [{ message: "expected a list of id tags" }] };
  }
  value.forEach((raw: unknown, i) => {
    const where = { entry: i + 1 };
    const fields =
      typeof raw === "string"
        ? { idTag: raw }
        : raw && typeof raw === "object"
          ? (raw as { idTag: unknown; status?: unknown; expiryDate?: unknown; parentIdTag?: unknown })
          : undefined;
    if (!fields) {
      problems.push({ ...where, message: "each entry must be a tag text or an object with idTag" });
      return;
    }
    const entry = entryFrom(fields, where, problems);
    if (entry) items.push({ entry, where });
  });
  return { entries: rejectDuplicates(items, problems), problems };
}

/**
 * Parses what a user typed. JSON: a list of `{idTag, status?, expiryDate?,
 * parentIdTag?}` or of tag strings, or an object `{"TAG": "Blocked"}`.
 * Text: one tag per line, `idTag[, status[, expiry date[, parent tag]]]`
 * (fields separated by commas or semicolons, or by spaces when there are no
 * commas), `#` starts a comment, blank lines are ignored.
 */
export function parseIdTagList(text: string): { entries: IdTagEntry[]; problems: IdTagProblem[] } {
  const trimmed = (text ?? "").trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    let data: unknown;
    try {
      data = JSON.parse(trimmed);
    } catch (err) {
      return { entries: [], problems: [{ message: `the list looks like JSON but does not parse: ${errorMessage(err)}` }] };
    }
    if (data && typeof data === "object" && !Array.isArray(data)) {
      data = Object.entries(data as Record<string, unknown>).map(([idTag, v]) =>
        v && typeof v === "object" ? { ...(v as object), idTag } : { idTag, status: v },
      );
    }
    return validateIdTagEntries(data);
  }
  const problems: IdTagProblem[] = [];
  const items: Array<{ entry: IdTagEntry; where: Where }> = [];
  (text ?? "").split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const content = raw.replace(/#.*$/, "").trim();
    if (content === "") return;
    const fields = /[,;]/.test(content) ? content.split(/[,;]/).map((f) => f.trim()) : content.split(/\s+/);
    if (fields.length > 4) {
      problems.push({ line, message: "too many fields; expected: id tag, status, expiry date, parent tag" });
      return;
    }
    const [idTag, status, expiryDate, parentIdTag] = fields;
    const entry = entryFrom({ idTag, status, expiryDate, parentIdTag }, { line }, problems);
    if (entry) items.push({ entry, where: { line } });
  });
  const entries = rejectDuplicates(items, problems);
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { entries, problems };
}

export class IdTagList implements IdTagDirectory {
  readonly denyUnknown: boolean;
  private byKey = new Map<string, IdTagEntry>();
  private currentVersion: number;
  private readonly listeners = new Set<() => void>();

  /** Throws IdTagListError when an entry is invalid. */
  constructor(entries: readonly IdTagEntry[] = [], options: IdTagListOptions = {}) {
    this.denyUnknown = options.denyUnknown === true;
    this.currentVersion = Math.max(1, Math.floor(options.initialVersion ?? 1));
    this.byKey = IdTagList.index(entries);
  }

  /** Parses user text or JSON (see parseIdTagList); throws IdTagListError listing every problem. */
  static parse(text: string, options: IdTagListOptions = {}): IdTagList {
    const { entries, problems } = parseIdTagList(text);
    if (problems.length > 0) throw new IdTagListError(problems);
    return new IdTagList(entries, options);
  }

  get version(): number {
    return this.currentVersion;
  }

  get size(): number {
    return this.byKey.size;
  }

  entries(): IdTagEntry[] {
    return [...this.byKey.values()].map((e) => ({ ...e }));
  }

  get(idTag: string): IdTagEntry | undefined {
    const found = typeof idTag === "string" ? this.byKey.get(tagKey(idTag.trim())) : undefined;
    return found ? { ...found } : undefined;
  }

  /**
   * The idTagInfo to answer for a tag. An Accepted tag past its expiry date
   * answers Expired. Unknown tags answer Accepted, or Invalid with denyUnknown.
   */
  check(idTag: string, now: Date = new Date()): IdTagCheck {
    if (typeof idTag !== "string" || idTag.trim() === "") return { status: "Invalid" };
    const entry = this.byKey.get(tagKey(idTag.trim()));
    if (!entry) return { status: this.denyUnknown ? "Invalid" : "Accepted" };
    let status = entry.status;
    if (status === "Accepted" && entry.expiryDate !== undefined && Date.parse(entry.expiryDate) <= now.getTime()) {
      status = "Expired";
    }
    const result: IdTagCheck = { status };
    if (entry.expiryDate !== undefined) result.expiryDate = entry.expiryDate;
    if (entry.parentIdTag !== undefined) result.parentIdTag = entry.parentIdTag;
    return result;
  }

  /** Replaces the whole list; throws IdTagListError (list unchanged) when an entry is invalid. */
  replace(entries: readonly IdTagEntry[]): void {
    this.commit(IdTagList.index(entries));
  }

  /** Adds or changes one entry (matched without regard to case). */
  upsert(entry: IdTagEntry): void {
    const next = new Map(this.byKey);
    const [checked] = IdTagList.index([entry]).values();
    next.set(tagKey(checked.idTag), checked);
    this.commit(next);
  }

  /** Returns false when the tag was not in the list. */
  remove(idTag: string): boolean {
    const k = tagKey(String(idTag).trim());
    if (!this.byKey.has(k)) return false;
    const next = new Map(this.byKey);
    next.delete(k);
    this.commit(next);
    return true;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** JSON for the credential field; IdTagList.parse reads it back. */
  serialize(): string {
    return JSON.stringify(this.entries());
  }

  /** The line format, for showing the list back to a user. */
  toText(): string {
    return this.entries()
      .map((e) => [e.idTag, e.status, e.expiryDate ?? "", e.parentIdTag ?? ""].join(", ").replace(/(, )+$/, ""))
      .join("\n");
  }

  private static index(entries: readonly IdTagEntry[]): Map<string, IdTagEntry> {
    const { entries: valid, problems } = validateIdTagEntries(entries);
    if (problems.length > 0) throw new IdTagListError(problems);
    return new Map(valid.map((e) => [tagKey(e.idTag), e]));
  }

  /** Only a real change bumps the version, so chargers are not re-sent an identical list. */
  private commit(next: Map<string, IdTagEntry>): void {
    if (JSON.stringify([...next.values()]) === JSON.stringify([...this.byKey.values()])) return;
    this.byKey = next;
    this.currentVersion++;
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // One faulty listener must not stop the others or the change itself.
      }
    }
  }
}
