/**
 * Persistence for the transaction store: one JSON file, written atomically
 * (temp file + rename) so a crash mid-write never leaves half a file, and
 * saves are serialised so an older snapshot never overwrites a newer one.
 *
 * Why a file and not Node-RED context: the default context store is memory
 * and forgets everything on restart, and transaction ids must survive
 * restarts whether or not the user configured a file context store.
 */
import { promises as fs } from "node:fs";
import path from "node:path";

export interface AsyncStore {
  load(): Promise<unknown>;
  save(data: unknown): Promise<void>;
}

export class JsonFileStore implements AsyncStore {
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  async load(): Promise<unknown> {
    let text: string;
    try {
      text = await fs.readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Keep the unreadable file for the user to inspect rather than silently losing it.
      const aside = `${this.file}.corrupt-${Date.now()}`;
      await fs.rename(this.file, aside).catch(() => undefined);
      throw new Error(`The session file ${this.file} was not valid JSON; it was moved to ${aside} and sessions start empty`);
    }
  }

  save(data: unknown): Promise<void> {
    const text = JSON.stringify(data);
    const run = this.chain.then(async () => {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.tmp`;
      await fs.writeFile(tmp, text, "utf8");
      await fs.rename(tmp, this.file);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every save started so far has finished. */
  flush(): Promise<void> {
    return this.chain;
  }
}
