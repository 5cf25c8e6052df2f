/**
 * Runs tasks one after another per key (a charger, a charger's base profile):
 * each waits for the previous task of its key to settle, whether it worked or
 * not, and nothing is kept once a key's queue is empty.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(task);
    this.tails.set(key, mine);
    const forget = (): void => {
      if (this.tails.get(key) === mine) this.tails.delete(key);
    };
    mine.then(forget, forget);
    return mine;
  }
}
