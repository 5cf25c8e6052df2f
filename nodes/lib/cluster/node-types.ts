/** The runtime API of an ev-ocpp-cluster config node, used by the central systems that select it. */
import type { Node } from "node-red";
import type { BackplaneStatus, ClusterBackplane } from "./backplane";
import type { ClusterSettings } from "./settings";
import type { StripedIds } from "./striped-ids";

export interface ClusterCredentials {
  user?: string;
  password?: string;
}

export interface ClusterNode extends Node<ClusterCredentials> {
  backplane?: ClusterBackplane;
  settings?: ClusterSettings;
  ids?: StripedIds;
  /** Why the cluster could not start, in plain words. */
  failure?: string;
  onStatus(listener: (status: BackplaneStatus, settings: ClusterSettings | undefined) => void): () => void;
}
