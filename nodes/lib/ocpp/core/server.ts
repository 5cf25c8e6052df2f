/**
 * The OCPP central system: one ocpp-rpc server, on its own port or on a
 * path of a shared HTTP server. It checks security during the upgrade,
 * keeps one live socket per charger identity (the newest wins), hands every
 * charger call to the adapter of the negotiated OCPP version (../v16/, …),
 * which answers with a sensible default so an empty flow works, and reports
 * what happens as normalised events. Knows nothing of Node-RED, nor of any
 * OCPP version's frames.
 */
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { RPCServer } from "ocpp-rpc";
import { errorMessage } from "../../errors";
import { lazyRequire } from "../../lazy";
import { ChargerRegistry, ConnectorHint } from "./registry";
import { DecisionBroker, type DecisionKind, type PendingDecision } from "./decisions";
import { RpcLink, type RpcHandshake, type RpcServerClient } from "./rpc-link";
import { RemoteStartGrants } from "./remote-start";
import { LoginBackoff, MAX_IDENTITY, ProblemThrottle, isAcceptableIdentity, safeText, type LoginBackoffOptions, type ThrottleOptions } from "./abuse";
import { checkBasicAuth, checkClientCertificate, type AuthOutcome, type SecurityProfile } from "./security";
import { normalizePrefix } from "./upgrade-router";
import { DEFAULT_MAX_FRAME_BYTES, guardFrames, ocpp16Validators } from "../v16/frame-guard";
import { MeterHint, type TransactionStore } from "./transactions";
import { compact, type AuthorizeEvent, type OcppEvent } from "./events";
import { ChargerStateFeed, STATE_INPUT_KINDS } from "./charger-state";
import type { ActionHandler, CentralCore, ChargerContext, ProtocolAdapter } from "./adapter";
import type { IdTagInfo } from "../v16/messages";
import { ADAPTERS } from "../protocols";
import { EXPERIMENTAL_PROTOCOLS } from "./settings";
import { readTlsFiles, watchTlsFiles, type TlsFiles } from "./tls-files";

/** An unknown charger is asking to connect (decision "connect"). */
export interface ConnectRequestEvent {
  kind: "connect";
  identity: string;
  time: string;
  remoteAddress?: string;
  protocols: string[];
}

/** A connection attempt was refused during the upgrade. */
export interface RejectedEvent {
  kind: "rejected";
  identity: string;
  time: string;
  remoteAddress?: string;
  httpStatus: number;
  reason: string;
}

/** StartTransaction asks the same question as Authorize; the flow sees it as one. */
/** 2.0.1: the same question for an id token inside a TransactionEvent. */
export type StartAuthorizeEvent = AuthorizeEvent & { source: "StartTransaction" | "TransactionEvent"; connectorId: number };

export type CentralEvent = OcppEvent | ConnectRequestEvent | RejectedEvent | StartAuthorizeEvent;

export interface RawFrame {
  identity: string;
  time: string;
  direction: "in" | "out";
  frame: string;
}

/** "error": something failed (refused charger, bad frame, invalid message); "warn": works, but should be fixed. */
export interface Problem {
  identity?: string;
  level: "warn" | "error";
  message: string;
  /** The key fact in a few words, for a status line ("CP1 refused: wrong password"). */
  status?: string;
  /** Repeats of one topic from one charger (or, for refused connections, one address) are rate-limited. */
  topic?: "refused" | "frame" | "validation" | "call";
  /** The remote address, for refused connections. */
  source?: string;
}

export interface IdTagChecker {
  check(idTag: string, now: Date): IdTagInfo;
}

export type Fallback = "list" | "accept" | "reject";

export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
  ca?: string | Buffer | Array<string | Buffer>;
  passphrase?: string;
}

