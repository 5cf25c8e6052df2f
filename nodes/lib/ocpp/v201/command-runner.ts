/**
 * ev-ocpp-command for an OCPP 2.0.1 charger: the same commands and helpers
 * as for 1.6 (the core's CommandRunner hands a 2.0.1 charger's commands
 * here), built and checked by the 2.0.1 adapter.
 */
import type { ChargerDirectory, ChargerLink } from "../core/contract";
import { CommandError, classifyCallError } from "../core/command-error";
import type { BuiltCall, CommandInput } from "../v16/commands";
import type { LimitRequest, SmartChargingQuirks } from "../v16/smart-charging";
import { adaptAnswer201, buildCommand201, checkAnswer201, shownRequest } from "./commands";
import { applyDiscoverySettings201, capabilities201, discoverySettings201, isSecret, KEY_MAP, readonlyKeys201, type DiscoverySettings201 } from "./device-model";
import { applyLimit201, clearLimit201 } from "./smart-charging";

export interface Runner201Context {
  directory: ChargerDirectory;
  timeoutMs?: number;
  quirks?: SmartChargingQuirks;
  defaultPhases?: number;
  /** Runs the task with the live link now, or queued until the charger reconnects (the core's offline queue). */
  queued<T>(action: string, task: (link: ChargerLink) => Promise<T>): Promise<T>;
}

export interface Outcome201 {
  action: string;
  request: unknown;
  answer: unknown;
}

/** How long GetBaseReport waits for the last NotifyReport part. */
const REPORT_WAIT_MS = 60_000;

async function send(link: ChargerLink, call: BuiltCall, timeoutMs: number | undefined): Promise<unknown> {
  try {
    return await link.call(call.action, call.payload, { timeoutMs });
  } catch (err) {
    throw classifyCallError(err, link.identity, call.action);
  }
}

/** The keys a GetConfiguration asked for, in request order (the answer is given back under these names). */
function askedKeys(input: CommandInput): string[] {
  const raw = input.keys ?? input.key;
  if (raw === undefined || raw === null || raw === "") return Object.keys(KEY_MAP).filter((k) => !isSecret(k));
  return (Array.isArray(raw) ? raw : String(raw).split(",")).map((k) => String(k).trim()).filter((k) => k !== "");
}

/** GetBaseReport, then waits until the charger's last NotifyReport part arrived; answers with the collected device model. */
async function baseReport(ctx: Runner201Context, link: ChargerLink, call: BuiltCall): Promise<unknown> {
  const requestId = call.payload.requestId as number;
  let unsubscribe: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve, reject) => {
    if (!ctx.directory.onReportDone) return reject(new CommandError("not_supported", "This central system does not collect device-model reports", { chargerId: link.identity, action: call.action }));
    unsubscribe = ctx.directory.onReportDone((identity, id) => {
      if (identity === link.identity && id === requestId) resolve();
    });
    timer = setTimeout(
      () => reject(new CommandError("timeout", `Charger ${link.identity} accepted GetBaseReport but did not finish its report within ${REPORT_WAIT_MS / 1000} s`, { chargerId: link.identity, action: call.action })),
      REPORT_WAIT_MS,
    );
  });
  done.catch(() => undefined);
  try {
    const answer = await send(link, call, ctx.timeoutMs);
    checkAnswer201(call, answer, link.identity);
    if ((answer as { status?: string }).status === "EmptyResultSet") return { status: "EmptyResultSet", requestId, configuration: {} };
    await done;
    const snapshot = ctx.directory.snapshot(link.identity);
    return { status: "Accepted", requestId, configuration: snapshot?.configuration ?? {}, capabilities: snapshot?.capabilities };
  } finally {
    unsubscribe?.();
    if (timer) clearTimeout(timer);
  }
}

