/**
 * Editor contract: what the Node-RED editor, the palette and the Flow
 * Library scorecard read from the built package (`dist/nodes`, `examples/`;
 * `npm test` builds first). Covers every node set in package.json
 * `node-red.nodes`, whatever nodes exist.
 *
 * HTML is parsed like node-red-dev does (see editor-html.ts). The runtime
 * side is the compiled node loaded into a recording fake RED, plus a static
 * scan of the config properties the compiled code reads (method documented
 * in runtime-side.ts).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { parseEditorHtml, helpSummary, templateI18nKeys, hasKey, type EditorHtml } from "./editor-html";
import { loadRuntime, configReads, RUNTIME_OWNED_KEYS, type RuntimeType } from "./runtime-side";
import { CORE_NODE_TYPES, EXTRA_MODULE_FOLDERS, FLOW_STRUCTURE_TYPES } from "./core-node-types";

const root = path.resolve(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  name: string;
  "node-red"?: { nodes?: Record<string, string> };
};
const sets = Object.entries(pkg["node-red"]?.nodes ?? {});
const iconDir = path.join(root, "dist", "nodes", "entry", "icons");
const examplesDir = path.join(root, "examples");
const nodeRedNodesDir = path.dirname(require.resolve("@node-red/nodes/package.json"));
const coreIcons = new Set(fs.readdirSync(path.join(nodeRedNodesDir, "icons")));
const coreCatalogue: unknown = JSON.parse(fs.readFileSync(path.join(nodeRedNodesDir, "locales", "en-US", "messages.json"), "utf8"));

/** Keys that must never be plain (exported, unencrypted) properties. */
const CREDENTIAL_LIKE = /pass(word|wd|phrase)?$|password|token|api[-_]?key|dev[-_]?key|secret/i;

interface SetInfo {
  name: string;
  js: string;
  html: EditorHtml;
  runtime: RuntimeType[];
  /** The node's code: the node file the entry loads on first deploy (nodes/lib/node-red/lazy-node.ts), or the entry itself. */
  code: string;
  codeRuntime: RuntimeType[];
  catalogue: unknown;
}

/** The node file a package.json entry loads on first deploy (it exports `implementation`), or the entry itself. */
function nodeCode(entry: string): string {
  const req = createRequire(entry);
  const mod = req(entry) as { implementation?: unknown };
  return typeof mod.implementation === "string" ? req.resolve(mod.implementation) : entry;
}

function loadSet(name: string, rel: string): SetInfo {
  const js = path.join(root, rel);
  const htmlFile = js.replace(/\.js$/, ".html");
  assert.ok(fs.existsSync(js), `${rel} is missing: run npm run build, and check the path in package.json`);
  assert.ok(fs.existsSync(htmlFile), `${path.relative(root, htmlFile)} is missing: the build copies nodes/<type>.html beside the .js`);
  const locale = path.join(path.dirname(js), "locales", "en-US", `${path.basename(js, ".js")}.json`);
  assert.ok(fs.existsSync(locale), `${path.relative(root, locale)} is missing: each node file needs its i18n catalogue`);
  const catalogue: unknown = JSON.parse(fs.readFileSync(locale, "utf8"));
  const code = nodeCode(js);
  return { name, js, html: parseEditorHtml(htmlFile), runtime: loadRuntime(js), code, codeRuntime: code === js ? loadRuntime(js) : loadRuntime(code), catalogue };
}

const loaded = new Map<string, SetInfo>();
const loadErrors = new Map<string, Error>();
for (const [name, rel] of sets) {
  try {
    loaded.set(name, loadSet(name, rel));
  } catch (err) {
    loadErrors.set(name, err as Error);
  }
}
const allDefs = [...loaded.values()].flatMap((s) => Object.values(s.html.defs));
const ourTypes = new Set([...loaded.values()].flatMap((s) => Object.keys(s.html.templates)));
const configTypes = new Set(allDefs.filter((d) => d.literals.category === "config").map((d) => d.type));

