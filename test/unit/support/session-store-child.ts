/**
 * Child process for the kill -9 test: opens the transaction store on a real
 * session journal, applies what the parent sends (one JSON command per IPC
 * message) and answers once the change is handled (for start/stop: saved,
 * as the server answers the charger only then). The parent kills it with
 * SIGKILL at a moment of its choosing.
 */
import { transactionFile } from "../../../nodes/lib/ocpp/core/session-file";
import { TransactionStore } from "../../../nodes/lib/ocpp/core/transactions";
import { normalizeMeterValues } from "../../../nodes/lib/ocpp/core/meter-values";

type Command =
  | { op: "start"; identity: string; connectorId: number; timestamp: string }
  | { op: "meter"; identity: string; transactionId: number; wh: number; timestamp: string }
  | { op: "stop"; identity: string; transactionId: number; meterStop: number; timestamp: string };

async function main(): Promise<void> {
  const [file, windowMs] = process.argv.slice(2);
  const store = await TransactionStore.open({
    persistence: transactionFile(file),
    meterSaveDelayMs: Number(windowMs),
    onError: (e) => process.send?.({ error: e.message }),
  });
  process.on("message", async (cmd: Command) => {
    if (cmd.op === "start") {
      const r = store.start(cmd.identity, { connectorId: cmd.connectorId, idTag: "TAG", meterStart: 1000, timestamp: cmd.timestamp });
      await r.saved;
      process.send?.({ transactionId: r.transactionId });
    } else if (cmd.op === "meter") {
      const samples = normalizeMeterValues(1, cmd.transactionId, [{ timestamp: cmd.timestamp, sampledValue: [{ value: String(cmd.wh), unit: "Wh" }] }]);
      store.meter(cmd.identity, 1, cmd.transactionId, samples);
      process.send?.({ ok: true });
    } else {
      const r = store.stop(cmd.identity, { transactionId: cmd.transactionId, meterStop: cmd.meterStop, timestamp: cmd.timestamp });
      await r.saved;
      process.send?.({ ok: true });
    }
  });
  process.send?.({ ready: true, lastTransactionId: store.lastTransactionId });
}

main().catch((err: unknown) => {
  process.send?.({ error: String(err) });
  process.exit(1);
});
