// Bench-only node: sends N messages when the bench process asks, yielding
// to the runtime after every 1000 items (a message of 1000 rows counts as
// 1000), so delivery interleaves as in a live flow, at the same cadence
// whether items come one per message or in bulk.
"use strict";
module.exports = function (RED) {
  function BenchSource(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const go = async (count, make, finished) => {
      let items = 0;
      for (let i = 0; i < count; i++) {
        const msg = make(i);
        node.send(msg);
        items += Array.isArray(msg.payload) ? msg.payload.length : 1;
        if (items >= 1000) {
          items = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      finished();
    };
    process.on("ev-bench-go", go);
    node.on("close", (removed, done) => {
      process.off("ev-bench-go", go);
      done();
    });
  }
  RED.nodes.registerType("ev-bench-source", BenchSource);
};
