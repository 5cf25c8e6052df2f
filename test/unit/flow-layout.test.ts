import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { layoutProblems, showsStatus } from "../lib/flow-layout";

const box = (left: number, top: number, width = 100, height = 30) => ({ left, top, right: left + width, bottom: top + height });
/** A status as the editor draws it: 3 px below the node, 13 px high. */
const statusOf = (b: ReturnType<typeof box>, width = 150) => ({ left: b.left + 3, top: b.bottom + 2, right: b.left + 3 + width, bottom: b.bottom + 15 });

describe("example layout check (browser test helper)", () => {
  it("accepts nodes stacked on the 40 px grid when none shows a status", () => {
    assert.deepEqual(layoutProblems([{ id: "a", label: "a", body: box(0, 0) }, { id: "b", label: "b", body: box(0, 40) }]), []);
  });

  it("reports a status hidden under the node below (the red 'login failed' nobody saw)", () => {
    const poll = box(0, 0);
    assert.deepEqual(layoutProblems([{ id: "p", label: "Poll every 30 s", body: poll, status: statusOf(poll) }, { id: "c", label: "topic = poll", body: box(0, 40) }]), [
      'status of "Poll every 30 s" is under "topic = poll"',
    ]);
    assert.deepEqual(layoutProblems([{ id: "p", label: "Poll", body: poll, status: statusOf(poll) }, { id: "c", label: "below", body: box(0, 60) }]), []);
  });

  it("reports nodes side by side without room for their ports and a wire", () => {
    assert.equal(layoutProblems([{ id: "a", label: "a", body: box(0, 0) }, { id: "b", label: "b", body: box(105, 0) }]).length, 1);
    assert.deepEqual(layoutProblems([{ id: "a", label: "a", body: box(0, 0) }, { id: "b", label: "b", body: box(130, 0) }]), []);
  });

  it("knows which nodes show a status", () => {
    assert.equal(showsStatus({ type: "inject" }), false);
    assert.equal(showsStatus({ type: "debug" }), false);
    assert.equal(showsStatus({ type: "debug", tostatus: true }), true);
    assert.equal(showsStatus({ type: "ev-chargeamps" }), true);
  });
});
