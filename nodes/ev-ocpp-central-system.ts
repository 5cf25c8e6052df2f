/**
 * Config node: one OCPP 1.6J central system (one ocpp-rpc server) that
 * chargers connect to. Events and reply nodes register with it; the command
 * side uses its `directory` and `idTags` (see nodes/lib/ocpp/contract.ts).
 */
import os from "node:os";
import path from "node:path";
import type { Server as HttpServer } from "node:http";
import type { Node, NodeAPI, NodeDef, NodeStatus } from "node-red";
import { Lifecycle } from "./lib/node-red/lifecycle";
import { Status, StatusFanout } from "./lib/node-red/status";
import { errorMessage } from "./lib/errors";
import { CentralSystem, type Problem, type TlsMaterial } from "./lib/ocpp/core/server";
import type { ChargerDirectory } from "./lib/ocpp/core/contract";
import type { CentralSubscriber, CentralSystemNode } from "./lib/ocpp/core/node-types";
import { badPasswordEntries, parsePasswordList } from "./lib/ocpp/core/security";
import { readSettings, type CentralSettings, type CentralSystemDef } from "./lib/ocpp/core/settings";
import { routeUpgrades } from "./lib/ocpp/core/upgrade-router";
import { JsonFileStore } from "./lib/ocpp/core/json-file-store";
import { TransactionStore } from "./lib/ocpp/core/transactions";
import { IdTagList, parseIdTagList } from "./lib/ocpp/core/id-tags";
import { startAutoDiscovery } from "./lib/ocpp/v16/discovery";

interface Def extends NodeDef, CentralSystemDef {
  tls?: string;
}

interface TlsConfigNode extends Node {
  valid?: boolean;
  addTLSOptions(opts: Record<string, unknown>): Record<string, unknown>;
}

const TYPE = "ev-ocpp-central-system";

