/**
 * Reads a node's editor HTML the way node-red-dev (the scorecard) and the
 * Node-RED editor do: `<script type="text/javascript">` blocks parsed with
 * acorn, `data-template-name` / `data-help-name` blocks found by regex.
 * Only literal definitions count, as for the scorecard.
 */
import * as acorn from "acorn";
import * as walk from "acorn-walk";
import fs from "node:fs";

export interface PropertyDef {
  /** `type` of a default: names a config node type. */
  type?: string;
  required?: boolean;
  /** typeof the literal `value`, when it is a literal. */
  valueType?: string;
}

export interface EditorDef {
  type: string;
  /** Values of category/icon/color/inputs/outputs when they are literals. */
  literals: Record<string, string | number | boolean | null>;
  /** Keys among category/icon/color/inputs/outputs/defaults/credentials that are not literals. */
  notLiteral: string[];
  defaults: Record<string, PropertyDef>;
  credentials: Record<string, PropertyDef>;
  /** Keys passed to this._("...") / RED._("...") in the editor code. */
  i18nKeys: string[];
}

export interface EditorHtml {
  file: string;
  /** Types from data-template-name (what Node-RED registers). */
  templates: Record<string, string>;
  helps: Record<string, { format: "html" | "markdown"; text: string }>;
  defs: Record<string, EditorDef>;
  /** Problems found while parsing (non-literal type, non-object definition, syntax errors). */
  errors: string[];
}

// The regexes node-red-dev 0.1.6 uses (src/libs/checknodes.js).
const SCRIPT_JS = /<script.+?type=['"]text\/javascript['"].*?>([\S\s]*?)<\/script>/gi;
const TEMPLATE = /<script[^>]*data-template-name=["']([^"']+)["'][^>]*>([\S\s]*?)<\/script>/gi;
const HELP = /<script[^>]*type=["']text\/(html|markdown|x-red)["'][^>]*data-help-name=["']([^"']+)["'][^>]*>([\S\s]*?)<\/script>|<script[^>]*data-help-name=["']([^"']+)["'][^>]*type=["']text\/(html|markdown|x-red)["'][^>]*>([\S\s]*?)<\/script>/gi;

type AnyNode = acorn.Node & Record<string, unknown>;

function keyName(prop: AnyNode): string | undefined {
  const key = prop.key as AnyNode | undefined;
  if (!key) return undefined;
  if (key.type === "Identifier") return key.name as string;
  if (key.type === "Literal") return String(key.value);
  return undefined;
}

function literalOf(node: AnyNode): { ok: boolean; value: string | number | boolean | null } {
  if (node.type === "Literal") return { ok: true, value: node.value as string | number | boolean | null };
  return { ok: false, value: null };
}

function propertyDefs(obj: AnyNode): Record<string, PropertyDef> {
  const out: Record<string, PropertyDef> = {};
  for (const prop of (obj.properties as AnyNode[]) ?? []) {
    const name = keyName(prop);
    if (!name) continue;
    const def: PropertyDef = {};
    const value = prop.value as AnyNode;
    if (value?.type === "ObjectExpression") {
      for (const inner of value.properties as AnyNode[]) {
        const k = keyName(inner);
        const v = literalOf(inner.value as AnyNode);
        if (k === "type" && v.ok) def.type = String(v.value);
        if (k === "required" && v.ok) def.required = Boolean(v.value);
        if (k === "value" && v.ok) def.valueType = v.value === null ? "null" : typeof v.value;
      }
    }
    out[name] = def;
  }
  return out;
}

function parseScript(code: string, result: EditorHtml): void {
  let ast: acorn.Program;
  try {
    ast = acorn.parse(code, { ecmaVersion: "latest" });
  } catch (err) {
    result.errors.push(`editor script does not parse: ${(err as Error).message}`);
    return;
  }
  const i18nKeys: string[] = [];
  walk.simple(ast, {
    CallExpression(node) {
      const call = node as unknown as AnyNode;
      const callee = call.callee as AnyNode;
      const args = call.arguments as AnyNode[];
      const prop = callee.type === "MemberExpression" ? (callee.property as AnyNode) : undefined;
      if (prop?.type === "Identifier" && prop.name === "_" && args[0]?.type === "Literal") i18nKeys.push(String(args[0].value));
      if (!(prop?.type === "Identifier" && prop.name === "registerType")) return;
      if (args[0]?.type !== "Literal") {
        result.errors.push("registerType is called with a type that is not a string literal");
        return;
      }
      const type = String(args[0].value);
      if (args[1]?.type !== "ObjectExpression") {
        result.errors.push(`registerType('${type}', ...) is not given an object literal`);
        return;
      }
      const def: EditorDef = { type, literals: {}, notLiteral: [], defaults: {}, credentials: {}, i18nKeys };
      for (const p of args[1].properties as AnyNode[]) {
        const name = keyName(p);
        const value = p.value as AnyNode;
        if (!name || !value) continue;
        if (["category", "icon", "color", "inputs", "outputs"].includes(name)) {
          const lit = literalOf(value);
          if (lit.ok) def.literals[name] = lit.value;
          else def.notLiteral.push(name);
        } else if (name === "defaults" || name === "credentials") {
          if (value.type === "ObjectExpression") def[name] = propertyDefs(value);
          else def.notLiteral.push(name);
        }
      }
      result.defs[type] = def;
    },
  });
}

export function parseEditorHtml(file: string): EditorHtml {
  const html = fs.readFileSync(file, "utf8");
  const result: EditorHtml = { file, templates: {}, helps: {}, defs: {}, errors: [] };
  for (const m of html.matchAll(SCRIPT_JS)) parseScript(m[1], result);
  for (const m of html.matchAll(TEMPLATE)) result.templates[m[1]] = m[2];
  for (const m of html.matchAll(HELP)) {
    const type = m[2] ?? m[4];
    const format = (m[1] ?? m[5]) === "markdown" ? "markdown" : "html";
    result.helps[type] = { format, text: m[3] ?? m[6] };
  }
  return result;
}

/** The help's first paragraph (Node-RED shows it as the palette tooltip). */
export function helpSummary(help: { format: "html" | "markdown"; text: string }): string {
  if (help.format === "markdown") {
    const first = help.text.trim().split(/\n\s*\n/)[0] ?? "";
    return first.startsWith("#") ? "" : first.trim();
  }
  const trimmed = help.text.trim();
  const m = /^<p>([\S\s]*?)<\/p>/i.exec(trimmed);
  return m ? m[1].replace(/<[^>]+>/g, "").trim() : "";
}

/** data-i18n keys in a template: "key", "[placeholder]key", "[html]a;[title]b". */
export function templateI18nKeys(template: string): string[] {
  const keys: string[] = [];
  for (const m of template.matchAll(/data-i18n=["']([^"']+)["']/g)) {
    for (const part of m[1].split(";")) keys.push(part.replace(/^\[[^\]]*\]/, "").trim());
  }
  return keys.filter(Boolean);
}

/** Looks up "a.b.c" in a catalogue object. */
export function hasKey(catalogue: unknown, key: string): boolean {
  let cur: unknown = catalogue;
  for (const part of key.split(".")) {
    if (cur === null || typeof cur !== "object" || !(part in cur)) return false;
    cur = (cur as Record<string, unknown>)[part];
  }
  return typeof cur === "string";
}
