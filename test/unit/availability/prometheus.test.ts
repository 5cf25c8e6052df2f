import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { parseChargyKml } from "../../../nodes/lib/availability/providers/chargy";
import { connectorInfluxPoints, connectorSeries, escapeLabelValue, toPrometheusText } from "../../../nodes/lib/availability/prometheus";
import { matchesFilter } from "../../../nodes/lib/availability/records";

const KML = fs.readFileSync(path.join(__dirname, "../../fixtures/availability/chargy-mixed-states.kml"), "utf8");

describe("per-connector series and Prometheus exposition", () => {
  it("reproduces the Chargy exporter's series: one-hot state plus detailed state", () => {
    const series = connectorSeries(parseChargyKml(KML));
    assert.equal(series.length, 7);
    assert.deepEqual(series[2], {
      station: "Chargy Parking Test 1", device: "CP9002", connector: "CP9002 - 1", speed: "22",
      state: "charging", available: 0, charging: 1, unavailable: 0, detailedState: "SUSPENDED_EV", status: "CHARGING",
    });
    assert.deepEqual(series.map((s) => s.state), ["available", "charging", "charging", "charging", "unavailable", "unavailable", "unavailable"]);
  });

  it("renders text format 0.0.4 with HELP/TYPE lines and one sample per state", () => {
    const snapshots = parseChargyKml(KML);
    const text = toPrometheusText(connectorSeries([{ ...snapshots[1], connectors: snapshots[1].connectors.slice(2) }]));
    assert.equal(
      text,
      [
        "# HELP chargy_connector_state State of chargy device connector",
        "# TYPE chargy_connector_state gauge",
        'chargy_connector_state{connector="CP9003 - 3",device="CP9003",station="SuperChargy Test 2",speed="175",chargy_connector_state="charging"} 0.0',
        'chargy_connector_state{connector="CP9003 - 3",device="CP9003",station="SuperChargy Test 2",speed="175",chargy_connector_state="available"} 0.0',
        'chargy_connector_state{connector="CP9003 - 3",device="CP9003",station="SuperChargy Test 2",speed="175",chargy_connector_state="unavailable"} 1.0',
        "# HELP chargy_connector_detailed_state_info Exact state of chargy device connector",
        "# TYPE chargy_connector_detailed_state_info gauge",
        'chargy_connector_detailed_state_info{connector="CP9003 - 3",device="CP9003",station="SuperChargy Test 2",speed="175",state="SOMETHING_NEW"} 1.0',
        "",
      ].join("\n"),
    );
  });

  it("escapes label values and cleans the metric prefix", () => {
    assert.equal(escapeLabelValue('Gare "Nord"\\2\nB'), 'Gare \\"Nord\\"\\\\2\\nB');
    const text = toPrometheusText(
      [{ station: 'A "b"', device: "d", connector: "c\\1", speed: "", state: "available", available: 1, charging: 0, unavailable: 0, detailedState: "x\ny", status: "AVAILABLE" }],
      "my-feed",
    );
    assert.match(text, /^# HELP my_feed_connector_state State of my-feed device connector$/m);
    assert.match(text, /my_feed_connector_state\{connector="c\\\\1",device="d",station="A \\"b\\"",speed="",my_feed_connector_state="available"\} 1\.0/);
    assert.match(text, /state="x\\ny"\} 1\.0$/m);
  });

  it("emits per-connector Influx points", () => {
    const series = connectorSeries(parseChargyKml(KML)).slice(0, 1);
    assert.deepEqual(connectorInfluxPoints(series, new Date("2026-01-07T13:15:00Z")), [
      {
        measurement: "charger_connector_state",
        tags: { station: "Chargy Parking Test 1", device: "CP9001", connector: "CP9001 - 1", speed: "22" },
        fields: { available: 1, charging: 0, unavailable: 0, state: "AVAILABLE", status: "AVAILABLE" },
        timestamp: "2026-01-07T13:15:00.000Z",
      },
    ]);
  });

  it("filters by plug or current type and minimum power", () => {
    const c = { id: "1", status: "AVAILABLE" as const, raw: "x", plug: "CCS, CHAdeMO", powerKw: 50, labels: { current: "DC" } };
    assert.equal(matchesFilter(c, { plugs: ["chademo"] }), true);
    assert.equal(matchesFilter(c, { plugs: ["DC"] }), true);
    assert.equal(matchesFilter(c, { plugs: ["Type 2"] }), false);
    assert.equal(matchesFilter(c, { minPowerKw: 100 }), false);
    assert.equal(matchesFilter({ ...c, powerKw: undefined }, { minPowerKw: 100 }), true);
  });
});
