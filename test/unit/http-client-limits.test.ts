/**
 * The shared HTTP client against hostile servers on a real local socket: an
 * endless body and a gzip bomb are cut off at the cap while they arrive, end
 * in a catchable HttpError("too_large") that says where to raise the limit,
 * and leave the process's memory where it was.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import zlib from "node:zlib";
import { randomBytes } from "node:crypto";
import { HttpClient, HttpError } from "../../nodes/lib/http-client";

const MB = 1024 * 1024;
/** What the bomb unpacks to (EV_TEST_BOMB_MB to change; 1 GB by default). */
const BOMB_MB = Number(process.env.EV_TEST_BOMB_MB) || 1024;

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/**
 * gzip of BOMB_MB of zeros (about 1 KB per MB): one member of 1 MB repeated,
 * as gzip allows several members in a row, so building it costs no time or memory.
 */
function gzipBomb(): Buffer {
  const member = zlib.gzipSync(Buffer.alloc(MB), { level: 9 });
  return Buffer.concat(Array.from({ length: BOMB_MB }, () => member));
}

interface Hostile {
  url: string;
  /** Bytes the endless route managed to send before the client hung up. */
  endlessSent: number;
  endlessClosed: boolean;
  close(): Promise<void>;
}

async function startHostileServer(bomb: Buffer): Promise<Hostile> {
  const state = { endlessSent: 0, endlessClosed: false };
  const chunk = Buffer.alloc(64 * 1024, "x");
  const server = http.createServer((req, res) => {
    if (req.url === "/endless") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.on("close", () => (state.endlessClosed = true));
      const pump = (): void => {
        while (!res.destroyed) {
          state.endlessSent += chunk.length;
          if (!res.write(chunk)) {
            res.once("drain", pump);
            return;
          }
        }
      };
      pump();
      return;
    }
    if (req.url === "/bomb") {
      res.writeHead(200, { "Content-Type": "application/json", "Content-Encoding": "gzip", "Content-Length": bomb.length });
      res.end(bomb);
      return;
    }
    if (req.url === "/small-gzip" || req.url === "/small-br") {
      const body = JSON.stringify({ ok: true, list: Array.from({ length: 1000 }, (_, i) => i) });
      const br = req.url === "/small-br";
      res.writeHead(200, { "Content-Type": "application/json", "Content-Encoding": br ? "br" : "gzip" });
      res.end(br ? zlib.brotliCompressSync(body) : zlib.gzipSync(body));
      return;
    }
    if (req.url === "/random-gzip") {
      // Random bytes do not compress: 2 MB sent, 2 MB unpacked.
      res.writeHead(200, { "Content-Type": "application/json", "Content-Encoding": "gzip" });
      res.end(zlib.gzipSync(randomBytes(2 * MB), { level: 0 }));
      return;
    }
    if (req.url === "/big-error") {
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(Buffer.alloc(3 * MB, "e"));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get endlessSent() {
      return state.endlessSent;
    },
    get endlessClosed() {
      return state.endlessClosed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Runs `fn` while sampling RSS; returns the highest RSS seen above the starting point. */
async function peakGrowth(fn: () => Promise<unknown>): Promise<number> {
  gc();
  const start = process.memoryUsage().rss;
  let peak = start;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    await fn();
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return peak - start;
}

describe("HttpClient response size cap", () => {
  let server: Hostile;
  before(async () => {
    server = await startHostileServer(gzipBomb());
  });
  after(async () => {
    await server.close();
  });

  const client = (maxResponseBytes?: number): HttpClient =>
    new HttpClient({
      serviceName: "the feed",
      baseURL: server.url,
      timeoutMs: 60_000,
      retries: 0,
      maxResponseBytes,
      maxResponseHint: "the node's Max. response setting",
      responseNoun: "answer",
    });

  it("stops an endless body at the cap, says which limit and where to raise it, and hangs up", async () => {
    const http5 = client(5 * MB);
    let caught: unknown;
    const growth = await peakGrowth(() => http5.get("/endless").catch((err: unknown) => (caught = err)));
    assert.ok(caught instanceof HttpError, String(caught));
    assert.equal(caught.kind, "too_large");
    assert.equal(
      caught.message,
      "the feed sent an answer of more than 5 MB; stopped reading it (GET /endless); raise the limit in the node's Max. response setting",
    );
    assert.equal(caught.transient, false, "a too-large answer is not retried");
    for (let i = 0; i < 100 && !server.endlessClosed; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(server.endlessClosed, "the connection was closed");
    assert.ok(server.endlessSent < 64 * MB, `the server managed to send ${Math.round(server.endlessSent / MB)} MB`);
    assert.ok(growth < 100 * MB, `memory grew by ${Math.round(growth / MB)} MB`);
  });

  it(`stops a gzip bomb (${BOMB_MB} MB unpacked) while unpacking, and memory returns to where it was`, async () => {
    const http20 = client(20 * MB);
    gc();
    const before = process.memoryUsage();
    let caught: unknown;
    const growth = await peakGrowth(() => http20.get("/bomb").catch((err: unknown) => (caught = err)));
    assert.ok(caught instanceof HttpError, String(caught));
    assert.equal(caught.kind, "too_large");
    assert.match(caught.message, /^the feed sent an answer of more than 20 MB once unpacked; stopped reading it \(GET \/bomb\); raise the limit in/);
    assert.ok(growth < 150 * MB, `memory grew by ${Math.round(growth / MB)} MB while reading the bomb`);
    // On a busy machine the sockets and zlib stream are released a moment after the error: give it up to 3 s.
    let kept = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 30 && kept >= 10 * MB; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      gc();
      const after = process.memoryUsage();
      kept = after.arrayBuffers + after.heapUsed - (before.arrayBuffers + before.heapUsed);
    }
    assert.ok(kept < 10 * MB, `${Math.round(kept / MB)} MB still held after the error`);
  });

  it("the cap counts the compressed bytes too", async () => {
    await assert.rejects(client(MB).get("/random-gzip"), (err: unknown) => err instanceof HttpError && err.kind === "too_large" && /counting the compressed data/.test(err.message));
  });

  it("an error answer is capped as well, and normal gzip and brotli answers are unpacked", async () => {
    await assert.rejects(client(MB).get("/big-error"), (err: unknown) => err instanceof HttpError && err.kind === "too_large");
    const gz = await client().get<{ ok: boolean; list: number[] }>("/small-gzip");
    assert.equal(gz.data.list.length, 1000);
    const br = await client().get<{ ok: boolean; list: number[] }>("/small-br");
    assert.equal(br.data.list[999], 999);
  });

  it("the default cap is 10 MB", async () => {
    await assert.rejects(client().get("/endless"), (err: unknown) => err instanceof HttpError && /more than 10 MB/.test(err.message));
  });
});
