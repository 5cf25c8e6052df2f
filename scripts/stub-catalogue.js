// Preloaded into `node-red-dev validate` (node -r) so the scorecard runs
// offline: catalogue.nodered.org (checks P08 and N01) is unreachable here, so
// it answers "no modules". Every other request goes out unchanged.
// node-red-dev ships its own axios, so the stub patches that copy (and the
// top-level one, in case a future node-red-dev dedupes it).
"use strict";
const path = require("path");

const devDir = path.dirname(require.resolve("node-red-dev/package.json"));
const copies = new Set([require.resolve("axios", { paths: [devDir] }), require.resolve("axios")]);
for (const file of copies) {
  const axios = require(file);
  const get = axios.get.bind(axios);
  axios.get = (url, ...rest) => (String(url).includes("catalogue.nodered.org") ? Promise.resolve({ data: { modules: [] } }) : get(url, ...rest));
}
