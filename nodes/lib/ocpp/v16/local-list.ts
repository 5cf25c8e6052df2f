/**
 * Keeps each charger's local authorization list equal to the central
 * system's id-tag list, so chargers can authorize cards while offline.
 * The first sync (or any doubt about what the charger holds) sends the Full
 * list; after that only the changes since the version we know the charger
 * has (Differential). What was last synced is remembered per charger; if the
 * charger's GetLocalListVersion disagrees, or it answers VersionMismatch or
 * Failed to a Differential update, we fall back to Full.
 */
import type { ChargerDirectory, ChargerLink, IdTagDirectory, IdTagEntry } from "../core/contract";
import { CommandError, classifyCallError } from "../core/command-error";
import { KeyedSerial } from "../core/keyed-serial";

export interface LocalListSyncResult {
  chargerId: string;
  updateType: "Full" | "Differential" | "None";
  listVersion: number;
  /** Version the charger reported before the sync. */
  previousVersion: number;
  /** Entries sent (added, changed or removed). */
  sent: number;
  /** SendLocalList messages used (long lists are split). */
  messages: number;
  /** True when a Differential update was refused and the Full list was sent instead. */
  fellBackToFull?: boolean;
}

export interface LocalListSyncOptions {
  timeoutMs?: number;
  /** Entries per SendLocalList; default: the charger's SendLocalListMaxLength if known, else all in one. */
  maxPerMessage?: number;
  /** For the charger's recorded configuration (SendLocalListMaxLength, LocalAuthListMaxLength). */
  directory?: ChargerDirectory;
}

type WireEntry = { idTag: string; idTagInfo?: { status: string; expiryDate?: string; parentIdTag?: string } };

export function toWireEntry(entry: IdTagEntry): WireEntry {
  const info: WireEntry["idTagInfo"] = { status: entry.status };
  if (entry.expiryDate) info.expiryDate = entry.expiryDate;
  if (entry.parentIdTag) info.parentIdTag = entry.parentIdTag;
  return { idTag: entry.idTag, idTagInfo: info };
}

interface Synced {
  version: number;
  entries: Map<string, string>;
}

export class LocalListSync {
  private readonly synced = new Map<string, Synced>();
  private readonly running = new KeyedSerial();

  constructor(
    private readonly idTags: IdTagDirectory,
    private readonly options: LocalListSyncOptions = {},
  ) {}

  /** The version last synced to `identity`, if any. */
  syncedVersion(identity: string): number | undefined {
    return this.synced.get(identity)?.version;
  }

  /** Forget what a charger holds, so the next sync sends the Full list. */
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

  private limits(identity: string): { perMessage: number; maxLength?: number } {
    const cfg = this.options.directory?.snapshot(identity)?.configuration ?? {};
    const perMessage = this.options.maxPerMessage ?? (Number.parseInt(cfg.SendLocalListMaxLength ?? "", 10) || Infinity);
    const maxLength = Number.parseInt(cfg.LocalAuthListMaxLength ?? "", 10);
    return { perMessage: Math.max(1, perMessage), maxLength: Number.isFinite(maxLength) ? maxLength : undefined };
  }

  private async syncNow(link: ChargerLink): Promise<LocalListSyncResult> {
    const identity = link.identity;
    const entries = this.idTags.entries();
    // Version 0 means "no list" to a charger (GetLocalListVersion), so a list we sent is at least 1.
    const version = Math.max(1, this.idTags.version);
    const wanted = new Map(entries.map((e) => [e.idTag, JSON.stringify(toWireEntry(e))]));
    const { perMessage, maxLength } = this.limits(identity);
    if (maxLength !== undefined && wanted.size > maxLength) {
      throw new CommandError("rejected", `The id-tag list has ${wanted.size} tags, but charger ${identity} holds at most ${maxLength} (LocalAuthListMaxLength)`, {
        chargerId: identity,
        action: "SendLocalList",
      });
    }

    const reported = await this.call<{ listVersion?: number }>(link, "GetLocalListVersion", {});
    const previousVersion = typeof reported?.listVersion === "number" ? reported.listVersion : -1;
    if (previousVersion < 0) throw notSupported(identity);

    const known = this.synced.get(identity);
    const base = { chargerId: identity, listVersion: version, previousVersion };
    if (known && known.version === previousVersion) {
      const changes: WireEntry[] = [];
      for (const [idTag, json] of wanted) if (known.entries.get(idTag) !== json) changes.push(JSON.parse(json) as WireEntry);
      for (const idTag of known.entries.keys()) if (!wanted.has(idTag)) changes.push({ idTag });
      if (changes.length === 0 && version === previousVersion) return { ...base, updateType: "None", sent: 0, messages: 0 };
      const outcome = await this.send(link, "Differential", version, changes, perMessage);
      if (outcome.ok) {
        this.synced.set(identity, { version, entries: wanted });
        return { ...base, updateType: "Differential", sent: changes.length, messages: outcome.messages };
      }
      // VersionMismatch / Failed: the charger's list is not what we think; start over.
      const full = await this.sendFull(link, version, wanted, perMessage);
      return { ...base, updateType: "Full", sent: wanted.size, messages: full, fellBackToFull: true };
    }
    const messages = await this.sendFull(link, version, wanted, perMessage);
    return { ...base, updateType: "Full", sent: wanted.size, messages };
  }

