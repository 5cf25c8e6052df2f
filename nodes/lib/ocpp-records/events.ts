/**
 * The OCPP event types the database writers read. The one place this area
 * imports from the OCPP library, so a move of its files is fixed up here.
 */
export type { MeterEvent, OcppEvent, SessionEndedEvent, SessionStartedEvent, StatusEvent } from "../ocpp/core/events";
export { isOcppEventKind } from "../ocpp/core/events";
