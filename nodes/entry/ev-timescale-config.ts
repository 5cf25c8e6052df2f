// What Node-RED loads at start for ev-timescale-config (package.json): registers the type; the
// node's code, ../ev-timescale-config.ts, loads when the first ev-timescale-config is deployed. Keep the options
// equal to those ../ev-timescale-config.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-timescale-config"), {
  "ev-timescale-config": { credentials: { password: { type: "password" } } },
});
