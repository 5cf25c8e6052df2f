// What Node-RED loads at start for ev-timescale-write (package.json): registers the type; the
// node's code, ../ev-timescale-write.ts, loads when the first ev-timescale-write is deployed. Keep the options
// equal to those ../ev-timescale-write.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-timescale-write"), {
  "ev-timescale-write": {},
});
