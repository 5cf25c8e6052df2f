// What Node-RED loads at start for ev-ocpp-in (package.json): registers the type; the
// node's code, ../ev-ocpp-in.ts, loads when the first ev-ocpp-in is deployed. Keep the options
// equal to those ../ev-ocpp-in.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-ocpp-in"), {
  "ev-ocpp-in": {},
});
