#!/usr/bin/env node
// Editor test in a real browser: Node-RED 4.1 with our package (linked into a
// temp user dir) and Debian's chromium driven by playwright-core. For every
// node type we define: it is in the palette with our icon, it can be dragged
// onto the workspace (config nodes: opened through RED.editor.editConfig),
// and its edit dialog opens with our template and closes again. Any browser
// console error or page error fails the run. Screenshots go to .tmp/.
// Build first (npm run test:browser does).
"use strict";
/* global window, document, getComputedStyle, NodeFilter -- page.evaluate() callbacks run in the browser */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");
const { root, targets, freePort, writeSettings, startNodeRed, packageInfo, exampleFiles } = require("../lib/node-red-runner");
const { combineExampleDir, combineExamples, requiredModules } = require("../../scripts/lib/combine-examples");
const { showsStatus, layoutProblems } = require("../lib/flow-layout");

const results = [];
function check(name, ok, detail = "") {
  results.push({ name, ok: Boolean(ok) });
  console.log(`${ok ? "ok    " : "FAILED"} ${name}${!ok && detail ? `\n       ${detail}` : ""}`);
}

function findChromium() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const name of ["chromium", "chromium-browser"]) {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) return file;
    }
  }
  throw new Error("chromium not found on PATH (apt-get install chromium, or set CHROMIUM_PATH)");
}

/** Editor definitions as the editor itself holds them (after it loaded our HTML). */
async function editorDefs(page, types) {
  return page.evaluate((list) => {
    return list.map((type) => {
      const def = window.RED.nodes.getType(type);
      return def ? { type, category: def.category, icon: typeof def.icon === "string" ? def.icon : null } : { type, missing: true };
    });
  }, types);
}

/**
 * What a new user trips over in an open edit dialog: two labels with the same text, a
 * dropdown that shows nothing (e.g. a node saved before the option existed), and Name
 * anywhere but first (all our dialogs start with it).
 */
async function dialogProblems(page) {
  return page.evaluate(() => {
    const forms = document.querySelectorAll(".red-ui-tray-body #dialog-form, .red-ui-tray-body #node-config-dialog-edit-form");
    const form = forms[forms.length - 1];
    if (!form) return ["no edit form"];
    const problems = [];
    const labels = [...form.querySelectorAll("label")].map((l) => l.textContent.trim()).filter(Boolean);
    const twice = [...new Set(labels.filter((t, i) => labels.indexOf(t) !== i))];
    if (twice.length) problems.push(`labels used twice: ${twice.join(", ")}`);
    for (const select of form.querySelectorAll("select")) {
      if (select.offsetParent === null) continue;
      const shown = select.options[select.selectedIndex];
      if (!shown || !shown.textContent.trim()) problems.push(`dropdown #${select.id} shows nothing`);
    }
    const rows = [...form.querySelectorAll(".form-row")].filter((r) => r.querySelector("input, select, textarea"));
    const nameRow = rows.findIndex((r) => r.querySelector("#node-input-name, #node-config-input-name"));
    if (nameRow > 0) problems.push(`Name is row ${nameRow + 1} of ${rows.length}, not the first`);
    return problems;
  });
}

async function openAndCloseDialog(page, type, shot) {
  await page.waitForSelector(".red-ui-tray .red-ui-tray-header", { state: "visible", timeout: 10_000 });
  // The dialog body is our data-template-name content; it is filled in after the header appears.
  await page.waitForSelector(".red-ui-tray-body [id^='node-input-'], .red-ui-tray-body [id^='node-config-input-']", { timeout: 10_000 }).catch(() => undefined);
  await page.waitForTimeout(400); // let the tray finish sliding in (and oneditprepare run) before looking
  const inputs = await page.$$eval(".red-ui-tray-body input[id^='node-input-'], .red-ui-tray-body input[id^='node-config-input-'], .red-ui-tray-body select[id^='node-'], .red-ui-tray-body textarea[id^='node-']", (els) => els.map((e) => e.id));
  if (shot) await page.screenshot({ path: shot });
  const problems = await dialogProblems(page);
  check(`${type} edit dialog: labels, dropdowns and Name row`, problems.length === 0, problems.join("\n       "));
  await page.evaluate(() => window.RED.tray.close());
  await page.waitForSelector(".red-ui-tray", { state: "detached", timeout: 10_000 }).catch(() => undefined);
  return inputs;
}

