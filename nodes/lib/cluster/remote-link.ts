/**
 * A charger held by another instance of the cluster, seen through the same
 * ChargerLink seam as a local websocket: every command the central system
 * can send (friendly or raw, any OCPP version) is built here and runs on
 * the owner as plain CALLs.
 */
import type { ChargerLink } from "../ocpp/core/contract";
import type { ClusterBackplane } from "./backplane";

const DEFAULT_TIMEOUT_MS = 30_000;

export class RemoteChargerLink implements ChargerLink {
  constructor(
    private readonly backplane: ClusterBackplane,
    readonly identity: string,
    readonly protocol: string | undefined,
    private readonly defaultTimeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  call<T = unknown>(action: string, payload: object, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortError());
    const result = this.backplane.request(this.identity, action, payload, timeoutMs) as Promise<T>;
    if (!signal) return result;
    // The owner cannot be told to cancel a CALL already sent; the asking side stops waiting.
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(abortError());
      signal.addEventListener("abort", onAbort, { once: true });
      result.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (err: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    });
  }
}

function abortError(): Error {
  const err = new Error("the command was cancelled");
  err.name = "AbortError";
  return err;
}
