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
import { transactionFile } from "./lib/ocpp/core/session-file";
import { TransactionStore } from "./lib/ocpp/core/transactions";
import { IdTagList, parseIdTagList } from "./lib/ocpp/core/id-tags";
import { startAutoDiscovery } from "./lib/ocpp/v16/discovery";
import { ClusterBridge } from "./lib/cluster/bridge";
import type { ClusterEvent } from "./lib/cluster/backplane";
import type { ClusterNode } from "./lib/cluster/node-types";

interface Def extends NodeDef, CentralSystemDef {
  tls?: string;
  /** Certificate and key files on disk (reloaded when they change), instead of a TLS configuration. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** An ev-ocpp-cluster config node: one central system over several Node-RED instances. */
  cluster?: string;
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
    const clusterNode = def.cluster ? (RED.nodes.getNode(def.cluster) as ClusterNode | null) : null;
    let clusterText: string | undefined;
    let clusterDown = false;
    const clusterListeners = new Set<(event: ClusterEvent) => void>();
    let bridge: ClusterBridge | undefined;
    let offClusterEvents: (() => void) | undefined;
    const followClusterEvents = (): void => {
      if (!bridge || offClusterEvents || clusterListeners.size === 0) return;
      offClusterEvents = bridge.onClusterEvent((event) => {
        for (const listener of clusterListeners) listener(event);
      });
    };
    this.onClusterEvent = (listener) => {
      clusterListeners.add(listener);
      followClusterEvents();
      return () => {
        clusterListeners.delete(listener);
        if (clusterListeners.size === 0 && offClusterEvents) {
          offClusterEvents();
          offClusterEvents = undefined;
        }
      };
    };
    const report = (problem: Problem): void => {
      lastProblem = problemWord(problem.status ?? (problem.identity ? `${problem.identity}: ${problem.message}` : problem.message));
      refresh();
      // Once, however many events nodes listen: the first that wants it logs it and raises it for Catch nodes.
      const taker = [...subscribers].find((s) => !problem.identity || s.wants("error", problem.identity));
      if (taker) taker.onProblem(problem);
      else if (problem.level === "warn") this.warn(problem.message);
      else this.error(problem.message);
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
      // Key fact first: the latest problem, else how many chargers are connected.
      const parts = lastProblem ? [lastProblem, `${connected} connected`] : [`${connected} connected`];
      if (settings.port !== undefined) parts.push(`:${central.port ?? settings.port}`);
      if (clusterText) parts.push(clusterText);
      const onboardingOpen = settings.profile > 0 && settings.acceptUnknown;
      if (settings.profile === 0) parts.push("no security");
      else if (onboardingOpen) parts.push("onboarding open");
      const text = parts.join(" · ");
      let status: NodeStatus;
      // Profile 0 is a choice (a trusted home network), not a fault: a healthy server shows no warning colour.
      // Onboarding open with passwords is a hole in the chosen protection, so it stays a warning; so does a cluster whose broker is away.
      if (onboardingOpen || lastProblem || clusterDown) status = Status.warning(text);
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
      const certFile = def.tlsCertFile?.trim();
      const keyFile = def.tlsKeyFile?.trim();
      if (settings.profile >= 2 && !!certFile !== !!keyFile) throw new Error("Give both the TLS certificate file and the key file (or neither, and a TLS configuration)");
      const tlsFiles = settings.profile === 2 && certFile && keyFile ? { certFile, keyFile } : undefined;
      const tls = settings.profile >= 2 && !tlsFiles ? readTls(RED, def.tls, settings.profile) : undefined;
      const userDir = (RED.settings as { userDir?: string }).userDir ?? path.join(os.homedir(), ".node-red");
      const file = transactionFile(path.join(userDir, "evkit-ocpp", `${this.id.replace(/[^\w.-]/g, "_")}-transactions.json`), (err) => life.reportError(err));
      if (def.cluster && !clusterNode) throw new Error("The OCPP cluster chosen in this central system is missing; choose one, or none");
      if (clusterNode && !clusterNode.backplane) throw new Error(`The OCPP cluster is not running: ${clusterNode.failure ?? "see its error in the debug sidebar"}`);
      const stripe = clusterNode?.ids;
      const transactions = await TransactionStore.open({
        persistence: file,
        onError: (err) => life.reportError(err),
        // In a cluster every instance hands out only its own stripe of 1.6 transaction ids.
        allocateId: stripe ? (last) => stripe.next(last) : undefined,
      });
      cleanup.push(() => transactions.close());
      const current = settings;
      const server = new CentralSystem({
        port: current.port,
        host: current.host,
        path: current.port === undefined ? joinPath(nodeRoot(RED), current.path) : current.path,
        protocols: current.protocols,
        pinned: current.pinned,
        heartbeatIntervalS: current.heartbeatIntervalS,
        pingIntervalS: current.pingIntervalS,
        callTimeoutMs: current.callTimeoutMs,
        strict: current.strict,
        lenient: current.lenient,
        noSubprotocol: current.noSubprotocol,
        security: { profile: current.profile, passwords, strictPasswords: current.strictPasswords, tls, tlsFiles },
        knownChargers: current.knownChargers,
        acceptUnknown: current.acceptUnknown,
        maxBadMessages: current.maxBadMessages,
        maxFrameBytes: current.maxFrameKiB * 1024,
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
      const backplane = clusterNode?.backplane;
      if (clusterNode && backplane) {
        const joined = new ClusterBridge(server, backplane, {
          publishEvents: clusterNode.settings?.publishEvents !== false,
          callTimeoutMs: current.callTimeoutMs,
          onError: (text) => this.warn(text),
        });
        bridge = joined;
        // Closed before the server: the chargers' owner records are withdrawn first.
        cleanup.push(() => joined.close());
        cleanup.push(
          clusterNode.onStatus((status, clusterSettings) => {
            clusterDown = !status.connected;
            const name = clusterSettings ? `${clusterSettings.cluster}/${clusterSettings.instance}` : "cluster";
            clusterText = status.connected ? `${name}: ${status.instances} instances` : `${name}: broker offline${status.error ? ` (${status.error})` : ""}`;
            refresh();
          }),
        );
        followClusterEvents();
      }
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
      lazy.start(server, bridge);
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
function lazyDirectory(): { directory: ChargerDirectory; start(central: CentralSystem, bridge?: ClusterBridge): void } {
  type Listener = Parameters<ChargerDirectory["onConnected"]>[0];
  type Subscription = { reachable: boolean; off?: () => void };
  let central: CentralSystem | undefined;
  /** With a cluster: this instance's chargers first, then those held by other instances. */
  let view: ChargerDirectory | undefined;
  const listeners = new Map<Listener, Subscription>();
  const subscribe = (listener: Listener, subscription: Subscription): void => {
    if (!central || !view) return;
    subscription.off = subscription.reachable && view.onReachable ? view.onReachable(listener) : central.directory.onConnected(listener);
  };
  const add = (listener: Listener, reachable: boolean): (() => void) => {
    const subscription: Subscription = { reachable };
    listeners.set(listener, subscription);
    subscribe(listener, subscription);
    return () => {
      subscription.off?.();
      listeners.delete(listener);
    };
  };
  return {
    start(c, bridge) {
      central = c;
      view = bridge ? bridge.directory(c.directory) : c.directory;
      for (const [listener, subscription] of listeners) subscribe(listener, subscription);
    },
    directory: {
      link: (id) => view?.link(id),
      snapshot: (id) => view?.snapshot(id),
      list: () => view?.list() ?? [],
      recordConfiguration: (id, cfg) => central?.directory.recordConfiguration(id, cfg),
      // GetBaseReport from a command node waits for the last NotifyReport part (2.0.1); reports arrive only once the server runs.
      // In a cluster the view also hears of reports of chargers held by other instances.
      onReportDone: (listener) => view?.onReportDone?.(listener) ?? central?.directory.onReportDone(listener) ?? (() => undefined),
      recordLimit: (id, connectorId, amps) => central?.recordLimit(id, connectorId, amps),
      onConnected: (listener) => add(listener, false),
      onReachable: (listener) => add(listener, true),
    },
  };
}
