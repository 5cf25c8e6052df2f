/**
 * Every availability mapping with fields sent as null: a null status is
 * UNKNOWN (never free), a null power is absent (never 0 kW), and nothing
 * is made up. Charge Amps' mapping is checked in test/chargeamps/mapping.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { locationToSnapshot } from "../../../nodes/lib/availability/providers/ocpi";
import { parseChargyKml } from "../../../nodes/lib/availability/providers/chargy";
import { parseDatex2Status } from "../../../nodes/lib/availability/providers/datex2";
import { toAvailabilityRecord } from "../../../nodes/lib/availability/records";

const NOW = new Date("2026-06-01T12:00:00Z");

describe("null fields in availability feeds", () => {
  it("OCPI: null status, null power, null connectors", () => {
    const snapshot = locationToSnapshot({
      id: "L",
      evses: [
        { uid: "1", status: null, connectors: [{ standard: "IEC_62196_T2", max_electric_power: null, max_voltage: null, max_amperage: null }] },
        { uid: "2", status: "AVAILABLE", connectors: null },
      ],
    });
    assert.ok(snapshot);
    assert.deepEqual(snapshot.connectors.map((c) => [c.id, c.status, c.powerKw]), [["1", "UNKNOWN", undefined], ["2", "AVAILABLE", undefined]]);
    const record = toAvailabilityRecord(snapshot, { time: NOW, timeZone: "UTC" });
    assert.deepEqual([record.available, record.total, record.counts.UNKNOWN], [1, 2, 1]);
  });

  it("Chargy: a connector with null description and null speed", () => {
    const device = JSON.stringify({ id: 1, name: "CP1", connectors: [{ id: 11, name: "CP1 - 1", maxchspeed: null, connector: 1, description: null }] });
    const [station] = parseChargyKml(`<kml><Document><Placemark><name>S</name><ExtendedData><Data name="chargingdevice"><value>${device}</value></Data></ExtendedData></Placemark></Document></kml>`);
    assert.deepEqual(station.connectors.map((c) => [c.status, c.powerKw, c.labels?.speed]), [["UNKNOWN", undefined, ""]]);
  });

  it("DATEX II: a refill point without a status", () => {
    const xml = `<d2:payload xmlns:d2="x"><energyInfrastructureSiteStatus><reference id="S1"/><energyInfrastructureStationStatus><reference id="ST"/>
      <refillPointStatus><reference id="P1"/></refillPointStatus><refillPointStatus><reference id="P2"/><status>available</status></refillPointStatus>
      </energyInfrastructureStationStatus></energyInfrastructureSiteStatus></d2:payload>`;
    const [site] = parseDatex2Status(xml);
    assert.deepEqual(site.connectors.map((c) => [c.id, c.status, c.raw]), [["P1", "UNKNOWN", null], ["P2", "AVAILABLE", "available"]]);
  });
});
