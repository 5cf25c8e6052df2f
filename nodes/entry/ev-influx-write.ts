// What Node-RED loads at start for ev-influx-write (package.json): registers the type; the
// node's code, ../ev-influx-write.ts, loads when the first ev-influx-write is deployed. Keep the options
// equal to those ../ev-influx-write.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-influx-write"), {
  "ev-influx-write": {},
});
