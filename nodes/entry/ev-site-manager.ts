// What Node-RED loads at start for ev-site-manager (package.json): registers the type; the
// node's code, ../ev-site-manager.ts, loads when the first ev-site-manager is deployed. Keep the options
// equal to those ../ev-site-manager.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-site-manager"), {
  "ev-site-manager": {},
});
