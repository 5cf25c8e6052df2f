import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { HttpClient, HttpError } from "../../nodes/lib/http-client";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/** A real HTTP server whose next answers the test scripts. */
async function startServer(): Promise<{ url: string; script: Handler[]; hits: string[]; close(): Promise<void> }> {
  const script: Handler[] = [];
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      hits.push(`${req.method} ${req.url}`);
      const next = script.shift();
      if (next) next(req, res, body);
      else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    script,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const status = (code: number, body = "", headers: Record<string, string> = {}): Handler => (_req, res) =>
  res.writeHead(code, headers).end(body);

describe("HttpClient", () => {
  let srv: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  const client = (extra: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}): HttpClient =>
    new HttpClient({ serviceName: "the test cloud", baseURL: srv.url, backoff: { initialMs: 10, maxMs: 20, jitter: 0 }, ...extra });

  it("parses JSON and sends headers and query", async () => {
    srv.script.push((req, res) => {
      assert.equal(req.headers["x-key"], "k");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ url: req.url }));
    });
    const res = await client({ headers: { "x-key": "k" } }).get<{ url: string }>("/a", { params: { n: 1 } });
    assert.deepEqual(res.data, { url: "/a?n=1" });
  });

  it("retries a 503 and then succeeds", async () => {
    srv.hits.length = 0;
    srv.script.push(status(503, "busy"), status(503, "busy"), status(200, '{"v":3}'));
    const res = await client({ retries: 2 }).get<{ v: number }>("/retry");
    assert.equal(res.data.v, 3);
    assert.equal(srv.hits.length, 3);
  });

  it("honours Retry-After on 429", async () => {
    srv.script.push(status(429, "", { "retry-after": "1" }), status(200, '{"v":1}'));
    const started = Date.now();
    await client({ retries: 1 }).get("/limited");
    assert.ok(Date.now() - started >= 950, "waited for Retry-After");
  });

  it("gives up after the retries with a plain-words error", async () => {
    srv.script.push(status(500, "boom"), status(500, "boom"));
    await assert.rejects(client({ retries: 1 }).get("/down"), (err: unknown) => {
      assert.ok(err instanceof HttpError);
      assert.equal(err.kind, "server");
      assert.equal(err.status, 500);
      assert.match(err.message, /the test cloud had a server error \(HTTP 500\): boom/);
      return true;
    });
  });

  it("does not retry a POST unless asked", async () => {
    srv.hits.length = 0;
    srv.script.push(status(503), status(200, "{}"));
    await assert.rejects(client().post("/write", { a: 1 }), HttpError);
    assert.equal(srv.hits.length, 1);
    srv.script.length = 0;
  });

  it("names 401, 403 and 404 in words and does not retry them", async () => {
    srv.hits.length = 0;
    srv.script.push(status(401), status(403), status(404));
    await assert.rejects(client().get("/x?DevKey=secret"), (e: HttpError) => e.kind === "unauthorized" && /refused the credentials/.test(e.message));
    await assert.rejects(client().get("/x"), (e: HttpError) => e.kind === "forbidden");
    await assert.rejects(client().get("/missing?DevKey=secret"), (e: HttpError) => {
      assert.equal(e.kind, "not_found");
      assert.doesNotMatch(e.message, /secret/, "query strings (keys) never reach messages");
      return true;
    });
    assert.equal(srv.hits.length, 3);
  });

  it("reports malformed JSON clearly and redacts secrets from the body", async () => {
    srv.script.push(status(200, "<html>token=abc123 oops</html>"));
    await assert.rejects(client({ secrets: () => ["abc123"] }).get("/bad"), (e: HttpError) => {
      assert.equal(e.kind, "bad_response");
      assert.match(e.message, /not valid JSON/);
      assert.doesNotMatch(e.message, /abc123/);
      return true;
    });
  });

  it("times out a slow answer", async () => {
    srv.script.push((_req, res) => setTimeout(() => res.writeHead(200).end("{}"), 1000));
    await assert.rejects(client({ timeoutMs: 100, retries: 0 }).get("/slow"), (e: HttpError) => {
      assert.equal(e.kind, "timeout");
      assert.match(e.message, /did not answer within 0.1 s \(GET \/slow\)/);
      return true;
    });
  });

  it("says so when nothing listens on the port", async () => {
    const dead = new HttpClient({ serviceName: "the wallbox", baseURL: "http://127.0.0.1:1", retries: 0 });
    await assert.rejects(dead.get("/"), (e: HttpError) => e.kind === "unreachable" && /connection refused/.test(e.message));
  });

  it("close() aborts requests in flight and refuses new ones", async () => {
    srv.script.push((_req, res) => setTimeout(() => res.writeHead(200).end("{}"), 2000));
    const c = client({ timeoutMs: 5000 });
    const pending = c.get("/hang");
    setTimeout(() => c.close(), 50);
    await assert.rejects(pending, (e: HttpError) => e.kind === "aborted");
    await assert.rejects(c.get("/after"), (e: HttpError) => e.kind === "aborted");
  });

  it("text responses are returned as they are", async () => {
    srv.script.push(status(200, "<kml/>"));
    const res = await client().get<string>("/feed.kml", { responseType: "text" });
    assert.equal(res.data, "<kml/>");
  });
});
