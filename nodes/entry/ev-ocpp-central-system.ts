// What Node-RED loads at start for ev-ocpp-central-system (package.json): registers the type; the
// node's code, ../ev-ocpp-central-system.ts, loads when the first ev-ocpp-central-system is deployed. Keep the options
// equal to those ../ev-ocpp-central-system.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-ocpp-central-system"), {
  "ev-ocpp-central-system": { credentials: { passwords: { type: "password" }, idTags: { type: "text" } } },
});
