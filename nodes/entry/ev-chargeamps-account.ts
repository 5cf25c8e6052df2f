// What Node-RED loads at start for ev-chargeamps-account (package.json): registers the type; the
// node's code, ../ev-chargeamps-account.ts, loads when the first ev-chargeamps-account is deployed. Keep the options
// equal to those ../ev-chargeamps-account.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

export = lazyNodeSet(path.join(__dirname, "..", "ev-chargeamps-account"), {
  "ev-chargeamps-account": { credentials: { email: { type: "text" }, password: { type: "password" }, apiKey: { type: "password" } } },
});
