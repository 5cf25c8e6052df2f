import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  defaultUnit,
  normalizeMeterValues,
  parseDecimal,
  pickConnectorReadings,
  type NormalizedMeterSample,
} from "../../nodes/lib/ocpp/core/meter-values";
import type { MeterValue } from "../../nodes/lib/ocpp/v16/messages";

const T1 = "2026-11-21T10:00:00.000Z";
const T2 = "2026-11-21T10:01:00.000Z";
const T3 = "2026-11-21T10:02:00.000Z";

describe("normalizeMeterValues", () => {
  it("fills the spec defaults for a bare energy value", () => {
    const samples = normalizeMeterValues(1, 42, [{ timestamp: T1, sampledValue: [{ value: "1234" }] }]);
    assert.deepEqual(samples, [
      {
        connectorId: 1,
        transactionId: 42,
        timestamp: T1,
        measurand: "Energy.Active.Import.Register",
        location: "Outlet",
        context: "Sample.Periodic",
        format: "Raw",
        unit: "Wh",
        value: 1234,
        rawValue: "1234",
      },
    ]);
  });

  it("converts kWh to Wh, kW to W, kvarh to varh and kVA to VA", () => {
    const samples = normalizeMeterValues(2, undefined, [
      {
        timestamp: T1,
        sampledValue: [
          { value: "12.5", unit: "kWh", measurand: "Energy.Active.Import.Register" },
          { value: "7.36", unit: "kW", measurand: "Power.Active.Import" },
          { value: "0.25", unit: "kvarh", measurand: "Energy.Reactive.Import.Register" },
          { value: "1.5", unit: "kVA", measurand: "Power.Offered" },
          { value: "1.001", unit: "kWh", measurand: "Energy.Active.Export.Register" },
          { value: "3", unit: "kvar", measurand: "Power.Reactive.Import" },
        ],
      },
    ]);
    assert.deepEqual(
      samples.map((s) => [s.measurand, s.value, s.unit, s.rawUnit]),
      [
        ["Energy.Active.Import.Register", 12500, "Wh", "kWh"],
        ["Power.Active.Import", 7360, "W", "kW"],
        ["Energy.Reactive.Import.Register", 250, "varh", "kvarh"],
        ["Power.Offered", 1500, "VA", "kVA"],
        ["Energy.Active.Export.Register", 1001, "Wh", "kWh"],
        ["Power.Reactive.Import", 3000, "var", "kvar"],
      ],
    );
    assert.equal(samples[0].transactionId, undefined);
  });

  it("keeps A and V, converts temperatures to Celsius and accepts lower-case units", () => {
    const samples = normalizeMeterValues(1, undefined, [
      {
        timestamp: T1,
        sampledValue: [
          { value: "16.02", unit: "A", measurand: "Current.Import", phase: "L2" },
          { value: "231.4", unit: "V", measurand: "Voltage", phase: "L1-N" },
          { value: "300.15", unit: "K", measurand: "Temperature", location: "Body" },
          { value: "212", unit: "Fahrenheit", measurand: "Temperature" },
          { value: "31", unit: "Celcius", measurand: "Temperature" },
          { value: "11", unit: "kw" as "kW", measurand: "Power.Active.Import" },
        ],
      },
    ]);
    assert.deepEqual(
      samples.map((s) => [s.value, s.unit, s.phase, s.location]),
      [
        [16.02, "A", "L2", "Outlet"],
        [231.4, "V", "L1-N", "Outlet"],
        [27, "Celsius", undefined, "Body"],
        [100, "Celsius", undefined, "Outlet"],
        [31, "Celsius", undefined, "Outlet"],
        [11000, "W", undefined, "Outlet"],
      ],
    );
  });

  it("derives the missing unit from the measurand instead of assuming Wh", () => {
    const samples = normalizeMeterValues(1, undefined, [
      {
        timestamp: T1,
        sampledValue: [
          { value: "230", measurand: "Voltage" },
          { value: "16", measurand: "Current.Import" },
          { value: "80", measurand: "SoC", location: "EV" },
          { value: "0.98", measurand: "Power.Factor" },
        ],
      },
    ]);
    assert.deepEqual(
      samples.map((s) => [s.unit, s.value]),
      [
        ["V", 230],
        ["A", 16],
        ["Percent", 80],
        ["", 0.98],
      ],
    );
    assert.equal(defaultUnit("Energy.Active.Import.Interval"), "Wh");
    assert.equal(defaultUnit("Power.Reactive.Export"), "var");
  });

  it("keeps SignedData raw and unconverted", () => {
    const blob = "OCMF|{\"FV\":\"1.0\"}|{\"SD\":\"abc\"}";
    const [s] = normalizeMeterValues(1, 7, [
      { timestamp: T1, sampledValue: [{ value: blob, format: "SignedData", unit: "kWh", context: "Transaction.End" }] },
    ]);
    assert.equal(s.value, undefined);
    assert.equal(s.rawValue, blob);
    assert.equal(s.unit, "kWh");
    assert.equal(s.format, "SignedData");
    assert.equal(s.context, "Transaction.End");
    assert.equal(s.error, undefined);
  });

  it("reports bad numbers per sample and keeps the good ones", () => {
    const samples = normalizeMeterValues(1, undefined, [
      {
        timestamp: T1,
        sampledValue: [
          { value: "12,5", unit: "kWh" },
          { value: "" },
          { value: "NaN", measurand: "Power.Active.Import" },
          { value: "3.5e3", measurand: "Power.Active.Import" },
          { value: "1", unit: "furlong" as "Wh" },
          { value: "2", unit: "constructor" as "Wh" },
          { value: "3", unit: "KWH" as "Wh" },
        ],
      },
    ]);
    assert.deepEqual(
      samples.map((s) => [s.value, s.error, s.unit]),
      [
        [undefined, 'value "12,5" is not a number', "Wh"],
        [undefined, "empty value", "Wh"],
        [undefined, 'value "NaN" is not a number', "W"],
        [3500, undefined, "W"],
        [1, undefined, "furlong"],
        [2, undefined, "constructor"],
        [3000, undefined, "Wh"],
      ],
    );
    assert.equal(samples[4].note, 'unknown unit "furlong", value not converted');
    assert.equal(samples[5].note, 'unknown unit "constructor", value not converted');
  });

  it("tolerates numbers sent as JSON numbers and junk entries without throwing", () => {
    const junk = [
      null,
      { timestamp: T2, sampledValue: [{ value: 5 }, null] },
      { timestamp: "yesterday", sampledValue: [{ value: "1" }] },
      { timestamp: T1 },
    ] as unknown as MeterValue[];
    const samples = normalizeMeterValues(1, undefined, junk);
    assert.deepEqual(
      samples.map((s) => [s.timestamp, s.value, s.note]),
      [
        [T2, 5, undefined],
        ["yesterday", 1, 'timestamp "yesterday" is not a date'],
      ],
    );
    assert.deepEqual(normalizeMeterValues(1, undefined, undefined), []);
  });

  it("sorts samples by timestamp, oldest first, keeping order within one meterValue", () => {
    const samples = normalizeMeterValues(1, 9, [
      { timestamp: T3, sampledValue: [{ value: "300" }] },
      { timestamp: T1, sampledValue: [{ value: "100" }, { value: "5", measurand: "Current.Import" }] },
      { timestamp: T2, sampledValue: [{ value: "200" }] },
    ]);
    assert.deepEqual(
      samples.map((s) => [s.timestamp, s.value]),
      [
        [T1, 100],
        [T1, 5],
        [T2, 200],
        [T3, 300],
      ],
    );
  });

  it("applies per-measurand unit overrides for firmware that mislabels kWh", () => {
    const samples = normalizeMeterValues(
      1,
      undefined,
      [
        {
          timestamp: T1,
          sampledValue: [
            { value: "12.345", unit: "Wh" },
            { value: "7", measurand: "Power.Active.Import" },
          ],
        },
      ],
      { unitOverrides: { "Energy.Active.Import.Register": "kWh" } },
    );
    assert.deepEqual(
      samples.map((s) => [s.value, s.unit, s.rawUnit, s.note]),
      [
        [12345, "Wh", "Wh", "unit taken as kWh (charger quirk setting; sent Wh)"],
        [7, "W", undefined, undefined],
      ],
    );
  });

  it("parses decimals strictly", () => {
    assert.equal(parseDecimal(" 12.50 "), 12.5);
    assert.equal(parseDecimal("-3"), -3);
    assert.equal(parseDecimal(".5"), 0.5);
    assert.equal(parseDecimal("0x10"), undefined);
    assert.equal(parseDecimal("Infinity"), undefined);
    assert.equal(parseDecimal("1e400"), undefined);
    // Against the textbook definition of a decimal, for texts Number() reads differently.
    const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
    const texts = ["", " ", "\t\n", "0", "-0", "+5", "1.", ".", "-.5", "+.5e3", "1e", "1e+", "1E-3", "12,5", "1_000", "NaN", "-Infinity", "+Infinity",
      "0x10", "0X1f", "0b101", "0B1", "0o17", "0O7", "-0x10", "00x1", "0xyz", "007", "0.5", "0b", "0o", "0x", " 0x10 ", "1 2", "١٢", "\u00a012\u00a0", "12\u2028", "1e308", "-1e309", "0e0", "0.0e-0"];
    for (const text of texts) {
      const trimmed = text.trim();
      const expected = DECIMAL.test(trimmed) && Number.isFinite(Number(trimmed)) ? Number(trimmed) : undefined;
      assert.ok(Object.is(parseDecimal(text), expected), `${JSON.stringify(text)} gave ${parseDecimal(text)}, expected ${expected}`);
    }
  });
});

