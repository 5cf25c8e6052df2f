/**
 * A node file's code loads when the first node of its type is deployed, not
 * when Node-RED starts.
 *
 * Node-RED requires every node file of every installed package at start,
 * whether a flow uses it or not, and keeps what it compiled: our node files
 * and the `nodes/lib` code they import are most of what the package costs a
 * Node-RED that does not use it (on a Raspberry Pi, megabytes). So the files
 * package.json lists are thin entries (`nodes/entry/<file>.ts`, built to
 * `dist/nodes/entry/`, with the editor HTML, locales and icons beside them):
 * each registers its types, with their credentials and settings, under a
 * constructor that requires the node file (`nodes/<file>.ts`, unchanged: it
 * still calls `RED.nodes.registerType` itself) on first use. The node file's
 * registration is caught on its way and its constructor run on the node being
 * built, so the node behaves exactly as if Node-RED had loaded the file itself.
 *
 * What a node file does at load besides registerType (an httpAdmin route,
 * an event listener) would now happen on the first deploy:
 * test/unit/lazy-load.test.ts fails on it, and on an entry whose credentials or
 * settings differ from the node file's.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import { DependencyError } from "../lazy";

/** What `RED.nodes.registerType` takes besides the type and constructor. */
export interface RegisterOptions {
  credentials?: Record<string, { type: "text" | "password" }>;
  settings?: Record<string, { value: unknown; exportable?: boolean }>;
}

type NodeConstructor = (this: Node, def: NodeDef) => void;
type NodeFile = (RED: NodeAPI) => void;

/** The function package.json's entry exports, with what tests need to compare it with the node file. */
export interface LazyNodeSet {
  (RED: NodeAPI): void;
  /** The node file, as given to require (no extension). */
  readonly implementation: string;
  /** Each type with the options it is registered with at start. */
  readonly types: Readonly<Record<string, RegisterOptions>>;
}

/**
 * The entry of one node file: `implementation` is its path without the
 * extension (`path.join(__dirname, "..", "ev-amtron")`), `types` every type it
 * registers with the same options it passes to registerType.
 */
export function lazyNodeSet(implementation: string, types: Record<string, RegisterOptions>): LazyNodeSet {
  const register = (RED: NodeAPI): void => {
    let constructors: Map<string, NodeConstructor> | undefined;
    /** Requires the node file and runs its module function once, keeping the constructors it registers. */
    const constructorOf = (type: string): NodeConstructor => {
      if (!constructors) {
        const nodeFile = loadNodeFile(implementation);
        const caught = new Map<string, NodeConstructor>();
        nodeFile(catchingRegistrations(RED, caught));
        constructors = caught;
      }
      const found = constructors.get(type);
      if (!found) throw new Error(`${implementation} registers no node type ${type}`);
      return found;
    };
    for (const [type, options] of Object.entries(types)) {
      // A plain function: Node-RED makes it inherit from its Node, as it would the node file's own constructor.
      const LazyNode = function (this: Node, def: NodeDef): void {
        let construct: NodeConstructor;
        try {
          construct = constructorOf(type);
        } catch (err) {
          // The node exists, says what is wrong (status, log and debug sidebar) and does nothing;
          // nothing is remembered, so the next deploy tries again.
          RED.nodes.createNode(this, def);
          this.status({ fill: "red", shape: "ring", text: "cannot load" });
          this.error((err as Error).message);
          return;
        }
        construct.call(this, def);
      };
      RED.nodes.registerType(type, LazyNode, options);
    }
  };
  return Object.assign(register, { implementation, types });
}

/** Requires a node file; a missing or broken one is a DependencyError that says to reinstall the package. */
function loadNodeFile(implementation: string): NodeFile {
  let loaded: unknown;
  try {
    // The node file is the one thing this module exists to require late.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(implementation);
  } catch (err) {
    throw new DependencyError(`the node's code (${implementation})`, err);
  }
  if (typeof loaded !== "function") throw new Error(`${implementation} does not export a function(RED)`);
  return loaded as NodeFile;
}

/**
 * The RED the node file's module function gets: Node-RED's own (settings, log,
 * i18n, createNode, getNode, ...), except that registerType keeps the
 * constructor here, since the entry registered the type at start already.
 */
function catchingRegistrations(RED: NodeAPI, caught: Map<string, NodeConstructor>): NodeAPI {
  const nodes = Object.create(RED.nodes, {
    registerType: {
      value: (type: string, construct: NodeConstructor): void => {
        caught.set(type, construct);
      },
    },
  }) as NodeAPI["nodes"];
  return Object.create(RED, { nodes: { value: nodes } }) as NodeAPI;
}
