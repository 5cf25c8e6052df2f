/**
 * Status helpers: the same words and colours on every node, and a fan-out so
 * a config node (which has no status of its own) can show its connection
 * state on every node that uses it, as the core mqtt node does.
 */
import type { Node, NodeStatus } from "node-red";
import { shortText } from "../errors";

export const Status = {
  connecting: (text = "node-red:common.status.connecting"): NodeStatus => ({ fill: "yellow", shape: "ring", text }),
  connected: (text = "node-red:common.status.connected"): NodeStatus => ({ fill: "green", shape: "dot", text }),
  disconnected: (text = "node-red:common.status.disconnected"): NodeStatus => ({ fill: "red", shape: "ring", text }),
  ok: (text: string): NodeStatus => ({ fill: "green", shape: "dot", text: shortText(text) }),
  busy: (text: string): NodeStatus => ({ fill: "blue", shape: "dot", text: shortText(text) }),
  warning: (text: string): NodeStatus => ({ fill: "yellow", shape: "dot", text: shortText(text) }),
  error: (text: string): NodeStatus => ({ fill: "red", shape: "dot", text: shortText(text) }),
  idle: (text: string): NodeStatus => ({ fill: "grey", shape: "ring", text: shortText(text) }),
  clear: (): NodeStatus => ({}),
};

/** "buffered 3 · dropped 1" style count summaries, leaving out zeros except the first. */
export function countsText(counts: Array<[string, number]>): string {
  return counts
    .filter(([, value], index) => index === 0 || value !== 0)
    .map(([label, value]) => `${label} ${value}`)
    .join(" · ");
}

/** Keeps the last status and applies it to every registered node. */
export class StatusFanout {
  private readonly nodes = new Set<Node>();
  private last: NodeStatus = {};

  add(node: Node): void {
    this.nodes.add(node);
    node.status(this.last);
  }

  remove(node: Node): void {
    this.nodes.delete(node);
  }

  get size(): number {
    return this.nodes.size;
  }

  get current(): NodeStatus {
    return this.last;
  }

  set(status: NodeStatus): void {
    this.last = status;
    for (const node of this.nodes) node.status(status);
  }
}
