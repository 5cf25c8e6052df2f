/**
 * The ev-ocpp-command edit dialog has one set of typed fields; this maps the
 * ones that belong to the chosen command onto the friendly input the command
 * builders read (msg.payload properties then override them).
 */
import type { CommandInput } from "../v16/commands";
import { resolveCommand } from "../v16/commands";

/** Dialog fields (all optional, strings as the editor stores them). */
export interface CommandConfig {
  connector?: string | number;
  idTag?: string;
  transactionId?: string | number;
  resetType?: string;
  availability?: string;
  key?: string;
  value?: string;
  keys?: string;
  message?: string;
  vendorId?: string;
  messageId?: string;
  data?: string;
  limit?: string | number;
  limitUnit?: string;
  phases?: string | number;
  location?: string;
  reservationId?: string | number;
  minutes?: string | number;
  duration?: string | number;
  rateUnit?: string;
  profileId?: string | number;
  purpose?: string;
  measurands?: string;
  sampleInterval?: string | number;
  heartbeatInterval?: string | number;
  rawPayload?: string;
}

/** Every dialog field of CommandConfig (the editor's defaults must have them all; a test checks). */
export const COMMAND_CONFIG_FIELDS = [
  "connector", "idTag", "transactionId", "resetType", "availability", "key", "value", "keys", "message", "vendorId", "messageId", "data",
  "limit", "limitUnit", "phases", "location", "reservationId", "minutes", "duration", "rateUnit", "profileId", "purpose", "measurands",
  "sampleInterval", "heartbeatInterval", "rawPayload",
] as const satisfies ReadonlyArray<keyof CommandConfig>;

/** dialog field → input name, per command (OCPP action or helper). */
const FIELDS: Record<string, Array<[keyof CommandConfig, string]>> = {
  RemoteStartTransaction: [
    ["connector", "connector"],
    ["idTag", "idTag"],
  ],
  RemoteStopTransaction: [
    ["connector", "connector"],
    ["transactionId", "transactionId"],
  ],
  Reset: [["resetType", "type"]],
  UnlockConnector: [["connector", "connector"]],
  ChangeAvailability: [
    ["connector", "connector"],
    ["availability", "type"],
  ],
  ChangeConfiguration: [
    ["key", "key"],
    ["value", "value"],
  ],
  GetConfiguration: [["keys", "keys"]],
  TriggerMessage: [
    ["message", "message"],
    ["connector", "connector"],
  ],
  DataTransfer: [
    ["vendorId", "vendorId"],
    ["messageId", "messageId"],
    ["data", "data"],
  ],
  SetChargingProfile: [["connector", "connector"]],
  ClearChargingProfile: [
    ["profileId", "id"],
    ["connector", "connector"],
    ["purpose", "purpose"],
  ],
  GetCompositeSchedule: [
    ["connector", "connector"],
    ["duration", "duration"],
    ["rateUnit", "unit"],
  ],
  ReserveNow: [
    ["connector", "connector"],
    ["idTag", "idTag"],
    ["minutes", "minutes"],
    ["reservationId", "reservationId"],
  ],
  CancelReservation: [["reservationId", "reservationId"]],
  UpdateFirmware: [["location", "location"]],
  GetDiagnostics: [["location", "location"]],
  limit: [
    ["connector", "connector"],
    ["phases", "phases"],
  ],
  pause: [["connector", "connector"]],
  clearLimit: [["connector", "connector"]],
  discover: [
    ["measurands", "measurands"],
    ["sampleInterval", "sampleInterval"],
    ["heartbeatInterval", "heartbeatInterval"],
  ],
};

export function inputFromConfig(command: string, config: CommandConfig): CommandInput {
  const key = resolveCommand(command) ?? command;
  const input: CommandInput = {};
  for (const [field, name] of FIELDS[key] ?? []) {
    const value = config[field];
    if (value !== undefined && value !== null && String(value).trim() !== "") input[name] = typeof value === "string" ? value.trim() : value;
  }
  if (key === "limit" && config.limit !== undefined && String(config.limit).trim() !== "") {
    input[config.limitUnit === "W" ? "watts" : "amps"] = Number(config.limit);
  }
  return input;
}