export = (RED: NodeAPI) => {
  function CentralSystemConfig(this: CentralSystemNode, def: Def) {
    RED.nodes.createNode(this, def);
    const life = new Lifecycle(this);
    const fanout = new StatusFanout();
    const subscribers = new Set<CentralSubscriber>();
    const creds = this.credentials ?? {};

    const parsedTags = parseIdTagList(creds.idTags ?? "");
    if (parsedTags.problems.length > 0) {
      this.warn(`Id-tag list: ${parsedTags.problems.map((p) => (p.line ? `line ${p.line}: ${p.message}` : p.message)).join("; ")}`);
    }
    const idTagList = new IdTagList(parsedTags.entries, { denyUnknown: def.denyUnknownTags === true });
    this.idTags = idTagList;
    let central: CentralSystem | undefined;
    let settings: CentralSettings | undefined;
    let lastProblem: string | undefined;
    const cleanup: Array<() => unknown> = [];
    const report = (problem: Problem): void => {
      lastProblem = problem.identity ? `${problem.identity}: ${problemWord(problem.message)}` : problemWord(problem.message);
      refresh();
      const takers = [...subscribers].filter((s) => !problem.identity || s.wants("error", problem.identity));
      if (takers.length === 0) this.warn(problem.message);
      for (const sub of takers) sub.onProblem(problem);
    };

    this.subscribe = (sub) => {
      subscribers.add(sub);
      fanout.add(sub.node);
      return () => {
        subscribers.delete(sub);
        fanout.remove(sub.node);
      };
    };
    this.reply = (id, answer) => (central ? central.decisions.reply(id, answer) : false);
    this.chargerUrl = () => chargerUrl(settings, central);

    const refresh = (): void => {
      if (!central || !settings) return;
      const connected = central.directory.connected;
      const parts = [`${connected} connected`];
      if (settings.port !== undefined) parts.push(`:${central.port ?? settings.port}`);
      if (lastProblem) parts.push(lastProblem);
      if (settings.profile === 0) parts.push("no security");
      else if (settings.acceptUnknown) parts.push("onboarding open");
      const text = parts.join(" · ");
      let status: NodeStatus;
      if (settings.profile === 0 || settings.acceptUnknown || lastProblem) status = Status.warning(text);
      else status = connected > 0 ? Status.connected(text) : Status.idle(text);
      // Full text, not the 32-char cut: it is the only place users see it.
      fanout.set({ ...status, text });
    };

    const start = async (): Promise<void> => {
      settings = readSettings(def);
      const passwords = parsePasswordList(creds.passwords);
      const bad = badPasswordEntries(creds.passwords);
      if (bad > 0) this.warn(`${bad} password entr${bad === 1 ? "y is" : "ies are"} not in the form chargerId:password and were ignored`);
      if (settings.profile >= 1 && passwords.size === 0 && !settings.acceptUnknown) {
        this.warn("Security profile 1/2 without any charger passwords: every charger will be refused");
      }
      const tls = settings.profile >= 2 ? readTls(RED, def.tls, settings.profile) : undefined;
      const userDir = (RED.settings as { userDir?: string }).userDir ?? path.join(os.homedir(), ".node-red");
      const file = new JsonFileStore(path.join(userDir, "evkit-ocpp", `${this.id.replace(/[^\w.-]/g, "_")}-transactions.json`));
      const transactions = await TransactionStore.open({
        persistence: file,
        onError: (err) => life.reportError(err),
      });
      cleanup.push(() => transactions.close());
      const current = settings;
      const server = new CentralSystem({
        port: current.port,
        host: current.host,
        path: current.port === undefined ? joinPath(nodeRoot(RED), current.path) : current.path,
        protocols: current.protocols,
        heartbeatIntervalS: current.heartbeatIntervalS,
        pingIntervalS: current.pingIntervalS,
        callTimeoutMs: current.callTimeoutMs,
        strict: current.strict,
        lenient: current.lenient,
        noSubprotocol: current.noSubprotocol,
        security: { profile: current.profile, passwords, strictPasswords: current.strictPasswords, tls },
        knownChargers: current.knownChargers,
        acceptUnknown: current.acceptUnknown,
        maxBadMessages: current.maxBadMessages,
        decisionTimeoutMs: current.decisionTimeoutMs,
        authorizeFallback: current.authorizeFallback,
        idTags: idTagList,
        transactions,
        advertisedPort: current.port === undefined ? Number((RED.settings as { uiPort?: number }).uiPort ?? 1880) : undefined,
        advertisedTls: current.port === undefined && !!(RED.settings as { https?: unknown }).https,
        wantsDecision: (kind, identity) => {
          for (const sub of subscribers) if (sub.decides(kind, identity)) return true;
          return false;
        },
        wantsEvent: (kind, identity) => {
          for (const sub of subscribers) if (sub.wants(kind, identity)) return true;
          return false;
        },
        // Asked for every frame: no allocation here.
        wantsRaw: () => {
          for (const sub of subscribers) if (sub.wantsRaw()) return true;
          return false;
        },
      });
      // Closed before the store so the last Stop is saved before the final flush.
      cleanup.push(() => server.close());
      server.onEvent((event, decision) => {
        if (event.kind === "connected" || event.kind === "disconnected") {
          lastProblem = undefined;
          refresh();
        }
        for (const sub of subscribers) if (sub.wants(event.kind, event.identity)) sub.onEvent(event, decision);
      });
      server.onRaw((frame) => {
        for (const sub of subscribers) if (sub.wantsRaw() && sub.wants("raw", frame.identity)) sub.onRaw(frame);
      });
      server.onProblem(report);
      if (current.port === undefined) {
        const httpServer = RED.server as unknown as HttpServer | undefined;
        if (!httpServer) throw new Error("Node-RED's HTTP server is not available; use an own port");
        const remove = routeUpgrades(httpServer, joinPath(nodeRoot(RED), current.path), (req, socket, head) =>
          server.handleUpgrade(req, socket, head),
        );
        cleanup.push(remove);
      } else {
        await server.listen();
      }
      if (life.closed) return;
      central = server;
      this.central = server;
      this.settings = current;
      lazy.start(server);
      if (current.discovery) {
        const wanted = current.discovery;
        cleanup.push(
          startAutoDiscovery(lazy.directory, {
            set: { meterValuesSampledData: wanted.meterValuesSampledData, meterValueSampleInterval: wanted.meterValueSampleInterval },
            timeoutMs: current.callTimeoutMs,
            onResult: (result) => {
              const refused = result.changes.filter((c) => c.status !== "Accepted" && c.status !== "RebootRequired");
              const text = `Charger "${result.chargerId}": ${Object.keys(result.configuration).length} settings read, features ${result.featureProfiles.join("/") || "unknown"}`;
              this.log(refused.length ? `${text}; refused: ${refused.map((c) => `${c.key}=${c.value} (${c.status})`).join(", ")}` : text);
            },
            onError: (err, identity) => report({ identity, level: "warn", message: `Discovery of "${identity}" failed: ${err.message}` }),
          }),
        );
      }
      refresh();
      this.log(`OCPP central system ready: chargers connect to ${this.chargerUrl()}`);
    };

    // The directory exists from the start so the command side can subscribe before the port is up.
    const lazy = lazyDirectory();
    this.directory = lazy.directory;
    this.ready = start().catch((err: unknown) => {
      const text = errorMessage(err);
      fanout.set(Status.error(text));
      this.error(`OCPP central system not started: ${text}`);
      throw err;
    });
    this.ready.catch(() => undefined);
    // One close handler for everything start() made, even if close arrives
    // while start() is still awaiting: it waits for start to settle first.
    life.onClose(async () => {
      await this.ready.catch(() => undefined);
      for (const step of cleanup.reverse()) {
        try {
          await step();
        } catch (err) {
          this.warn(`While stopping: ${errorMessage(err)}`);
        }
      }
      fanout.set(Status.disconnected());
    });
  }

  RED.nodes.registerType(TYPE, CentralSystemConfig as unknown as Parameters<typeof RED.nodes.registerType>[1], {
    // Id tags are "text": kept out of the flow JSON like every credential, but shown in the editor so the list can be edited.
    credentials: { passwords: { type: "password" }, idTags: { type: "text" } },
  });
};

