/**
 * Node-RED requires every node file package.json lists at start, whether a
 * flow uses it or not. Those files are thin entries (nodes/entry/, nodes/lib/node-red/lazy-node.ts):
 * loading them loads none of our node code and none of the heavy dependencies;
 * a node's code (nodes/<file>.ts and what it imports) loads when the first node of
 * its type is deployed, and its heavy dependencies when it builds what needs them
 * (nodes/lib/lazy.ts). A missing or broken dependency, or node file, gives an
 * error that says which and what to do.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import type { NodeAPI } from "node-red";
import { DependencyError, lazyRequire } from "../../nodes/lib/lazy";
import { lazyNodeSet, type LazyNodeSet, type RegisterOptions } from "../../nodes/lib/node-red/lazy-node";

const root = path.join(__dirname, "..", "..");
const distNodes = path.join(root, "dist", "nodes");
/** Every runtime dependency that costs start time or memory, and what they bring along. */
export const HEAVY_PACKAGES = ["ocpp-rpc", "ws", "ajv", "pg", "pg-copy-streams", "@influxdata/influxdb-client", "fast-xml-parser", "axios", "mqtt"];
const entries = Object.values((JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { "node-red": { nodes: Record<string, string> } })["node-red"].nodes).map(
  (rel) => path.join(root, rel),
);
/** What loading an entry may load of ours: the entries and the lazy loaders. */
const ENTRY_CODE = ["lib/node-red/lazy-node.js", "lib/lazy.js"].map((f) => path.join(distNodes, f));

/**
 * Runs `body` in a fresh Node (so nothing this test process loaded counts) after
 * requiring every package.json entry and calling it with a stand-in RED that
 * takes any call and keeps the registered constructors in `registered`; prints
 * what `body` returns as JSON, with `ours` (our files loaded) and `packages`.
 */
