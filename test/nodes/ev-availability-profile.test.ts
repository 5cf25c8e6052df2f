import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { Node, NodeMessage } from "node-red";
import profileNode from "../../nodes/ev-availability-profile";

helper.init(require.resolve("node-red"));

type Flow = Parameters<typeof helper.load>[1];

function next(node: Node, timeoutMs = 3000): Promise<NodeMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message")), timeoutMs);
    node.once("input", (msg: NodeMessage) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

const flow = (extra: Record<string, unknown> = {}): Flow =>
  [
    { id: "tab", type: "tab" },
    { id: "p1", z: "tab", type: "ev-availability-profile", name: "profile", wires: [["table"], ["chart"]], ...extra },
    { id: "table", z: "tab", type: "helper" },
    { id: "chart", z: "tab", type: "helper" },
    { id: "catcher", z: "tab", type: "catch", scope: null, wires: [["caught"]] },
    { id: "caught", z: "tab", type: "helper" },
  ] as Flow;

const record = (available: number, hourOfDay = 8): Record<string, unknown> => ({
  site: "cf-site-01", siteName: "Highway North", available, total: 4, counts: {}, time: "2026-01-05T07:00:00Z", weekday: "Monday", hourOfDay,
});

describe("ev-availability-profile node", () => {
  afterEach(async () => {
    await helper.unload();
  });

  it("learns from records and sends a table and Dashboard 2.0 chart series", async () => {
    await helper.load(profileNode, flow());
    const p = helper.getNode("p1");
    const firstTable = next(helper.getNode("table"));
    const firstChart = next(helper.getNode("chart"));
    p.receive({ payload: record(0) });
    await Promise.all([firstTable, firstChart]);
    const table = next(helper.getNode("table"));
    const chart = next(helper.getNode("chart"));
    p.receive({ payload: [record(2), record(3, 9)] });
    const rows = (await table).payload as Array<Record<string, unknown>>;
    assert.deepEqual(rows, [
      { site: "cf-site-01", siteName: "Highway North", weekday: "Monday", hour: 8, samples: 2, meanAvailable: 1, meanShare: 0.25, pAnyFree: 0.5 },
      { site: "cf-site-01", siteName: "Highway North", weekday: "Monday", hour: 9, samples: 1, meanAvailable: 3, meanShare: 0.75, pAnyFree: 1 },
    ]);
    const c = await chart;
    assert.equal((c as NodeMessage & { action: string }).action, "replace");
    const points = c.payload as Array<{ series: string; x: number; y: number | null }>;
    assert.equal(points.length, 24);
    assert.deepEqual(points[8], { series: "Monday", x: 8, y: 50 });
    assert.deepEqual(points[9], { series: "Monday", x: 9, y: 100 });
  });

  it("keeps the profile across a redeploy and a restart with a file context store, and resets on request", async () => {
    // The helper initialises context with its own settings and never loads stores:
    // give it file storage settings, then load the stores as the runtime does at start.
    const contextModule = (helper as unknown as { _context: { init(s: unknown): void; load(): Promise<void>; close(): Promise<void> } })._context;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ev-profile-"));
    const original = helper.settings({});
    const contextStorage = { default: "file", file: { module: "localfilesystem", config: { dir, cache: false } } };
    const settings = helper.settings({ contextStorage } as unknown as Parameters<typeof helper.settings>[0]);
    try {
      await helper.load(profileNode, flow({ store: "file" }));
      await contextModule.load();
      await helper.setFlows(flow({ store: "file", name: "started" }) as never, "full");
      const first = next(helper.getNode("table"));
      helper.getNode("p1").receive({ payload: record(1) });
      await first;
      assert.ok(fs.readdirSync(dir, { recursive: true }).some((f) => String(f).endsWith(".json")), "written to disk");
      // "Restart": fresh stores that can only know the profile from disk, and a fresh node.
      await contextModule.close();
      contextModule.init(settings);
      await contextModule.load();
      await helper.setFlows(flow({ store: "file", name: "restarted" }) as never, "full");
      const table = next(helper.getNode("table"));
      helper.getNode("p1").receive({ topic: "get" });
      assert.deepEqual(((await table).payload as Array<{ samples: number; hour: number }>).map((r) => [r.hour, r.samples]), [[8, 1]]);
      helper.getNode("p1").receive({ topic: "reset" });
      await new Promise((r) => setTimeout(r, 50));
      const empty = next(helper.getNode("table"));
      helper.getNode("p1").receive({ topic: "get" });
      assert.deepEqual((await empty).payload, []);
    } finally {
      await helper.unload();
      // unload() cleans the stores without waiting; let that finish before the files go.
      await new Promise((r) => setTimeout(r, 200));
      await contextModule.close();
      helper.settings(original);
      contextModule.init(original);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects payloads that are not availability records with a catchable error", async () => {
    await helper.load(profileNode, flow());
    const caught = next(helper.getNode("caught"));
    helper.getNode("p1").receive({ payload: { hello: "world" } });
    const err = (await caught) as NodeMessage & { error: { message: string } };
    assert.match(err.error.message, /No availability records in msg.payload/);
  });
});