function nodeRoot(RED: NodeAPI): string {
  const root = (RED.settings as { httpNodeRoot?: string | false }).httpNodeRoot;
  return typeof root === "string" ? root : "/";
}

function joinPath(root: string | undefined, p: string): string {
  return `/${[...(root ?? "/").split("/"), ...p.split("/")].filter(Boolean).join("/")}`;
}

function chargerUrl(settings: CentralSettings | undefined, central: CentralSystem | undefined): string {
  if (!settings || !central) return "(not started)";
  return central.exampleUrl();
}

/** The first words of a problem, for the status line. */
function problemWord(message: string): string {
  return message.length > 60 ? `${message.slice(0, 59)}…` : message;
}

function readTls(RED: NodeAPI, tlsNodeId: string | undefined, profile: number): TlsMaterial {
  const tlsNode = tlsNodeId ? (RED.nodes.getNode(tlsNodeId) as TlsConfigNode | null) : null;
  if (!tlsNode) throw new Error(`Security profile ${profile} needs a TLS configuration with the server certificate and key`);
  const opts = tlsNode.addTLSOptions({}) as Partial<TlsMaterial>;
  if (!opts.cert || !opts.key) throw new Error("The TLS configuration has no certificate and key for the server");
  if (profile === 3 && !opts.ca) throw new Error("Security profile 3 needs the CA certificate that signed the chargers' certificates (TLS configuration → CA)");
  return { cert: opts.cert, key: opts.key, ca: opts.ca, passphrase: opts.passphrase };
}

/**
 * A directory that forwards to the server once it runs, so command nodes
 * can hold it (and add connect listeners) before the port is up.
 */
function lazyDirectory(): { directory: ChargerDirectory; start(central: CentralSystem): void } {
  type Listener = Parameters<ChargerDirectory["onConnected"]>[0];
  let central: CentralSystem | undefined;
  const listeners = new Map<Listener, (() => void) | undefined>();
  return {
    start(c) {
      central = c;
      for (const listener of listeners.keys()) listeners.set(listener, c.directory.onConnected(listener));
    },
    directory: {
      link: (id) => central?.directory.link(id),
      snapshot: (id) => central?.directory.snapshot(id),
      list: () => central?.directory.list() ?? [],
      recordConfiguration: (id, cfg) => central?.directory.recordConfiguration(id, cfg),
      onConnected(listener) {
        listeners.set(listener, central?.directory.onConnected(listener));
        return () => {
          listeners.get(listener)?.();
          listeners.delete(listener);
        };
      },
    },
  };
}
