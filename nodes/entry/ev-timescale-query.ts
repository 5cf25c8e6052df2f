// What Node-RED loads at start for ev-timescale-query (package.json): registers the type; the
// node's code, ../ev-timescale-query.ts, loads when the first ev-timescale-query is deployed. Keep the options
// equal to those ../ev-timescale-query.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-timescale-query"), {
  "ev-timescale-query": {},
});
