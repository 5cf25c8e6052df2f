/**
 * Node-RED requires every node file at start, whether a flow uses it or not:
 * loading the built node files must not load the heavy dependencies (they load
 * when a node that needs them is deployed, nodes/lib/lazy.ts). And a missing or
 * broken dependency gives an error that says which package and what to do.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DependencyError, lazyRequire } from "../../nodes/lib/lazy";

const root = path.join(__dirname, "..", "..");
const distNodes = path.join(root, "dist", "nodes");
/** Every runtime dependency that costs start time or memory, and what they bring along. */
export const HEAVY_PACKAGES = ["ocpp-rpc", "ws", "ajv", "pg", "pg-copy-streams", "@influxdata/influxdb-client", "fast-xml-parser", "axios", "mqtt"];

describe("lazy loading of heavy dependencies", () => {
  it("loading every dist/nodes/*.js (as Node-RED does at start) loads none of the heavy packages", () => {
    assert.ok(fs.existsSync(distNodes), `No build in ${distNodes}: run npm run build`);
    // A fresh process, so nothing this test process loaded counts.
    const script = `
      const fs = require("fs"), path = require("path");
      const dir = ${JSON.stringify(distNodes)};
      const files = fs.readdirSync(dir).filter((f) => f.endsWith(".js"));
      // A stand-in for RED that takes any call (registerType, httpAdmin routes, ...), so the
      // module function runs as at Node-RED's start; node constructors are not called.
      const RED = new Proxy(function () {}, { get: (_t, key) => (key === "then" ? undefined : RED), apply: () => RED });
      for (const f of files) require(path.join(dir, f))(RED);
      const packages = new Set();
      for (const file of Object.keys(require.cache)) {
        const m = file.match(/node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)[\\\\/](?!.*node_modules)/);
        if (m) packages.add(m[1].replace(/\\\\/g, "/"));
      }
      console.log(JSON.stringify({ files: files.length, packages: [...packages].sort() }));
    `;
    const run = spawnSync(process.execPath, ["-e", script], { cwd: root, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
    assert.equal(run.status, 0, run.stderr);
    const { files, packages } = JSON.parse(run.stdout) as { files: number; packages: string[] };
    assert.ok(files >= 15, `expected every node file, found ${files}`);
    const heavy = packages.filter((p) => HEAVY_PACKAGES.includes(p));
    assert.deepEqual(heavy, [], `loaded at start: ${heavy.join(", ")} (all packages loaded: ${packages.join(", ")})`);
  });

  it("loads a package on first use, once", () => {
    const load = lazyRequire<typeof import("node:path")>("node:path");
    assert.equal(load(), path);
    assert.equal(load(), load());
  });

  it("a missing package gives a DependencyError naming it and saying what to do", () => {
    const load = lazyRequire<unknown>("evkit-no-such-package");
    assert.throws(load, (err: unknown) => {
      assert.ok(err instanceof DependencyError);
      assert.equal(err.dependency, "evkit-no-such-package");
      assert.match(err.message, /^Cannot load evkit-no-such-package: Cannot find module 'evkit-no-such-package'\. /);
      assert.match(err.message, /reinstall @evkit\/node-red-ev/);
      // Only the first line of Node's message: no require stack in a status or log line.
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  });

  it("a package that throws while loading gives a DependencyError with its reason, and is tried again next time", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-lazy-"));
    const file = path.join(dir, "broken.js");
    try {
      fs.writeFileSync(file, 'throw new TypeError("this build of the package is broken\\nsecond line");');
      const load = lazyRequire<{ ok: boolean }>(file);
      assert.throws(load, (err: unknown) => {
        assert.ok(err instanceof DependencyError);
        assert.equal(err.message.split(": ")[1], "this build of the package is broken. This node needs it");
        assert.ok((err.cause as Error) instanceof TypeError);
        return true;
      });
      // Repaired (e.g. reinstalled): the next deploy loads it.
      fs.writeFileSync(file, "module.exports = { ok: true };");
      assert.deepEqual(load(), { ok: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
