/**
 * Under `npm start` (and for anyone who imports an example) every example tab
 * must show something within a minute without a click — a node that starts by
 * itself — or its comment, the first thing on the canvas, must say which button
 * to press. A tab of buttons with no hint looks broken to a new user.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

type FlowNode = Record<string, unknown> & { id: string; type: string; z?: string };

const flowsDir = path.join(__dirname, "../../flows");
function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? files(full) : e.name.endsWith(".json") ? [full] : [];
  });
}

/** Nodes that produce messages or a status on their own after deploy. */
function startsByItself(n: FlowNode): boolean {
  switch (n.type) {
    case "inject":
      return n.once === true || Number(n.repeat) > 0 || Boolean(n.crontab);
    case "mqtt in":
    case "ev-ocpp-in":
    case "ev-amtron":
      return true;
    case "ev-availability":
      return Number(n.interval) > 0;
    case "ev-chargeamps":
      return n.operation === "poll" && Number(n.interval) > 0;
    case "ev-ocpp-command":
      return n.command === "syncLocalList";
    default:
      return false;
  }
}

describe("every example tab shows data without a click, or says which button to press", () => {
  for (const file of files(flowsDir)) {
    it(path.relative(flowsDir, file), () => {
      const nodes = JSON.parse(fs.readFileSync(file, "utf8")) as FlowNode[];
      const tabs = new Map<string, FlowNode[]>();
      for (const n of nodes.filter((x) => "x" in x)) tabs.set(n.z ?? "", [...(tabs.get(n.z ?? "") ?? []), n]);
      for (const [tab, members] of tabs) {
        const comment = members.filter((n) => n.type === "comment").sort((a, b) => Number(a.y) - Number(b.y))[0];
        const hint = typeof comment?.name === "string" && /\b(press|click)\b/i.test(comment.name);
        assert.ok(members.some(startsByItself) || hint, `tab ${tab || "(file)"}: nothing starts by itself and the comment "${String(comment?.name)}" names no button to press`);
      }
    });
  }
});
