/**
 * Heavy dependencies load when a node that needs them is deployed
 * (nodes/lib/lazy.ts). When one is missing or broken, that deploy says so in
 * plain words, on the node's status and in its error: which package, why,
 * and what to do. Here Node's module loader is made to fail for the package
 * under test (this file runs in its own process, so nothing else sees it).
 */
import { after, afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import Module from "node:module";
import helper from "node-red-node-test-helper";
import type { NodeMessage } from "node-red";
import amtronNode from "../../nodes/ev-amtron";
import availabilityNode from "../../nodes/ev-availability";
import influxConfigNode from "../../nodes/ev-influx-config";
import influxWriteNode from "../../nodes/ev-influx-write";
import centralNode from "../../nodes/ev-ocpp-central-system";
import timescaleConfigNode from "../../nodes/ev-timescale-config";
import timescaleQueryNode from "../../nodes/ev-timescale-query";
import timescaleWriteNode from "../../nodes/ev-timescale-write";
import { editorFlow, waitFor, type FlowNode } from "../support/node-red";

helper.init(require.resolve(process.env.EV_NODE_RED ?? "node-red"));

type Spy = { args: unknown[][]; getCalls(): Array<{ args: unknown[] }> };
type SpiedNode = { status: Spy; error: Spy; receive(msg: object): void };

/** Packages that fail to load, and how: "missing" (not installed) or "broken" (throws while loading). */
const failing = new Map<string, "missing" | "broken">();
const loader = Module as unknown as { _load(request: string, parent: unknown, isMain: boolean): unknown };
const realLoad = loader._load;
loader._load = function (request: string, parent: unknown, isMain: boolean): unknown {
  const how = failing.get(request);
  if (how === "missing") throw Object.assign(new Error(`Cannot find module '${request}'\nRequire stack:\n- somewhere`), { code: "MODULE_NOT_FOUND" });
  if (how === "broken") throw new SyntaxError("Unexpected token '?' (a Node too old for this build of the package)");
  return realLoad.call(this, request, parent, isMain);
};
after(() => {
  loader._load = realLoad;
});

const RESOLUTION = /reinstall @evkit\/node-red-ev \(Manage palette, or npm install in the Node-RED user directory\) and restart Node-RED\.$/;

function node(id: string): SpiedNode {
  const found = helper.getNode(id) as unknown as SpiedNode | null;
  assert.ok(found, `node ${id} was not created`);
  return found;
}

function statusTexts(id: string): string[] {
  return node(id).status.getCalls().map((c) => String((c.args[0] as { text?: string }).text ?? ""));
}

function errorTexts(id: string): string[] {
  return node(id).error.args.map((a) => String(a[0] instanceof Error ? a[0].message : a[0]));
}

/** Loads the flow (a tab, the nodes, a catch node into "caught") and collects what the catch node gets. */
async function deploy(nodes: unknown[], items: FlowNode[], credentials: Record<string, object> = {}): Promise<NodeMessage[]> {
  const flow = editorFlow([
    { id: "tab", type: "tab" },
    ...items,
    { id: "catcher", z: "tab", type: "catch", scope: null, wires: [["caught"]] },
    { id: "caught", z: "tab", type: "helper" },
  ]);
  await helper.load(nodes as Parameters<typeof helper.load>[0], flow as never, credentials as never);
  const caught: NodeMessage[] = [];
  helper.getNode("caught").on("input", (msg: NodeMessage) => caught.push(msg));
  return caught;
}

/** The error a catch node got, without the "Error: " / "DependencyError: " Node-RED puts in front. */
function caughtText(msg: NodeMessage): string {
  return String((msg as { error?: { message?: string } }).error?.message ?? "").replace(/^\w*Error: /, "");
}

describe("a missing or broken dependency, at deploy", () => {
  afterEach(async () => {
    await helper.unload();
    failing.clear();
  });

  it("ev-amtron without axios: the status and the error name axios, and every input fails with the same words", async () => {
    failing.set("axios", "missing");
    const caught = await deploy([amtronNode], [{ id: "a1", z: "tab", type: "ev-amtron", host: "127.0.0.1", port: 1, interval: 10, wires: [[], []] }], { a1: { devKey: "12345" } });
    const expected = /^Cannot load axios: Cannot find module 'axios'\. This node needs it: /;
    assert.match(errorTexts("a1")[0] ?? "", expected);
    assert.match(errorTexts("a1")[0] ?? "", RESOLUTION);
    assert.match(statusTexts("a1").at(-1) ?? "", /^Cannot load axios: /);
    node("a1").receive({ topic: "status" });
    await waitFor(() => caught.length === 1, 2000, "the input's error");
    assert.match(caughtText(caught[0]), expected);
  });

  it("ev-availability (Chargy) without the XML parser: not started, says which package", async () => {
    failing.set("fast-xml-parser", "missing");
    await deploy([availabilityNode], [{ id: "a1", z: "tab", type: "ev-availability", provider: "chargy", url: "http://127.0.0.1:1/kml", allSites: true, interval: "0", wires: [[]] }]);
    assert.match(errorTexts("a1")[0] ?? "", /^Not started: Cannot load fast-xml-parser: Cannot find module 'fast-xml-parser'\. This node needs it: /);
    assert.match(statusTexts("a1").at(-1) ?? "", /^Cannot load fast-xml-parser: /);
  });

  it("ev-influx-write without the Influx client: the status says so and every input fails with the whole message", async () => {
    failing.set("@influxdata/influxdb-client", "missing");
    const caught = await deploy(
      [influxConfigNode, influxWriteNode],
      [
        { id: "c1", type: "ev-influx-config", url: "http://127.0.0.1:1", org: "o", bucket: "b", precision: "ms", timeout: 2, tlsVerify: true },
        { id: "w1", z: "tab", type: "ev-influx-write", influx: "c1", measurement: "m", batchSize: 10, flushInterval: 50, maxBuffered: 100 },
      ],
    );
    assert.match(statusTexts("w1").at(-1) ?? "", /^Cannot load @influxdata\/influxd/);
    node("w1").receive({ payload: 1 });
    await waitFor(() => caught.length === 1, 2000, "the input's error");
    assert.match(caughtText(caught[0]), /^Cannot load @influxdata\/influxdb-client: Cannot find module '@influxdata\/influxdb-client'\. /);
    assert.match(caughtText(caught[0]), RESOLUTION);
  });

  it("ev-timescale-write and -query with a broken pg, then without pg-copy-streams: the reason is in the status and the input errors", async () => {
    failing.set("pg", "broken");
    const db = { id: "db", type: "ev-timescale-config", host: "127.0.0.1", port: 1, database: "d", user: "u", ssl: "disable", poolSize: 1, timeout: 2 };
    let caught = await deploy(
      [timescaleConfigNode, timescaleWriteNode, timescaleQueryNode],
      [db, { id: "w1", z: "tab", type: "ev-timescale-write", timescale: "db", table: "t" }, { id: "q1", z: "tab", type: "ev-timescale-query", timescale: "db", sql: "SELECT 1", wires: [[]] }],
    );
    const broken = /^Cannot load pg: Unexpected token '\?' \(a Node too old for this build of the package\)\. This node needs it: /;
    for (const id of ["w1", "q1"]) {
      assert.match(statusTexts(id).at(-1) ?? "", /^Cannot load pg: Unexpected toke…$/);
      node(id).receive({ payload: { v: 1 } });
    }
    await waitFor(() => caught.length === 2, 2000, "both inputs' errors");
    for (const msg of caught) assert.match(caughtText(msg), broken);
    await helper.unload();

    // pg is back; COPY support is what is missing now (only the writer needs it).
    failing.clear();
    failing.set("pg-copy-streams", "missing");
    caught = await deploy([timescaleConfigNode, timescaleWriteNode], [db, { id: "w1", z: "tab", type: "ev-timescale-write", timescale: "db", table: "t" }]);
    assert.match(statusTexts("w1").at(-1) ?? "", /^Cannot load pg-copy-streams: /);
    node("w1").receive({ payload: { v: 1 } });
    await waitFor(() => caught.length === 1, 2000, "the input's error");
    assert.match(caughtText(caught[0]), /^Cannot load pg-copy-streams: Cannot find module 'pg-copy-streams'\. /);
  });

  it("ev-ocpp-central-system without ocpp-rpc: not started, the status and the error say which package", async () => {
    failing.set("ocpp-rpc", "missing");
    await deploy([centralNode], [{ id: "cs", type: "ev-ocpp-central-system", name: "home", port: "0", host: "127.0.0.1", path: "/ocpp", securityProfile: "0", pingInterval: "0" }]);
    const cs = helper.getNode("cs") as unknown as SpiedNode & { ready: Promise<void> };
    await assert.rejects(cs.ready, /Cannot load ocpp-rpc/);
    assert.match(errorTexts("cs")[0] ?? "", /^OCPP central system not started: Cannot load ocpp-rpc: Cannot find module 'ocpp-rpc'\. This node needs it: /);
    assert.match(errorTexts("cs")[0] ?? "", RESOLUTION);
  });
});
