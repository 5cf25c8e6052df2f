import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { combineExampleDir, combineExamples, requiredModules, type FlowEntry } from "../../scripts/lib/combine-examples";

// Two examples written independently: same ids, one exported with its tab.
const a: FlowEntry[] = [
  { id: "c1", type: "comment", z: "", name: "A", x: 1, y: 1, wires: [] },
  { id: "n1", type: "inject", z: "", name: "n1", x: 1, y: 2, wires: [["n2"]] },
  { id: "n2", type: "ev-thing", z: "", server: "cfg1", x: 2, y: 2, wires: [[]] },
  { id: "cfg1", type: "mqtt-broker", name: "cfg1", broker: "127.0.0.1" },
  { id: "gc", type: "global-config", env: [], modules: {} },
];
const b: FlowEntry[] = [
  { id: "t9", type: "tab", label: "Mine" },
  { id: "c1", type: "comment", z: "t9", name: "B", x: 1, y: 1, wires: [] },
  { id: "n1", type: "link out", z: "t9", links: ["n2"], x: 1, y: 2, wires: [] },
  { id: "n2", type: "link in", z: "t9", links: ["n1"], x: 2, y: 2, wires: [["s1"]] },
  { id: "s1", type: "subflow:sf", z: "t9", x: 3, y: 2, wires: [] },
  { id: "sf", type: "subflow", name: "sf", in: [], out: [] },
  { id: "k1", type: "catch", z: "t9", scope: ["n2"], x: 1, y: 3, wires: [] },
  { id: "cfg1", type: "mqtt-broker", z: "t9", name: "scoped" },
];

describe("combineExamples (npm start)", () => {
  const out = combineExamples([
    { file: "Area/A", nodes: a },
    { file: "Area/B", nodes: b },
  ]);
  // Output order: A's new tab + A's 4 nodes (global-config dropped), then B's nodes.
  const fromA = out.slice(0, 5);
  const fromB = out.slice(5);
  const byName = (file: "A" | "B", name: string) => (file === "A" ? fromA : fromB).find((n) => n.name === name)!;

  it("gives each file its own tab and unique ids, and drops global-config", () => {
    const tabs = out.filter((n) => n.type === "tab");
    assert.deepEqual(tabs.map((t) => t.label), ["Area/A", "Mine"]);
    assert.equal(new Set(out.map((n) => n.id)).size, out.length);
    assert.equal(out.length, a.length - 1 + 1 + b.length);
    assert.ok(!out.some((n) => n.type === "global-config"));
  });

  it("puts flow nodes on the file's tab and keeps unscoped config nodes global", () => {
    const [tabA, tabB] = out.filter((n) => n.type === "tab").map((t) => t.id);
    assert.equal(byName("A", "A").z, tabA);
    assert.equal(byName("B", "B").z, tabB);
    assert.equal("z" in byName("A", "cfg1"), false);
    assert.equal(byName("B", "scoped").z, tabB);
  });

  it("rewrites wires, config references, links, scopes and subflow instance types", () => {
    const aNodes = fromA;
    const inject = aNodes.find((n) => n.type === "inject")!;
    const thing = aNodes.find((n) => n.type === "ev-thing")!;
    const cfgA = aNodes.find((n) => n.type === "mqtt-broker")!;
    assert.deepEqual(inject.wires, [[thing.id]]);
    assert.equal(thing.server, cfgA.id);
    const linkOut = out.find((n) => n.type === "link out")!;
    const linkIn = out.find((n) => n.type === "link in")!;
    const sub = out.find((n) => n.type === "subflow")!;
    assert.deepEqual(linkOut.links, [linkIn.id]);
    assert.deepEqual(linkIn.links, [linkOut.id]);
    assert.ok(out.some((n) => n.type === `subflow:${sub.id}`));
    assert.deepEqual(out.find((n) => n.type === "catch")!.scope, [linkIn.id]);
    assert.notEqual(linkIn.id, thing.id);
  });

  it("merges a global config node that several examples carry identically, keeps different ones apart", () => {
    const cs = { id: "cs1", type: "ev-ocpp-central-system", name: "home", port: "9220" };
    const user = (z: string) => ({ id: "u1", type: "ev-ocpp-in", z, server: "cs1", x: 1, y: 1, wires: [] });
    const merged = combineExamples([
      { file: "X", nodes: [user(""), { ...cs }] },
      { file: "Y", nodes: [user(""), { ...cs }] },
      { file: "Z", nodes: [user(""), { ...cs, port: "9221" }] },
    ]);
    const servers = merged.filter((n) => n.type === "ev-ocpp-central-system");
    assert.deepEqual(servers.map((n) => n.port), ["9220", "9221"]);
    const users = merged.filter((n) => n.type === "ev-ocpp-in");
    assert.deepEqual(users.map((n) => n.server), [servers[0].id, servers[0].id, servers[1].id]);
  });

  it("is stable across runs (credentials typed into the dev editor stay attached)", () => {
    assert.deepEqual(combineExamples([{ file: "Area/A", nodes: a }]).map((n) => n.id), combineExamples([{ file: "Area/A", nodes: a }]).map((n) => n.id));
  });

  it("leaves out an example that needs a module that is not installed (Dashboard 2.0), and says so", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-examples-"));
    try {
      fs.mkdirSync(path.join(dir, "Dashboard 2.0"));
      fs.writeFileSync(path.join(dir, "A.json"), JSON.stringify(a));
      const dash = [{ id: "c", type: "comment", x: 1, y: 1, wires: [] }, { id: "g", type: "global-config", env: [], modules: { "@flowfuse/node-red-dashboard": "1.31.0" } }];
      fs.writeFileSync(path.join(dir, "Dashboard 2.0", "Live.json"), JSON.stringify(dash));
      assert.deepEqual(requiredModules(dash), ["@flowfuse/node-red-dashboard"]);
      const without = combineExampleDir(dir);
      assert.deepEqual(without.files, ["A"]);
      assert.deepEqual(without.skipped, [{ file: "Dashboard 2.0/Live", missing: ["@flowfuse/node-red-dashboard"] }]);
      const withIt = combineExampleDir(dir, (name) => name === "@flowfuse/node-red-dashboard");
      assert.deepEqual(withIt.files, ["A", "Dashboard 2.0/Live"]);
      assert.deepEqual(withIt.skipped, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
