import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { Node, NodeMessage } from "node-red";
import availabilityNode from "../../nodes/ev-availability";
import profileNode from "../../nodes/ev-availability-profile";
import { startAvailabilityFeeds, type AvailabilityFeeds } from "../servers/availability-feeds";

helper.init(require.resolve("node-red"));

type Flow = Parameters<typeof helper.load>[1];
type FlowNode = Record<string, unknown> & { id: string; type: string; wires?: string[][] };

const dir = path.join(__dirname, "../../flows/Availability");
const examples = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
const SIMULATOR = "http://127.0.0.1:18083";

describe("availability example flows", () => {
  let feeds: AvailabilityFeeds;
  before(async () => {
    feeds = await startAvailabilityFeeds();
  });
  after(() => feeds.close());
  afterEach(() => helper.unload());

  it("start with a comment, hold no secrets, and point at the feed simulator", () => {
    assert.ok(examples.length >= 2);
    for (const file of examples) {
      const flow = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as FlowNode[];
      assert.equal(flow[0].type, "comment", file);
      const text = JSON.stringify(flow);
      assert.doesNotMatch(text, /"(token|apiKey|password)"\s*:/, `${file} carries a secret`);
      for (const node of flow.filter((n) => n.type === "ev-availability")) {
        assert.ok(String(node.url).startsWith(SIMULATOR), `${file}: ${node.id} points at ${String(node.url)}`);
      }
    }
  });

  for (const file of examples) {
    it(`runs the availability nodes of "${file}" against the simulator`, async () => {
      const flow = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as FlowNode[];
      const nodes = flow.filter((n) => n.type === "ev-availability");
      assert.ok(nodes.length > 0);
      for (const original of nodes) {
        const node = { ...original, z: "tab", url: String(original.url).replace(SIMULATOR, feeds.url), interval: "0", wires: [["out"]] };
        await helper.load([availabilityNode, profileNode], [{ id: "tab", type: "tab" }, node, { id: "out", z: "tab", type: "helper" }] as Flow);
        const out = helper.getNode("out") as Node;
        const got = new Promise<NodeMessage>((resolve) => out.once("input", resolve));
        helper.getNode(node.id).receive({ payload: "" });
        const msg = await got;
        const status = (helper.getNode(node.id) as unknown as { status: { lastCall: { args: Array<{ text: string }> } } }).status.lastCall.args[0].text;
        const counts = /^(\d+)\/(\d+) sites ok$/.exec(status);
        assert.ok(counts && Number(counts[1]) > 0, `${node.id}: ${status}`);
        // Only a site the example marks as missing may fail.
        const expectedFailures = ((original.sites as Array<{ name?: string }> | undefined) ?? []).filter((s) => s.name === "not in the feed").length;
        assert.equal(Number(counts[2]) - Number(counts[1]), expectedFailures, `${node.id}: ${status}`);
        if (original.output === "prometheus") assert.match(String(msg.payload), /^# HELP chargy_connector_state /);
        else if (original.output === "all") assert.ok((msg.payload as { records: unknown[] }).records.length > 0);
        else if (original.output === "site") assert.equal(typeof (msg.payload as { site: unknown }).site, "string");
        else assert.ok(Array.isArray(msg.payload) && msg.payload.length > 0);
        await helper.unload();
      }
    });
  }
});
