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
  /** Per charger a pinned protocol, "CP1=ocpp1.6" one per line (chargers that offer 2.0.1 but work properly only on 1.6). */
  pinned?: string;
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
  maxFrameSize?: string | number;
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
  /** Offered subprotocols, most preferred first (see SUPPORTED_PROTOCOLS). */
  protocols: string[];
  /** identity → the one protocol that charger may use. */
  pinned: Map<string, string>;
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
  /** Largest frame a charger may send, in KiB. */
  maxFrameKiB: number;
  decisionTimeoutMs: number;
  authorizeFallback: Fallback;
  denyUnknownTags: boolean;
  /** Boot discovery (GetConfiguration, then set the meter values we want), see ../v16/discovery.ts. */
  discovery?: { meterValuesSampledData?: string[]; meterValueSampleInterval?: number };
}

/**
 * The subprotocols this central system speaks, in the order it prefers them
 * when a charger offers several: 1.6 first, because it is the complete and
 * proven one (pin a charger to 2.0.1 to prefer that). ocpp2.1 is
 * experimental: offered only when chosen, and never schema-validated
 * (ocpp-rpc's 2.1 validation is broken in its current release).
 */
export const SUPPORTED_PROTOCOLS = ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"] as const;
export type SupportedProtocol = (typeof SUPPORTED_PROTOCOLS)[number];
export const EXPERIMENTAL_PROTOCOLS: readonly string[] = ["ocpp2.1"];

/** The protocols setting (a comma list, as saved flows store it) → the offered protocols in preference order. */
export function readProtocols(text: string | undefined): SupportedProtocol[] {
  const chosen = splitList(text ?? "ocpp1.6").map((p) => p.toLowerCase());
  if (chosen.length === 0) throw new Error("Choose at least one OCPP version (ocpp1.6, ocpp2.0.1)");
  const unknown = chosen.filter((p) => !(SUPPORTED_PROTOCOLS as readonly string[]).includes(p));
  if (unknown.length) throw new Error(`Unknown OCPP version ${unknown.join(", ")}: choose from ${SUPPORTED_PROTOCOLS.join(", ")}`);
  return SUPPORTED_PROTOCOLS.filter((p) => chosen.includes(p));
}

/** "CP1=ocpp1.6" lines → identity → protocol; the pinned protocol must be one that is offered. */
export function readPinned(text: string | undefined, offered: readonly string[]): Map<string, string> {
  const pinned = new Map<string, string>();
  for (const line of (text ?? "").split(/[\n,;]+/)) {
    const entry = line.trim();
    if (!entry) continue;
    const at = entry.lastIndexOf("=");
    const identity = at > 0 ? entry.slice(0, at).trim() : "";
    const protocol = at > 0 ? entry.slice(at + 1).trim().toLowerCase() : "";
    if (!identity || !protocol) throw new Error(`Pinned versions: write one "chargerId=ocpp1.6" per line, not "${entry}"`);
    if (!offered.includes(protocol)) throw new Error(`Pinned versions: ${identity} is pinned to ${protocol}, which is not among the offered versions (${offered.join(", ")})`);
    pinned.set(identity, protocol);
  }
  return pinned;
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
  const protocols = readProtocols(def.protocols);
  const pinned = readPinned(def.pinned, protocols);
  const fallback = def.authorizeFallback ?? "list";
  if (!["list", "accept", "reject"].includes(fallback)) throw new Error(`Unknown authorization fallback "${fallback}"`);
  return {
    port: onNodeRed ? undefined : num(def.port, 9220, "Port", 0, 65535),
    host: def.host?.trim() || undefined,
    path: def.path ?? "/ocpp",
    protocols,
    pinned,
    heartbeatIntervalS: num(def.heartbeatInterval, 300, "Heartbeat interval", 1, 86400),
    pingIntervalS: num(def.pingInterval, 30, "Ping interval", 0, 3600),
    callTimeoutMs: num(def.callTimeout, 30, "Call timeout", 1, 600) * 1000,
    strict: def.strict !== false,
    lenient: splitList(def.lenient),
    noSubprotocol: def.noSubprotocol === "reject" ? "reject" : "ocpp1.6",
    profile,
    strictPasswords: def.strictPasswords === true,
    knownChargers: splitList(def.chargers),
    // Saved flows carry their own value. Without one (a hand-written flow), a password or certificate
    // profile protects: unknown chargers are refused (issue 13 item 5; before, onboarding defaulted to on).
    acceptUnknown: def.acceptUnknown === undefined ? profile === 0 : def.acceptUnknown !== false,
    maxBadMessages: num(def.maxBadMessages, 10, "Garbage frames before closing", 1, 10000),
    maxFrameKiB: num(def.maxFrameSize, 256, "Largest frame (KiB)", 4, 16384),
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
