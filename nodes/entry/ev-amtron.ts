// What Node-RED loads at start for ev-amtron (package.json): registers the type; the
// node's code, ../ev-amtron.ts, loads when the first ev-amtron is deployed. Keep the options
// equal to those ../ev-amtron.ts passes to registerType (test/unit/lazy-load.test.ts checks).
// See nodes/lib/node-red/lazy-node.ts.
import path from "node:path";
import { lazyNodeSet } from "../lib/node-red/lazy-node";

// (settings: the value is the node file's minimum poll interval, MIN_INTERVAL_S)
export = lazyNodeSet(path.join(__dirname, "..", "ev-amtron"), {
  "ev-amtron": {
    settings: { evAmtronMinPollInterval: { value: 5, exportable: true } },
    credentials: { devKey: { type: "password" } },
  },
});
