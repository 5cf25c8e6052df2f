import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { locationToSnapshot, unwrapOcpi } from "../../../nodes/lib/availability/providers/ocpi";
import { chargefinderSnapshot } from "../../../nodes/lib/availability/providers/chargefinder";
import { parseChargyKml } from "../../../nodes/lib/availability/providers/chargy";
import { FeedFormatError } from "../../../nodes/lib/availability/model";

describe("malformed and changed feeds", () => {
  it("OCPI: skips unreadable EVSEs, keeps unknown statuses as UNKNOWN with the raw value", () => {
    const snapshot = locationToSnapshot({
      id: "L1",
      evses: [null, "x", { uid: "E1", status: "EXPLODED", connectors: "nope" }, { status: "AVAILABLE", connectors: [{ standard: "CHADEMO", power_type: "DC", max_voltage: 500, max_amperage: 100 }] }],
    });
    assert.deepEqual(
      snapshot?.connectors.map((c) => [c.id, c.status, c.raw, c.plug, c.powerKw]),
      [["E1", "UNKNOWN", "EXPLODED", undefined, undefined], ["2", "AVAILABLE", "AVAILABLE", "CHAdeMO", 50]],
    );
    assert.equal(locationToSnapshot({ name: "no id" }), undefined);
    assert.equal(locationToSnapshot([1, 2]), undefined);
    assert.deepEqual(unwrapOcpi([1], "x"), [1]);
    assert.throws(() => unwrapOcpi({ status_code: "weird", data: [] }, "the list"), FeedFormatError);
  });

  it("Chargefinder: outlets without a status entry are UNKNOWN; a non-list status is a clear error", () => {
    const station = { title: "T", outletList: [{ plug: "CCS", capacity: 150, outlets: [{ identifier: "A", name: "1" }, { name: "2" }, "junk"] }, "junk"] };
    const snapshot = chargefinderSnapshot("s", station, [{ id: "A", status: 2 }, { id: "Z", status: 3 }, null]);
    assert.deepEqual(snapshot.connectors.map((c) => [c.id, c.status, c.raw]), [["A", "AVAILABLE", 2], ["2", "UNKNOWN", null]]);
    assert.throws(() => chargefinderSnapshot("s", station, { e: 1 }), /status for "s" is not a list/);
    assert.throws(() => chargefinderSnapshot("s", null, []), /no station data/);
  });

  it("Chargy: stations without devices, devices without connectors and odd values never throw", () => {
    const kml = `<?xml version="1.0"?><kml><Document><Folder><Placemark><name>Empty</name></Placemark>
      <Placemark><name>Odd</name><ExtendedData>
        <Data name="CPnum"><value>2</value></Data>
        <Data name="chargingdevice"><value>{"id":1,"name":"D1"}</value></Data>
        <Data name="chargingdevice"><value>{"id":2,"name":"D2","connectors":[{"id":7,"maxchspeed":"fast","description":42},{"id":8,"name":"D2 - 2","maxchspeed":50,"description":"RESERVED"}]}</value></Data>
      </ExtendedData></Placemark></Folder></Document></kml>`;
    const sites = parseChargyKml(kml);
    assert.deepEqual(sites.map((s) => s.site), ["Empty", "Odd"]);
    assert.equal(sites[0].connectors.length, 0);
    assert.deepEqual(sites[1].warnings, ["Odd: a charging device has no connector list and was skipped"]);
    assert.deepEqual(
      sites[1].connectors.map((c) => [c.id, c.status, c.raw, c.plug, c.labels?.speed, c.labels?.state]),
      [["7", "UNKNOWN", 42, "Type 2", "", "unavailable"], ["8", "RESERVED", "RESERVED", "CCS", "50", "unavailable"]],
    );
  });
});