describe("package.json", () => {
  it("registers at least one node set in node-red.nodes", () => {
    assert.ok(sets.length > 0, "package.json node-red.nodes is empty");
  });
  it("lists every node file: each nodes/<name>.html has an entry dist/nodes/entry/<name>.js", () => {
    const listed = new Set(sets.map(([, rel]) => path.basename(rel, ".js")));
    const htmlFiles = fs.readdirSync(path.join(root, "nodes")).filter((f) => f.endsWith(".html")).map((f) => f.slice(0, -5));
    assert.deepEqual(htmlFiles.filter((f) => !listed.has(f)), [], "Node-RED never loads a node file missing from package.json node-red.nodes");
  });
  it("icons are SVGs with Node-RED's 40x60 viewBox", () => {
    const icons = fs.existsSync(iconDir) ? fs.readdirSync(iconDir) : [];
    const bad = icons.filter((f) => !f.endsWith(".svg") || !/<svg[^>]*viewBox=["']0 0 40 60["']/.test(fs.readFileSync(path.join(iconDir, f), "utf8")));
    assert.deepEqual(bad, []);
  });
  it("the list of core node types matches the installed Node-RED", () => {
    const coreHtml = new Set<string>();
    const walkDir = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walkDir(full);
        else if (e.name.endsWith(".html")) for (const m of fs.readFileSync(full, "utf8").matchAll(/data-template-name="([^"]+)"/g)) coreHtml.add(m[1]);
      }
    };
    walkDir(path.join(nodeRedNodesDir, "core"));
    assert.deepEqual(CORE_NODE_TYPES.filter((t) => !coreHtml.has(t)), []);
  });
});

