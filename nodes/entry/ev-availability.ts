// What Node-RED loads at start for ev-availability (package.json): registers the type; the
// node's code, ../ev-availability.ts, loads when the first ev-availability is deployed. Keep the options
// equal to those ../ev-availability.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-availability"), {
  "ev-availability": { credentials: { token: { type: "password" }, apiKey: { type: "password" } } },
});
