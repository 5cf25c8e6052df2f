// Bench-only node: sends N messages when the bench process asks, yielding
// to the runtime every 1000 so delivery interleaves as in a live flow.
"use strict";
module.exports = function (RED) {
  function BenchSource(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const go = async (count, make, finished) => {
      for (let i = 0; i < count; i++) {
        node.send(make(i));
        if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
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
