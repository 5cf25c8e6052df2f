import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyData, copyField, copySql, dateText, escapeCopyText } from "../../nodes/lib/timescale/copy";
import { methodForServer } from "../../nodes/lib/timescale/writer";

describe("timescale COPY text format", () => {
  it("names the table and columns quoted, and nothing else", () => {
    assert.equal(copySql({ schema: "ev", table: "readings" }, ["time", "value"]), 'COPY "ev"."readings" ("time", "value") FROM STDIN');
    assert.throws(() => copySql({ table: 'x"; DROP TABLE y; --' }, ["a"]), /is not allowed/);
    assert.throws(() => copySql({ table: "x" }, ["a) FROM PROGRAM 'rm -rf /'; --"]), /is not allowed/);
  });

  it("escapes backslash, tab, newline and carriage return, so \\N and \\. stay text", () => {
    assert.equal(escapeCopyText("plain Hönefoss ⚡"), "plain Hönefoss ⚡");
    assert.equal(escapeCopyText("a\tb\nc\rd\\e"), "a\\tb\\nc\\rd\\\\e");
    assert.equal(escapeCopyText("\\N"), "\\\\N");
    assert.equal(escapeCopyText("\\."), "\\\\.");
    assert.equal(escapeCopyText(""), "");
  });

  it("turns each kind of value into the text PostgreSQL reads back as the same value", () => {
    assert.equal(copyField(null), "\\N");
    assert.equal(copyField(undefined), "\\N");
    assert.equal(copyField("\\N"), "\\\\N");
    assert.equal(copyField(true), "true");
    assert.equal(copyField(false), "false");
    assert.equal(copyField(1.5), "1.5");
    assert.equal(copyField(-0.000001), "-0.000001");
    assert.equal(copyField(NaN), "NaN");
    assert.equal(copyField(Infinity), "Infinity");
    assert.equal(copyField(-Infinity), "-Infinity");
    assert.equal(copyField(12345678901234567890n), "12345678901234567890");
    assert.equal(copyField("2026-01-01T10:00:00+05:30"), "2026-01-01T10:00:00+05:30");
    // JSON's own escapes are backslashes too: they are doubled for COPY and come back intact.
    assert.equal(copyField({ note: 'say "hi"\n', tab: "\t" }), '{"note":"say \\\\"hi\\\\"\\\\n","tab":"\\\\t"}');
    assert.equal(copyField([1, "a"]), '[1,"a"]');
  });

  it("writes dates as node-postgres does: local wall time with the offset, the same instant", () => {
    for (const date of [new Date("2026-03-29T01:30:00.123Z"), new Date(0), new Date("1999-12-31T23:59:59.999Z")]) {
      const text = dateText(date);
      assert.match(text, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/);
      assert.equal(new Date(text).getTime(), date.getTime(), text);
      assert.equal(copyField(date), text);
    }
  });

  it("prints every date exactly as node-postgres would, in any time zone, far past and future included", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pgDateToString = (require("pg/lib/utils") as { prepareValue(v: unknown): unknown }).prepareValue;
    const dates = [
      new Date("2026-03-29T00:59:59.999Z"), // around the EU switch to summer time
      new Date("2026-03-29T01:00:00.000Z"),
      new Date("2026-10-25T00:30:00.000Z"),
      new Date("1900-01-01T00:00:00.000Z"), // before standard time zones: offsets with seconds
      new Date("1850-06-15T12:34:56.789Z"),
      new Date("0001-01-01T00:00:00.000Z"),
      new Date("0050-07-01T12:00:00.000Z"),
      new Date("-000044-03-15T12:00:00.000Z"), // BC
      new Date("9999-12-31T23:59:59.999Z"),
      new Date("+010000-01-01T00:00:00.000Z"),
    ];
    const original = process.env.TZ;
    try {
      for (const zone of ["UTC", "Europe/Oslo", "Europe/Amsterdam", "America/St_Johns", "Asia/Kathmandu", "Pacific/Kiritimati", "Pacific/Pago_Pago"]) {
        process.env.TZ = zone;
        for (const date of dates) assert.equal(dateText(date), pgDateToString(date), `${zone} ${date.toISOString()}`);
      }
    } finally {
      if (original === undefined) delete process.env.TZ;
      else process.env.TZ = original;
    }
  });

  it("one line per row, fields in column order, NULL for a missing value", () => {
    const data = copyData(["a", "b", "c"], [
      { a: 1, b: "x\ty", c: null },
      { a: 2, c: true },
    ]);
    assert.equal(data, "1\tx\\ty\t\\N\n2\t\\N\ttrue\n");
    assert.equal(copyData(["a"], []), "");
    assert.equal(copyData([], [{}]), "");
  });

  it("knows PGlite by its version text", () => {
    assert.equal(methodForServer("PostgreSQL 18.6 (PGlite 0.5.14) on wasm32-unknown-emscripten, compiled by emcc"), "insert");
    assert.equal(methodForServer("PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc"), "copy");
  });
});
