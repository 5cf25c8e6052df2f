/**
 * A simulated OCPP 2.0.1 charging station (one EVSE, one connector), written
 * on `ws` from the 2.0.1 message shapes, for `npm start` and example-flow
 * tests. Like the BMW / Mini wallbox: rate units A and W, stack level 5, no
 * phase switching. A remote start plugs in a car that charges at the limit
 * in force; meter values come as TransactionEvent Updated.
 */
import WebSocket from "ws";

export interface Ocpp201Simulator {
  /** Calls received from the central system: [action, payload]. */
  readonly received: Array<[string, Record<string, unknown>]>;
  readonly state: { transactionId?: string; limitA?: number; registerWh: number; seqNo: number };
  calls(action: string): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startOcpp201Simulator(options: {
  url: string;
  identity: string;
  reconnect?: boolean;
  meterIntervalMs?: number;
  voltage?: number;
  /** Periodic samples also carry Current.Import and Voltage per phase and Current.Offered (default: register, power and L1 voltage only). */
  phaseCurrents?: boolean;
}): Promise<Ocpp201Simulator> {
  const voltage = options.voltage ?? 230;
  const received: Array<[string, Record<string, unknown>]> = [];
  const state: Ocpp201Simulator["state"] = { registerWh: 1_250_000, seqNo: 0 };
  const pending = new Map<string, (payload: unknown) => void>();
  let ws: WebSocket | undefined;
  let closed = false;
  let nextId = 1;
  let meterTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryMs = 1000;
  const now = (): string => new Date().toISOString();

  const call = (action: string, payload: object): Promise<unknown> =>
    new Promise((resolve) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) return resolve(undefined);
      const id = `sim-${nextId++}`;
      pending.set(id, resolve);
      ws.send(JSON.stringify([2, id, action, payload]));
    });

  const powerW = (): number => Math.round((state.limitA ?? 16) * voltage * 3);
  const phaseSamples = (context: string) => {
    if (!options.phaseCurrents) return [];
    const amps = context === "Sample.Periodic" ? (state.limitA ?? 16) : 0;
    return [
      ...["L2-N", "L3-N"].map((phase) => ({ value: voltage, context, measurand: "Voltage", phase, unitOfMeasure: { unit: "V" } })),
      ...["L1", "L2", "L3"].map((phase) => ({ value: amps, context, measurand: "Current.Import", phase, unitOfMeasure: { unit: "A" } })),
      { value: state.limitA ?? 16, context, measurand: "Current.Offered", unitOfMeasure: { unit: "A" } },
    ];
  };
  const register = (context: string) => ({
    timestamp: now(),
    sampledValue: [
      { value: Math.round(state.registerWh), context, measurand: "Energy.Active.Import.Register", unitOfMeasure: { unit: "Wh" } },
      { value: context === "Sample.Periodic" ? powerW() : 0, context, measurand: "Power.Active.Import", unitOfMeasure: { unit: "W" } },
      { value: voltage, context, measurand: "Voltage", phase: "L1-N", unitOfMeasure: { unit: "V" } },
      ...phaseSamples(context),
    ],
  });
  const transactionEvent = (eventType: string, triggerReason: string, info: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    call("TransactionEvent", { eventType, timestamp: now(), triggerReason, seqNo: state.seqNo++, transactionInfo: { transactionId: state.transactionId, ...info }, ...extra });

  const startSession = (remoteStartId: number, idToken: unknown): void => {
    state.transactionId = `sim-${Date.now().toString(36)}`;
    state.seqNo = 0;
    void call("StatusNotification", { timestamp: now(), connectorStatus: "Occupied", evseId: 1, connectorId: 1 });
    void transactionEvent("Started", "RemoteStart", { remoteStartId, chargingState: "Charging" }, { idToken, evse: { id: 1, connectorId: 1 }, meterValue: [register("Transaction.Begin")] });
    const interval = options.meterIntervalMs ?? 10_000;
    meterTimer = setInterval(() => {
      state.registerWh += (powerW() * interval) / 3_600_000;
      void transactionEvent("Updated", "MeterValuePeriodic", { chargingState: "Charging" }, { meterValue: [register("Sample.Periodic")] });
    }, interval);
    meterTimer.unref();
  };
  const stopSession = (): void => {
    if (meterTimer) clearInterval(meterTimer);
    meterTimer = undefined;
    void transactionEvent("Ended", "RemoteStop", { stoppedReason: "Remote" }, { meterValue: [register("Transaction.End")] });
    state.transactionId = undefined;
    // The car is unplugged a little later.
    setTimeout(() => void call("StatusNotification", { timestamp: now(), connectorStatus: "Available", evseId: 1, connectorId: 1 }), 2000).unref();
  };

  const localList = { version: 0, entries: new Set<string>() };
  const variables: Record<string, string> = { RateUnit: "A,W", ProfileStackLevel: "5", ACPhaseSwitchingSupported: "false", HeartbeatInterval: "300", TxUpdatedInterval: "10" };
  const handlers: Record<string, (p: Record<string, unknown>) => unknown> = {
    RequestStartTransaction: (p) => {
      if (state.transactionId) return { status: "Rejected" };
      setImmediate(() => startSession(p.remoteStartId as number, p.idToken));
      return { status: "Accepted" };
    },
    RequestStopTransaction: (p) => {
      if (!state.transactionId || p.transactionId !== state.transactionId) return { status: "Rejected" };
      setImmediate(stopSession);
      return { status: "Accepted" };
    },
    SetChargingProfile: (p) => {
      const schedule = ((p.chargingProfile as { chargingSchedule?: Array<{ chargingRateUnit: string; chargingSchedulePeriod: Array<{ limit: number }> }> })?.chargingSchedule ?? [])[0];
      const limit = schedule?.chargingSchedulePeriod[0]?.limit ?? 16;
      state.limitA = schedule?.chargingRateUnit === "W" ? limit / (voltage * 3) : limit;
      return { status: "Accepted" };
    },
    ClearChargingProfile: () => {
      state.limitA = undefined;
      return { status: "Accepted" };
    },
    GetCompositeSchedule: (p) =>
      state.limitA === undefined
        ? { status: "Accepted" }
        : { status: "Accepted", schedule: { evseId: p.evseId ?? 0, duration: p.duration ?? 300, scheduleStart: now(), chargingRateUnit: "A", chargingSchedulePeriod: [{ startPeriod: 0, limit: Math.round(state.limitA * 10) / 10 }] } },
    GetVariables: (p) => ({
      getVariableResult: ((p.getVariableData as Array<{ component: object; variable: { name: string } }>) ?? []).map((d) =>
        variables[d.variable.name] === undefined
          ? { attributeStatus: "UnknownVariable", component: d.component, variable: d.variable }
          : { attributeStatus: "Accepted", component: d.component, variable: d.variable, attributeValue: variables[d.variable.name] },
      ),
    }),
    SetVariables: (p) => ({
      setVariableResult: ((p.setVariableData as Array<{ component: object; variable: { name: string }; attributeValue: string }>) ?? []).map((d) => {
        variables[d.variable.name] = d.attributeValue;
        return { attributeStatus: "Accepted", component: d.component, variable: d.variable };
      }),
    }),
    GetBaseReport: (p) => {
      setImmediate(() =>
        void call("NotifyReport", {
          requestId: p.requestId,
          generatedAt: now(),
          seqNo: 0,
          reportData: [
            ...Object.entries(variables).map(([name, value]) => ({
              component: { name: ["RateUnit", "ProfileStackLevel", "ACPhaseSwitchingSupported"].includes(name) ? "SmartChargingCtrlr" : name === "TxUpdatedInterval" ? "SampledDataCtrlr" : "OCPPCommCtrlr" },
              variable: { name },
              variableAttribute: [{ value }],
            })),
            // The station's one EVSE (11 kW, three phases) and its Type 2 socket, as a home wallbox reports them.
            { component: { name: "EVSE", evse: { id: 1 } }, variable: { name: "Power" }, variableAttribute: [{ value: "0" }], variableCharacteristics: { dataType: "decimal", supportsMonitoring: false, unit: "W", maxLimit: 11000 } },
            { component: { name: "EVSE", evse: { id: 1 } }, variable: { name: "SupplyPhases" }, variableAttribute: [{ value: "3" }] },
            { component: { name: "Connector", evse: { id: 1, connectorId: 1 } }, variable: { name: "ConnectorType" }, variableAttribute: [{ value: "cType2" }] },
            { component: { name: "Connector", evse: { id: 1, connectorId: 1 } }, variable: { name: "SupplyPhases" }, variableAttribute: [{ value: "3" }] },
          ],
        }),
      );
      return { status: "Accepted" };
    },
    GetTransactionStatus: (p) => ({ ongoingIndicator: p.transactionId === undefined || p.transactionId === state.transactionId, messagesInQueue: false }),
    Reset: () => ({ status: "Accepted" }),
    ChangeAvailability: () => ({ status: "Accepted" }),
    UnlockConnector: () => ({ status: "Unlocked" }),
    TriggerMessage: () => ({ status: "Rejected" }),
    DataTransfer: () => ({ status: "UnknownVendorId" }),
    // The local authorization list by the 2.0.1 rules: Full replaces; a Differential needs a higher version (D01.FR.19).
    GetLocalListVersion: () => ({ versionNumber: localList.version }),
    SendLocalList: (p) => {
      const version = Number(p.versionNumber);
      const entries = (p.localAuthorizationList ?? []) as Array<{ idToken: { idToken: string }; idTokenInfo?: unknown }>;
      if (p.updateType === "Full") localList.entries = new Set(entries.map((e) => e.idToken.idToken));
      else if (version <= localList.version) return { status: "VersionMismatch" };
      else {
        for (const e of entries) {
          if (e.idTokenInfo) localList.entries.add(e.idToken.idToken);
          else localList.entries.delete(e.idToken.idToken);
        }
      }
      localList.version = version;
      return { status: "Accepted" };
    },
  };

  const open = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(`${options.url}/${encodeURIComponent(options.identity)}`, ["ocpp2.0.1"]);
      ws = socket;
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data)) as unknown[];
        if (frame[0] === 2) {
          const [, id, action, payload] = frame as [number, string, string, Record<string, unknown>];
          received.push([action, payload]);
          const handler = handlers[action];
          socket.send(JSON.stringify(handler ? [3, id, handler(payload)] : [4, id, "NotImplemented", `${action} is not simulated`, {}]));
        } else {
          pending.get(frame[1] as string)?.(frame[2]);
          pending.delete(frame[1] as string);
        }
      });
      socket.once("open", () => {
        retryMs = 1000;
        void (async () => {
          await call("BootNotification", { reason: "PowerUp", chargingStation: { vendorName: "Evkit", model: "Sim-201", serialNumber: options.identity, firmwareVersion: "01.20.06" } });
          await call("StatusNotification", { timestamp: now(), connectorStatus: state.transactionId ? "Occupied" : "Available", evseId: 1, connectorId: 1 });
        })();
        resolve();
      });
      socket.once("error", (err) => {
        if (!options.reconnect) reject(err);
      });
      socket.once("close", () => {
        for (const resolvePending of pending.values()) resolvePending(undefined);
        pending.clear();
        if (closed || !options.reconnect) return;
        retryTimer = setTimeout(() => void open().catch(() => undefined), retryMs);
        retryTimer.unref();
        retryMs = Math.min(retryMs * 2, 30_000);
      });
    });

  await open();
  return {
    received,
    state,
    calls: (action) => received.filter(([a]) => a === action).map(([, p]) => p),
    close: async () => {
      closed = true;
      if (meterTimer) clearInterval(meterTimer);
      if (retryTimer) clearTimeout(retryTimer);
      if (ws && ws.readyState !== WebSocket.CLOSED) {
        const socket = ws;
        await new Promise<void>((resolve) => {
          socket.once("close", () => resolve());
          socket.close();
          setTimeout(() => {
            socket.terminate();
            resolve();
          }, 2000).unref();
        });
      }
    },
  };
}
