/**
 * Local-list sync for every protocol version: one object per id-tag list
 * that hands each charger to its version's adapter (v16/local-list.ts,
 * v201/local-list.ts) by the link's negotiated protocol, so a flow's
 * syncLocalList and the automatic sync work the same for 1.6 and 2.0.1.
 */
import type { ChargerLink, IdTagDirectory } from "./contract";
import { localListSyncFor as localListSync16, type LocalListSync, type LocalListSyncOptions, type LocalListSyncResult } from "../v16/local-list";
import { LocalListSync201 } from "../v201/local-list";
import { isOcpp2 } from "../v201/commands";

export { startAutoSync, type LocalListSyncResult } from "../v16/local-list";

export class VersionedLocalListSync {
  constructor(
    private readonly v16: LocalListSync,
    private readonly v201: LocalListSync201,
  ) {}

  sync(link: ChargerLink): Promise<LocalListSyncResult> {
    return isOcpp2(link.protocol) ? this.v201.sync(link) : this.v16.sync(link);
  }

  /** Forget what a charger holds (whatever its version), so the next sync sends the Full list. */
  forget(identity: string): void {
    this.v16.forget(identity);
    this.v201.forget(identity);
  }

  syncedVersion(identity: string): number | undefined {
    return this.v201.syncedVersion(identity) ?? this.v16.syncedVersion(identity);
  }
}

const shared = new WeakMap<IdTagDirectory, VersionedLocalListSync>();

/** One sync per id-tag list, so every node that syncs shares the version tracking (the 1.6 part is v16's shared one). */
export function localListSyncFor(idTags: IdTagDirectory, options: LocalListSyncOptions = {}): VersionedLocalListSync {
  let sync = shared.get(idTags);
  if (!sync) {
    sync = new VersionedLocalListSync(localListSync16(idTags, options), new LocalListSync201(idTags, { timeoutMs: options.timeoutMs, directory: options.directory }));
    shared.set(idTags, sync);
  }
  return sync;
}