function inFreshNode<T>(body: string): T & { ours: string[]; packages: string[] } {
  const script = `
    const path = require("path");
    const entries = ${JSON.stringify(entries)};
    // A stand-in for RED that takes any call (registerType, httpAdmin routes, createNode, ...) and returns itself.
    const RED = new Proxy(function () {}, { get: (_t, key) => (key === "then" ? undefined : RED), apply: () => RED, construct: () => RED });
    const registered = new Map();
    const red = Object.create(RED, { nodes: { value: Object.create(RED, { registerType: { value: (type, ctor) => registered.set(type, ctor) } }) } });
    for (const f of entries) require(f)(red);
    const result = (() => { ${body} })();
    const ours = [], packages = new Set();
    for (const file of Object.keys(require.cache)) {
      const m = file.match(/node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)[\\\\/](?!.*node_modules)/);
      if (m) packages.add(m[1].replace(/\\\\/g, "/"));
      else if (file.startsWith(${JSON.stringify(distNodes + path.sep)})) ours.push(file);
    }
    console.log(JSON.stringify({ ...result, ours: ours.sort(), packages: [...packages].sort() }));
  `;
  const run = spawnSync(process.execPath, ["-e", script], { cwd: root, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as T & { ours: string[]; packages: string[] };
}

/** A RED that records registerType calls and every other use of RED while a node file's module function runs. */
function recordingRed(): { RED: NodeAPI; registered: Map<string, RegisterOptions>; touched: Set<string> } {
  const registered = new Map<string, RegisterOptions>();
  const touched = new Set<string>();
  const anything: unknown = new Proxy(function () {}, { get: (_t, key) => (key === "then" ? undefined : anything), apply: () => anything });
  const nodes = new Proxy(
    {},
    {
      get: (_t, key) => {
        if (key === "registerType") return (type: string, _ctor: unknown, options?: RegisterOptions) => registered.set(type, options ?? {});
        touched.add(`RED.nodes.${String(key)}`);
        return anything;
      },
    },
  );
  const RED = new Proxy(
    {},
    {
      get: (_t, key) => {
        if (key === "nodes") return nodes;
        touched.add(`RED.${String(key)}`);
        return anything;
      },
    },
  ) as NodeAPI;
  return { RED, registered, touched };
}

describe("node files load on first deploy", () => {
  assert.ok(fs.existsSync(distNodes), `No build in ${distNodes}: run npm run build`);
  const req = createRequire(__filename);

  it("loading every package.json entry (as Node-RED does at start) loads none of our node code and none of the heavy packages", () => {
    const { types, ours, packages } = inFreshNode<{ types: string[] }>("return { types: [...registered.keys()] };");
    assert.ok(entries.length >= 15, `expected every node file, found ${entries.length}`);
    assert.ok(types.length >= entries.length, `registered ${types.join(", ")}`);
    const notEntries = ours.filter((f) => !entries.includes(f) && !ENTRY_CODE.includes(f));
    assert.deepEqual(notEntries, [], "node code loaded at start: only the entries and the lazy loaders may load");
    const heavy = packages.filter((p) => HEAVY_PACKAGES.includes(p));
    assert.deepEqual(heavy, [], `loaded at start: ${heavy.join(", ")} (all packages loaded: ${packages.join(", ")})`);
  });

  it("deploying a node loads its own node file (and still no heavy package), not the others", () => {
    const { ours, packages } = inFreshNode<Record<string, never>>(`
      const ctor = registered.get("ev-change-detector");
      ctor.call(RED, { id: "n1", type: "ev-change-detector", name: "" });
      return {};
    `);
    const nodeFiles = ours.filter((f) => path.dirname(f) === distNodes).map((f) => path.basename(f));
    assert.deepEqual(nodeFiles, ["ev-change-detector.js"]);
    assert.ok(ours.includes(path.join(distNodes, "lib", "change-detector.js")), "the node's lib code loads with it");
    assert.ok(!ours.some((f) => f.includes(`${path.sep}ocpp${path.sep}`)), "another node's lib code loaded");
    assert.deepEqual(packages.filter((p) => HEAVY_PACKAGES.includes(p)), []);
  });

  for (const entry of entries) {
    const name = path.basename(entry, ".js");
    it(`${name}: the entry registers the node file's types with the node file's options, and the node file does nothing else at load`, () => {
      const set = req(entry) as LazyNodeSet;
      assert.equal(typeof set.implementation, "string", `${entry} is not a lazy entry (nodes/lib/node-red/lazy-node.ts)`);
      assert.equal(path.basename(set.implementation), name, "an entry loads the node file of its own name");
      const { RED, registered, touched } = recordingRed();
      (req(set.implementation) as (RED: NodeAPI) => void)(RED);
      assert.deepEqual(Object.fromEntries(registered), set.types, `nodes/entry/${name}.ts must register the types of nodes/${name}.ts with the same credentials and settings`);
      assert.deepEqual(
        [...touched],
        [],
        `nodes/${name}.ts uses these when loaded, which now happens on the first deploy, not at start: do it in nodes/entry/${name}.ts, or in the constructor`,
      );
    });
  }
});

describe("lazyNodeSet", () => {
  /** A RED with what the entry uses: registerType (kept here), createNode, settings. */
  function fakeRed() {
    const ctors = new Map<string, (this: unknown, def: unknown) => void>();
    const created: unknown[] = [];
    const RED = {
      nodes: {
        registerType: (type: string, ctor: (this: unknown, def: unknown) => void) => ctors.set(type, ctor),
        createNode: (node: unknown) => created.push(node),
      },
      settings: { evkitTest: 42 },
    } as unknown as NodeAPI;
    return { RED, ctors, created };
  }
  /** A node as the entry's constructor gets it, recording status and error. */
  function fakeNode() {
    return { statuses: [] as unknown[], errors: [] as string[], status(s: unknown) { this.statuses.push(s); }, error(m: string) { this.errors.push(m); } };
  }

  it("requires the node file at the first construction, once, and runs its constructor on the node being built with Node-RED's RED", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-lazy-node-"));
    try {
      const file = path.join(dir, "ev-test.js");
      fs.writeFileSync(
        file,
        `globalThis.evkitLoads = (globalThis.evkitLoads || 0) + 1;
         module.exports = (RED) => RED.nodes.registerType("ev-test", function (def) { RED.nodes.createNode(this, def); this.got = { def, setting: RED.settings.evkitTest }; });`,
      );
      const { RED, ctors, created } = fakeRed();
      lazyNodeSet(path.join(dir, "ev-test"), { "ev-test": { credentials: { key: { type: "password" } } } })(RED);
      const g = globalThis as { evkitLoads?: number };
      assert.equal(g.evkitLoads, undefined, "loaded at start");
      const a = fakeNode() as ReturnType<typeof fakeNode> & { got?: unknown };
      const b = fakeNode() as ReturnType<typeof fakeNode> & { got?: unknown };
      ctors.get("ev-test")!.call(a, { id: "a" });
      ctors.get("ev-test")!.call(b, { id: "b" });
      assert.equal(g.evkitLoads, 1);
      assert.deepEqual(created, [a, b]);
      assert.deepEqual(a.got, { def: { id: "a" }, setting: 42 });
      assert.deepEqual(b.got, { def: { id: "b" }, setting: 42 });
      delete g.evkitLoads;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a missing node file: the node exists, shows it in its status and says what to do; the next deploy tries again", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-lazy-node-"));
    try {
      const { RED, ctors, created } = fakeRed();
      lazyNodeSet(path.join(dir, "ev-gone"), { "ev-gone": {} })(RED);
      const node = fakeNode();
      assert.doesNotThrow(() => ctors.get("ev-gone")!.call(node, { id: "n" }));
      assert.deepEqual(created, [node]);
      assert.deepEqual(node.statuses, [{ fill: "red", shape: "ring", text: "cannot load" }]);
      assert.equal(node.errors.length, 1);
      assert.match(node.errors[0], /^Cannot load the node's code \(.*ev-gone\): Cannot find module .*reinstall @evkit\/node-red-ev/);
      // Reinstalled: the next deploy loads it.
      fs.writeFileSync(path.join(dir, "ev-gone.js"), `module.exports = (RED) => RED.nodes.registerType("ev-gone", function () { this.ok = true; });`);
      const again = fakeNode() as ReturnType<typeof fakeNode> & { ok?: boolean };
      ctors.get("ev-gone")!.call(again, { id: "n" });
      assert.equal(again.ok, true);
      assert.deepEqual(again.errors, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an error the node's own constructor throws passes through unchanged (Node-RED logs it as before)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-lazy-node-"));
    try {
      fs.writeFileSync(path.join(dir, "ev-throws.js"), `module.exports = (RED) => RED.nodes.registerType("ev-throws", function () { throw new RangeError("bad config"); });`);
      const { RED, ctors } = fakeRed();
      lazyNodeSet(path.join(dir, "ev-throws"), { "ev-throws": {} })(RED);
      const node = fakeNode();
      assert.throws(() => ctors.get("ev-throws")!.call(node, {}), RangeError);
      assert.deepEqual(node.statuses, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("lazy loading of heavy dependencies", () => {
  it("loads a package on first use, once", () => {
    const load = lazyRequire<typeof import("node:path")>("node:path");
    assert.equal(load(), path);
    assert.equal(load(), load());
  });

  it("a missing package gives a DependencyError naming it and saying what to do", () => {
    const load = lazyRequire<unknown>("evkit-no-such-package");
    assert.throws(load, (err: unknown) => {
      assert.ok(err instanceof DependencyError);
      assert.equal(err.dependency, "evkit-no-such-package");
      assert.match(err.message, /^Cannot load evkit-no-such-package: Cannot find module 'evkit-no-such-package'\. /);
      assert.match(err.message, /reinstall @evkit\/node-red-ev/);
      // Only the first line of Node's message: no require stack in a status or log line.
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  });

  it("a package that throws while loading gives a DependencyError with its reason, and is tried again next time", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-lazy-"));
    const file = path.join(dir, "broken.js");
    try {
      fs.writeFileSync(file, 'throw new TypeError("this build of the package is broken\\nsecond line");');
      const load = lazyRequire<{ ok: boolean }>(file);
      assert.throws(load, (err: unknown) => {
        assert.ok(err instanceof DependencyError);
        assert.equal(err.message.split(": ")[1], "this build of the package is broken. This node needs it");
        assert.ok((err.cause as Error) instanceof TypeError);
        return true;
      });
      // Repaired (e.g. reinstalled): the next deploy loads it.
      fs.writeFileSync(file, "module.exports = { ok: true };");
      assert.deepEqual(load(), { ok: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
