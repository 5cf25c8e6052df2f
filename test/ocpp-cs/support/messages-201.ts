/** One schema-valid OCPP 2.0.1 request for every action a charging station may send (validated in the tests). */
const T = "2026-11-21T10:00:00.000Z";
const comp = { name: "EVSE", evse: { id: 1 } };
const variable = { name: "Power" };
const schedule = { id: 1, chargingRateUnit: "A", chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }] };
const ocsp = { hashAlgorithm: "SHA256", issuerNameHash: "a", issuerKeyHash: "b", serialNumber: "1", responderURL: "http://ocsp.example" };

export const STATION_REQUESTS_201: Record<string, object> = {
  BootNotification: { reason: "PowerUp", chargingStation: { model: "Wallbox-201", vendorName: "Evkit", serialNumber: "SN-201", firmwareVersion: "01.20.06" } },
  Heartbeat: {},
  StatusNotification: { timestamp: T, connectorStatus: "Available", evseId: 1, connectorId: 1 },
  Authorize: { idToken: { idToken: "OK", type: "ISO14443" } },
  TransactionEvent: {
    eventType: "Started",
    timestamp: T,
    triggerReason: "Authorized",
    seqNo: 0,
    transactionInfo: { transactionId: "tx-all-1" },
    idToken: { idToken: "OK", type: "ISO14443" },
    evse: { id: 1, connectorId: 1 },
  },
  MeterValues: { evseId: 1, meterValue: [{ timestamp: T, sampledValue: [{ value: 1000, measurand: "Energy.Active.Import.Register", unitOfMeasure: { unit: "Wh" } }] }] },
  NotifyReport: { requestId: 1, generatedAt: T, seqNo: 0, reportData: [{ component: { name: "SmartChargingCtrlr" }, variable: { name: "RateUnit" }, variableAttribute: [{ value: "A,W" }] }] },
  NotifyEvent: {
    generatedAt: T,
    seqNo: 0,
    eventData: [{ eventId: 1, timestamp: T, trigger: "Delta", actualValue: "Faulted", eventNotificationType: "HardWiredNotification", component: comp, variable }],
  },
  SecurityEventNotification: { type: "StartupOfTheDevice", timestamp: T },
  FirmwareStatusNotification: { status: "Installed" },
  LogStatusNotification: { status: "Uploaded" },
  DataTransfer: { vendorId: "com.example", messageId: "Hello", data: "hi" },
  NotifyEVChargingNeeds: {
    evseId: 1,
    chargingNeeds: {
      requestedEnergyTransfer: "AC_three_phase",
      departureTime: "2026-11-21T17:00:00.000Z",
      acChargingParameters: { energyAmount: 20000, evMinCurrent: 6, evMaxCurrent: 16, evMaxVoltage: 400 },
    },
  },
  NotifyEVChargingSchedule: { timeBase: T, evseId: 1, chargingSchedule: schedule },
  NotifyChargingLimit: { chargingLimit: { chargingLimitSource: "EMS" }, evseId: 1 },
  ClearedChargingLimit: { chargingLimitSource: "EMS", evseId: 1 },
  ReportChargingProfiles: {
    requestId: 1,
    chargingLimitSource: "CSO",
    evseId: 1,
    chargingProfile: [{ id: 1, stackLevel: 0, chargingProfilePurpose: "TxDefaultProfile", chargingProfileKind: "Relative", chargingSchedule: [schedule] }],
  },
  ReservationStatusUpdate: { reservationId: 1, reservationUpdateStatus: "Expired" },
  NotifyDisplayMessages: { requestId: 1 },
  NotifyCustomerInformation: { data: "none", seqNo: 0, generatedAt: T, requestId: 1 },
  NotifyMonitoringReport: { requestId: 1, seqNo: 0, generatedAt: T },
  SignCertificate: { csr: "-----BEGIN CERTIFICATE REQUEST-----" },
  Get15118EVCertificate: { iso15118SchemaVersion: "urn:iso:15118:2:2013:MsgDef", action: "Install", exiRequest: "AAAA" },
  GetCertificateStatus: { ocspRequestData: ocsp },
  PublishFirmwareStatusNotification: { status: "Published" },
};
