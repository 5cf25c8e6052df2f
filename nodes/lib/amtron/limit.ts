/**
 * The common limit contract (nodes/lib/limit.ts) on an AMTRON: a current
 * becomes RemoteCurr (clamped into the wallbox's range, continuing a paused
 * charge), 0 becomes a Pause. The answer is read back from the wallbox.
 * AMTRON cannot switch phases on command, so a phases request is reported as
 * ignored.
 */
import { followed, type LimitAnswer, type LimitInput } from "../limit";
import type { AmtronClient } from "./client";
import { chargeCommand, setCurrent, type ControlResult, type ReadBackOptions } from "./control";

export async function applyAmtronLimit(client: AmtronClient, limit: LimitInput, options: ReadBackOptions = {}): Promise<{ answer: LimitAnswer; result: ControlResult }> {
  if (limit.pause) {
    const before = await client.getChargeData(options.signal);
    // Nothing charges without a car, so there is nothing to pause (the wallbox would refuse).
    const result: ControlResult =
      before.ChgState === "Charging" || before.ChgState === "StandbyConnect"
        ? await chargeCommand(client, "Pause", options)
        : { action: "pause", requested: "Pause", applied: before.ChgState, chargeData: before };
    return { answer: { requested: limit.requested, applied: { amps: 0, paused: true }, followed: true }, result };
  }
  const result = await setCurrent(client, limit.amps, { ...options, clamp: true });
  let chargeData = result.chargeData;
  if (chargeData?.ChgState === "Paused") chargeData = (await chargeCommand(client, "Continue", options)).chargeData ?? chargeData;
  const appliedA = Number(chargeData?.RemoteCurr ?? result.applied);
  const answer: LimitAnswer = {
    requested: limit.requested,
    applied: { amps: appliedA, paused: chargeData?.ChgState === "Paused" },
    followed: followed(limit.amps, appliedA),
  };
  const phases = result.devInfo?.Phases;
  if (typeof phases === "number") answer.applied.phases = phases;
  if (limit.phases !== undefined && limit.phases !== phases) answer.applied.phasesIgnored = true;
  if (!answer.followed) answer.warning = `The wallbox applies ${appliedA} A instead of ${limit.amps} A (its range is limited)`;
  return { answer, result: { ...result, chargeData } };
}
