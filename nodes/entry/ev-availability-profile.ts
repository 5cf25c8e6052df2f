// What Node-RED loads at start for ev-availability-profile (package.json): registers the type; the
// node's code, ../ev-availability-profile.ts, loads when the first ev-availability-profile is deployed. Keep the options
// equal to those ../ev-availability-profile.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-availability-profile"), {
  "ev-availability-profile": {},
});
