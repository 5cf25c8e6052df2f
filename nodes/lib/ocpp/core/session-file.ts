/**
 * The transaction store's file on disk: a SessionJournal over the format
 * deployed installs already have in `<userDir>/evkit-ocpp/<nodeId>-transactions.json`
 * (read as the first snapshot, so nothing needs migrating by hand).
 *
 * Why a file and not Node-RED context: the default context store is memory
 * and forgets everything on restart, and transaction ids must survive
 * restarts whether or not the user configured a file context store.
 */
import { SessionJournal } from "./session-journal";
import { sessionRecordKey } from "./transactions";

export function transactionFile(file: string, onError?: (error: Error) => void): SessionJournal {
  return new SessionJournal({
    file,
    header: { format: "evkit-ocpp-transactions", version: 1 },
    recordsField: "sessions",
    counters: ["lastTransactionId"],
    keyOf: sessionRecordKey,
    onError,
  });
}
