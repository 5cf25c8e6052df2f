import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writerStatusText } from "../../nodes/lib/node-red/buffered-writer";

describe("writer status text", () => {
  const base = { written: 0, buffered: 0, dropped: 0, rejected: 0, failures: 0, state: "idle" as const };
  it("always shows written, and the other counts only when not zero", () => {
    assert.equal(writerStatusText(base), "✓0");
    assert.equal(writerStatusText({ ...base, written: 1234, buffered: 5 }), "✓1234 · buf 5");
    assert.equal(writerStatusText({ ...base, written: 12_345, dropped: 2, rejected: 1 }), "✓12k · drop 2 · rej 1");
    assert.equal(writerStatusText({ ...base, written: 25_000_000, buffered: 10_000 }), "✓25M · buf 10k");
  });
});