export interface CentralSystemOptions {
  /** Own port; leave out to only take upgrades through handleUpgrade(). 0 picks a free port. */
  port?: number;
  host?: string;
  /** The port shown in the charger URL when chargers come in through a shared HTTP server. */
  advertisedPort?: number;
  /** The shared HTTP server is HTTPS (Node-RED with `https` in its settings): the URL is wss://. */
  advertisedTls?: boolean;
  /** Path prefix before the charger id, e.g. "/ocpp" → ws://host:port/ocpp/<chargerId>. */
  path: string;
  /** Offered subprotocols, most preferred first. */
  protocols: string[];
  /** identity → the only protocol that charger may use (refused when it does not offer it). */
  pinned?: ReadonlyMap<string, string>;
  heartbeatIntervalS: number;
  pingIntervalS: number;
  callTimeoutMs: number;
  /** Schema-validate calls in both directions (ocpp-rpc strict mode). */
  strict: boolean;
  /** Charger identities whose firmware breaks the schema: validation off for them. */
  lenient: readonly string[];
  /** What to do with a charger that offers no websocket subprotocol. */
  noSubprotocol: "reject" | "ocpp1.6";
  security: {
    profile: SecurityProfile;
    passwords: ReadonlyMap<string, string>;
    strictPasswords: boolean;
    tls?: TlsMaterial;
    /** Certificate and key from files on disk instead, read again when they change (no redeploy). */
    tlsFiles?: TlsFiles;
    /** How often the files are checked for a change (default 30 s). */
    tlsReloadIntervalMs?: number;
  };
  /** Chargers that are expected; others are "unknown". */
  knownChargers: readonly string[];
  /** Onboarding: accept unknown chargers (if no flow decides otherwise). */
  acceptUnknown: boolean;
  /** Consecutive garbage frames after which the socket is closed. */
  maxBadMessages: number;
  /** Largest websocket frame a charger may send (bytes); a larger one closes its socket (1009). Default 256 KiB. */
  maxFrameBytes?: number;
  /** Chargers remembered at most (default 1000); see ChargerRegistry.maxEntries. */
  maxChargers?: number;
  /** Limits for repeated problems and failed logins (defaults in abuse.ts; tests shorten them). */
  abuse?: { problems?: ThrottleOptions; logins?: LoginBackoffOptions };
  decisionTimeoutMs: number;
  authorizeFallback: Fallback;
  idTags: IdTagChecker;
  /** Loaded (await TransactionStore.open / load()) before the server takes connections. */
  transactions: TransactionStore;
  /** Whether a flow wants to decide this kind of question (otherwise answered at once). */
  wantsDecision?: (kind: DecisionKind, identity: string) => boolean;
  /** Whether anyone wants raw frames (they cost a string per frame). */
  wantsRaw?: () => boolean;
  /** Whether anyone wants this kind of event from this charger; events nobody wants are not built (hot path: session.updated). Default: yes. */
  wantsEvent?: (kind: CentralEvent["kind"], identity: string) => boolean;
  /** One adapter per OCPP version; default: every version this package speaks (../protocols.ts). */
  adapters?: readonly ProtocolAdapter[];
  /** At most one round of charger.state events per charger per this many ms (default 1000). */
  stateIntervalMs?: number;
}

export type EventListener = (event: CentralEvent, decision?: PendingDecision<unknown>) => void;

/** Replacements of one id within the window that mean two chargers share it. */
const SHARED_ID_REPLACEMENTS = 3;
const SHARED_ID_WINDOW_MS = 2 * 60_000;

interface ConnectionState {
  connectionId: number;
  announced: boolean;
}

/** ocpp-rpc (with ws and its ajv schema validator), loaded by the first central system (see lazy.ts). */
const loadOcppRpc = lazyRequire<typeof import("ocpp-rpc")>("ocpp-rpc");

export class CentralSystem implements CentralCore {
  readonly directory = new ChargerRegistry();
  readonly decisions = new DecisionBroker();
  /** Id tags we asked chargers to start with (RemoteStartTransaction). */
  private readonly remoteStarts = new RemoteStartGrants();
  private readonly throttle: ProblemThrottle;
  /** Sockets closed because a newer one of the same identity came. */
  private readonly replaced = new WeakSet<RpcServerClient>();
  /** Recent replacement times per identity, to notice two chargers sharing one id. */
  private readonly replacements = new Map<string, number[]>();
  private readonly warnedShared = new Set<string>();
  private readonly logins: LoginBackoff;
  private readonly rpc: InstanceType<typeof RPCServer>;
  private httpServer?: http.Server | https.Server;
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Set<RpcServerClient>();
  /** The live client per identity (the newest socket). */
  private readonly current = new Map<string, RpcServerClient>();
  private readonly eventListeners = new Set<EventListener>();
  private readonly rawListeners = new Set<(frame: RawFrame) => void>();
  private readonly problemListeners = new Set<(problem: Problem) => void>();
  private readonly prefix: string;
  private readonly adapters: ReadonlyMap<string, ProtocolAdapter>;
  private stopTlsWatch?: () => void;
  private closed = false;
  /** The common ChargerState per connector, built only while someone wants "charger.state". */
  private readonly stateFeed: ChargerStateFeed;

