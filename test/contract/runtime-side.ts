/**
 * What a compiled node file does at runtime, without running Node-RED:
 *
 * 1. `loadRuntime(file)` calls the module's export with a fake RED that
 *    records every `RED.nodes.registerType(type, ctor, {credentials})`.
 *    Anything else the module touches at load time (httpAdmin, server,
 *    events, ...) is a harmless recording stub.
 *
 * 2. `configReads(file, ctors)` finds which config properties the code
 *    reads, statically, from the compiled JavaScript (acorn):
 *    - `strict`: reads of the constructor's config parameter in the node
 *      file: `config.key`, `config?.key`, `config["key"]`,
 *      `const {key} = config`, and the same inside functions/classes of that
 *      file to which the constructor passes `config` (one level: e.g.
 *      `new Server(this, config)` or `parseConfig(config)`). Reads inside
 *      other modules are not followed.
 *    - `names`: every property name the node file and the local modules it
 *      requires (transitively, within dist/nodes) access anywhere, plus
 *      identifier-like string literals there (config read through lists of
 *      key names, `config[key]`). A key absent from this set is certainly
 *      never read.
 *    The test asserts strict ⊆ HTML defaults (else the runtime reads a
 *    property the editor never saves) and HTML defaults ⊆ names (else the
 *    editor saves a property nothing reads).
 */
import * as acorn from "acorn";
import * as walk from "acorn-walk";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

type AnyNode = acorn.Node & Record<string, unknown>;

export interface RuntimeType {
  type: string;
  ctor: (...args: unknown[]) => unknown;
  credentials: Record<string, { type?: string }>;
}

/** A stub that accepts any property access or call. */
function stub(): unknown {
  const fn = function () {
    return proxy;
  };
  const proxy: unknown = new Proxy(fn, {
    get(_target, prop) {
      if (prop === Symbol.toPrimitive) return () => "";
      if (prop === "then") return undefined; // not a thenable
      return proxy;
    },
    apply: () => proxy,
    construct: () => proxy as object,
  });
  return proxy;
}

export function loadRuntime(file: string): RuntimeType[] {
  const registered: RuntimeType[] = [];
  const noop = (): void => undefined;
  const RED: Record<string, unknown> = {
    nodes: {
      registerType(type: string, ctor: RuntimeType["ctor"], opts?: { credentials?: RuntimeType["credentials"] }) {
        registered.push({ type, ctor, credentials: opts?.credentials ?? {} });
      },
      createNode: noop,
      getNode: () => null,
      eachNode: noop,
      getCredentials: () => ({}),
    },
    settings: {},
    log: { info: noop, warn: noop, error: noop, debug: noop, trace: noop, log: noop, audit: noop, metric: () => false },
    _: (key: string) => key,
    version: () => "4.1.15",
    httpAdmin: stub(),
    httpNode: stub(),
    server: stub(),
    events: stub(),
    comms: stub(),
    auth: stub(),
    library: stub(),
    plugins: stub(),
    hooks: stub(),
    util: stub(),
  };
  const req = createRequire(file);
  const mod = req(file) as { default?: unknown } | ((red: unknown) => unknown);
  const init = (typeof mod === "function" ? mod : mod.default) as ((red: unknown) => unknown) | undefined;
  if (typeof init !== "function") throw new Error(`${file} does not export a function(RED)`);
  init(RED);
  return registered;
}

function parse(code: string): acorn.Program {
  return acorn.parse(code, { ecmaVersion: "latest", sourceType: "script", allowHashBang: true, allowReturnOutsideFunction: true });
}