describe("pickConnectorReadings", () => {
  function samples(meterValue: MeterValue[]): NormalizedMeterSample[] {
    return normalizeMeterValues(1, 1, meterValue);
  }

  it("picks register energy, power and per-phase current and voltage", () => {
    const readings = pickConnectorReadings(
      samples([
        {
          timestamp: T1,
          sampledValue: [
            { value: "12.5", unit: "kWh" },
            { value: "11", unit: "kW", measurand: "Power.Active.Import" },
            { value: "16.1", measurand: "Current.Import", phase: "L1", unit: "A" },
            { value: "16.2", measurand: "Current.Import", phase: "L2", unit: "A" },
            { value: "16.3", measurand: "Current.Import", phase: "L3", unit: "A" },
            { value: "230", measurand: "Voltage", phase: "L1-N", unit: "V" },
            { value: "231", measurand: "Voltage", phase: "L2-N", unit: "V" },
            { value: "232", measurand: "Voltage", phase: "L3-N", unit: "V" },
            { value: "400", measurand: "Voltage", phase: "L1-L2", unit: "V" },
            { value: "3", measurand: "Energy.Active.Import.Interval", unit: "kWh" },
          ],
        },
      ]),
    );
    assert.deepEqual(readings, {
      energyWh: 12500,
      powerW: 11000,
      currentA: { l1: 16.1, l2: 16.2, l3: 16.3 },
      voltageV: { l1: 230, l2: 231, l3: 232 },
      sampleTime: T1,
    });
  });

  it("uses the newest timestamp per measurand and sums per-phase power when no total is sent", () => {
    const readings = pickConnectorReadings(
      samples([
        { timestamp: T2, sampledValue: [{ value: "2000" }] },
        { timestamp: T1, sampledValue: [{ value: "1000" }, { value: "9", measurand: "Current.Import" }] },
        {
          timestamp: T1,
          sampledValue: [
            { value: "1.2", unit: "kW", measurand: "Power.Active.Import", phase: "L1" },
            { value: "1.3", unit: "kW", measurand: "Power.Active.Import", phase: "L2" },
          ],
        },
      ]),
    );
    assert.deepEqual(readings, { energyWh: 2000, powerW: 2500, currentA: { l1: 9 }, sampleTime: T2 });
  });

  it("prefers Outlet readings and skips signed, broken and EV-side duplicates", () => {
    const readings = pickConnectorReadings(
      samples([
        {
          timestamp: T1,
          sampledValue: [
            { value: "900", location: "EV" },
            { value: "signed", format: "SignedData" },
            { value: "oops" },
            { value: "850", location: "Outlet" },
          ],
        },
      ]),
    );
    assert.deepEqual(readings, { energyWh: 850, sampleTime: T1 });
    assert.deepEqual(pickConnectorReadings([]), {});
  });
});

