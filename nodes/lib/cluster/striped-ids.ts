/**
 * OCPP 1.6 transaction ids are integers the central system hands out; in a
 * cluster they must not collide, yet asking the other instances on every
 * StartTransaction would make a session depend on the broker. Each instance
 * has a fixed index and hands out only ids of its own stripe:
 * id = counter × stride + index. The counter is the instance's own and is
 * persisted with its sessions; int32 leaves 2^31 / stride ids per instance.
 */
export const MAX_TRANSACTION_ID = 2_147_483_647;

export class StripedIds {
  constructor(
    readonly index: number,
    readonly stride = 16,
  ) {
    if (!Number.isInteger(stride) || stride < 1) throw new Error(`stride must be a positive integer (got ${stride})`);
    if (!Number.isInteger(index) || index < 0 || index >= stride) {
      throw new Error(`the instance index must be a whole number from 0 to ${stride - 1} (got ${index})`);
    }
  }

  /** The smallest id of this stripe above `last` (the highest id used so far, by anyone). */
  next(last: number): number {
    const base = Math.max(0, Math.floor(last));
    let id = base - (base % this.stride) + this.index;
    if (id <= base) id += this.stride;
    if (id > MAX_TRANSACTION_ID) throw new Error("no transaction ids are left in this instance's stripe");
    return id;
  }

  owns(id: number): boolean {
    return Number.isInteger(id) && id > 0 && id % this.stride === this.index;
  }
}
