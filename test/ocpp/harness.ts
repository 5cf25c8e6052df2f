/** One central system + charge-point simulators per test, closed afterwards. */
import { startTestCentral, type TestCentral } from "../servers/ocpp-test-central";
import { startChargePointSimulator, type ChargePointBehaviour, type ChargePointSimulator } from "../servers/ocpp-charge-point";
import type { ChargerLink } from "../../nodes/lib/ocpp/core/contract";

export interface Rig {
  central: TestCentral;
  sim: ChargePointSimulator;
  link: ChargerLink;
  close(): Promise<void>;
}

export async function startRig(behaviour: Partial<ChargePointBehaviour> = {}, options: { callTimeoutMs?: number; identity?: string } = {}): Promise<Rig> {
  const central = await startTestCentral({ callTimeoutMs: options.callTimeoutMs });
  const identity = options.identity ?? "CP1";
  let sim: ChargePointSimulator;
  try {
    sim = await startChargePointSimulator({ url: central.url, identity, behaviour });
  } catch (err) {
    await central.close();
    throw err;
  }
  const link = await central.waitForCharger(identity);
  // Let the boot-time StatusNotifications reach the snapshot.
  await waitFor(() => (central.directory.snapshot(identity)?.connectors.length ?? 0) > 0);
  return {
    central,
    sim,
    link,
    close: async () => {
      await sim.close().catch(() => undefined);
      await central.close();
    },
  };
}

export async function waitFor(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
