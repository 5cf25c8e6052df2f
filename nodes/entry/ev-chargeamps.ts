// What Node-RED loads at start for ev-chargeamps (package.json): registers the type; the
// node's code, ../ev-chargeamps.ts, loads when the first ev-chargeamps is deployed. Keep the options
// equal to those ../ev-chargeamps.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-chargeamps"), {
  "ev-chargeamps": {},
});
