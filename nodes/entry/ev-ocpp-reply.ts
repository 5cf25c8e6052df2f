// What Node-RED loads at start for ev-ocpp-reply (package.json): registers the type; the
// node's code, ../ev-ocpp-reply.ts, loads when the first ev-ocpp-reply is deployed. Keep the options
// equal to those ../ev-ocpp-reply.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-ocpp-reply"), {
  "ev-ocpp-reply": {},
});
