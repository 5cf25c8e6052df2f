// Bench-only node: counts the messages it receives (process-wide), to show
// what the Node-RED runtime alone can carry from one node to the next.
"use strict";
module.exports = function (RED) {
  function BenchSink(config) {
    RED.nodes.createNode(this, config);
    this.on("input", (msg, send, done) => {
      process.evBenchSinkCount = (process.evBenchSinkCount || 0) + 1;
      done();
    });
  }
  RED.nodes.registerType("ev-bench-sink", BenchSink);
};
