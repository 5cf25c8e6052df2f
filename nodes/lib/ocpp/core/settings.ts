/**
 * Turns the central-system dialog values (strings, as the editor stores
 * them) into server options, with errors a hobbyist can act on. Kept apart
 * from the node so the rules are testable without Node-RED.
 */
import type { Fallback } from "./server";
import type { SecurityProfile } from "./security";

export interface CentralSystemDef {
  port?: string | number;
  listen?: string;
  host?: string;
  path?: string;
  protocols?: string;
  heartbeatInterval?: string | number;
  pingInterval?: string | number;
  callTimeout?: string | number;
  strict?: boolean;
  lenient?: string;
  noSubprotocol?: string;
  securityProfile?: string | number;
  strictPasswords?: boolean;
  chargers?: string;
  acceptUnknown?: boolean;
  maxBadMessages?: string | number;
  decisionTimeout?: string | number;
  authorizeFallback?: string;
  denyUnknownTags?: boolean;
  discover?: boolean;
  sampledData?: string;
  sampleInterval?: string | number;
}

export interface CentralSettings {
  /** undefined: on Node-RED's own HTTP port. */
  port: number | undefined;
  host: string | undefined;
  path: string;
  protocols: string[];
  heartbeatIntervalS: number;
  pingIntervalS: number;
  callTimeoutMs: number;
  strict: boolean;
  lenient: string[];
  noSubprotocol: "reject" | "ocpp1.6";
  profile: SecurityProfile;
  strictPasswords: boolean;
  knownChargers: string[];
  acceptUnknown: boolean;
  maxBadMessages: number;
  decisionTimeoutMs: number;
  authorizeFallback: Fallback;
  denyUnknownTags: boolean;
  /** Boot discovery (GetConfiguration, then set the meter values we want), see ../v16/discovery.ts. */
  discovery?: { meterValuesSampledData?: string[]; meterValueSampleInterval?: number };
}

/** "CP1, CP2\nCP3" → ["CP1","CP2","CP3"]. */
export function splitList(text: string | undefined): string[] {
  return (text ?? "")
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function num(value: string | number | undefined, fallback: number, label: string, min: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${label} must be a number from ${min} to ${max} (got "${value}")`);
  return n;
}

export function readSettings(def: CentralSystemDef): CentralSettings {
  const onNodeRed = def.listen === "node-red";
  const profile = num(def.securityProfile, 0, "Security profile", 0, 3) as SecurityProfile;
  if (![0, 1, 2, 3].includes(profile)) throw new Error("Security profile must be 0, 1, 2 or 3");
  if (onNodeRed && profile >= 2) {
    throw new Error("Security profiles 2 and 3 need their own port (TLS is set up on that port); switch 'Listen on' to 'own port'");
  }
  const protocols = splitList(def.protocols ?? "ocpp1.6");
  if (protocols.length === 0) throw new Error("Give at least one OCPP protocol (ocpp1.6)");
  const unsupported = protocols.filter((p) => p !== "ocpp1.6");
  if (unsupported.length) throw new Error(`Only ocpp1.6 is supported so far (not ${unsupported.join(", ")})`);
  const fallback = def.authorizeFallback ?? "list";
  if (!["list", "accept", "reject"].includes(fallback)) throw new Error(`Unknown authorization fallback "${fallback}"`);
  return {
    port: onNodeRed ? undefined : num(def.port, 9220, "Port", 0, 65535),
    host: def.host?.trim() || undefined,
    path: def.path ?? "/ocpp",
    protocols,
    heartbeatIntervalS: num(def.heartbeatInterval, 300, "Heartbeat interval", 1, 86400),
    pingIntervalS: num(def.pingInterval, 30, "Ping interval", 0, 3600),
    callTimeoutMs: num(def.callTimeout, 30, "Call timeout", 1, 600) * 1000,
    strict: def.strict !== false,
    lenient: splitList(def.lenient),
    noSubprotocol: def.noSubprotocol === "reject" ? "reject" : "ocpp1.6",
    profile,
    strictPasswords: def.strictPasswords === true,
    knownChargers: splitList(def.chargers),
    acceptUnknown: def.acceptUnknown !== false,
    maxBadMessages: num(def.maxBadMessages, 10, "Garbage frames before closing", 1, 10000),
    decisionTimeoutMs: num(def.decisionTimeout, 5, "Decision timeout", 0.1, 60) * 1000,
    authorizeFallback: fallback as Fallback,
    denyUnknownTags: def.denyUnknownTags === true,
    discovery: def.discover === true ? readDiscovery(def) : undefined,
  };
}

function readDiscovery(def: CentralSystemDef): NonNullable<CentralSettings["discovery"]> {
  const measurands = (def.sampledData ?? "").split(/[\s,;]+/).filter(Boolean);
  const interval = def.sampleInterval === undefined || def.sampleInterval === "" ? undefined : num(def.sampleInterval, 0, "Meter value interval", 1, 3600);
  return {
    meterValuesSampledData: measurands.length > 0 ? measurands : undefined,
    meterValueSampleInterval: interval,
  };
}