for (const [setName, rel] of sets) {
  describe(`node set ${setName} (${rel})`, () => {
    it("builds and loads: .js, .html and en-US locale exist, module exports function(RED)", () => {
      const err = loadErrors.get(setName);
      if (err) throw err;
    });
    const set = loaded.get(setName);
    if (!set) return;
    const { html, runtime } = set;
    const runtimeTypes = new Map(runtime.map((r) => [r.type, r]));
    const codeTypes = new Map(set.codeRuntime.map((r) => [r.type, r]));

    it("every editor script parses and each registerType has a literal type and object", () => {
      assert.deepEqual(html.errors, []);
    });
    it("templates, editor definitions and runtime registrations name the same types", () => {
      const templates = Object.keys(html.templates).sort();
      assert.ok(templates.length > 0, "no data-template-name block");
      assert.deepEqual(Object.keys(html.defs).sort(), templates, "each data-template-name needs a literal RED.nodes.registerType('<type>', {...})");
      assert.deepEqual([...runtimeTypes.keys()].sort(), templates, "the .js must register exactly the types its .html defines");
      assert.deepEqual([...codeTypes.keys()].sort(), templates, `${path.relative(root, set.code)} must register exactly the types its .html defines`);
    });

    for (const type of Object.keys(html.templates)) {
      const def = html.defs[type];
      describe(type, () => {
        it("type name starts with ev-", () => assert.match(type, /^ev-[a-z0-9-]+$/));
        if (!def) return;
        const isConfig = def.literals.category === "config";

        it("category/icon/color/inputs/outputs are literals, as the scorecard requires", () => {
          assert.deepEqual(def.notLiteral, []);
          assert.equal(typeof def.literals.category, "string", "category");
          if (!isConfig) {
            for (const key of ["icon", "color"]) assert.equal(typeof def.literals[key], "string", key);
            assert.ok([0, 1].includes(def.literals.inputs as number), "inputs must be 0 or 1");
            assert.ok(Number.isInteger(def.literals.outputs) && (def.literals.outputs as number) >= 0, "outputs must be a literal count");
          }
        });

        it("has a help block whose first paragraph is a summary", () => {
          const help = html.helps[type];
          assert.ok(help, `no <script type="text/html" data-help-name="${type}">`);
          const summary = helpSummary(help);
          assert.ok(summary.length >= 10, `the help must start with a <p> summary (palette tooltip), got "${summary}"`);
          if (!isConfig) {
            if (def.literals.inputs) assert.match(help.text, /<h3>\s*Inputs|^#{2,3}\s*Inputs/im, "help needs an Inputs section");
            if (def.literals.outputs) assert.match(help.text, /<h3>\s*Outputs|^#{2,3}\s*Outputs/im, "help needs an Outputs section");
            assert.match(help.text, /<h3>\s*Details|^#{2,3}\s*Details/im, "help needs a Details section");
          }
        });

        it("help lists message properties in a form the editor renders (name and type apart)", () => {
          const help = html.helps[type];
          if (!help) return;
          if (help.format === "markdown") {
            // Node-RED renders ": name (type) : description" only when the line has no other
            // colon (its regex stops at the first one); otherwise the line shows as raw text
            // ("chargerstring", "payloadobject"). Write such lists as HTML dl.message-properties.
            const broken = help.text.split("\n").filter((l) => /^\s*:/.test(l) && !/^:[^:\n]+\([^:\n]+\)[^:\n]*:[^:\n]*$/.test(l));
            assert.deepEqual(broken, [], "markdown property lines with an extra colon (or no type) do not render");
          }
          for (const dl of help.text.match(/<dl class="message-properties">[\s\S]*?<\/dl>/g) ?? []) {
            for (const dt of dl.match(/<dt>[\s\S]*?<\/dt>/g) ?? []) {
              const typeSpan = /<span class="property-type">([^<]+)<\/span>/.exec(dt);
              const name = dt.replace(/<span class="property-type">[^<]*<\/span>/, "").replace(/<[^>]+>/g, "").trim();
              assert.ok(typeSpan && typeSpan[1].trim() && name, `${dt}: a message property needs its name and a span.property-type (plain <dl> for settings)`);
            }
          }
        });

        if (typeof def.literals.icon === "string") {
          const icon = def.literals.icon;
          it(`icon ${icon} ships in dist/nodes/entry/icons or is a core icon`, () => {
            const ok = fs.existsSync(path.join(iconDir, icon)) || coreIcons.has(icon) || /^font-awesome\/fa-[a-z0-9-]+$/.test(icon);
            assert.ok(ok, `${icon} is neither in dist/nodes/entry/icons (from icons/) nor a core icon`);
          });
        }

        it("i18n keys used by the template and editor code exist in the catalogue", () => {
          const keys = [...templateI18nKeys(html.templates[type]), ...def.i18nKeys];
          const missing = keys.filter((key) => {
            const [ns, k] = key.includes(":") ? key.split(":", 2) : ["", key];
            if (ns === "node-red") return !hasKey(coreCatalogue, k);
            if (ns && ns !== `${pkg.name}/${setName}`) return false;
            return !hasKey(set.catalogue, k);
          });
          assert.deepEqual(missing, [], `add these keys to locales/en-US/${path.basename(rel, ".js")}.json`);
        });

        it("no credential-like key in defaults (secrets belong in credentials)", () => {
          // A boolean or number option (e.g. strictPasswords: {value: false}) holds no secret.
          const secretLike = Object.entries(def.defaults).filter(([k, p]) => CREDENTIAL_LIKE.test(k) && p.valueType !== "boolean" && p.valueType !== "number");
          assert.deepEqual(secretLike.map(([k]) => k), []);
        });

        it("HTML credentials equal the runtime's registerType credentials (the entry's and the node file's)", () => {
          const rt = runtimeTypes.get(type);
          assert.ok(rt, "not registered at runtime");
          const norm = (c: Record<string, { type?: string }>) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v?.type ?? "text"]).sort());
          assert.deepEqual(norm(def.credentials), norm(rt.credentials));
          assert.deepEqual(norm(def.credentials), norm(codeTypes.get(type)?.credentials ?? {}), path.relative(root, set.code));
          for (const [key, { type: t }] of Object.entries(rt.credentials)) {
            if (CREDENTIAL_LIKE.test(key)) assert.equal(t, "password", `credential ${key} must be type "password" so the editor never receives it`);
          }
        });

        it("HTML defaults match the config properties the runtime reads", () => {
          const rt = codeTypes.get(type);
          assert.ok(rt, "not registered at runtime");
          const { strict, names } = configReads(set.code, [rt]);
          const defaults = Object.keys(def.defaults);
          const unsaved = [...strict].filter((k) => !RUNTIME_OWNED_KEYS.has(k) && !(k in def.defaults));
          assert.deepEqual(unsaved, [], "the runtime reads these config properties but the HTML defaults never save them");
          const unread = defaults.filter((k) => !RUNTIME_OWNED_KEYS.has(k) && !names.has(k));
          assert.deepEqual(unread, [], "the HTML saves these defaults but no runtime code reads them");
        });

        it("defaults that reference a config node name a config type we or Node-RED define", () => {
          for (const [key, prop] of Object.entries(def.defaults)) {
            if (!prop.type) continue;
            assert.ok(configTypes.has(prop.type) || (CORE_NODE_TYPES as readonly string[]).includes(prop.type), `${key} references unknown config type ${prop.type}`);
          }
        });
      });
    }
  });
}

// ---------------------------------------------------------------- examples

function exampleFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return exampleFiles(full);
    return e.name.endsWith(".json") ? [full] : [];
  });
}

type FlowNode = Record<string, unknown> & { id: string; type: string; z?: string; wires?: unknown };

/** Non-empty string values under credential-like keys, anywhere in a node. */
function credentialValues(value: unknown, where: string, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v, i) => credentialValues(v, `${where}[${i}]`, out));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if ((CREDENTIAL_LIKE.test(k) || k === "credentials") && v !== "" && v !== null && v !== undefined && !(typeof v === "object" && Object.keys(v).length === 0) && typeof v !== "boolean") {
        out.push(`${where}.${k}`);
      } else credentialValues(v, `${where}.${k}`, out);
    }
  }
  return out;
}

