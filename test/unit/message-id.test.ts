import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { nextMessageId } from "../../nodes/lib/node-red/message-id";

describe("nextMessageId", () => {
  it("gives 16 hex digits, like Node-RED's own ids, and never the same one twice in a row of 100,000", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = nextMessageId();
      assert.match(id, /^[0-9a-f]{16}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 100_000);
  });
});