const DASHBOARD_MODULE = "@flowfuse/node-red-dashboard";

/**
 * For an example with the site manager ("Charge from solar and share the fuse"): the house simulator
 * and the three brands' simulated chargers on free ports, the example's fixed demo addresses moved to
 * them, the dev credentials filled in. The simulators are TypeScript (test/servers/), loaded through tsx.
 */
async function siteSimulation(flow) {
  if (!flow.some((n) => n.type === "ev-site-manager")) return undefined;
  const { require: tsxRequire } = require("tsx/cjs/api");
  const load = (file) => tsxRequire(`../servers/${file}`, __filename);
  const { startHouseSimulator } = load("house-simulator.ts");
  const { startChargeAmpsSimulator } = load("chargeamps-simulator.ts");
  const { startAmtronSimulator } = load("amtron-simulator.ts");
  const { startChargePointSimulator } = load("ocpp-charge-point.ts");
  const credentials = JSON.parse(fs.readFileSync(path.join(__dirname, "../servers/dev-credentials.json"), "utf8"));
  const running = [];
  const house = await startHouseSimulator({});
  running.push(house);
  const chargeAmps = await startChargeAmpsSimulator({ credentials: credentials["ev-chargeamps-account"] });
  running.push(chargeAmps);
  const amtron = await startAmtronSimulator({ charging: true });
  running.push(amtron);
  const ocppPort = await freePort();
  const rewritten = flow.map((n) => {
    const node = JSON.parse(JSON.stringify(n).replaceAll("http://127.0.0.1:18084", house.url));
    // A reading every second instead of every 5 s: the charts fill within the test's patience.
    if (node.type === "inject" && node.repeat) node.repeat = "1";
    if (node.type === "ev-ocpp-central-system") Object.assign(node, { port: String(ocppPort), host: "127.0.0.1" });
    if (node.type === "ev-chargeamps-account") node.baseUrl = chargeAmps.url;
    if (node.type === "ev-amtron") node.port = amtron.port;
    if (credentials[node.type]) node.credentials = credentials[node.type];
    return node;
  });
  const cars = flow.filter((n) => n.type === "ev-site-manager").flatMap((n) => JSON.parse(n.chargers || "[]").map((c) => c.id));
  return {
    flow: rewritten,
    cars,
    /** The OCPP charger connects once the deployed central system listens. */
    async afterDeploy() {
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          running.push(await startChargePointSimulator({ url: `ws://127.0.0.1:${ocppPort}/ocpp`, identity: cars[0] ?? "garage" }));
          return;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    },
    async close() {
      for (const sim of running.reverse()) await Promise.resolve(sim.close()).catch(() => undefined);
    },
  };
}