const examples = exampleFiles(examplesDir).sort();
const allowedTypes = new Set<string>([...ourTypes, ...CORE_NODE_TYPES, ...FLOW_STRUCTURE_TYPES]);

/** The node types a module registers, from its package.json (installed as a devDependency). */
function moduleTypes(name: string): string[] {
  const pkg = JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), "utf8")) as { "node-red"?: { nodes?: Record<string, string> } };
  return Object.keys(pkg["node-red"]?.nodes ?? {});
}

/** The extra module an example's folder allows, if any. */
function extraModuleFor(rel: string): { folder: string; module: string } | undefined {
  return EXTRA_MODULE_FOLDERS.find((f) => rel.split(path.sep)[0] === f.folder);
}

describe("example flows (examples/)", () => {
  it("there is at least one example flow", () => assert.ok(examples.length > 0, "flows/ is empty: every node needs an example"));

  const used = new Set<string>();
  for (const file of examples) {
    const rel = path.relative(examplesDir, file);
    let flow: FlowNode[] | undefined;
    try {
      flow = JSON.parse(fs.readFileSync(file, "utf8")) as FlowNode[];
    } catch {
      flow = undefined;
    }
    for (const n of Array.isArray(flow) ? flow : []) if (n && typeof n.type === "string") used.add(n.type);

    describe(rel, () => {
      it("is valid JSON and a plain array of nodes with id and type", () => {
        assert.ok(flow !== undefined, "not valid JSON");
        assert.ok(Array.isArray(flow), "must be a plain array (not {flows: [...]}): the scorecard and the import menu need that");
        for (const n of flow) assert.ok(n && typeof n.id === "string" && typeof n.type === "string", `entry without id/type: ${JSON.stringify(n)}`);
        assert.equal(new Set(flow.map((n) => n.id)).size, flow.length, "duplicate node ids");
      });
      if (!Array.isArray(flow)) return;
      const nodes = flow;
      const ids = new Set(nodes.map((n) => n.id));

      it("starts with a comment node that explains it", () => {
        // An exported whole tab starts with the tab itself.
        const first = nodes.find((n) => n.type !== "tab");
        assert.equal(first?.type, "comment", "the first node must be a Comment describing the example");
      });
      const extra = extraModuleFor(rel);
      it(extra ? `uses only our, core and ${extra.module} node types` : "uses only our node types and core node types", () => {
        const subflows = new Set(nodes.filter((n) => n.type === "subflow").map((n) => `subflow:${n.id}`));
        const allowed = extra ? new Set([...allowedTypes, ...moduleTypes(extra.module)]) : allowedTypes;
        assert.deepEqual(nodes.map((n) => n.type).filter((t) => !allowed.has(t) && !subflows.has(t)), []);
      });
      if (extra) {
        it(`declares ${extra.module} in a global-config node, so Node-RED offers to install it`, () => {
          const declared = nodes.filter((n) => n.type === "global-config").flatMap((n) => Object.keys((n.modules as Record<string, string> | undefined) ?? {}));
          assert.ok(declared.includes(extra.module), `no global-config node with modules {"${extra.module}": "<version>"}`);
        });
      }
      it("uses at least one of our node types", () => assert.ok(nodes.some((n) => ourTypes.has(n.type))));
      it("holds no credential values", () => {
        assert.deepEqual(nodes.flatMap((n) => credentialValues(n, `${n.type} ${n.id}`)), []);
      });
      it("wires and config-node references point at nodes in the same file", () => {
        const dangling: string[] = [];
        for (const n of nodes) {
          if (Array.isArray(n.wires)) for (const port of n.wires) for (const target of (port as string[]) ?? []) if (!ids.has(target)) dangling.push(`${n.id} wires to ${target}`);
          const def = allDefs.find((d) => d.type === n.type);
          for (const [key, prop] of Object.entries(def?.defaults ?? {})) {
            const ref = n[key];
            if (prop.type && typeof ref === "string" && ref !== "" && !nodes.some((m) => m.id === ref && m.type === prop.type)) {
              dangling.push(`${n.type} ${n.id}.${key} -> ${ref} (no ${prop.type} with that id in this file)`);
            }
            if (prop.type && prop.required && !ref) dangling.push(`${n.type} ${n.id}.${key} is empty but required`);
          }
        }
        assert.deepEqual(dangling, []);
      });
    });
  }

  it("together they use every non-config node type (scorecard N02)", () => {
    const nonConfig = allDefs.filter((d) => d.literals.category !== "config").map((d) => d.type);
    assert.deepEqual(nonConfig.filter((t) => !used.has(t)).sort(), []);
  });
});