/**
 * The pick as it was written first (four filtered passes, arrays per pass), kept here as the reference the
 * single-pass pick on the MeterValues hot path must agree with, sample set by sample set.
 */
function referencePick(samples: readonly NormalizedMeterSample[]) {
  const timeOf = (t: string) => {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
  };
  const rank = (l: string) => (l === "Outlet" ? 0 : l === "Inlet" || l === "Cable" ? 1 : 2);
  const key = (p: string | undefined) =>
    p === undefined || p === "L1" || p === "L1-N" ? "l1" : p === "L2" || p === "L2-N" ? "l2" : p === "L3" || p === "L3-N" ? "l3" : undefined;
  const usable = (measurand: string, unit: string) => {
    let latest = Number.NEGATIVE_INFINITY;
    let best = Number.POSITIVE_INFINITY;
    let found: NormalizedMeterSample[] = [];
    for (const s of samples) {
      if (s.measurand !== measurand || s.unit !== unit || s.value === undefined || s.format !== "Raw") continue;
      const t = timeOf(s.timestamp);
      const r = rank(s.location);
      if (found.length === 0 || t > latest || (t === latest && r < best)) [latest, best, found] = [t, r, [s]];
      else if (t === latest && r === best) found.push(s);
    }
    return found;
  };
  const total = (measurand: string, unit: string) => {
    const found = usable(measurand, unit);
    for (const s of found) if (s.phase === undefined) return { value: s.value as number, time: s.timestamp };
    const perPhase = found.filter((s) => key(s.phase) !== undefined && s.phase !== undefined);
    if (perPhase.length === 0) return undefined;
    return { value: Math.round(perPhase.reduce((sum, s) => sum + (s.value as number), 0) * 1e6) / 1e6, time: perPhase[0].timestamp };
  };
  const phases = (measurand: string, unit: string) => {
    const out: Record<string, number> = {};
    let time: string | undefined;
    for (const s of usable(measurand, unit)) {
      const k = key(s.phase);
      if (k && (out[k] === undefined || s.phase !== undefined)) [out[k], time] = [s.value as number, s.timestamp];
    }
    return time === undefined ? undefined : { value: out, time };
  };
  const later = (a: string | undefined, b: string) => (a === undefined || timeOf(b) > timeOf(a) ? b : a);
  const out: Record<string, unknown> = {};
  const energy = total("Energy.Active.Import.Register", "Wh");
  if (energy) [out.energyWh, out.sampleTime] = [energy.value, later(out.sampleTime as string | undefined, energy.time)];
  const power = total("Power.Active.Import", "W");
  if (power) [out.powerW, out.sampleTime] = [power.value, later(out.sampleTime as string | undefined, power.time)];
  const current = phases("Current.Import", "A");
  if (current) [out.currentA, out.sampleTime] = [current.value, later(out.sampleTime as string | undefined, current.time)];
  const voltage = phases("Voltage", "V");
  if (voltage) [out.voltageV, out.sampleTime] = [voltage.value, later(out.sampleTime as string | undefined, voltage.time)];
  return out;
}

