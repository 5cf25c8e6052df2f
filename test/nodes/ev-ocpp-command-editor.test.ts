/** The editor HTML, locale and icon agree with what the runtime reads (the test helper never loads the .html). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { COMMAND_CONFIG_FIELDS } from "../../nodes/lib/ocpp/core/command-config";
import { OCPP_COMMANDS } from "../../nodes/lib/ocpp/v16/commands";
import { HELPER_COMMANDS } from "../../nodes/lib/ocpp/core/command-runner";

const root = path.join(__dirname, "../..");
const html = readFileSync(path.join(root, "nodes/ev-ocpp-command.html"), "utf8");
const NODE_FIELDS = ["server", "chargerId", "command", "action", "timeout", "offline", "queueTtl", "stackLevelZero", "relativeProfile", "noNumberPhases", "defaultPhases", "autoSync", "name"];

describe("ev-ocpp-command editor", () => {
  const defaultsBlock = /defaults: \{([\s\S]*?)\n {6}\},/.exec(html)?.[1] ?? "";
  const defaults = [...defaultsBlock.matchAll(/^ {8}(\w+): \{/gm)].map((m) => m[1]);

  it("has a literal registerType, a template and a help block", () => {
    assert.match(html, /RED\.nodes\.registerType\("ev-ocpp-command", \{/);
    assert.match(html, /data-template-name="ev-ocpp-command"/);
    assert.match(html, /data-help-name="ev-ocpp-command"/);
    assert.match(html, /server: \{ value: "", type: "ev-ocpp-central-system", required: true \}/);
  });

  it("declares every property the runtime reads, each with an input", () => {
    for (const field of [...NODE_FIELDS, ...COMMAND_CONFIG_FIELDS]) {
      assert.ok(defaults.includes(field), `defaults.${field}`);
      assert.ok(html.includes(`id="node-input-${field}"`), `input for ${field}`);
    }
    assert.deepEqual(defaults.filter((d) => !NODE_FIELDS.includes(d) && !(COMMAND_CONFIG_FIELDS as readonly string[]).includes(d)), [], "no unused defaults");
  });

  it("offers every command in the select", () => {
    for (const command of [...OCPP_COMMANDS, ...HELPER_COMMANDS]) assert.ok(html.includes(`<option value="${command}">`), command);
  });

  it("has a locale label for every data-i18n key, and its icon", () => {
    const catalogue = JSON.parse(readFileSync(path.join(root, "nodes/locales/en-US/ev-ocpp-command.json"), "utf8")) as Record<string, Record<string, Record<string, string>>>;
    for (const [, key] of html.matchAll(/data-i18n="(?:\[placeholder\])?ev-ocpp-command\.([\w.]+)"/g)) {
      const [group, name] = key.split(".");
      assert.ok(catalogue["ev-ocpp-command"][group]?.[name], `locale ${key}`);
    }
    assert.ok(existsSync(path.join(root, "icons/ev-ocpp-command.svg")));
  });
});
