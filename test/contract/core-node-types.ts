/**
 * Node types that ship with Node-RED (4.1 and 5) and may appear in our
 * example flows next to our own types. The contract test checks that each
 * one really is a core type of the installed Node-RED, so the list cannot rot.
 */
export const CORE_NODE_TYPES = [
  // common
  "inject", "debug", "complete", "catch", "status", "link in", "link out", "link call", "comment", "unknown",
  // function
  "function", "switch", "change", "range", "template", "delay", "trigger", "exec", "rbe",
  // network
  "tls-config", "http proxy", "mqtt in", "mqtt out", "mqtt-broker", "http in", "http response", "http request",
  "websocket in", "websocket out", "websocket-listener", "websocket-client", "tcp in", "tcp out", "tcp request", "udp in", "udp out",
  // parsers
  "csv", "html", "json", "xml", "yaml",
  // sequence
  "split", "join", "sort", "batch",
  // storage
  "file", "file in", "watch",
] as const;

/** Types the editor/runtime define themselves (no node HTML): flow structure and 4.1's global-config. */
export const FLOW_STRUCTURE_TYPES = ["tab", "subflow", "group", "junction", "global-config"] as const;

/**
 * Example folders whose flows may use another package's node types: the
 * folder, the module its flows must declare in a global-config node's
 * `modules` (so Node-RED offers to install it on import), and where its node
 * types are listed. Nowhere else may examples use them.
 */
export const EXTRA_MODULE_FOLDERS = [{ folder: "Dashboard 2.0", module: "@flowfuse/node-red-dashboard" }] as const;
