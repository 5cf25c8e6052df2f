/**
 * Named failures of cluster routing. Their messages use the words the OCPP
 * command code already classifies ("not connected", "did not answer"), so a
 * command that failed across the cluster reaches a Catch node with the same
 * `kind` as one that failed locally.
 */

export class BackplaneUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackplaneUnavailableError";
  }
}

export class ChargerNotInClusterError extends Error {
  constructor(identity: string, cluster: string) {
    super(`charger ${identity} is not connected to any instance of cluster ${cluster}`);
    this.name = "ChargerNotInClusterError";
  }
}

export class OwnerLostError extends Error {
  constructor(identity: string, instance: string) {
    super(`instance ${instance}, which held charger ${identity}, went offline during the call; the charger is not connected there any more`);
    this.name = "OwnerLostError";
  }
}

export class ClusterTimeoutError extends Error {
  constructor(identity: string, instance: string, timeoutMs: number) {
    super(`charger ${identity} (on instance ${instance}) did not answer within ${Math.round(timeoutMs / 1000)} s`);
    this.name = "TimeoutError";
  }
}

/** An error the owning instance sent back: keeps the OCPP-J error code so the asking side classifies it the same. */
export class RemoteCallError extends Error {
  readonly rpcErrorCode?: string;
  constructor(name: string, message: string, rpcErrorCode?: string) {
    super(message);
    this.name = name || "Error";
    this.rpcErrorCode = rpcErrorCode;
  }
}
