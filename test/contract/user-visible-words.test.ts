/**
 * Words from the project's own history ("Seed (a)", "seed layout", "thesis preset") mean
 * nothing to a user. Everything the editor shows — example file names (the Import menu),
 * tab labels, node names and notes, dialog and help text, the i18n catalogue — and the
 * README must name things for what they do. Internal identifiers (a saved `create: "thesis"`
 * value, code comments) are not shown and stay as they are.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const root = path.join(__dirname, "../..");
const INTERNAL = /\b(seed|seeds|seed's|thesis|thesis's)\b/i;

function files(dir: string, ext: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? files(full, ext) : e.name.endsWith(ext) ? [full] : [];
  });
}

/** Lines that hold the word, skipping option values (value="thesis") and i18n keys that are ids. */
function offending(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.replace(/value="[^"]*"|data-i18n="[^"]*"|"thesis"\s*:|"ev_readings"\s*:/g, ""))
    .filter((line) => INTERNAL.test(line))
    .map((line) => line.trim().slice(0, 120));
}

describe("no internal words where users see them", () => {
  it("example flow file names", () => {
    const names = files(path.join(root, "flows"), ".json").map((f) => path.relative(path.join(root, "flows"), f));
    assert.deepEqual(names.filter((n) => INTERNAL.test(n)), []);
  });

  for (const file of files(path.join(root, "flows"), ".json")) {
    it(`tab labels, node names and notes of ${path.relative(root, file)}`, () => {
      const nodes = JSON.parse(fs.readFileSync(file, "utf8")) as Array<Record<string, unknown>>;
      const shown = nodes.flatMap((n) => [n.label, n.name, n.info, n.topic].filter((v): v is string => typeof v === "string"));
      assert.deepEqual(shown.filter((t) => INTERNAL.test(t)).map((t) => t.slice(0, 120)), []);
    });
  }

  for (const file of [...files(path.join(root, "nodes"), ".html"), ...files(path.join(root, "nodes/locales"), ".json"), path.join(root, "README.md")]) {
    it(`dialogs, help and catalogue: ${path.relative(root, file)}`, () => {
      assert.deepEqual(offending(fs.readFileSync(file, "utf8")), []);
    });
  }
});