export function runOcpp201(ctx: Runner201Context, chargerId: string, command: string, input: CommandInput, helper: string | undefined, rawAction: string | undefined, limit?: LimitRequest): Promise<Outcome201> {
  const { timeoutMs } = ctx;
  switch (helper) {
    case "raw": {
      const action = (rawAction ?? "").trim();
      if (!/^[A-Za-z][A-Za-z0-9]*$/.test(action)) {
        return Promise.reject(new CommandError("bad_input", `raw: needs the OCPP action name (msg.action or the node's action), e.g. "Reset"; got ${JSON.stringify(rawAction ?? "")}`));
      }
      const call = { action, payload: input };
      return ctx.queued(action, async (link) => {
        const answer = await send(link, call, timeoutMs);
        checkAnswer201(call, answer, chargerId);
        return { action, request: shownRequest(call), answer };
      });
    }
    case "limit":
    case "pause":
      return ctx.queued(helper, async (link) => ({
        action: helper,
        request: limit,
        answer: await applyLimit201(link, limit as LimitRequest, { directory: ctx.directory, quirks: ctx.quirks, defaultPhases: ctx.defaultPhases, timeoutMs }),
      }));
    case "clearLimit": {
      const connector = input.connector ?? input.connectorId;
      const scope = connector === undefined || connector === "" ? undefined : Number(connector);
      if (scope !== undefined && !(Number.isInteger(scope) && scope >= 0)) {
        return Promise.reject(new CommandError("bad_input", `clearLimit: connector must be a whole number, not ${JSON.stringify(connector)}`));
      }
      return ctx.queued(helper, async (link) => ({ action: helper, request: scope === undefined ? {} : { connector: scope }, answer: await clearLimit201(link, { connector: scope, timeoutMs, directory: ctx.directory }) }));
    }
    case "discover": {
      // The 1.6 discover answer's shape: the device model and the capabilities read from it, side by side, then the settings asked for.
      let set: DiscoverySettings201;
      try {
        set = discoverySettings201(input);
      } catch (err) {
        return Promise.reject(err);
      }
      return runOcpp201(ctx, chargerId, "GetBaseReport", { reportBase: "FullInventory" }, undefined, undefined).then(async (outcome) => {
        const { status, requestId, configuration: reported } = outcome.answer as { status: string; requestId: number; configuration: Record<string, string> };
        const settings = Object.keys(set).length === 0 ? { changes: [], values: {} } : await ctx.queued("SetVariables", (link) => applyDiscoverySettings201(set, (payload) => send(link, { action: "SetVariables", payload: payload as Record<string, unknown> }, timeoutMs) as never, reported));
        if (Object.keys(settings.values).length > 0) ctx.directory.recordConfiguration(chargerId, settings.values);
        const configuration = { ...reported, ...settings.values };
        return {
          action: helper,
          request: set,
          answer: { chargerId, status, requestId, configuration, readonlyKeys: readonlyKeys201(configuration), ...capabilities201(configuration), changes: settings.changes },
        };
      });
    }
    default:
      break;
  }
  const build = (): BuiltCall => buildCommand201(command, input, { chargerId, snapshot: ctx.directory.snapshot(chargerId) });
  let call: BuiltCall;
  try {
    call = build();
  } catch (err) {
    return Promise.reject(err);
  }
  return ctx.queued(call.action, async (link) => {
    // "the session on connector N" is looked up again at send time: a queued stop must find the current session.
    const fresh = call.action === "RequestStopTransaction" ? build() : call;
    if (fresh.action === "GetBaseReport") return { action: fresh.action, request: fresh.payload, answer: await baseReport(ctx, link, fresh) };
    const answer = await send(link, fresh, timeoutMs);
    checkAnswer201(fresh, answer, chargerId);
    const readonly = fresh.action === "GetVariables" ? new Set(readonlyKeys201(ctx.directory.snapshot(chargerId)?.configuration)) : undefined;
    return { action: fresh.action, request: shownRequest(fresh), answer: adaptAnswer201(fresh, answer, chargerId, fresh.action === "GetVariables" ? askedKeys(input) : [], readonly) };
  });
}