  private async sendFull(link: ChargerLink, version: number, wanted: Map<string, string>, perMessage: number): Promise<number> {
    this.synced.delete(link.identity);
    const all = [...wanted.values()].map((json) => JSON.parse(json) as WireEntry);
    const first = await this.send(link, "Full", version, all.slice(0, perMessage), perMessage);
    let messages = first.messages;
    if (first.ok && all.length > perMessage) {
      // A Full update cannot be split; the rest goes in Differential updates of the same version.
      const rest = await this.send(link, "Differential", version, all.slice(perMessage), perMessage);
      messages += rest.messages;
      first.ok = rest.ok;
      first.status = rest.status;
    }
    if (!first.ok) {
      throw new CommandError("rejected", `Charger ${link.identity} refused the full local list (${first.status})`, {
        chargerId: link.identity,
        action: "SendLocalList",
        answer: { status: first.status },
      });
    }
    this.synced.set(link.identity, { version, entries: wanted });
    return messages;
  }

  private async send(
    link: ChargerLink,
    updateType: "Full" | "Differential",
    listVersion: number,
    list: WireEntry[],
    perMessage: number,
  ): Promise<{ ok: boolean; status: string; messages: number }> {
    const chunks: WireEntry[][] = [];
    for (let i = 0; i < list.length; i += perMessage) chunks.push(list.slice(i, i + perMessage));
    if (chunks.length === 0) chunks.push([]);
    let messages = 0;
    for (const chunk of chunks) {
      const answer = await this.call<{ status?: string }>(link, "SendLocalList", { listVersion, updateType, localAuthorizationList: chunk });
      messages++;
      const status = String(answer?.status);
      if (status === "NotSupported") throw notSupported(link.identity);
      if (status !== "Accepted") return { ok: false, status, messages };
    }
    return { ok: true, status: "Accepted", messages };
  }
}

function notSupported(identity: string, code?: string): CommandError {
  return new CommandError("not_supported", `Charger ${identity} does not support a local authorization list${code ? ` (${code})` : ""}`, {
    chargerId: identity,
    action: "SendLocalList",
    rpcErrorCode: code,
  });
}

const shared = new WeakMap<IdTagDirectory, LocalListSync>();

/** One LocalListSync per id-tag list, so every node that syncs shares the version tracking. */
export function localListSyncFor(idTags: IdTagDirectory, options: LocalListSyncOptions = {}): LocalListSync {
  let sync = shared.get(idTags);
  if (!sync) {
    sync = new LocalListSync(idTags, options);
    shared.set(idTags, sync);
  }
  return sync;
}

export interface AutoSyncOptions {
  /** Wait this long after a change before syncing, so a burst of edits is one sync (default 1000 ms). */
  debounceMs?: number;
  onResult?: (result: LocalListSyncResult) => void;
  onError?: (error: CommandError, chargerId: string) => void;
}

/**
 * Syncs every connected charger whenever the id-tag list changes, and each
 * charger when it (re)connects. Chargers without a local list are skipped
 * until they reconnect. Returns a stop function.
 */
export function startAutoSync(directory: ChargerDirectory, sync: Pick<LocalListSync, "sync">, idTags: IdTagDirectory, options: AutoSyncOptions = {}): () => void {
  const unsupported = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = (link: ChargerLink): void => {
    if (stopped || unsupported.has(link.identity)) return;
    sync.sync(link).then(
      (result) => {
        if (!stopped) options.onResult?.(result);
      },
      (err: unknown) => {
        const error = classifyCallError(err, link.identity, "SendLocalList");
        if (error.kind === "not_supported") unsupported.add(link.identity);
        if (!stopped) options.onError?.(error, link.identity);
      },
    );
  };
  const offChange = idTags.onChange(() => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      for (const charger of directory.list()) {
        const link = charger.connected ? directory.link(charger.identity) : undefined;
        if (link) run(link);
      }
    }, options.debounceMs ?? 1000);
  });
  const offConnected = directory.onConnected((link) => {
    unsupported.delete(link.identity);
    run(link);
  });
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    offChange();
    offConnected();
  };
}
