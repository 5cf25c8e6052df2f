/**
 * The local authorization list of an OCPP 2.0.1 charger, kept equal to the
 * central system's id-tag list: the same idea as the 1.6 sync
 * (v16/local-list.ts: Full first, then only the changes, Full again on any
 * doubt), in 2.0.1 frames: GetLocalListVersion answers `versionNumber`,
 * SendLocalList carries `versionNumber` and AuthorizationData
 * (`idToken: {idToken, type}`, `idTokenInfo: {status, cacheExpiryDateTime,
 * groupIdToken}`).
 *
 * Two 2.0.1 rules shape it: a Differential update must carry a version
 * above the charger's (D01.FR.19), and a message may be limited by the
 * device model (LocalAuthListCtrlr ItemsPerMessage / BytesPerMessage, the
 * capacity as the maxLimit of Entries). A list that needs several messages
 * is one Full and then Differentials with the next versions, so the charger
 * may end a few versions above the id-tag list's own version.
 */
import type { ChargerDirectory, ChargerLink, IdTagDirectory, IdTagEntry } from "../core/contract";
import { CommandError, classifyCallError } from "../core/command-error";
import { KeyedSerial } from "../core/keyed-serial";
import type { LocalListSyncResult } from "../v16/local-list";
import type { AuthorizationStatus, IdToken, IdTokenInfo } from "./messages";

/** One entry of SendLocalList's localAuthorizationList; without idTokenInfo it removes the token (Differential). */
export interface AuthorizationData {
  idToken: IdToken;
  idTokenInfo?: IdTokenInfo;
}

/** 2.0.1 IdTokenEnumType. */
export const ID_TOKEN_TYPES = ["Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization"] as const;
export type IdTokenType = (typeof ID_TOKEN_TYPES)[number];

/**
 * The id-tag list holds RFID card numbers, and the local list is what a
 * charger uses for cards while offline: ISO14443 (the common RFID cards).
 * A group (1.6 parentIdTag) is not a card: Central, as the Authorize answer
 * gives it (v201/transaction-events.ts).
 */
export const DEFAULT_TOKEN_TYPE: IdTokenType = "ISO14443";
const GROUP_TOKEN_TYPE: IdTokenType = "Central";

/** A 1.6-style id-tag entry as 2.0.1 AuthorizationData (idTag → idToken, expiryDate → cacheExpiryDateTime, parentIdTag → groupIdToken). */
export function toAuthorizationData(
  entry: Pick<IdTagEntry, "idTag" | "expiryDate" | "parentIdTag"> & { status: AuthorizationStatus },
  type: string = DEFAULT_TOKEN_TYPE,
): AuthorizationData {
  const info: IdTokenInfo = { status: entry.status };
  if (entry.expiryDate) info.cacheExpiryDateTime = entry.expiryDate;
  if (entry.parentIdTag) info.groupIdToken = { idToken: entry.parentIdTag, type: GROUP_TOKEN_TYPE };
  return { idToken: { idToken: entry.idTag, type }, idTokenInfo: info };
}

export interface LocalListSync201Options {
  timeoutMs?: number;
  /** Entries per SendLocalList; default: the device model's LocalAuthListCtrlr/ItemsPerMessage if known, else all in one. */
  maxPerMessage?: number;
  /** For the charger's device model (LocalAuthListCtrlr/…). */
  directory?: ChargerDirectory;
  /** The id-token type the entries are sent with (default ISO14443). */
  tokenType?: IdTokenType;
}

/** Device-model keys this module reads (as v201/device-model.ts stores them). */
const KEYS = {
  available: "LocalAuthListCtrlr/Available",
  enabled: "LocalAuthListCtrlr/Enabled",
  itemsPerMessage: "LocalAuthListCtrlr/ItemsPerMessage",
  bytesPerMessage: "LocalAuthListCtrlr/BytesPerMessage",
  capacity: "LocalAuthListCtrlr/Entries#maxLimit",
} as const;

/** What a CALL frame adds around the payload: `[2,"<id up to 36>","SendLocalList",…]`. */
const FRAME_OVERHEAD = Buffer.byteLength(JSON.stringify([2, "x".repeat(36), "SendLocalList", null])) - "null".length;

interface Limits {
  perMessage: number;
  bytesPerMessage?: number;
  capacity?: number;
}

interface Synced {
  version: number;
  /** idToken (upper case) → AuthorizationData as JSON. */
  entries: Map<string, string>;
}

