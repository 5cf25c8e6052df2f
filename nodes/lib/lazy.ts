/**
 * Heavy dependencies (the OCPP server and its schema validator, the PostgreSQL
 * driver, the Influx client, the XML parser, axios) are loaded when a node that
 * needs them is deployed, not when Node-RED starts.
 *
 * Node-RED requires every node file of every installed package at start,
 * whether a flow uses it or not, and a value import (`import { Pool } from "pg"`)
 * compiles to a `require` at the top of the file: on a Raspberry Pi that is
 * seconds and tens of MB for users who only wanted one node. So those packages
 * are reached only through a loader made here, called where the node builds
 * what needs the package (its client, pool, server or parser), and types come
 * from `import type`, which compiles to nothing.
 * test/unit/lazy-load.test.ts checks that loading every node file pulls none of them.
 */

/** A dependency that is missing or fails to load, in words a user can act on. */
export class DependencyError extends Error {
  readonly dependency: string;

  constructor(dependency: string, cause: unknown) {
    // Node's "Cannot find module" message continues with the require stack: only the first line says something.
    const reason = (cause instanceof Error ? cause.message : String(cause)).split("\n")[0].replace(/\.$/, "");
    super(
      `Cannot load ${dependency}: ${reason}. This node needs it: ` +
        "reinstall @evkit/node-red-ev (Manage palette, or npm install in the Node-RED user directory) and restart Node-RED.",
      { cause },
    );
    this.name = "DependencyError";
    this.dependency = dependency;
  }
}

/**
 * A function that requires `name` on its first call and returns the same
 * module after that. Typed by the caller: `lazyRequire<typeof import("pg")>("pg")`
 * (a type-only reference, so the file that declares it does not load the package).
 * Throws DependencyError when the package is missing or throws while loading;
 * a failed load is not remembered, so the next deploy tries again.
 */
export function lazyRequire<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => {
    if (loaded === undefined) {
      try {
        // The one place a package is required at run time instead of imported at load time.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        loaded = require(name) as T;
      } catch (err) {
        throw new DependencyError(name, err);
      }
    }
    return loaded;
  };
}
