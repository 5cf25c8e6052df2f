/** Small helpers for tests that run nodes inside Node-RED with node-red-node-test-helper. */
import type { Node, NodeMessage } from "node-red";

/** A flow entry as the test helper takes it. */
export type FlowNode = { id: string; type: string; z?: string; wires?: string[][] } & Record<string, unknown>;

/**
 * Gives every flow node the x/y an editor-made flow has: the runtime treats a
 * node on a tab without coordinates as a config node (no wires, no catch).
 */
export function editorFlow(nodes: FlowNode[]): FlowNode[] {
  return nodes.map((n, i) =>
    // Global config nodes (no tab) must stay without coordinates.
    n.type === "tab" || !n.z || "x" in n ? n : { ...n, x: 100 + (i % 5) * 150, y: 60 + Math.floor(i / 5) * 60 },
  );
}

export type ReceivedMessage = NodeMessage & Record<string, unknown>;

export interface Collector {
  /** Messages received so far and not yet taken. */
  readonly pending: ReceivedMessage[];
  /** Resolves with the next `count` messages, or rejects after `timeoutMs`. */
  take(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  /** Resolves if no message arrives within `ms`, rejects otherwise. */
  none(ms: number): Promise<void>;
}

/** Records every message that reaches `node` (a "helper" node) from now on. */
export function collect(node: Node): Collector {
  const pending: ReceivedMessage[] = [];
  let wake: (() => void) | undefined;
  node.on("input", (msg: NodeMessage) => {
    pending.push(msg as ReceivedMessage);
    wake?.();
  });
  return {
    pending,
    async take(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (pending.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`Expected ${count} message(s), got ${pending.length} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
      return pending.splice(0, count);
    },
    async none(ms) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (pending.length > 0) throw new Error(`Expected no message, got ${JSON.stringify(pending[0])}`);
    },
  };
}

/** Waits until `predicate` is true, polling every 20 ms. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