type Outcome = { ok: true; version: number; messages: number } | { ok: false; status: string; messages: number };

export class LocalListSync201 {
  private readonly synced = new Map<string, Synced>();
  private readonly running = new KeyedSerial();

  constructor(
    private readonly idTags: IdTagDirectory,
    private readonly options: LocalListSync201Options = {},
  ) {}

  syncedVersion(identity: string): number | undefined {
    return this.synced.get(identity)?.version;
  }

  forget(identity: string): void {
    this.synced.delete(identity);
  }

  /** Brings one charger up to date; calls for the same charger run one after another. */
  sync(link: ChargerLink): Promise<LocalListSyncResult> {
    return this.running.run(link.identity, () => this.syncNow(link));
  }

  private async call<T>(link: ChargerLink, action: string, payload: object): Promise<T> {
    try {
      return await link.call<T>(action, payload, { timeoutMs: this.options.timeoutMs });
    } catch (err) {
      const error = classifyCallError(err, link.identity, action);
      if (error.kind === "call_error" && ["NotImplemented", "NotSupported"].includes(error.rpcErrorCode ?? "")) {
        throw notSupported(link.identity, error.rpcErrorCode);
      }
      throw error;
    }
  }

  /** What the device model says; a charger whose list is switched off gets a clear error before anything is sent. */
  private limits(identity: string): Limits {
    const model = this.options.directory?.snapshot(identity)?.configuration ?? {};
    const flag = (key: string): string | undefined => model[key]?.trim().toLowerCase();
    if (flag(KEYS.available) === "false") throw notSupported(identity, "LocalAuthListCtrlr.Available is false");
    if (flag(KEYS.enabled) === "false") {
      throw new CommandError(
        "rejected",
        `The local authorization list is switched off on charger ${identity} (LocalAuthListCtrlr.Enabled is false); switch it on with ChangeConfiguration LocalAuthListEnabled = true, then sync again`,
        { chargerId: identity, action: "SendLocalList" },
      );
    }
    const positive = (key: string): number | undefined => {
      const n = Number.parseInt(model[key] ?? "", 10);
      return Number.isFinite(n) && n > 0 ? n : undefined;
    };
    return {
      perMessage: Math.max(1, this.options.maxPerMessage ?? positive(KEYS.itemsPerMessage) ?? Infinity),
      bytesPerMessage: positive(KEYS.bytesPerMessage),
      capacity: positive(KEYS.capacity),
    };
  }

  private async syncNow(link: ChargerLink): Promise<LocalListSyncResult> {
    const identity = link.identity;
    const limits = this.limits(identity);
    const type = this.options.tokenType ?? DEFAULT_TOKEN_TYPE;
    const wanted = new Map(this.idTags.entries().map((e) => [e.idTag.toUpperCase(), JSON.stringify(toAuthorizationData(e, type))]));
    if (limits.capacity !== undefined && wanted.size > limits.capacity) {
      throw new CommandError("rejected", `The id-tag list has ${wanted.size} tags, but charger ${identity} holds at most ${limits.capacity} (LocalAuthListCtrlr Entries)`, {
        chargerId: identity,
        action: "SendLocalList",
      });
    }
    // Version 0 means "no list" to a charger, so a list we send is at least 1.
    const target = Math.max(1, this.idTags.version);

    const reported = await this.call<{ versionNumber?: unknown }>(link, "GetLocalListVersion", {});
    const previousVersion = typeof reported?.versionNumber === "number" && Number.isInteger(reported.versionNumber) ? reported.versionNumber : undefined;
    if (previousVersion === undefined) {
      throw new CommandError("failed", `Charger ${identity} answered GetLocalListVersion without a version number`, { chargerId: identity, action: "GetLocalListVersion", answer: reported });
    }

    const known = this.synced.get(identity);
    const base = { chargerId: identity, previousVersion };
    if (known && known.version === previousVersion) {
      const changes: AuthorizationData[] = [];
      for (const [key, json] of wanted) if (known.entries.get(key) !== json) changes.push(JSON.parse(json) as AuthorizationData);
      for (const [key, json] of known.entries) if (!wanted.has(key)) changes.push({ idToken: (JSON.parse(json) as AuthorizationData).idToken });
      if (changes.length === 0) return { ...base, listVersion: previousVersion, updateType: "None", sent: 0, messages: 0 };
      const outcome = await this.sendDifferential(link, changes, Math.max(target, previousVersion + 1), limits);
      if (outcome.ok) {
        this.synced.set(identity, { version: outcome.version, entries: wanted });
        return { ...base, listVersion: outcome.version, updateType: "Differential", sent: changes.length, messages: outcome.messages };
      }
      // VersionMismatch / Failed: the charger's list is not what we think; start over.
      const full = await this.sendFull(link, wanted, Math.max(target, previousVersion + 1), limits);
      return { ...base, listVersion: full.version, updateType: "Full", sent: wanted.size, messages: outcome.messages + full.messages, fellBackToFull: true };
    }
    const full = await this.sendFull(link, wanted, target, limits);
    return { ...base, listVersion: full.version, updateType: "Full", sent: wanted.size, messages: full.messages };
  }

