/**
 * OCPP 2.0.1 status → the 1.6 status words flows already switch on. 2.0.1
 * splits what 1.6 says in one word: the connector reports Available /
 * Occupied / Reserved / Unavailable / Faulted, and the transaction reports
 * its charging state. "Occupied" alone is Preparing; the charging state
 * refines it to Charging / SuspendedEV / SuspendedEVSE, and an Occupied
 * re-sent after a reconnect does not downgrade a live Charging.
 */
import type { ChargingState } from "./messages";

const CHARGING_STATES: Record<string, string> = {
  Charging: "Charging",
  SuspendedEV: "SuspendedEV",
  SuspendedEVSE: "SuspendedEVSE",
  EVConnected: "Preparing",
  Idle: "Preparing",
};

const IN_SESSION = new Set(["Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"]);

/**
 * The 1.6 word for a connector status and (when a transaction runs) its
 * charging state. `previous` is the merged word we had: Occupied without a
 * transaction is Preparing before a session and Finishing after one.
 */
export function mergedStatus(
  connectorStatus: string | undefined,
  chargingState: ChargingState | string | undefined,
  inTransaction: boolean,
  previous?: string,
): string {
  // A running transaction with a charging state wins over an Available the charger has not yet replaced (StatusNotification and TransactionEvent race).
  if (inTransaction && chargingState && CHARGING_STATES[chargingState] && (connectorStatus === "Available" || connectorStatus === "Occupied" || connectorStatus === undefined)) {
    return CHARGING_STATES[chargingState];
  }
  switch (connectorStatus) {
    case "Available":
    case "Reserved":
    case "Unavailable":
    case "Faulted":
      return connectorStatus;
    case "Occupied":
    case undefined:
      if (inTransaction) return (chargingState && CHARGING_STATES[chargingState]) || "Preparing";
      return previous && IN_SESSION.has(previous) ? "Finishing" : "Preparing";
    default:
      return connectorStatus;
  }
}

/** 1.6 errorCode for a merged status (2.0.1 reports faults through NotifyEvent, not in the status). */
export function errorCodeFor(connectorStatus: string | undefined): string {
  return connectorStatus === "Faulted" ? "OtherError" : "NoError";
}
