import { describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { getEventListeners } from "node:events";
import type { AddressInfo } from "node:net";
import { HttpClient, linkSignals } from "../../nodes/lib/http-client";

describe("HttpClient signal linking", () => {
  it("leaves no abort listener behind on long-lived signals after each request", async () => {
    const server = http.createServer((_req, res) => res.end('{"ok":true}'));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const client = new HttpClient({ serviceName: "test", baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const caller = new AbortController();
    try {
      for (let i = 0; i < 15; i++) assert.deepEqual((await client.get("/", { signal: caller.signal })).data, { ok: true });
      const lifetime = (client as unknown as { lifetime: AbortController }).lifetime.signal;
      assert.equal(getEventListeners(lifetime, "abort").length, 0);
      assert.equal(getEventListeners(caller.signal, "abort").length, 0);
    } finally {
      client.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("linkSignals aborts with any source and detaches on dispose", () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals([a.signal, b.signal]);
    b.abort();
    assert.equal(linked.signal.aborted, true);
    const again = linkSignals([a.signal, new AbortController().signal]);
    assert.equal(getEventListeners(a.signal, "abort").length, 1);
    again.dispose();
    assert.equal(getEventListeners(a.signal, "abort").length, 0);
    assert.equal(again.signal.aborted, false);
  });
});