  private async sendFull(link: ChargerLink, wanted: Map<string, string>, version: number, limits: Limits): Promise<{ version: number; messages: number }> {
    this.synced.delete(link.identity);
    const all = [...wanted.values()].map((json) => JSON.parse(json) as AuthorizationData);
    const chunks = this.chunks(link.identity, all, limits, version);
    // A Full update is one message; the rest follow as Differentials, each with the next version (D01.FR.19).
    let outcome = await this.send(link, "Full", version, chunks[0]);
    let messages = 1;
    let current = version;
    for (const chunk of chunks.slice(1)) {
      if (!outcome.ok) break;
      current++;
      outcome = await this.send(link, "Differential", current, chunk);
      messages++;
    }
    if (!outcome.ok) {
      throw new CommandError("rejected", `Charger ${link.identity} refused the full local list (${outcome.status})`, {
        chargerId: link.identity,
        action: "SendLocalList",
        answer: { status: outcome.status },
      });
    }
    this.synced.set(link.identity, { version: current, entries: wanted });
    return { version: current, messages };
  }

  private async sendDifferential(link: ChargerLink, changes: AuthorizationData[], version: number, limits: Limits): Promise<Outcome> {
    let current = version - 1;
    let messages = 0;
    for (const chunk of this.chunks(link.identity, changes, limits, version)) {
      current++;
      const outcome = await this.send(link, "Differential", current, chunk);
      messages++;
      if (!outcome.ok) return { ...outcome, messages };
    }
    return { ok: true, version: current, messages };
  }

  private async send(link: ChargerLink, updateType: "Full" | "Differential", versionNumber: number, list: AuthorizationData[]): Promise<Outcome> {
    // An empty list is left out (the schema wants at least one entry): Full without a list clears it.
    const payload = list.length > 0 ? { versionNumber, updateType, localAuthorizationList: list } : { versionNumber, updateType };
    const answer = await this.call<{ status?: unknown }>(link, "SendLocalList", payload);
    const status = String(answer?.status);
    return status === "Accepted" ? { ok: true, version: versionNumber, messages: 1 } : { ok: false, status, messages: 1 };
  }

  /** Splits by ItemsPerMessage and BytesPerMessage (the whole frame counted); always at least one (maybe empty) chunk. */
  private chunks(identity: string, list: AuthorizationData[], limits: Limits, version: number): AuthorizationData[][] {
    const out: AuthorizationData[][] = [[]];
    const head = Buffer.byteLength(JSON.stringify({ versionNumber: version + 1000, updateType: "Differential", localAuthorizationList: [] })) + FRAME_OVERHEAD;
    let bytes = head;
    for (const entry of list) {
      const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
      if (limits.bytesPerMessage !== undefined && head + size > limits.bytesPerMessage) {
        throw new CommandError("rejected", `The entry for "${entry.idToken.idToken}" alone is larger than the ${limits.bytesPerMessage} bytes charger ${identity} takes per message (LocalAuthListCtrlr BytesPerMessage)`, {
          chargerId: identity,
          action: "SendLocalList",
        });
      }
      let chunk = out[out.length - 1];
      if (chunk.length >= limits.perMessage || (limits.bytesPerMessage !== undefined && bytes + size > limits.bytesPerMessage)) {
        chunk = [];
        out.push(chunk);
        bytes = head;
      }
      chunk.push(entry);
      bytes += size;
    }
    return out;
  }
}

function notSupported(identity: string, why?: string): CommandError {
  return new CommandError("not_supported", `Charger ${identity} does not support a local authorization list${why ? ` (${why})` : ""}`, {
    chargerId: identity,
    action: "SendLocalList",
    rpcErrorCode: why && /^[A-Za-z]+$/.test(why) ? why : undefined,
  });
}
