/**
 * Smart charging as a 2.0.1 charging station does it, for RawCharger201
 * handlers: keeps the charging profiles it accepted (by id), answers
 * GetCompositeSchedule from them (the lowest of the station maximum and the
 * EVSE's TxProfile, else TxDefaultProfile, each the highest stack level in
 * force; a profile past its validTo no longer counts), and can be told to
 * refuse or to ignore purposes, as real firmware does.
 */
type Payload = Record<string, unknown>;

interface Profile {
  id: number;
  stackLevel: number;
  chargingProfilePurpose: string;
  transactionId?: string;
  validTo?: string;
  chargingSchedule: Array<{ chargingRateUnit: string; chargingSchedulePeriod: Array<{ limit: number }> }>;
}

export interface ProfileStation {
  readonly installed: Map<number, { evseId: number; profile: Profile }>;
  /** Transactions running, by EVSE (TxProfile needs one). */
  readonly transactions: Map<number, string>;
  handlers: Record<string, (p: Payload) => unknown>;
}

export function profileStation(options: { variables: Record<string, string>; reject?: string[]; ignore?: string[]; voltage?: number } = { variables: {} }): ProfileStation {
  const installed = new Map<number, { evseId: number; profile: Profile }>();
  const transactions = new Map<number, string>();
  const volts = options.voltage ?? 230;
  const amps = (p: Profile): number => {
    const schedule = p.chargingSchedule[0];
    const limit = schedule.chargingSchedulePeriod[0].limit;
    return schedule.chargingRateUnit === "W" ? limit / (volts * 3) : limit;
  };
  /** The limit in A at `at` for the EVSE, undefined when no profile is in force. */
  const limitAt = (evseId: number, at: number): number | undefined => {
    const live = [...installed.values()].filter(({ profile }) => !options.ignore?.includes(profile.chargingProfilePurpose) && (!profile.validTo || Date.parse(profile.validTo) > at));
    const top = (purpose: string, evse: (e: number) => boolean): Profile | undefined =>
      live.filter((i) => i.profile.chargingProfilePurpose === purpose && evse(i.evseId)).sort((a, b) => b.profile.stackLevel - a.profile.stackLevel)[0]?.profile;
    const max = top("ChargingStationMaxProfile", () => true);
    const tx = evseId > 0 ? (top("TxProfile", (e) => e === evseId) ?? top("TxDefaultProfile", (e) => e === evseId) ?? top("TxDefaultProfile", (e) => e === 0)) : top("TxDefaultProfile", (e) => e === 0);
    const limits = [max, tx].filter((p): p is Profile => p !== undefined).map(amps);
    return limits.length > 0 ? Math.min(...limits) : undefined;
  };
  const handlers: ProfileStation["handlers"] = {
    GetVariables: (p) => ({
      getVariableResult: (p.getVariableData as Array<{ component: object; variable: { name: string } }>).map((d) =>
        options.variables[d.variable.name] === undefined
          ? { attributeStatus: "UnknownVariable", component: d.component, variable: d.variable }
          : { attributeStatus: "Accepted", component: d.component, variable: d.variable, attributeValue: options.variables[d.variable.name] },
      ),
    }),
    SetChargingProfile: (p) => {
      const profile = p.chargingProfile as Profile;
      const evseId = p.evseId as number;
      if (options.reject?.includes(profile.chargingProfilePurpose)) return { status: "Rejected" };
      if (profile.chargingProfilePurpose === "TxProfile" && (evseId === 0 || transactions.get(evseId) !== profile.transactionId)) return { status: "Rejected" };
      installed.set(profile.id, { evseId, profile });
      return { status: "Accepted" };
    },
    ClearChargingProfile: (p) => ({ status: installed.delete(p.chargingProfileId as number) ? "Accepted" : "Unknown" }),
    GetCompositeSchedule: (p) => {
      const evseId = p.evseId as number;
      const now = Date.now();
      const first = limitAt(evseId, now);
      if (first === undefined) return { status: "Accepted" };
      const periods = [{ startPeriod: 0, limit: first }];
      // Where a profile's validity ends within the asked duration, the schedule changes.
      for (const { profile } of installed.values()) {
        const end = profile.validTo ? Date.parse(profile.validTo) : Number.NaN;
        if (!(end > now && end < now + (p.duration as number) * 1000)) continue;
        const after = limitAt(evseId, end + 1);
        if (after !== undefined && after !== first) periods.push({ startPeriod: Math.ceil((end - now) / 1000), limit: after });
      }
      return { status: "Accepted", schedule: { evseId, duration: p.duration, scheduleStart: new Date(now).toISOString(), chargingRateUnit: "A", chargingSchedulePeriod: periods } };
    },
  };
  return { installed, transactions, handlers };
}