  constructor(private readonly options: CentralSystemOptions) {
    this.prefix = normalizePrefix(options.path);
    this.stateFeed = new ChargerStateFeed({ snapshot: (identity) => this.directory.snapshot(identity), emit: (event) => this.emit(event), minIntervalMs: options.stateIntervalMs });
    this.throttle = new ProblemThrottle(options.abuse?.problems);
    if (options.maxChargers !== undefined) this.directory.maxEntries = options.maxChargers;
    this.logins = new LoginBackoff(options.abuse?.logins);
    this.adapters = new Map((options.adapters ?? ADAPTERS).map((adapter) => [adapter.protocol, adapter]));
    this.rpc = new (loadOcppRpc().RPCServer)({
      protocols: options.protocols,
      // ocpp2.1 is never validated (ocpp-rpc's 2.1 schemas cannot be found by its own validator);
      // "": a charger that offered no subprotocol is validated as OCPP 1.6 too (unless listed as lenient).
      strictMode: options.strict ? [...options.protocols.filter((p) => !EXPERIMENTAL_PROTOCOLS.includes(p)), ""] : false,
      strictModeValidators: ocpp16Validators(),
      wssOptions: { maxPayload: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES },
      callTimeoutMs: options.callTimeoutMs,
      pingIntervalMs: options.pingIntervalS * 1000,
      maxBadMessages: options.maxBadMessages,
      // Chargers must not learn our stack traces.
      respondWithDetailedErrors: false,
      // The spec allows one outstanding CALL each way.
      callConcurrency: 1,
    });
    this.rpc.auth((accept, reject, handshake) => {
      this.authorize(handshake as RpcHandshake).then(
        (result) => {
          if (result.ok) accept(result.session, result.protocol);
          else reject(result.status, result.reason);
        },
        (err: unknown) => {
          this.problem({ identity: handshake.identity, level: "error", message: `Could not check charger: ${errorMessage(err)}` });
          reject(500, "Internal error");
        },
      );
    });
    this.rpc.on("client", (client: RpcServerClient) => this.onClient(client));
    this.rpc.on("error", (err: unknown) => this.problem({ level: "error", message: `OCPP server: ${errorMessage(err)}` }));
    this.directory.describe = (protocol, configuration) => this.adapters.get(protocol || "ocpp1.6")?.describe?.(configuration);
    this.directory.onListenerError = (err) => this.problem({ level: "error", message: `A connect listener failed: ${errorMessage(err)}` });
  }

  // --- listeners -----------------------------------------------------------

  onEvent(listener: EventListener): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onRaw(listener: (frame: RawFrame) => void): () => void {
    this.rawListeners.add(listener);
    return () => this.rawListeners.delete(listener);
  }

  onProblem(listener: (problem: Problem) => void): () => void {
    this.problemListeners.add(listener);
    return () => this.problemListeners.delete(listener);
  }

  // --- transport -----------------------------------------------------------