function firstParam(fnSource: string): string | undefined {
  const src = fnSource.trim();
  let ast: acorn.Program;
  try {
    // Method shorthand ("name(config) {...}") only parses inside an object literal.
    ast = parse(/^(class|function|async|\(|[A-Za-z_$][\w$]*\s*=>)/.test(src) ? `(${src})` : `({${src}})`);
  } catch {
    return undefined;
  }
  let fn = (ast.body[0] as AnyNode | undefined)?.expression as AnyNode | undefined;
  if (fn?.type === "ObjectExpression") fn = ((fn.properties as AnyNode[])[0]?.value as AnyNode | undefined) ?? undefined;
  if (fn?.type === "ClassExpression") {
    const ctor = ((fn.body as AnyNode).body as AnyNode[]).find((m) => m.type === "MethodDefinition" && m.kind === "constructor");
    fn = ctor?.value as AnyNode | undefined;
  }
  const first = (fn?.params as AnyNode[] | undefined)?.[0];
  return first?.type === "Identifier" ? (first.name as string) : undefined;
}

function memberKey(node: AnyNode): string | undefined {
  const prop = node.property as AnyNode;
  if (!node.computed && prop.type === "Identifier") return prop.name as string;
  if (node.computed && prop.type === "Literal" && typeof prop.value === "string") return prop.value;
  return undefined;
}

/** Property names read from identifiers named `params` anywhere in the program. */
function readsOf(ast: acorn.Program, params: Set<string>): Set<string> {
  const keys = new Set<string>();
  walk.full(ast, (n) => {
    const node = n as AnyNode;
    if (node.type === "MemberExpression") {
      const obj = node.object as AnyNode;
      const key = memberKey(node);
      if (obj.type === "Identifier" && params.has(obj.name as string) && key) keys.add(key);
    } else if (node.type === "VariableDeclarator" || node.type === "AssignmentPattern" || node.type === "AssignmentExpression") {
      const pattern = (node.id ?? node.left) as AnyNode;
      const source = (node.init ?? node.right) as AnyNode | undefined;
      if (pattern?.type === "ObjectPattern" && source?.type === "Identifier" && params.has(source.name as string)) {
        for (const p of pattern.properties as AnyNode[]) {
          const key = p.key as AnyNode | undefined;
          if (key?.type === "Identifier") keys.add(key.name as string);
          else if (key?.type === "Literal") keys.add(String(key.value));
        }
      }
    }
  });
  return keys;
}

/** Names of parameters that receive `params` in calls to functions/classes declared in this program. */
function passedOn(ast: acorn.Program, params: Set<string>): Set<string> {
  const declared = new Map<string, AnyNode[]>();
  walk.full(ast, (n) => {
    const node = n as AnyNode;
    const id = node.id as AnyNode | undefined;
    if ((node.type === "FunctionDeclaration" || node.type === "ClassDeclaration") && id?.type === "Identifier") {
      if (node.type === "FunctionDeclaration") declared.set(id.name as string, node.params as AnyNode[]);
      else {
        const body = (node.body as AnyNode).body as AnyNode[];
        const ctor = body.find((m) => m.type === "MethodDefinition" && m.kind === "constructor");
        if (ctor) declared.set(id.name as string, (ctor.value as AnyNode).params as AnyNode[]);
      }
    }
  });
  const names = new Set<string>();
  walk.full(ast, (n) => {
    const node = n as AnyNode;
    if (node.type !== "CallExpression" && node.type !== "NewExpression") return;
    const callee = node.callee as AnyNode;
    if (callee.type !== "Identifier") return;
    const targetParams = declared.get(callee.name as string);
    if (!targetParams) return;
    (node.arguments as AnyNode[]).forEach((arg, i) => {
      const param = targetParams[i];
      if (arg.type === "Identifier" && params.has(arg.name as string) && param?.type === "Identifier") names.add(param.name as string);
    });
  });
  return names;
}

/** Every property name accessed in the file and the local files it requires. */
function allNames(file: string, seen = new Set<string>(), names = new Set<string>()): Set<string> {
  if (seen.has(file) || !fs.existsSync(file)) return names;
  seen.add(file);
  const ast = parse(fs.readFileSync(file, "utf8"));
  walk.full(ast, (n) => {
    const node = n as AnyNode;
    if (node.type === "MemberExpression") {
      const key = memberKey(node);
      if (key) names.add(key);
    } else if (node.type === "Literal" && typeof node.value === "string" && /^[A-Za-z_$][\w$]{0,63}$/.test(node.value)) {
      names.add(node.value);
    } else if (node.type === "Property") {
      const key = node.key as AnyNode;
      if (key.type === "Identifier") names.add(key.name as string);
      else if (key.type === "Literal") names.add(String(key.value));
    } else if (node.type === "CallExpression") {
      const callee = node.callee as AnyNode;
      const arg = (node.arguments as AnyNode[])[0];
      if (callee.type === "Identifier" && callee.name === "require" && arg?.type === "Literal" && String(arg.value).startsWith(".")) {
        const target = path.resolve(path.dirname(file), String(arg.value));
        allNames(target.endsWith(".js") ? target : `${target}.js`, seen, names);
        allNames(path.join(target, "index.js"), seen, names);
      }
    }
  });
  return names;
}

export function configReads(file: string, ctors: RuntimeType[]): { strict: Set<string>; names: Set<string> } {
  const ast = parse(fs.readFileSync(file, "utf8"));
  const params = new Set<string>();
  for (const { ctor } of ctors) {
    const p = firstParam(Function.prototype.toString.call(ctor));
    if (p) params.add(p);
  }
  for (const p of passedOn(ast, params)) params.add(p);
  return { strict: readsOf(ast, params), names: allNames(file) };
}

/** Keys of a node's config that Node-RED itself sets or reads. */
export const RUNTIME_OWNED_KEYS = new Set(["id", "type", "z", "g", "name", "wires", "x", "y", "w", "h", "d", "l", "info", "credentials", "_users", "_alias", "_flow", "_def"]);