/** The dashboard's socket.io messages to its widgets: `42["msg-input:<widget id>", msg]`. */
function widgetMessage(frame) {
  const text = typeof frame === "string" ? frame : frame.toString();
  const match = /^42(?:\/[^,[]*,)?(\[.*\])$/s.exec(text);
  if (!match) return undefined;
  try {
    const [event, msg] = JSON.parse(match[1]);
    const widget = /^msg-input:(.+)$/.exec(event);
    return widget ? { widget: widget[1], msg } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Dashboard 2.0 examples, in a Node-RED of their own with the dashboard
 * module (a devDependency) installed beside our package: each imports into
 * the editor with every node type known, deploys, and its dashboard page
 * renders its groups and charts, without a browser console error.
 */
async function dashboardExamples(pkg, shots) {
  const files = exampleFiles().filter((file) => requiredModules(JSON.parse(fs.readFileSync(path.join(root, "examples", `${file}.json`), "utf8"))).includes(DASHBOARD_MODULE));
  if (files.length === 0) return;
  let moduleDir;
  try {
    moduleDir = path.dirname(require.resolve(`${DASHBOARD_MODULE}/package.json`, { paths: [root] }));
  } catch {
    check(`${DASHBOARD_MODULE} is installed for the dashboard examples (npm install)`, false);
    return;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-dashboard-"));
  const userDir = path.join(work, "user");
  for (const [name, target] of [[pkg.name, root], [DASHBOARD_MODULE, moduleDir]]) {
    const link = path.join(userDir, "node_modules", ...name.split("/"));
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(target, link, "dir");
  }
  const port = await freePort();
  // This Node-RED is the one place the dashboard module must load (the others exclude devDependency modules).
  const { devOnlyNodeModules } = require("../lib/node-red-runner");
  const dashboardFolder = DASHBOARD_MODULE.split("/").pop();
  writeSettings(userDir, { port, extra: { nodesExcludes: devOnlyNodeModules().filter((name) => name !== dashboardFolder) } });
  let red;
  let context;
  let site;
  const consoleErrors = [];
  try {
    red = await startNodeRed({ target: targets["4.1"], userDir, port });
    context = await chromium.launchPersistentContext(path.join(work, "chromium-profile"), {
      executablePath: findChromium(),
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1400, height: 1000 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(`console.error: ${m.text()} ${m.location()?.url ?? ""}`);
    });
    page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.stack ?? e.message}`));
    await context.route((url) => !url.href.startsWith(red.url), (route) => {
      consoleErrors.push(`blocked request to ${route.request().url()}`);
      return route.abort();
    });
    // What the dashboard pushes to its widgets, as the browser receives it (capped).
    const widgetMessages = [];
    page.on("websocket", (ws) =>
      ws.on("framereceived", ({ payload }) => {
        const message = widgetMessage(payload);
        if (message && widgetMessages.length < 20_000) widgetMessages.push(message);
      }),
    );
    for (const file of files) {
      // Back in the editor for each example (the previous one left the page on its dashboard).
      await page.goto(red.url, { waitUntil: "load" });
      await page.waitForFunction(() => window.RED && window.RED.nodes && window.RED.nodes.getType("ui-chart") && window.RED.nodes.getType("ev-timescale-query"), null, { timeout: 30_000 });
      const url = `${red.url}/library/examples/flows/${pkg.name}/${file.split("/").map(encodeURIComponent).join("/")}`;
      const imported = await page.evaluate(async (u) => {
        const flow = await (await fetch(u, { headers: { Accept: "application/json" } })).json();
        const unknown = flow.filter((n) => !["tab", "global-config"].includes(n.type) && !window.RED.nodes.getType(n.type)).map((n) => n.type);
        window.RED.view.importNodes(flow, { addFlow: true, generateIds: true });
        return { flow, unknown };
      }, url);
      check(`dashboard example "${file}" imports with every node type known`, imported.unknown.length === 0, `unknown: ${imported.unknown.join(", ")}`);
      if (site) await site.close();
      site = await siteSimulation(imported.flow);
      const flows = combineExamples([{ file: file.replace(/\.json$/, ""), nodes: site ? site.flow : imported.flow }]);
      const deploy = await fetch(`${red.url}/flows`, { method: "POST", headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" }, body: JSON.stringify(flows) });
      check(`dashboard example "${file}" deploys`, deploy.status === 204 || deploy.status === 200, `HTTP ${deploy.status}: ${await deploy.text()}`);
      if (site) await site.afterDeploy();
      widgetMessages.length = 0;
      const pages = imported.flow.filter((n) => n.type === "ui-page");
      const base = imported.flow.find((n) => n.type === "ui-base");
      for (const uiPage of pages) {
        const groupNodes = imported.flow.filter((n) => n.type === "ui-group" && n.page === uiPage.id);
        const groups = groupNodes.map((n) => n.name);
        const charts = imported.flow.filter((n) => n.type === "ui-chart" && groupNodes.some((g) => g.id === n.group)).length;
        const pageUrl = `${red.url}${base.path}${uiPage.path}`;
        await page.goto(pageUrl, { waitUntil: "load" });
        const rendered = await page
          .waitForFunction(
            ({ names, chartCount }) => names.every((name) => document.body.innerText.includes(name)) && document.querySelectorAll("canvas").length >= chartCount,
            { names: groups, chartCount: charts },
            { timeout: 30_000 },
          )
          .then(() => true, () => false);
        const shot = path.join(shots, `browser-dashboard-${path.basename(file, ".json").replace(/[^A-Za-z0-9]+/g, "-")}.png`);
        await page.screenshot({ path: shot });
        check(`dashboard page ${base.path}${uiPage.path} renders its groups (${groups.join(", ")}) and ${charts} chart(s)`, rendered, `see ${shot}`);
        if (site) await siteChartsFill({ page, flows, cars: site.cars, widgetMessages, shot });
      }
    }
    check("dashboard examples: no browser console error or page error", consoleErrors.length === 0, consoleErrors.join("\n       "));
  } catch (err) {
    check("dashboard examples ran to the end", false, err.stack);
  } finally {
    if (context) await context.close().catch(() => undefined);
    if (red) await red.stop();
    if (site) await site.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The site example's charts, fed by the house simulator through the site manager: the power chart gets
 * points for grid, PV and every car, the limit chart for every car, and some car is given a current.
 */
async function siteChartsFill({ page, flows, cars, widgetMessages, shot }) {
  const charts = flows.filter((n) => n.type === "ui-chart");
  const wanted = charts.map((chart) => ({ chart, series: /\(W\)/.test(chart.label) ? ["grid", "PV", ...cars] : cars }));
  const points = (chart, topic) => widgetMessages.filter((m) => m.widget === chart.id && m.msg && m.msg.topic === topic && Number.isFinite(m.msg.payload));
  const filled = () => wanted.every(({ chart, series }) => series.every((topic) => points(chart, topic).length >= 3));
  const deadline = Date.now() + 45_000;
  while (!filled() && Date.now() < deadline) await page.waitForTimeout(500);
  await page.screenshot({ path: shot.replace(/\.png$/, "-data.png") });
  for (const { chart, series } of wanted) {
    const counts = series.map((topic) => `${topic} ${points(chart, topic).length}`).join(", ");
    check(`site dashboard chart "${chart.label}" gets data points for ${series.join(", ")} (${counts})`, series.every((topic) => points(chart, topic).length >= 3), `see ${shot}`);
  }
  const limits = charts.filter((c) => !/\(W\)/.test(c.label)).flatMap((c) => cars.flatMap((car) => points(c, car).map((m) => m.msg.payload)));
  check(`site dashboard: the manager gives a car a current (largest limit ${Math.max(0, ...limits)} A)`, limits.some((a) => a >= 6));
  const power = charts.filter((c) => /\(W\)/.test(c.label)).flatMap((c) => points(c, "PV").map((m) => m.msg.payload));
  check(`site dashboard: PV from the house simulator is charted (${Math.round(Math.max(0, ...power))} W)`, power.some((w) => w > 0));
}

async function main() {
  const started = Date.now();
  const { pkg, types } = packageInfo(root);
  const shots = path.join(root, ".tmp");
  fs.mkdirSync(shots, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "evkit-browser-"));
  const userDir = path.join(work, "user");
  const link = path.join(userDir, "node_modules", ...pkg.name.split("/"));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(root, link, "dir");
  const port = await freePort();
  writeSettings(userDir, { port });

  let red;
  let context;
  const consoleErrors = [];
  try {
    check(`${types.length} node types to test: ${types.join(", ")}`, types.length > 0);
    red = await startNodeRed({ target: targets["4.1"], userDir, port });
    context = await chromium.launchPersistentContext(path.join(work, "chromium-profile"), {
      executablePath: findChromium(),
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1600, height: 1000 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    // The editor catches errors thrown by a node's editor code (oneditprepare,
    // label, icon, ...) and only console.log()s them, so those count too.
    page.on("console", (m) => {
      const editorHookError = m.type() === "log" && /^(Definition error|onedit\w+ )/.test(m.text());
      if (m.type() === "error" || m.type() === "warning" || editorHookError) consoleErrors.push(`console.${m.type()}: ${m.text()} ${m.location()?.url ?? ""}`);
    });
    page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.stack ?? e.message}`));
    // Everything the editor loads comes from Node-RED on loopback; nothing else may be fetched.
    await context.route((url) => !url.href.startsWith(red.url), (route) => {
      consoleErrors.push(`blocked request to ${route.request().url()}`);
      return route.abort();
    });

    await page.goto(red.url, { waitUntil: "load" });
    await page.waitForFunction(() => window.RED && window.RED.nodes && document.querySelector(".red-ui-palette-node"), null, { timeout: 30_000 });
    check("editor loads", true);
    // Node definitions arrive after the first palette entries: wait for ours (or time out and report).
    await page.waitForFunction((list) => list.every((t) => window.RED.nodes.getType(t)), types, { timeout: 20_000 }).catch(() => undefined);
    await page.waitForTimeout(500);

    // Only Node-RED's own nodes and ours: no devDependency (e.g. node-red-contrib-influxdb for the
    // benchmarks) may add a second set of nodes to the palette.
    const modules = await page.evaluate(async () => {
      const sets = await (await fetch("nodes", { headers: { Accept: "application/json" } })).json();
      return [...new Set(sets.map((s) => s.module))];
    });
    const foreign = modules.filter((m) => m !== "node-red" && m !== pkg.name);
    check("the palette holds only Node-RED's nodes and ours", foreign.length === 0, `also loaded: ${foreign.join(", ")}`);

    const defs = await editorDefs(page, types);
    const missing = defs.filter((d) => d.missing).map((d) => d.type);
    check("the editor knows every node type", missing.length === 0, `missing: ${missing.join(", ")}`);
    // Palette and help tree name every node in words, each word cased the same everywhere
    // ("OCPP in" next to "OCPP command", not "ocpp command"), never by its raw type name.
    const labels = await page.evaluate((list) => list.map((t) => {
      const def = window.RED.nodes.getType(t);
      const label = typeof def?.paletteLabel === "function" ? def.paletteLabel.call(def) : def?.paletteLabel;
      return { type: t, label: typeof label === "string" ? label : "" };
    }), types);
    const rawNames = labels.filter((l) => !l.label || l.label === l.type).map((l) => l.type);
    check("every node has a palette label (the help tree shows it instead of the type name)", rawNames.length === 0, `no label: ${rawNames.join(", ")}`);
    const casings = new Map();
    for (const { label } of labels) for (const word of label.split(/\s+/).filter(Boolean)) casings.set(word.toLowerCase(), [...new Set([...(casings.get(word.toLowerCase()) ?? []), word])]);
    const mixed = [...casings.values()].filter((forms) => forms.length > 1).map((forms) => forms.join(" / "));
    check("palette labels write each word the same way", mixed.length === 0, `mixed: ${mixed.join(", ")}`);

    const flowTypes = defs.filter((d) => !d.missing && d.category !== "config");
    const configTypes = defs.filter((d) => !d.missing && d.category === "config");

    let slot = 0;
    const ourIcons = new Set(fs.existsSync(path.join(root, "dist/nodes/entry/icons")) ? fs.readdirSync(path.join(root, "dist/nodes/entry/icons")) : []);
    for (const { type, icon: iconName } of flowTypes) {
      const entry = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      const inPalette = (await entry.count()) === 1;
      check(`${type} is in the palette`, inPalette);
      if (!inPalette) continue;
      await entry.scrollIntoViewIfNeeded();
      const icon = await entry.locator(".red-ui-palette-icon").evaluate((el) => getComputedStyle(el).backgroundImage);
      const wantIcon = iconName && ourIcons.has(iconName) ? `icons/${pkg.name}/${iconName}` : `/${iconName}`;
      check(`${type} palette entry shows its icon ${iconName}`, Boolean(iconName) && decodeURIComponent(icon).includes(wantIcon), `background-image: ${icon}`);

      const before = await page.evaluate((t) => window.RED.nodes.filterNodes({ type: t }).map((n) => n.id), type);
      const position = { x: 150 + (slot % 4) * 200, y: 100 + Math.floor(slot / 4) * 120 };
      slot += 1;
      await entry.dragTo(page.locator("#red-ui-workspace-chart"), { targetPosition: position });
      const added = await page.evaluate(([t, old]) => window.RED.nodes.filterNodes({ type: t }).map((n) => n.id).filter((id) => !old.includes(id)), [type, before]);
      check(`${type} can be dragged from the palette onto the workspace`, added.length === 1, `added ${added.length}`);
      if (added.length !== 1) continue;

      await page.locator(`[id="${added[0]}"] .red-ui-flow-node`).first().dblclick();
      let inputs = [];
      try {
        inputs = await openAndCloseDialog(page, type, path.join(shots, `browser-${type}.png`));
        check(`${type} edit dialog opens with its form (${inputs.length} inputs) and closes`, inputs.length > 0, "no node-input-* fields rendered");
      } catch (err) {
        check(`${type} edit dialog opens with its form and closes`, false, err.message);
      }
    }

    for (const { type } of configTypes) {
      try {
        await page.evaluate((t) => window.RED.editor.editConfig("", t, "_ADD_"), type);
        const inputs = await openAndCloseDialog(page, type, path.join(shots, `browser-${type}.png`));
        check(`${type} (config) edit dialog opens with its form (${inputs.length} inputs) and closes`, inputs.length > 0, "no node-config-input-* fields rendered");
      } catch (err) {
        check(`${type} (config) edit dialog opens with its form and closes`, false, err.message);
      }
    }

    // The help sidebar renders each node's help with Node-RED's documented structure: every
    // message property's name and type in their own elements (dt + span.property-type), output
    // ports as ol.node-ports, and no markdown left over as text (":", "`", "**", "1." lines).
    for (const { type } of [...flowTypes, ...configTypes]) {
      const help = await page.evaluate((t) => {
        window.RED.sidebar.help.show(t);
        const root = [...document.querySelectorAll(".red-ui-help")].pop();
        if (!root) return { text: "", problems: ["no .red-ui-help element in the help sidebar"] };
        const problems = [];
        for (const dt of root.querySelectorAll("dl.message-properties > dt")) {
          const types = dt.querySelectorAll(".property-type");
          const name = [...dt.childNodes].filter((n) => !(n.classList && n.classList.contains("property-type"))).map((n) => n.textContent).join("").trim();
          if (types.length !== 1 || !types[0].textContent.trim() || !name) problems.push(`property "${dt.textContent.trim()}" needs its name and one span.property-type`);
          if (!dt.nextElementSibling || dt.nextElementSibling.tagName !== "DD") problems.push(`property "${dt.textContent.trim()}" has no description (dd)`);
        }
        for (const h of root.querySelectorAll("h3")) {
          if (!/^\s*(Inputs|Outputs)\s*$/.test(h.textContent)) continue;
          let el = h.nextElementSibling;
          while (el && el.tagName === "P") el = el.nextElementSibling;
          const ok = el && (el.matches("dl.message-properties") || el.matches("ol.node-ports") || el.querySelector("dl.message-properties"));
          if (!ok) problems.push(`${h.textContent.trim()} is not followed by dl.message-properties or ol.node-ports`);
        }
        for (const ol of root.querySelectorAll("ol.node-ports")) {
          for (const li of ol.children) if (!li.querySelector("dl.message-properties")) problems.push(`output port "${li.textContent.trim().slice(0, 40)}" has no dl.message-properties`);
        }
        // Markdown that was not rendered: look at text outside code.
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        let text = "";
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          if (n.parentElement.closest("code, pre")) continue;
          text += n.textContent;
          const lineStart = n.previousSibling ? "\\n" : "(?:^|\\n)";
          const raw = n.textContent.match(new RegExp(`\`[^\`]+\`|\\*\\*[^*]+\\*\\*|${lineStart}[ \\t]*(?::[ \\t]*[^\\s:][^:\\n]*\\([^)\\n]*\\)[ \\t]*:|#{1,4} |\\d+\\. )`));
          if (raw) problems.push(`raw markdown "${raw[0].trim()}" in "${n.textContent.trim().slice(0, 80)}"`);
        }
        return { text: text.trim(), problems };
      }, type);
      check(`${type} help renders in the help sidebar (${help.text.length} characters)`, help.text.length >= 40, `help text: "${help.text.slice(0, 80)}"`);
      check(`${type} help follows Node-RED's help structure`, help.problems.length === 0, help.problems.join("\n       "));
    }
    await page.screenshot({ path: path.join(shots, "browser-editor.png") });

    // The flows `npm start` deploys (every example, one tab each), loaded into the editor.
    const { flows: combined } = combineExampleDir(path.join(root, "examples"));
    await page.evaluate((flow) => window.RED.view.importNodes(flow, { generateIds: false }), combined);
    const configDuplicates = () =>
      page.evaluate(() => {
        const seen = new Map();
        const dups = [];
        window.RED.nodes.eachConfig((c) => {
          if (!c._def || c.type === "global-config") return;
          const settings = JSON.stringify(Object.keys(c._def.defaults ?? {}).map((k) => [k, c[k]]));
          const key = `${c.type} ${c.z ?? ""} ${settings}`;
          if (seen.has(key)) dups.push(`${c.type} "${c.name || c.id}" (${seen.get(key)} and ${c.id})`);
          else seen.set(key, c.id);
        });
        return dups;
      });
    const portClashes = () =>
      page.evaluate(() => {
        const ports = new Map();
        const clashes = [];
        window.RED.nodes.eachConfig((c) => {
          if (c.type !== "ev-ocpp-central-system" || c.listen === "http") return;
          if (ports.has(String(c.port))) clashes.push(`port ${c.port}: ${ports.get(String(c.port))} and ${c.id}`);
          else ports.set(String(c.port), c.id);
        });
        return clashes;
      });
    let dups = await configDuplicates();
    check("npm start's flows hold each config node once (no identical copies in the Server dropdowns)", dups.length === 0, dups.join("\n       "));

    // The dialogs of our nodes as the examples saved them.
    for (const node of combined.filter((n) => typeof n.type === "string" && n.type.startsWith("ev-") && n.z && "x" in n)) {
      try {
        await page.evaluate((id) => window.RED.editor.edit(window.RED.nodes.node(id)), node.id);
        await openAndCloseDialog(page, `example node "${node.name || node.type}" (${node.type})`);
      } catch (err) {
        check(`example node "${node.name || node.type}" dialog opens`, false, err.message);
      }
    }

    // A central system added now (with the demo's on 9220) proposes a port nobody uses.
    try {
      await page.evaluate(() => window.RED.editor.editConfig("", "ev-ocpp-central-system", "_ADD_"));
      await page.waitForSelector("#node-config-input-port", { state: "visible", timeout: 10_000 });
      await page.waitForTimeout(400);
      const proposed = await page.inputValue("#node-config-input-port");
      const used = await page.evaluate(() => {
        const ports = [];
        window.RED.nodes.eachConfig((c) => void (c.type === "ev-ocpp-central-system" && ports.push(String(c.port))));
        return ports;
      });
      check(`a new central system proposes a free port (${proposed}; in use: ${used.join(", ")})`, /^\d+$/.test(proposed) && !used.includes(proposed));
      await page.evaluate(() => window.RED.tray.close());
      await page.waitForSelector(".red-ui-tray", { state: "detached", timeout: 10_000 }).catch(() => undefined);
    } catch (err) {
      check("a new central system proposes a free port", false, err.message);
    }

    // Every tab: no node, label or status (a realistic one, set on every node that shows one)
    // overlaps another, measured on the editor's own drawing.
    const tabs = combined.filter((n) => n.type === "tab");
    for (const tab of tabs) {
      const items = await page.evaluate(
        async ([tabId, statusIds]) => {
          window.RED.workspaces.show(tabId);
          for (const id of statusIds) {
            const n = window.RED.nodes.node(id);
            n.status = { fill: "red", shape: "ring", text: "unreachable, retry in 30 s" };
            n.dirtyStatus = true;
            n.dirty = true;
          }
          window.RED.view.redraw(true);
          await new Promise((r) => setTimeout(r, 300));
          const box = (el) => {
            const r = el.getBoundingClientRect();
            return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
          };
          return window.RED.nodes.filterNodes({ z: tabId }).map((n) => {
            const el = document.getElementById(n.id);
            const body = el && el.querySelector(".red-ui-flow-node");
            const status = el && el.querySelector(".red-ui-flow-node-status-group");
            return {
              id: n.id,
              label: n.name || n.type,
              body: body ? box(body) : null,
              status: status && status.style.display !== "none" ? box(status) : undefined,
            };
          });
        },
        [tab.id, combined.filter((n) => n.z === tab.id && showsStatus(n)).map((n) => n.id)],
      );
      await page.screenshot({ path: path.join(shots, `browser-tab-${tab.label.replace(/[^\w-]+/g, "_")}.png`) });
      const missing = items.filter((i) => !i.body).map((i) => i.label);
      const problems = [...missing.map((l) => `"${l}" is not drawn`), ...layoutProblems(items.filter((i) => i.body))];
      check(`tab "${tab.label}": no node, label or status overlaps another`, problems.length === 0, problems.join("\n       "));
    }

    // Import every example the way Menu > Import > Examples does (fetched from the examples
    // library route) into the running demo: ids that already exist make the editor offer
    // "import copy", which reuses an identical config node. Afterwards no config node is there
    // twice and no two central systems listen on the same port.
    // Examples that need a module this editor does not have (the Dashboard 2.0 ones) are tried in their own Node-RED below.
    const importable = exampleFiles().filter((file) => requiredModules(JSON.parse(fs.readFileSync(path.join(root, "examples", `${file}.json`), "utf8"))).filter((m) => m !== pkg.name).length === 0);
    for (const file of importable) {
      const url = `${red.url}/library/examples/flows/${pkg.name}/${file.split("/").map(encodeURIComponent).join("/")}`;
      const imported = await page.evaluate(async (u) => {
        const flow = await (await fetch(u, { headers: { Accept: "application/json" } })).json();
        const count = () => {
          let n = 0;
          window.RED.nodes.eachNode(() => void n++);
          window.RED.nodes.eachConfig(() => void n++);
          return n;
        };
        const before = count();
        try {
          window.RED.view.importNodes(flow, { addFlow: true, generateIds: false });
        } catch (err) {
          if (err.code !== "import_conflict") throw err;
          window.RED.view.importNodes(flow, { addFlow: true, generateIds: true });
        }
        const after = count();
        return { entries: flow.length, added: after - before };
      }, url);
      check(`example "${file}" imports into the editor (${imported.added} of ${imported.entries} entries added)`, imported.added > 0);
      dups = await configDuplicates();
      const clashes = await portClashes();
      check(`importing "${file}" into the running demo adds no copy of a config node and no second central system on a port`, dups.length + clashes.length === 0, [...dups, ...clashes].join("\n       "));
    }
    await page.screenshot({ path: path.join(shots, "browser-examples.png") });
    check("no browser console error or page error", consoleErrors.length === 0, consoleErrors.join("\n       "));
  } catch (err) {
    check("browser test ran to the end", false, err.stack);
    if (consoleErrors.length) console.log(consoleErrors.join("\n"));
  } finally {
    if (context) await context.close().catch(() => undefined);
    if (red) await red.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  await dashboardExamples(pkg, shots);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`\n${results.length - failed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in .tmp/)`);
  process.exitCode = failed ? 1 : 0;
}

main();
