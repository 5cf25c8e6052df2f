/**
 * Node-RED glue that every node uses so none of them can crash Node-RED:
 * input handlers always end in done() or done(err) (which Catch nodes see),
 * background promises always end in node.error(), and close handlers are
 * declared as (removed, done) and always reach done() well inside the 15 s
 * the runtime allows. After close, `send` is a no-op: an old instance never
 * emits after a redeploy.
 */
import type { Node, NodeMessage, NodeMessageInFlow } from "node-red";
import { timerDelay } from "../backoff";
import { toError } from "../errors";
import { Status } from "./status";

export type OutMessage = NodeMessage | Array<NodeMessage | NodeMessage[] | null>;
export type SendFn = (msg: OutMessage) => void;

export type InputHandler<M extends NodeMessageInFlow = NodeMessageInFlow> = (msg: M, send: SendFn) => Promise<void> | void;
export type CloseHandler = (removed: boolean) => Promise<void> | void;

/** Longest a close handler may take before we give up and call done(). */
export const CLOSE_TIMEOUT_MS = 10_000;

export class Lifecycle {
  private readonly node: Node;
  private closing = false;
  private readonly closeHandlers: CloseHandler[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly intervals = new Set<NodeJS.Timeout>();

  constructor(node: Node, closeTimeoutMs = CLOSE_TIMEOUT_MS) {
    this.node = node;
    node.on("close", (removed: boolean, done: () => void) => {
      this.closing = true;
      this.clearTimers();
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(guard);
        done();
      };
      const guard = setTimeout(() => {
        node.warn(`Stopping took longer than ${closeTimeoutMs / 1000} s; giving up on a clean stop`);
        finish();
      }, closeTimeoutMs);
      // Handlers run in reverse registration order, like a stack of resources.
      const handlers = [...this.closeHandlers].reverse();
      (async () => {
        for (const handler of handlers) {
          try {
            await handler(removed);
          } catch (err) {
            node.warn(`While stopping: ${toError(err).message}`);
          }
        }
      })()
        .catch(() => undefined)
        .finally(finish);
    });
  }

  /** True once Node-RED has started closing this node. */
  get closed(): boolean {
    return this.closing;
  }

  /** Registers cleanup to run on close (async allowed, errors are logged not thrown). */
  onClose(handler: CloseHandler): void {
    this.closeHandlers.push(handler);
  }

  /**
   * Registers the input handler. Rejections and throws become done(err), so a
   * Catch node receives them; the msg is left as it was for the catch.
   */
  onInput<M extends NodeMessageInFlow = NodeMessageInFlow>(handler: InputHandler<M>): void {
    this.node.on("input", (msg: NodeMessageInFlow, send: SendFn, done: (err?: Error) => void) => {
      if (this.closing) {
        done();
        return;
      }
      const guardedSend: SendFn = (out) => {
        if (!this.closing) send(out);
      };
      let result: Promise<void> | void;
      try {
        result = handler(msg as M, guardedSend);
      } catch (err) {
        done(toError(err));
        return;
      }
      Promise.resolve(result).then(
        () => done(),
        (err: unknown) => done(toError(err)),
      );
    });
  }

  /**
   * For a node that cannot work as configured (no config node chosen, bad
   * settings): shows `statusText` in red and fails every input with `error`,
   * so a Catch node and the debug sidebar say why instead of silence.
   */
  refuse(statusText: string, error: Error): void {
    this.node.status(Status.error(statusText));
    this.onInput(() => {
      throw error;
    });
  }

  /** Sends from outside an input handler (events, polls), unless closed. */
  send(msg: OutMessage): void {
    if (!this.closing) this.node.send(msg);
  }

  /**
   * Runs a background task; a failure is reported with node.error (so Catch
   * nodes see it) instead of becoming an unhandled rejection.
   */
  run(task: () => Promise<unknown>, msg?: NodeMessage): void {
    let promise: Promise<unknown>;
    try {
      promise = task();
    } catch (err) {
      this.reportError(err, msg);
      return;
    }
    promise.catch((err: unknown) => this.reportError(err, msg));
  }

  /** node.error with a catchable msg, unless the node is already closing. */
  reportError(err: unknown, msg?: NodeMessage): void {
    if (this.closing) return;
    const error = toError(err);
    const out: NodeMessage = msg ?? { payload: undefined };
    this.node.error(error.message, out);
  }

  setTimeout(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closing) fn();
    }, timerDelay(ms));
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(timer: NodeJS.Timeout | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  setInterval(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setInterval(() => {
      if (!this.closing) fn();
    }, Math.max(1, timerDelay(ms)));
    this.intervals.add(timer);
    return timer;
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    for (const timer of this.intervals) clearInterval(timer);
    this.timers.clear();
    this.intervals.clear();
  }
}