  /** Starts the own port (if configured); resolves with the bound port. */
  async listen(): Promise<number | undefined> {
    const { port, host, security } = this.options;
    if (port === undefined) return undefined;
    const onRequest = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
      res.writeHead(426, { "Content-Type": "text/plain; charset=utf-8", Connection: "close" });
      res.end(`This is an OCPP central system (OCPP ${this.options.protocols.join(", ")}). Point your charger at ${this.exampleUrl()}\n`);
    };
    let server: http.Server | https.Server;
    if (security.profile >= 2) {
      const tls = security.tlsFiles ? readTlsFiles(security.tlsFiles) : security.tls;
      if (!tls) throw new Error(`Security profile ${security.profile} needs a TLS certificate and key`);
      server = https.createServer(
        {
          ...tls,
          minVersion: "TLSv1.2",
          requestCert: security.profile === 3,
          // Checked during the upgrade instead, so a refused charger is reported with a reason.
          rejectUnauthorized: false,
        },
        onRequest,
      );
    } else {
      server = http.createServer(onRequest);
    }
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head));
    server.on("tlsClientError", (err: Error) => this.problem({ level: "error", message: `TLS handshake failed: ${err.message}` }));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          err.code === "EADDRINUSE"
            ? new Error(`Port ${port} is already in use by another program or node; choose another port`)
            : err.code === "EACCES"
              ? new Error(`Not allowed to listen on port ${port}; use a port above 1024`)
              : err,
        );
      };
      server.once("error", onError);
      server.listen({ port, host }, () => {
        server.off("error", onError);
        resolve();
      });
    });
    server.on("error", (err: Error) => this.problem({ level: "error", message: `OCPP port: ${err.message}` }));
    this.httpServer = server;
    if (security.profile >= 2 && security.tlsFiles && server instanceof https.Server) {
      const files = security.tlsFiles;
      const tlsServer = server;
      this.stopTlsWatch = watchTlsFiles(
        files,
        security.tlsReloadIntervalMs ?? 30_000,
        (material) => {
          // New connections get the new certificate; open ones keep theirs.
          tlsServer.setSecureContext({ ...material, minVersion: "TLSv1.2" });
        },
        (err) => this.problem({ level: "error", message: `${err.message}; the previous certificate stays in use` }),
      );
    }
    const address = server.address();
    return typeof address === "object" && address ? address.port : port;
  }

  get port(): number | undefined {
    const address = this.httpServer?.address();
    return typeof address === "object" && address ? address.port : undefined;
  }

  /** Hands a websocket upgrade (from our own port or a shared HTTP server) to ocpp-rpc. */
  handleUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.rpc.handleUpgrade(request, socket as Socket, head).catch((err: unknown) => {
      // ocpp-rpc throws before its own error handling for some URLs (a charger id that is not valid
      // percent-encoding); without this the connection would hang until the charger gives up.
      const source = request.socket?.remoteAddress;
      this.problem({ level: "error", topic: "refused", source, message: `Refused a connection to ${safeText(request.url ?? "?", 120)}: ${safeText(errorMessage(err), 120)}` });
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  exampleUrl(host = "<host>"): string {
    const scheme = this.options.security.profile >= 2 || this.options.advertisedTls ? "wss" : "ws";
    const port = this.port ?? this.options.advertisedPort ?? this.options.port ?? "<port>";
    return `${scheme}://${host}:${port}${this.prefix}/<chargerId>`;
  }

  /**
   * Closes one charger's live socket (a newer connection on another instance
   * of the cluster took over); its events stop with the close.
   */
  closeCharger(identity: string, code = 4000, reason = "Replaced by a newer connection"): boolean {
    const client = this.current.get(identity);
    if (!client) return false;
    void client.close({ code, reason }).catch(() => undefined);
    return true;
  }

  /** Closes every charger socket and the port; resolves when the port is free again. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTlsWatch?.();
    this.stateFeed.close();
    this.decisions.flush();
    const clients = [...this.clients];
    await Promise.race([
      Promise.allSettled(clients.map((c) => c.close({ code: 1001, reason: "Central system restarting" }))),
      new Promise((resolve) => setTimeout(resolve, 1000).unref()),
    ]);
    for (const client of clients) void client.close({ force: true }).catch(() => undefined);
    await this.rpc.close({ code: 1001, force: true }).catch(() => undefined);
    const server = this.httpServer;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of this.sockets) socket.destroy();
        if ("closeAllConnections" in server) server.closeAllConnections();
      });
    }
    this.directory.clear();
    this.eventListeners.clear();
    this.rawListeners.clear();
    this.problemListeners.clear();
  }

  // --- the upgrade ---------------------------------------------------------

  private async authorize(
    hs: RpcHandshake,
  ): Promise<
    { ok: true; session: Record<string, unknown>; protocol: string | false | undefined } | { ok: false; status: number; reason: string }
  > {
    // Whatever a peer put into its URL is made safe before it reaches an event, a log or a status.
    const shown = safeText(hs.identity);
    const address = hs.remoteAddress ?? "?";
    const refuse = (status: number, reason: string): { ok: false; status: number; reason: string } => {
      this.emit(compact<RejectedEvent>({ kind: "rejected", identity: shown, time: new Date().toISOString(), remoteAddress: hs.remoteAddress, httpStatus: status, reason }));
      this.problem({
        identity: shown,
        level: "error",
        topic: "refused",
        source: address,
        status: `${shown || "?"} refused: ${reason}`,
        message: `Refused charger "${shown}" from ${address}: ${reason}`,
      });
      return { ok: false, status, reason };
    };
    if (normalizePrefix(hs.endpoint) !== this.prefix) {
      return refuse(404, `wrong path "${safeText(hs.endpoint, 80)}"; the URL must be ${this.exampleUrl()}`);
    }
    if (!hs.identity) return refuse(400, `no charger id at the end of the URL (${this.exampleUrl()})`);
    if (!isAcceptableIdentity(hs.identity)) return refuse(400, `charger id not valid: it must be 1-${MAX_IDENTITY} characters without control characters`);

    let protocol: string | false | undefined;
    if (hs.protocols.size === 0) {
      if (this.options.noSubprotocol === "reject") return refuse(400, "no OCPP subprotocol offered (Sec-WebSocket-Protocol)");
      protocol = false;
    } else {
      const offered = [...hs.protocols].map((p) => safeText(p, 20)).slice(0, 5).join(", ");
      const pin = this.options.pinned?.get(hs.identity);
      if (pin && !hs.protocols.has(pin)) return refuse(400, `pinned to ${pin}, but offered only ${offered}`);
      // Our preference order, not the charger's: the first offered protocol of ours (or the pinned one).
      protocol = pin ?? this.options.protocols.find((p) => hs.protocols.has(p));
      if (!protocol) return refuse(400, `protocol ${offered} not supported (only ${this.options.protocols.join(", ")})`);
    }

    const known = this.options.knownChargers.includes(hs.identity) || this.options.security.passwords.has(hs.identity);
    const { profile } = this.options.security;
    const checks = profile === 3 || ((profile === 1 || profile === 2) && known) || !known;
    // A brake on guessing: after repeated failures from this address, each attempt waits before it is checked.
    const delay = checks ? this.logins.delayMs(address) : 0;
    if (delay > 0) {
      if (!this.logins.hold(address)) return refuse(429, `too many failed logins from ${address}; wait ${Math.ceil(delay / 1000)} s`);
      try {
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      } finally {
        this.logins.release(address);
      }
      if (this.closed) return { ok: false, status: 503, reason: "Central system stopping" };
    }
    let outcome: AuthOutcome = { ok: true };
    if (profile === 3) outcome = checkClientCertificate(hs.request, hs.identity);
    else if ((profile === 1 || profile === 2) && known) {
      outcome = checkBasicAuth(this.options.security, hs.identity, hs.password, !!hs.headers.authorization);
    }
    if (!outcome.ok) {
      this.logins.failed(address);
      return refuse(outcome.status, outcome.reason);
    }
    if (outcome.warning) this.problem({ identity: hs.identity, level: "warn", message: `Charger "${hs.identity}": ${outcome.warning}` });

    if (!known) {
      const accepted = await this.decideUnknown(hs);
      if (!accepted) {
        this.logins.failed(address);
        return refuse(401, `unknown charger "${shown}" (onboarding is off; add it to the known chargers)`);
      }
      if (profile === 1 || profile === 2) {
        this.problem({ identity: hs.identity, level: "warn", message: `Onboarding: accepted unknown charger "${hs.identity}" without a password check` });
      }
    }
    if (checks) this.logins.succeeded(address);
    const lenient = this.options.lenient.includes(hs.identity);
    return { ok: true, session: { lenient }, protocol };
  }

  private async decideUnknown(hs: RpcHandshake): Promise<boolean> {
    const fallback = (): boolean => this.options.acceptUnknown;
    if (!this.options.wantsDecision?.("connect", hs.identity)) return fallback();
    const decision = this.decisions.ask<boolean>("connect", hs.identity, this.options.decisionTimeoutMs, parseYesNo, fallback);
    this.emit(
      compact<ConnectRequestEvent>({
        kind: "connect",
        identity: hs.identity,
        time: new Date().toISOString(),
        remoteAddress: hs.remoteAddress,
        protocols: [...hs.protocols],
      }),
      decision,
    );
    return (await decision.answer).value;
  }

  // --- a connected charger -------------------------------------------------

  private onClient(client: RpcServerClient): void {
    const { identity } = client;
    if (this.closed) {
      void client.close({ force: true }).catch(() => undefined);
      return;
    }
    if (client.session.lenient) client.reconfigure({ strictMode: false });
    guardFrames(client, {
      maxBadMessages: this.options.maxBadMessages,
      checkDepth: !this.options.strict || client.session.lenient === true,
      onBadFrame: ({ reason }) => {
        const count = this.directory.countBadMessage(identity);
        this.problem({
          identity,
          level: "error",
          topic: "frame",
          status: `${identity} sent a bad frame: ${reason}`,
          message: `Charger "${identity}" sent a frame that is not OCPP-J (${count} so far): ${reason}`,
        });
      },
    });
    this.clients.add(client);

    const previous = this.directory.link(identity);
    const stale = this.current.get(identity);
    this.current.set(identity, client);
    const link = new RpcLink(client, this.options.callTimeoutMs, (action, payload, answer) => {
      if (action === "RemoteStartTransaction") this.remoteStarts.record(identity, payload, answer);
    });
    const state: ConnectionState = {
      connectionId: this.directory.attach(link, { remoteAddress: client.handshake.remoteAddress, protocol: client.protocol || undefined }),
      announced: false,
    };
    if (stale) {
      // Newest wins: a charger that reconnects after a network blip often
      // leaves a half-open socket behind that would otherwise swallow calls.
      // ws terminates it after its own close timeout if the peer is gone.
      this.replaced.add(stale);
      this.noteReplacement(identity, client.handshake.remoteAddress, stale.handshake.remoteAddress);
      void stale.close({ code: 4000, reason: "Replaced by a newer connection" }).catch(() => undefined);
    }

    client.on("close", ({ code, reason }: { code?: number; reason?: string }) => {
      this.clients.delete(client);
      if (this.current.get(identity) === client) this.current.delete(identity);
      const time = new Date().toISOString();
      if (this.directory.detach(identity, state.connectionId)) {
        this.emit(compact({ kind: "disconnected" as const, identity, time, code, reason: reason || undefined }));
      } else if (this.replaced.delete(client)) {
        // The flow learns that this socket is gone; the charger stays connected on its newer one.
        this.emit({ kind: "disconnected", identity, time, code, reason: "replaced", replaced: true });
      }
    });
    client.on("ping", ({ rtt }: { rtt: number }) => {
      this.directory.setRtt(identity, rtt);
      this.emit({ kind: "rtt", identity, time: new Date().toISOString(), rttMs: rtt });
    });
    client.on("strictValidationFailure", (info: { method: string; outbound: boolean; isCall: boolean; error: unknown }) => {
      const what = info.outbound ? (info.isCall ? `our ${info.method} call` : `our answer to ${info.method}`) : `a ${info.method} ${info.isCall ? "call" : "answer"}`;
      this.problem({
        identity,
        level: "error",
        topic: "validation",
        status: `${identity}: invalid ${info.method}`,
        message: `Charger "${identity}": ${what} failed schema validation (${safeText(errorMessage(info.error), 160)}). If its firmware is known to be non-conformant, add it to the lenient chargers.`,
      });
    });
    client.on("message", ({ message, outbound }: { message: string | Buffer; outbound: boolean }) => {
      if (this.rawListeners.size === 0 || (this.options.wantsRaw && !this.options.wantsRaw())) return;
      const frame: RawFrame = { identity, time: new Date().toISOString(), direction: outbound ? "out" : "in", frame: String(message) };
      for (const listener of this.rawListeners) listener(frame);
    });

    // A charger that offered no subprotocol is treated as 1.6 (the setting "noSubprotocol").
    const adapter = this.adapters.get(client.protocol || "ocpp1.6");
    const charger: ChargerContext = {
      identity,
      protocol: client.protocol || undefined,
      announce: () => this.announce(identity, state),
      meterHint: new MeterHint(),
      connectorHint: new ConnectorHint(),
    };
    if (adapter) {
      for (const [action, handler] of Object.entries(adapter.handlers)) {
        client.handle(action, ({ params }) => this.dispatch(action, handler, charger, params));
      }
    }

    this.emit(
      compact({
        kind: "connected" as const,
        identity,
        time: new Date().toISOString(),
        remoteAddress: client.handshake.remoteAddress,
        protocol: client.protocol || undefined,
        replacedOld: previous !== undefined || undefined,
      }),
    );
    // A charger that reconnects without booting again is usable right away.
    if (this.directory.hasBooted(identity)) this.announce(identity, state);
    adapter?.onConnected?.(this, charger);
  }

  /** Runs one adapter handler; whatever goes wrong becomes a CALLERROR (see callFailed). */
  private dispatch(action: string, handler: ActionHandler, charger: ChargerContext, params: unknown): unknown {
    this.directory.touch(charger.identity);
    try {
      const answer = handler(this, charger, params, new Date());
      return answer instanceof Promise ? answer.catch((err: unknown) => this.callFailed(action, charger.identity, err)) : answer;
    } catch (err) {
      return this.callFailed(action, charger.identity, err);
    }
  }

  /**
   * Two live chargers with one id knock each other off in a loop (each reconnects when replaced).
   * One charger that reconnects after a blip replaces its dead socket now and then. Several
   * replacements within two minutes is the first: said once per id.
   */
  private noteReplacement(identity: string, newAddress: string | undefined, oldAddress: string | undefined): void {
    const now = Date.now();
    const times = (this.replacements.get(identity) ?? []).filter((t) => now - t < SHARED_ID_WINDOW_MS);
    times.push(now);
    this.replacements.delete(identity);
    this.replacements.set(identity, times);
    if (this.replacements.size > 1000) this.replacements.delete(this.replacements.keys().next().value as string);
    if (times.length < SHARED_ID_REPLACEMENTS || this.warnedShared.has(identity) || this.warnedShared.size >= 1000) return;
    this.warnedShared.add(identity);
    const where = newAddress && oldAddress && newAddress !== oldAddress ? ` (from ${oldAddress} and ${newAddress})` : "";
    this.problem({
      identity,
      level: "warn",
      status: `two chargers use the id ${identity}`,
      message: `Two chargers use the id "${identity}"${where}: each connection replaced a live one ${times.length} times within ${SHARED_ID_WINDOW_MS / 60_000} minutes. Give each charger its own id.`,
    });
  }

  private announce(identity: string, state: ConnectionState): void {
    if (state.announced || !this.directory.isCurrent(identity, state.connectionId)) return;
    state.announced = true;
    this.directory.announce(identity);
  }

  /** A call we could not answer: the charger's own errors pass through; ours are reported and answered with InternalError. */
  private callFailed(action: string, identity: string, err: unknown): never {
    if ((err as { rpcErrorCode?: string }).rpcErrorCode) throw err;
    // Our failure, not the charger's: tell the user, and give the charger the code that says so.
    this.problem({ identity, level: "error", topic: "call", message: `Could not answer ${action} from "${identity}": ${errorMessage(err)}` });
    throw loadOcppRpc().createRPCError("InternalError", `The central system could not process ${action}`);
  }

  get heartbeatIntervalS(): number {
    return this.options.heartbeatIntervalS;
  }

  get transactions(): TransactionStore {
    return this.options.transactions;
  }

  wants(kind: CentralEvent["kind"], identity: string): boolean {
    const wants = this.options.wantsEvent;
    if (!wants) return true;
    // charger.state is built from these: they are needed while anyone wants it, even if nobody wants them as such.
    return wants(kind, identity) || (STATE_INPUT_KINDS.has(kind) && this.wantsState(identity));
  }

  /** Opt-in: only when a flow asks for "charger.state" by name (never by default). */
  private wantsState(identity: string): boolean {
    return this.options.wantsEvent?.("charger.state", identity) === true;
  }

  /** A command applied a limit (A per phase) to a charger (connector 0 / undefined: all of it): the offered current of its charger.state. */
  recordLimit(identity: string, connectorId: number | undefined, amps: number): void {
    if (this.wantsState(identity)) this.stateFeed.noteLimit(identity, connectorId, amps);
  }

  checkIdTag(idTag: string, now: Date): IdTagInfo {
    try {
      return this.options.idTags.check(idTag, now);
    } catch (err) {
      this.problem({ level: "error", message: `Id-tag check failed: ${errorMessage(err)}` });
      return { status: "Invalid" };
    }
  }

  private fallbackIdTag(idTag: string, now: Date): IdTagInfo {
    switch (this.options.authorizeFallback) {
      case "accept":
        return { status: "Accepted" };
      case "reject":
        return { status: "Invalid" };
      default:
        return this.checkIdTag(idTag, now);
    }
  }

  async decideIdTag(kind: "authorize" | "start", identity: string, event: AuthorizeEvent | StartAuthorizeEvent, idTag: string): Promise<IdTagInfo> {
    const now = new Date();
    // The id tag we asked this charger to start with is accepted, whatever the list says (issue 13 item 3).
    if (this.remoteStarts.honour(identity, idTag, kind === "start", now.getTime())) {
      this.emit({ ...event, remoteStart: true });
      return { status: "Accepted" };
    }
    if (!this.options.wantsDecision?.(kind, identity)) {
      this.emit(event);
      return this.fallbackIdTag(idTag, now);
    }
    const decision = this.decisions.ask<IdTagInfo>(kind, identity, this.options.decisionTimeoutMs, parseIdTagInfo, () => this.fallbackIdTag(idTag, now));
    this.emit(event, decision);
    return (await decision.answer).value;
  }

  emit(event: CentralEvent, decision?: PendingDecision<unknown>): void {
    for (const listener of this.eventListeners) {
      try {
        listener(event, decision);
      } catch (err) {
        this.problem({ identity: event.identity, level: "error", message: `An event listener failed: ${errorMessage(err)}` });
      }
    }
    if (STATE_INPUT_KINDS.has(event.kind) && this.wantsState(event.identity)) this.stateFeed.note(event as OcppEvent);
  }

  problem(problem: Problem): void {
    if (problem.topic) {
      // One line per kind per charger (or address) and minute, and the count of the rest with the next one.
      const suppressed = this.throttle.admit(`${problem.topic}|${problem.source ?? problem.identity ?? ""}`);
      if (suppressed === undefined) return;
      if (suppressed > 0) problem = { ...problem, message: `${problem.message} (${suppressed} similar suppressed)` };
    }
    for (const listener of this.problemListeners) {
      try {
        listener(problem);
      } catch {
        // A failing problem listener has nowhere left to report to.
      }
    }
  }
}

const ID_TAG_STATUSES = ["Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"];

/**
 * What a flow may answer to an Authorize/StartTransaction question: true or
 * false, a status word, `{status}`, or a full `{idTagInfo}`.
 */
export function parseIdTagInfo(reply: unknown): IdTagInfo {
  if (reply === true) return { status: "Accepted" };
  if (reply === false) return { status: "Invalid" };
  if (typeof reply === "string") {
    const status = ID_TAG_STATUSES.find((s) => s.toLowerCase() === reply.trim().toLowerCase());
    if (status) return { status: status as IdTagInfo["status"] };
  }
  if (reply && typeof reply === "object") {
    const obj = reply as { idTagInfo?: unknown; status?: unknown; expiryDate?: unknown; parentIdTag?: unknown };
    if (obj.idTagInfo && typeof obj.idTagInfo === "object") return parseIdTagInfo(obj.idTagInfo);
    if (typeof obj.status === "string") {
      const base = parseIdTagInfo(obj.status);
      return compact({
        ...base,
        expiryDate: typeof obj.expiryDate === "string" ? obj.expiryDate : undefined,
        parentIdTag: typeof obj.parentIdTag === "string" ? obj.parentIdTag : undefined,
      });
    }
  }
  throw new Error(
    `Cannot read the answer ${JSON.stringify(reply)}: send true/false, one of ${ID_TAG_STATUSES.join("/")}, or {"status": "Accepted"}`,
  );
}

/** What a flow may answer to "may this unknown charger connect?". */
export function parseYesNo(reply: unknown): boolean {
  if (typeof reply === "boolean") return reply;
  if (typeof reply === "string") {
    const word = reply.trim().toLowerCase();
    if (["accept", "accepted", "yes", "true", "allow"].includes(word)) return true;
    if (["reject", "rejected", "no", "false", "deny"].includes(word)) return false;
  }
  if (reply && typeof reply === "object" && "accept" in reply) return parseYesNo((reply as { accept: unknown }).accept);
  throw new Error(`Cannot read the answer ${JSON.stringify(reply)}: send true (accept) or false (reject)`);
}
