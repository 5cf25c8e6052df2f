/**
 * The OCPP versions this central system speaks: one adapter per version.
 * The only file that knows them all; the core picks an adapter by the
 * negotiated websocket subprotocol.
 */
import type { ProtocolAdapter } from "./core/adapter";
import { v16Adapter } from "./v16/handlers";

export const ADAPTERS: readonly ProtocolAdapter[] = [v16Adapter];
