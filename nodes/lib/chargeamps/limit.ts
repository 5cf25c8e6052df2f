/**
 * The common limit contract (nodes/lib/limit.ts) on a Charge Amps connector:
 * a current becomes the connector's maxCurrent (clamped to 6 A .. the
 * installation current) with the connector switched On; 0 switches it Off
 * (Charge Amps has no separate pause). The answer is the settings read back
 * from the cloud after the write. Charge Amps cannot switch phases.
 */
import { followed, type LimitAnswer, type LimitInput } from "../limit";
import type { ChargeAmpsClient } from "./client";
import type { ConnectorSettingsChange } from "./settings";
import { MAX_CURRENT_A, MIN_CURRENT_A } from "./settings";

export async function applyChargeAmpsLimit(
  client: ChargeAmpsClient,
  chargePointId: string,
  connectorId: number,
  limit: LimitInput,
  signal?: AbortSignal,
): Promise<{ answer: LimitAnswer; before: unknown; after: unknown }> {
  let change: ConnectorSettingsChange;
  if (limit.pause) change = { mode: "Off" };
  else {
    const current = await client.getConnectorSettings(chargePointId, connectorId, signal);
    const ceiling = Math.min(MAX_CURRENT_A, current.installationCurrent > 0 ? current.installationCurrent : MAX_CURRENT_A);
    change = { mode: "On", maxCurrent: Math.max(MIN_CURRENT_A, Math.min(ceiling, Math.floor(limit.amps))) };
  }
  const r = await client.setConnectorSettings(chargePointId, connectorId, change, signal);
  const paused = r.after.mode !== "On";
  const amps = paused ? 0 : (r.after.maxCurrent ?? 0);
  const answer: LimitAnswer = { chargerId: chargePointId, requested: limit.requested, applied: { amps, paused }, followed: followed(limit.amps, amps) && paused === limit.pause };
  if (limit.phases !== undefined) answer.applied.phasesIgnored = true;
  if (!answer.followed) answer.warning = `The connector applies ${paused ? "Off" : `${amps} A`} instead of ${limit.pause ? "a pause" : `${limit.amps} A`}`;
  return { answer, before: r.before, after: r.after };
}
