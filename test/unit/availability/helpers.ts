import jsonata from "jsonata";
import { HttpClient } from "../../../nodes/lib/http-client";
import type { ExpressionEvaluator } from "../../../nodes/lib/availability/model";

/** Node-RED's own JSONata (a dependency of node-red), as the node uses it. */
export const evaluateJsonata: ExpressionEvaluator = (expression, data) => jsonata(expression).evaluate(data) as Promise<unknown>;

export function client(name = "the test feed", timeoutMs = 5000): HttpClient {
  return new HttpClient({ serviceName: name, timeoutMs, retries: 0 });
}

export function signal(): AbortSignal {
  return new AbortController().signal;
}
