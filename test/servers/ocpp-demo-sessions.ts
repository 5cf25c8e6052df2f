/**
 * Charging sessions on a cycle for a simulated OCPP 1.6 charge point, so the
 * OCPP examples under `npm start` show what a real wallbox does instead of
 * heartbeats: the car is plugged in (Preparing), a card is shown (Authorize),
 * the session starts (StartTransaction, Charging), MeterValues every few
 * seconds (energy register, power, current per phase, following any charging
 * limit a flow set), then the session stops (StopTransaction, Finishing,
 * Available). Every few sessions ends in a fault (Faulted, then Available
 * again). Cards alternate between a household card and the example's guest
 * card, so both branches of "card decisions" fire. A session started or stopped
 * remotely (the "Start and stop a session" example) is metered and ended the same way.
 */
import type { ChargePointSimulator } from "./ocpp-charge-point";

export interface DemoSessionOptions {
  connectorId?: number;
  /** Cards shown in turn; GUEST01 is the guest card of the "Home central system" example. */
  idTags?: string[];
  /** Seconds with the connector free before the next car arrives. */
  idleS?: number;
  /** Seconds between MeterValues while charging. */
  meterIntervalS?: number;
  /** MeterValues per session. */
  samplesPerSession?: number;
  /** Every n-th session ends in a fault (0: never). */
  faultEvery?: number;
  /** Power the car draws when no limit is set (W). */
  maxPowerW?: number;
  /** Multiplies every wait (tests run the cycle fast with e.g. 0.01). */
  timeScale?: number;
}

export interface DemoSessions {
  /** Sessions begun so far (including the one running). */
  readonly sessions: number;
  stop(): Promise<void>;
}

export function runDemoSessions(cp: ChargePointSimulator, options: DemoSessionOptions = {}): DemoSessions {
  const connectorId = options.connectorId ?? 1;
  const idTags = options.idTags ?? ["04A2B3C4", "GUEST01"];
  const meterIntervalS = options.meterIntervalS ?? 5;
  const samplesPerSession = options.samplesPerSession ?? 12;
  const faultEvery = options.faultEvery ?? 3;
  const maxPowerW = options.maxPowerW ?? 11_000;
  const scale = options.timeScale ?? 1;
  const voltage = cp.behaviour.voltage;

  let stopped = false;
  let sessions = 0;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const wait = (seconds: number): Promise<void> =>
    new Promise((resolve) => {
      if (stopped) return resolve();
      wake = resolve;
      timer = setTimeout(resolve, seconds * 1000 * scale);
    });
  const status = (value: string, errorCode = "NoError", info?: string) =>
    cp.send("StatusNotification", { connectorId, errorCode, status: value, timestamp: new Date().toISOString(), ...(info ? { info } : {}) });
  const open = () => cp.state.transactions.get(connectorId);

  const meter = async (sample: number): Promise<void> => {
    const transactionId = open();
    if (transactionId === undefined) return;
    const limitW = cp.compositeLimit(connectorId, "W") ?? maxPowerW;
    // The car ramps up over the first samples and wobbles a little, like a real one.
    const ramp = Math.min(1, (sample + 1) / 3);
    const powerW = Math.max(0, Math.round(Math.min(maxPowerW, limitW) * ramp * (0.97 + 0.03 * Math.sin(sample))));
    cp.state.meterWh += (powerW * meterIntervalS) / 3600;
    const amps = (powerW / (3 * voltage)).toFixed(1);
    await cp.send("MeterValues", {
      connectorId,
      transactionId,
      meterValue: [
        {
          timestamp: new Date().toISOString(),
          sampledValue: [
            { value: String(Math.round(cp.state.meterWh)), measurand: "Energy.Active.Import.Register", unit: "Wh", context: "Sample.Periodic" },
            { value: String(powerW), measurand: "Power.Active.Import", unit: "W", context: "Sample.Periodic" },
            ...["L1", "L2", "L3"].map((phase) => ({ value: amps, measurand: "Current.Import", phase, unit: "A", context: "Sample.Periodic" })),
          ],
        },
      ],
    });
  };

  const session = async (): Promise<void> => {
    if (open() === undefined) {
      await wait(options.idleS ?? 8);
      if (stopped) return;
      if (open() === undefined) {
        await status("Preparing"); // plugged in
        await wait(2);
        if (stopped) return;
        const idTag = idTags[sessions % idTags.length];
        sessions += 1;
        const answer = (await cp.send("Authorize", { idTag })) as { idTagInfo?: { status?: string } };
        if (answer.idTagInfo?.status !== "Accepted") {
          await wait(3); // the driver gives up and unplugs
          await status("Available");
          return;
        }
        await cp.startSession(connectorId, idTag);
      }
    } else sessions += 1; // started remotely
    const faulty = faultEvery > 0 && sessions % faultEvery === 0;
    for (let sample = 0; sample < samplesPerSession && !stopped && open() !== undefined; sample++) {
      await wait(meterIntervalS);
      await meter(sample);
      if (faulty && sample === Math.floor(samplesPerSession / 2)) {
        await cp.stopSession(connectorId, "Other");
        await status("Faulted", "GroundFailure", "residual current detected");
        await wait(15);
        await status("Available");
        return;
      }
    }
    if (stopped) return;
    if (open() !== undefined) await cp.stopSession(connectorId, sessions % 2 ? "EVDisconnected" : "Local");
    await wait(3); // unplugging
    await status("Available");
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await session();
      } catch {
        // Not connected right now (the simulator reconnects by itself): try again shortly.
        await wait(5);
      }
    }
  })();

  return {
    get sessions() {
      return sessions;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
