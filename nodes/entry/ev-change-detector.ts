// What Node-RED loads at start for ev-change-detector (package.json): registers the type; the
// node's code, ../ev-change-detector.ts, loads when the first ev-change-detector is deployed. Keep the options
// equal to those ../ev-change-detector.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-change-detector"), {
  "ev-change-detector": {},
});
