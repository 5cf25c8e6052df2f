/**
 * Id tags the central system asked a charger to start a session with
 * (RemoteStartTransaction). The charger then sends Authorize and/or
 * StartTransaction with that tag; answering them from the id-tag list
 * could refuse our own request (a tag not in the list while unknown tags
 * are refused) and end the session at once. So the tag is accepted for
 * that charger while the charger may still be waiting for the car, and
 * only for one StartTransaction (issue 13 item 3).
 */

/** How long a remote start waits for the car (chargers' ConnectionTimeOut is usually 30–180 s). */
export const REMOTE_START_WINDOW_MS = 10 * 60_000;
/** Outstanding grants kept per charger; older ones are dropped. */
const MAX_PER_CHARGER = 4;
const MAX_CHARGERS = 1000;

interface Grant {
  idTag: string;
  untilMs: number;
  /** False until the charger answered Accepted (the grant already counts while the call is on the wire). */
  confirmed: boolean;
}

export class RemoteStartGrants {
  private readonly byCharger = new Map<string, Grant[]>();

  constructor(private readonly windowMs = REMOTE_START_WINDOW_MS) {}

  /** From the RpcLink observer: answer undefined = sending, null = failed, else the charger's answer. */
  record(identity: string, payload: object, answer: unknown, nowMs = Date.now()): void {
    const idTag = (payload as { idTag?: unknown }).idTag;
    if (typeof idTag !== "string" || idTag === "") return;
    const key = idTag.toUpperCase();
    let list = this.byCharger.get(identity) ?? [];
    if (answer === undefined) {
      list = [...list.filter((g) => g.untilMs > nowMs), { idTag: key, untilMs: nowMs + this.windowMs, confirmed: false }].slice(-MAX_PER_CHARGER);
    } else {
      const accepted = (answer as { status?: unknown } | null)?.status === "Accepted";
      const index = list.findIndex((g) => g.idTag === key && !g.confirmed);
      if (index >= 0) {
        if (accepted) list[index].confirmed = true;
        else list.splice(index, 1);
      }
    }
    this.byCharger.delete(identity);
    if (list.length > 0) this.byCharger.set(identity, list);
    if (this.byCharger.size > MAX_CHARGERS) this.byCharger.delete(this.byCharger.keys().next().value as string);
  }

  /** Whether this tag was asked for on this charger; `consume` (StartTransaction) uses the grant up. */
  honour(identity: string, idTag: string, consume: boolean, nowMs = Date.now()): boolean {
    const list = this.byCharger.get(identity);
    if (!list) return false;
    const key = idTag.toUpperCase();
    const index = list.findIndex((g) => g.idTag === key && g.untilMs > nowMs);
    if (index < 0) return false;
    if (consume) {
      list.splice(index, 1);
      if (list.length === 0) this.byCharger.delete(identity);
    }
    return true;
  }
}
