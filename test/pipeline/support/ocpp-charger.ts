/** One real charger session for pipeline tests: what a charger does, and the events it causes. */
import { boot, connect, waitUntil, type Client } from "../../ocpp-cs/support/clients";

export type Event = Record<string, unknown> & { kind: string; identity: string; time: string };

/**
 * Drives one charger (ocpp-rpc RPCClient) through a session with meter
 * values, then sends a Faulted status stamped before the Finishing it sent
 * last (as a charger does with statuses queued while offline). Resolves
 * when `events` (filled by the caller from ev-ocpp-in) holds all four statuses.
 */
export async function chargeOnce(url: string, events: Event[], identity = "CP-Garage"): Promise<Client> {
  const c = await connect(url, identity);
  await c.call("BootNotification", boot);
  await c.call("StatusNotification", { connectorId: 1, status: "Available", errorCode: "NoError", timestamp: "2026-11-21T09:59:00Z" });
  const tx = (await c.call("StartTransaction", { connectorId: 1, idTag: "TAG-1", meterStart: 1000, timestamp: "2026-11-21T10:00:00Z" })) as { transactionId: number };
  await c.call("StatusNotification", { connectorId: 1, status: "Charging", errorCode: "NoError", timestamp: "2026-11-21T10:00:01Z" });
  await c.call("MeterValues", {
    connectorId: 1,
    transactionId: tx.transactionId,
    meterValue: [
      {
        timestamp: "2026-11-21T10:30:00Z",
        sampledValue: [
          { value: "2.5", measurand: "Energy.Active.Import.Register", unit: "kWh" },
          { value: "7.2", measurand: "Power.Active.Import", unit: "kW" },
          { value: "16.1", measurand: "Current.Import", phase: "L1", unit: "A" },
          { value: "15.9", measurand: "Current.Import", phase: "L2", unit: "A" },
          { value: "230.4", measurand: "Voltage", phase: "L1-N", unit: "V" },
        ],
      },
    ],
  });
  await c.call("StopTransaction", { transactionId: tx.transactionId, meterStop: 4000, timestamp: "2026-11-21T11:00:00Z", reason: "EVDisconnected", idTag: "TAG-1" });
  await c.call("StatusNotification", { connectorId: 1, status: "Finishing", errorCode: "NoError", timestamp: "2026-11-21T11:00:01Z" });
  // Queued while offline: older than Finishing, so it must not become the current status.
  await c.call("StatusNotification", { connectorId: 1, status: "Faulted", errorCode: "GroundFailure", vendorErrorCode: "E42", info: "RCD", timestamp: "2026-11-21T10:45:00Z" });
  await waitUntil(() => events.filter((e) => e.kind === "status").length === 4, 3000, "four status events");
  return c;
}

