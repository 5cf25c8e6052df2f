// Overlaps on a flow tab, from the boxes the editor draws: each node's body
// (its label is inside it, so the body grows with the label) and, for a node
// that shows a status, the status dot and text below it. A status hidden
// under another node is how a red "login failed" goes unseen, so every
// example must keep them apart. Used by the browser test (test/browser/editor.js).
"use strict";

/**
 * Core node types that never show a status in the editor. Every other node
 * (ours, mqtt, http request, function, delay, ...) may, and gets one in the check.
 * A debug node shows one only with "show in status" (tostatus) ticked.
 */
const NO_STATUS = new Set([
  "comment", "inject", "link in", "link out", "link call", "junction", "switch", "change", "catch", "status",
  "complete", "http in", "http response", "json", "xml", "yaml", "csv", "html", "template", "range", "split", "join", "sort",
]);

function showsStatus(node) {
  if (node.type === "debug") return node.tostatus === true;
  return !NO_STATUS.has(node.type);
}

/** Boxes are {left, top, right, bottom} in the same coordinates. Margins: how close counts as touching (x, y). */
function intersects(a, b, margin = 2, marginY = margin) {
  return a.left < b.right + margin && b.left < a.right + margin && a.top < b.bottom + marginY && b.top < a.bottom + marginY;
}

/**
 * @param {{id: string, label: string, body: object, status?: object}[]} items
 * @param {number} margin how close a status may come to anything
 * @param {{x: number, y: number}} bodyGap how close two nodes may come side by side / stacked
 * @returns {string[]} one line per overlap, e.g. `status of "Poll every 30 s" is under "topic = poll"`
 */
function layoutProblems(items, margin = 2, bodyGap = { x: 16, y: 6 }) {
  const problems = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = 0; j < items.length; j++) {
      if (i === j) continue;
      const a = items[i];
      const b = items[j];
      // Side by side, bodies need room for their ports (they stick out 5 px) and a wire between
      // them; stacked, the usual 40 px grid (10 px apart) is fine.
      if (j > i && intersects(a.body, b.body, bodyGap.x, bodyGap.y)) problems.push(`"${a.label}" overlaps or touches "${b.label}"`);
      if (a.status && intersects(a.status, b.body, margin)) problems.push(`status of "${a.label}" is under "${b.label}"`);
      if (j > i && a.status && b.status && intersects(a.status, b.status, margin)) problems.push(`statuses of "${a.label}" and "${b.label}" overlap`);
    }
  }
  return problems;
}

module.exports = { NO_STATUS, showsStatus, intersects, layoutProblems };