describe("pickConnectorReadings agrees with the reference pick", () => {
  it("on 5,000 random batches (times, locations, phases, units, formats, missing values)", () => {
    // A small linear congruential generator: the same batches on every run, so a failure can be replayed.
    let seed = 20261206;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pick = <T>(list: readonly T[]) => list[rnd(list.length)];
    const measurands = ["Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage", "SoC", "Power.Offered"];
    const units = ["Wh", "W", "A", "V", "Percent", "kWh"];
    const phasesList = [undefined, undefined, "L1", "L2", "L3", "L1-N", "L2-N", "L3-N", "L1-L2", "N"];
    const locations = ["Outlet", "Outlet", "Inlet", "Cable", "EV", "Body"];
    const timestamps = [T1, T2, T3, "not a date", "2026-11-21T11:00:00+01:00"];
    for (let batch = 0; batch < 5000; batch++) {
      const samples: NormalizedMeterSample[] = [];
      const count = rnd(9);
      for (let i = 0; i < count; i++) {
        const measurand = pick(measurands);
        const sample: NormalizedMeterSample = {
          connectorId: 1,
          timestamp: pick(timestamps),
          measurand,
          location: pick(locations),
          context: "Sample.Periodic",
          format: rnd(10) === 0 ? "SignedData" : "Raw",
          // Mostly the unit that fits the measurand, sometimes another one.
          unit: rnd(5) === 0 ? pick(units) : units[measurands.indexOf(measurand)],
          rawValue: "",
        };
        const phase = pick(phasesList);
        if (phase !== undefined) sample.phase = phase;
        if (rnd(8) !== 0) sample.value = rnd(100000) / 10;
        samples.push(sample);
      }
      assert.deepEqual(pickConnectorReadings(samples), referencePick(samples), `batch ${batch}: ${JSON.stringify(samples)}`);
    }
  });
});
