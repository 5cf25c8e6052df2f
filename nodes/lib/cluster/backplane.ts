/**
 * One logical OCPP central system over several Node-RED instances, through
 * an MQTT v5 broker the user already runs. The instance that holds a
 * charger's websocket owns it: it publishes a retained owner record,
 * subscribes to the charger's command topic, runs the OCPP calls other
 * instances ask for and answers on their reply topic (MQTT 5 response topic
 * and correlation data). Events go out on per-charger topics; sessions and
 * the latest charger state as retained records, so late joiners and the next
 * owner see them.
 *
 * This module knows nothing of Node-RED or of OCPP versions: it moves
 * opaque CALLs and events between instances.
 */
import { randomBytes } from "node:crypto";
import type { IClientOptions, IPublishPacket, MqttClient } from "mqtt";
import { BackplaneUnavailableError, ChargerNotInClusterError, ClusterTimeoutError, OwnerLostError, RemoteCallError } from "./errors";
import { compareOwners, parseNodeState, parseOwner, type NodeStateRecord, type OwnerRecord } from "./records";
import { ClusterTopics } from "./topics";

export interface BackplaneOptions {
  cluster: string;
  instance: string;
  /** This instance's number; another online instance with the same number is warned about (1.6 transaction ids would collide). */
  index?: number;
  /** First topic level, "ocpp" by default. */
  rootPrefix?: string;
  /** Opens the MQTT connection with the options the backplane needs (protocol 5, last will, client id). */
  connect: (options: IClientOptions) => MqttClient;
  /** Events kept while the broker is away; the oldest are dropped (and counted) beyond it. */
  maxQueuedEvents?: number;
  /** Larger messages from the broker are ignored. */
  maxPayloadBytes?: number;
  /** Commands to other instances waiting for an answer at once. */
  maxPendingRequests?: number;
  /** Retained records of other instances kept in memory (charger states and sessions). */
  maxCachedRecords?: number;
  /**
   * Events queued while the broker was away are sent this long after the
   * connection is back, so instances that reconnect at about the same time
   * have subscribed again (a broker restarted without persistence forgets
   * every subscription). Default 2.5 s, a little more than the reconnect period.
   */
  flushDelayMs?: number;
  reconnectPeriodMs?: number;
  warn?: (text: string) => void;
  now?: () => number;
}

/** Runs a CALL on a charger this instance holds; resolves with the CALLRESULT payload. */
export type OwnedCallHandler = (identity: string, action: string, payload: unknown, timeoutMs: number) => Promise<unknown>;

export interface ClusterEvent {
  /** Instance that holds the charger and published the event. */
  origin: string;
  identity: string;
  kind: string;
  /** Unique per event (origin, start of that instance, sequence): consumers drop repeats of QoS 1. */
  eventId: string;
  event: unknown;
}

/** A retained session record and the instance that wrote it. */
export interface SessionRecord {
  origin: string;
  session: unknown;
}

export interface BackplaneStatus {
  connected: boolean;
  /** Instances seen online, this one included. */
  instances: number;
  queuedEvents: number;
  droppedEvents: number;
  error?: string;
}

interface Pending {
  identity: string;
  instance: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

interface CommandMessage {
  target: string;
  action: string;
  payload: unknown;
  timeoutMs: number;
  from: string;
  /** The reply address again, for brokers without MQTT 5 properties. */
  replyTo: string;
  corr: string;
}

interface ReplyMessage {
  corr?: string;
  ok: boolean;
  result?: unknown;
  error?: { name?: string; message?: string; rpcErrorCode?: string };
}

const DEFAULTS = {
  maxQueuedEvents: 10_000,
  maxPayloadBytes: 256 * 1024,
  maxPendingRequests: 1_000,
  maxCachedRecords: 100_000,
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJsonObject(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(payload.toString("utf8"));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A Map that forgets its oldest entries beyond `max`, so a busy broker cannot grow it without end. */
class BoundedMap<V> extends Map<string, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(key: string, value: V): this {
    if (this.has(key)) this.delete(key);
    super.set(key, value);
    if (this.size > this.max) {
      const oldest = this.keys().next().value;
      if (oldest !== undefined) this.delete(oldest);
    }
    return this;
  }
}

export class ClusterBackplane {
  readonly topics: ClusterTopics;
  readonly instance: string;
  readonly cluster: string;
  private readonly options: Required<Omit<BackplaneOptions, "rootPrefix" | "warn" | "now" | "connect" | "index">>;
  private readonly index: number | undefined;
  private readonly warnedIndex = new Set<string>();
  private flushTimer?: NodeJS.Timeout;
  private readonly warn: (text: string) => void;
  private readonly now: () => number;
  private readonly connectFn: (options: IClientOptions) => MqttClient;
  private readonly boot = randomBytes(6).toString("hex");
  private client?: MqttClient;
  private connected = false;
  private stopped = false;
  private lastError?: string;

  /** Charger identity → instance → its owner record. */
  private readonly owners = new Map<string, Map<string, OwnerRecord>>();
  private readonly nodes = new Map<string, NodeStateRecord>();
  /** Chargers this instance holds. */
  private readonly mine = new Map<string, OwnerRecord>();
  private readonly pending = new Map<string, Pending>();
  private readonly queue: { topic: string; payload: string; retain: boolean }[] = [];
  /** Latest retained charger state per charger held here, waiting for the broker. */
  private readonly pendingStates = new Map<string, string>();
  private droppedEvents = 0;
  private eventSeq = 0;
  private readonly chargerStates: BoundedMap<unknown>;
  private readonly sessions: BoundedMap<SessionRecord>;
  private readonly sessionListeners = new Set<(identity: string, key: string, record: SessionRecord | undefined) => void>();

  private callHandler?: OwnedCallHandler;
  private readonly supersededListeners = new Set<(identity: string, by: OwnerRecord) => void>();
  private readonly eventListeners = new Set<(event: ClusterEvent) => void>();
  private readonly reportListeners = new Set<(identity: string, requestId: number) => void>();
  private readonly statusListeners = new Set<(status: BackplaneStatus) => void>();
  private readonly ownerListeners = new Set<(identity: string) => void>();
  private eventSubscribers = 0;
  private foreignSelfRecords = 0;
  /** MQTT 5 unless the broker refuses it (aedes, Mosquitto 1.x): then 3.1.1, with the reply address in the payload. */
  private protocolVersion: 4 | 5 = 5;

  constructor(options: BackplaneOptions) {
    this.cluster = options.cluster;
    this.instance = options.instance;
    this.index = options.index;
    this.topics = new ClusterTopics(options.cluster, options.rootPrefix);
    this.connectFn = options.connect;
    this.warn = options.warn ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.options = {
      cluster: options.cluster,
      instance: options.instance,
      maxQueuedEvents: options.maxQueuedEvents ?? DEFAULTS.maxQueuedEvents,
      maxPayloadBytes: options.maxPayloadBytes ?? DEFAULTS.maxPayloadBytes,
      maxPendingRequests: options.maxPendingRequests ?? DEFAULTS.maxPendingRequests,
      maxCachedRecords: options.maxCachedRecords ?? DEFAULTS.maxCachedRecords,
      reconnectPeriodMs: options.reconnectPeriodMs ?? 2000,
      flushDelayMs: options.flushDelayMs ?? (options.reconnectPeriodMs ?? 2000) + 500,
    };
    this.chargerStates = new BoundedMap(this.options.maxCachedRecords);
    this.sessions = new BoundedMap(this.options.maxCachedRecords);
  }

  // ------------------------------------------------------------ lifecycle

  start(): void {
    if (this.client || this.stopped) return;
    this.openClient();
  }

  private openClient(): void {
    const nodeTopic = this.topics.nodeState(this.instance);
    const v5 = this.protocolVersion === 5;
    const client = this.connectFn({
      protocolVersion: this.protocolVersion,
      // A session that outlives a short network blip: the broker keeps what was sent to us meanwhile.
      clean: false,
      ...(v5 ? { properties: { sessionExpiryInterval: 300 } } : {}),
      clientId: `evkit-${this.instance.slice(0, 40)}-${this.boot}`,
      reconnectPeriod: this.options.reconnectPeriodMs,
      connectTimeout: 10_000,
      // Commands and events are sent again by their owners' logic, not replayed blindly from memory.
      queueQoSZero: false,
      will: {
        topic: nodeTopic,
        payload: Buffer.from(JSON.stringify({ online: false, boot: this.boot, since: new Date(this.now()).toISOString() })),
        qos: 1,
        retain: true,
      },
    });
    this.client = client;
    client.on("connect", () => this.onConnect());
    client.on("close", () => this.onDisconnect());
    client.on("offline", () => this.onDisconnect());
    client.on("error", (err: Error & { code?: number }) => {
      if (err.code === 1 && this.protocolVersion === 5 && this.client === client) {
        // "Unacceptable protocol version": an MQTT 3.1.1 broker. Everything works there too, through payload fields.
        this.protocolVersion = 4;
        this.warn(`cluster ${this.cluster}: the broker speaks MQTT 3.1.1 only; the cluster works, but an MQTT 5 broker (Mosquitto 2, EMQX, HiveMQ) is recommended`);
        client.removeAllListeners();
        client.on("error", () => undefined);
        client.end(true);
        this.client = undefined;
        if (!this.stopped) this.openClient();
        return;
      }
      this.lastError = err.message;
      this.emitStatus();
    });
    client.on("message", (topic: string, payload: Buffer, packet: IPublishPacket) => {
      try {
        this.onMessage(topic, payload, packet);
      } catch (err) {
        this.warn(`cluster: a message on ${topic.slice(0, 200)} could not be handled: ${(err as Error).message}`);
      }
    });
  }

  /** Says goodbye on the broker (offline record, owner records cleared) and closes the connection. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.flushTimer);
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new BackplaneUnavailableError("the central system was stopped before the charger answered"));
    }
    this.pending.clear();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (this.connected) {
      for (const identity of this.mine.keys()) this.publish(this.topics.owner(identity, this.instance), "", { retain: true, qos: 1 });
      this.publish(this.topics.nodeState(this.instance), JSON.stringify({ online: false, boot: this.boot, since: this.iso() }), { retain: true, qos: 1 });
    }
    this.mine.clear();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => client.end(true, () => resolve()), 2000);
      client.end(false, () => {
        clearTimeout(force);
        resolve();
      });
    });
    this.connected = false;
  }

  status(): BackplaneStatus {
    let instances = 0;
    for (const [name, state] of this.nodes) if (state.online || name === this.instance) instances++;
    if (!this.nodes.has(this.instance)) instances++;
    return {
      connected: this.connected,
      instances,
      queuedEvents: this.queue.length,
      droppedEvents: this.droppedEvents,
      error: this.connected ? undefined : this.lastError,
    };
  }

  get isConnected(): boolean {
    return this.connected;
  }

  onStatus(listener: (status: BackplaneStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  // ------------------------------------------------------------ ownership

  /**
   * This instance accepted a websocket for `identity`: it becomes the owner
   * everywhere. The generation is at least one past any connection already
   * known for the charger, so a reconnect wins even against a clock that is a
   * little ahead on another machine.
   */
  claim(identity: string, conn: string, protocol?: string): OwnerRecord {
    let gen = this.now();
    const known = this.owners.get(identity);
    if (known) for (const record of known.values()) if (record.gen >= gen) gen = record.gen + 1;
    const record: OwnerRecord = { instance: this.instance, conn, gen, protocol, since: this.iso() };
    this.mine.set(identity, record);
    this.remember(identity, record);
    if (this.connected) this.assert(identity, record);
    return record;
  }

  /** The websocket `conn` of `identity` closed: withdraw the owner record if it is still this one. */
  release(identity: string, conn: string): void {
    const record = this.mine.get(identity);
    if (!record || record.conn !== conn) return;
    this.mine.delete(identity);
    this.forget(identity, this.instance);
    this.pendingStates.delete(identity);
    if (this.connected && this.client) {
      this.publish(this.topics.owner(identity, this.instance), "", { retain: true, qos: 1 });
      this.client.unsubscribe(this.topics.command(identity));
    }
  }

  /** Whether `identity`'s current owner is this instance. */
  holds(identity: string): boolean {
    return this.mine.has(identity);
  }

  /** The newest connection of `identity` on an instance that is online, if any. */
  ownerOf(identity: string): OwnerRecord | undefined {
    const records = this.owners.get(identity);
    if (!records) return undefined;
    let best: OwnerRecord | undefined;
    for (const record of records.values()) {
      if (!this.isOnline(record.instance)) continue;
      if (!best || compareOwners(record, best) > 0) best = record;
    }
    return best;
  }

  /** Identities held by instances that are online, this one included. */
  clusterChargers(): string[] {
    const out: string[] = [];
    for (const identity of this.owners.keys()) if (this.ownerOf(identity)) out.push(identity);
    return out;
  }

  /** Another instance accepted a newer connection for a charger held here: close the local one. */
  onSuperseded(listener: (identity: string, by: OwnerRecord) => void): () => void {
    this.supersededListeners.add(listener);
    return () => this.supersededListeners.delete(listener);
  }

  /** A charger's owner changed (connected, moved, gone). */
  onOwnerChange(listener: (identity: string) => void): () => void {
    this.ownerListeners.add(listener);
    return () => this.ownerListeners.delete(listener);
  }

  // ------------------------------------------------------------ commands

  setCallHandler(handler: OwnedCallHandler | undefined): void {
    this.callHandler = handler;
  }

  /**
   * Sends a CALL to a charger held by another instance and resolves with the
   * charger's answer. Fails at once when the broker is away or no instance
   * holds the charger, and when the owner goes offline during the call.
   */
  request(identity: string, action: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    if (this.stopped) return Promise.reject(new BackplaneUnavailableError("the central system is stopped"));
    if (!this.connected || !this.client) {
      return Promise.reject(
        new BackplaneUnavailableError(
          `charger ${identity} is not connected here and the cluster's MQTT broker is not connected, so the command cannot reach the instance that holds it`,
        ),
      );
    }
    const owner = this.ownerOf(identity);
    if (!owner) return Promise.reject(new ChargerNotInClusterError(identity, this.cluster));
    if (owner.instance === this.instance) {
      return Promise.reject(new ChargerNotInClusterError(identity, this.cluster));
    }
    if (this.pending.size >= this.options.maxPendingRequests) {
      return Promise.reject(new BackplaneUnavailableError(`too many commands (${this.pending.size}) are waiting for other instances; try again later`));
    }
    const correlation = randomBytes(12).toString("hex");
    // The owner gives up after timeoutMs; wait a little longer for its answer to travel back.
    const waitMs = timeoutMs + 2000;
    const replyTo = this.topics.reply(this.instance);
    const message: CommandMessage = { target: owner.instance, action, payload, timeoutMs, from: this.instance, replyTo, corr: correlation };
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlation);
        reject(new ClusterTimeoutError(identity, owner.instance, timeoutMs));
      }, waitMs);
      this.pending.set(correlation, { identity, instance: owner.instance, resolve, reject, timer });
      this.publish(this.topics.command(identity), JSON.stringify(message), {
        qos: 1,
        properties: {
          responseTopic: replyTo,
          correlationData: Buffer.from(correlation),
          messageExpiryInterval: Math.max(1, Math.ceil(waitMs / 1000)),
          contentType: "application/json",
        },
      });
    });
  }

  // ------------------------------------------------------------ events and records

  /** Publishes an event of a charger held here (QoS 1); kept in a bounded queue while the broker is away. */
  publishEvent(identity: string, kind: string, event: unknown): void {
    const message: ClusterEvent = { origin: this.instance, identity, kind, eventId: `${this.instance}:${this.boot}:${++this.eventSeq}`, event };
    const topic = this.topics.event(identity, kind);
    const payload = JSON.stringify(message);
    // While older events still wait for the flush, new ones queue behind them, so order is kept.
    if (this.connected && this.queue.length === 0) {
      this.publish(topic, payload, { qos: 1 });
      return;
    }
    this.queue.push({ topic, payload, retain: false });
    if (this.queue.length > this.options.maxQueuedEvents) {
      this.queue.shift();
      this.droppedEvents++;
    }
  }

  /** The latest state of a charger held here, retained for dashboards and late joiners. */
  publishChargerState(identity: string, state: unknown, reportDone?: number): void {
    if (!this.mine.has(identity)) return;
    // reportDone: the state now holds the device model of that GetBaseReport (2.0.1), so an instance waiting for it can answer.
    const payload = JSON.stringify(reportDone === undefined ? { origin: this.instance, state } : { origin: this.instance, state, reportDone });
    if (this.connected) this.publish(this.topics.chargerState(identity), payload, { qos: 1, retain: true });
    else this.pendingStates.set(identity, payload);
  }

  chargerState(identity: string): unknown {
    return this.chargerStates.get(identity);
  }

  /** A retained per-session record (undefined clears it), so the next owner of the charger can end the session. */
  publishSession(identity: string, key: string, session: unknown): void {
    const topicKey = `${identity}\u0000${key}`;
    const record: SessionRecord | undefined = session === undefined ? undefined : { origin: this.instance, session };
    if (record === undefined) this.sessions.delete(topicKey);
    else this.sessions.set(topicKey, record);
    if (!this.connected) return;
    this.publish(this.topics.session(identity, key), record === undefined ? "" : JSON.stringify(record), { qos: 1, retain: true });
  }

  /** The session record last seen for a charger's session, from any instance. */
  session(identity: string, key: string): unknown {
    return this.sessions.get(`${identity}\u0000${key}`)?.session;
  }

  /** Every session record known for one charger. */
  sessionsOf(identity: string): SessionRecord[] {
    const prefix = `${identity}\u0000`;
    const out: SessionRecord[] = [];
    for (const [key, record] of this.sessions) if (key.startsWith(prefix)) out.push(record);
    return out;
  }

  /** Session records written by other instances (a charger moved, or its session ended there). */
  onSessionRecord(listener: (identity: string, key: string, record: SessionRecord | undefined) => void): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  /** A charger held by another instance finished a device-model report; its retained state holds the result. */
  onChargerReport(listener: (identity: string, requestId: number) => void): () => void {
    this.reportListeners.add(listener);
    return () => this.reportListeners.delete(listener);
  }

  /** Events of chargers held by the other instances. */
  onClusterEvent(listener: (event: ClusterEvent) => void): () => void {
    this.eventListeners.add(listener);
    if (++this.eventSubscribers === 1 && this.connected && this.client) this.client.subscribe(this.topics.events, { qos: 1 });
    return () => {
      if (!this.eventListeners.delete(listener)) return;
      if (--this.eventSubscribers === 0 && this.connected && this.client) this.client.unsubscribe(this.topics.events);
    };
  }

  // ------------------------------------------------------------ internals

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private isOnline(instance: string): boolean {
    if (instance === this.instance) return !this.stopped;
    return this.nodes.get(instance)?.online === true;
  }

  private publish(topic: string, payload: string, options: { qos: 0 | 1; retain?: boolean; properties?: IPublishPacket["properties"] }): void {
    const client = this.client;
    if (!client) return;
    const properties = this.protocolVersion === 5 ? options.properties : undefined;
    client.publish(topic, payload, { qos: options.qos, retain: options.retain ?? false, properties }, (err) => {
      if (err && !this.stopped) this.warn(`cluster: publishing to ${topic.slice(0, 200)} failed: ${err.message}`);
    });
  }

  private assert(identity: string, record: OwnerRecord): void {
    if (!this.client) return;
    this.publish(this.topics.owner(identity, this.instance), JSON.stringify(record), { qos: 1, retain: true });
    this.client.subscribe(this.topics.command(identity), { qos: 1 });
  }

  private remember(identity: string, record: OwnerRecord): void {
    const before = this.ownerOf(identity);
    let records = this.owners.get(identity);
    if (!records) {
      records = new Map();
      this.owners.set(identity, records);
    }
    records.set(record.instance, record);
    const after = this.ownerOf(identity);
    if (before?.conn !== after?.conn || before?.instance !== after?.instance) this.tellOwnerChange(identity);
  }

  private forget(identity: string, instance: string): void {
    const records = this.owners.get(identity);
    if (!records || !records.has(instance)) return;
    const before = this.ownerOf(identity);
    records.delete(instance);
    if (records.size === 0) this.owners.delete(identity);
    const after = this.ownerOf(identity);
    if (before?.conn !== after?.conn || before?.instance !== after?.instance) this.tellOwnerChange(identity);
  }

  private tellOwnerChange(identity: string): void {
    for (const listener of this.ownerListeners) listener(identity);
  }

  private emitStatus(): void {
    const status = this.status();
    for (const listener of this.statusListeners) listener(status);
  }

  private onConnect(): void {
    const client = this.client;
    if (!client) return;
    // Commands and replies are small messages that wait for each other: Nagle would hold each back for a delayed ACK.
    (client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined)?.setNoDelay?.(true);
    this.connected = true;
    this.lastError = undefined;
    const subscriptions: Record<string, { qos: 0 | 1 }> = {
      [this.topics.nodeStates]: { qos: 1 },
      [this.topics.owners]: { qos: 1 },
      [this.topics.reply(this.instance)]: { qos: 1 },
      [this.topics.chargerStates]: { qos: 0 },
      [this.topics.sessions]: { qos: 1 },
    };
    if (this.eventSubscribers > 0) subscriptions[this.topics.events] = { qos: 1 };
    client.subscribe(subscriptions);
    // The broker may have lost retained state (restart without persistence): say again who we are and what we hold.
    this.publish(this.topics.nodeState(this.instance), JSON.stringify({ online: true, boot: this.boot, since: this.iso(), index: this.index }), { qos: 1, retain: true });
    for (const [identity, record] of this.mine) this.assert(identity, record);
    for (const [identity, payload] of this.pendingStates) this.publish(this.topics.chargerState(identity), payload, { qos: 1, retain: true });
    this.pendingStates.clear();
    for (const [key, record] of this.sessions) {
      const [identity, sessionKey] = key.split("\u0000");
      if (this.mine.has(identity) && record.origin === this.instance) {
        this.publish(this.topics.session(identity, sessionKey), JSON.stringify(record), { qos: 1, retain: true });
      }
    }
    clearTimeout(this.flushTimer);
    if (this.queue.length > 0) this.flushTimer = setTimeout(() => this.flushQueue(), this.options.flushDelayMs);
    this.emitStatus();
  }

  private flushQueue(): void {
    if (!this.connected) return;
    const queued = this.queue.splice(0, this.queue.length);
    for (const item of queued) this.publish(item.topic, item.payload, { qos: 1, retain: item.retain });
    this.emitStatus();
  }

  private onDisconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    clearTimeout(this.flushTimer);
    for (const [correlation, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(correlation);
      pending.reject(
        new BackplaneUnavailableError(`the connection to the cluster's MQTT broker was lost before charger ${pending.identity} answered (instance ${pending.instance})`),
      );
    }
    this.emitStatus();
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (payload.length > this.options.maxPayloadBytes) {
      this.warn(`cluster: ignored a ${payload.length}-byte message on ${topic.slice(0, 200)} (limit ${this.options.maxPayloadBytes})`);
      return;
    }
    const levels = this.topics.parse(topic);
    if (!levels) return;
    if (levels[0] === "node" && levels.length === 3) {
      if (levels[2] === "state") this.onNodeState(levels[1], payload);
      else if (levels[2] === "reply" && levels[1] === this.instance) this.onReply(payload, packet);
      return;
    }
    if (levels[0] !== "cp" || levels.length < 3) return;
    const identity = levels[1];
    switch (levels[2]) {
      case "owner":
        if (levels.length === 4) this.onOwner(identity, levels[3], payload);
        return;
      case "cmd":
        if (levels.length === 3) {
          this.onCommand(identity, payload, packet).catch((err: unknown) => {
            this.warn(`cluster: a command for charger ${identity.slice(0, 48)} could not be handled: ${(err as Error).message}`);
          });
        }
        return;
      case "evt":
        if (levels.length === 4) this.onEvent(identity, levels[3], payload);
        return;
      case "state":
        if (levels.length === 3) this.onChargerState(identity, payload);
        return;
      case "session":
        if (levels.length === 4) this.onSession(identity, levels[3], payload);
        return;
    }
  }

  private onNodeState(instance: string, payload: Buffer): void {
    if (payload.length === 0) {
      this.nodes.delete(instance);
    } else {
      const state = parseNodeState(payload);
      if (!state) return;
      if (instance === this.instance) {
        // A record of an earlier run arrives once (retained) and is then overwritten by ours;
        // another live process with our name keeps publishing its own.
        if (state.boot && state.boot !== this.boot && state.online && ++this.foreignSelfRecords === 2) {
          this.warn(`cluster ${this.cluster}: another Node-RED also calls itself instance "${this.instance}"; give every instance its own name`);
        }
        return;
      }
      const wasOnline = this.nodes.get(instance)?.online === true;
      this.nodes.set(instance, state);
      if (state.online && this.index !== undefined && state.index === this.index && !this.warnedIndex.has(instance)) {
        this.warnedIndex.add(instance);
        this.warn(
          `cluster ${this.cluster}: instances "${this.instance}" and "${instance}" both use number ${this.index}, so their OCPP 1.6 transaction ids can collide; give every instance its own number (EVKIT_INSTANCE_INDEX, 0-15)`,
        );
      }
      if (wasOnline && !state.online) this.onInstanceLost(instance);
    }
    // Owner resolution depends on who is online; a record that arrived before its instance's state counts now.
    for (const [identity, records] of this.owners) {
      const record = records.get(instance);
      if (!record) continue;
      this.checkSuperseded(identity, record);
      this.tellOwnerChange(identity);
    }
    this.emitStatus();
  }

  private onInstanceLost(instance: string): void {
    for (const [correlation, pending] of this.pending) {
      if (pending.instance !== instance) continue;
      clearTimeout(pending.timer);
      this.pending.delete(correlation);
      pending.reject(new OwnerLostError(pending.identity, instance));
    }
  }

  private onOwner(identity: string, instance: string, payload: Buffer): void {
    if (instance === this.instance) {
      // Our own retained record: one that no longer matches what we hold is left over from an earlier run.
      const mine = this.mine.get(identity);
      if (payload.length === 0) return;
      const record = parseOwner(payload, instance);
      if (!mine || !record || record.conn !== mine.conn) this.publish(this.topics.owner(identity, this.instance), "", { qos: 1, retain: true });
      return;
    }
    if (payload.length === 0) {
      this.forget(identity, instance);
      return;
    }
    const record = parseOwner(payload, instance);
    if (!record) return;
    this.remember(identity, record);
    this.checkSuperseded(identity, record);
  }

  /** The newest connection wins everywhere: a newer one on an online instance ends ours. */
  private checkSuperseded(identity: string, record: OwnerRecord): void {
    const mine = this.mine.get(identity);
    if (!mine || record.instance === this.instance || !this.isOnline(record.instance) || compareOwners(record, mine) <= 0) return;
    this.mine.delete(identity);
    this.forget(identity, this.instance);
    this.publish(this.topics.owner(identity, this.instance), "", { qos: 1, retain: true });
    this.client?.unsubscribe(this.topics.command(identity));
    for (const listener of this.supersededListeners) listener(identity, record);
  }

  private async onCommand(identity: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    const value = parseJsonObject(payload);
    if (!value || typeof value.action !== "string" || value.target !== this.instance) return;
    const responseTopic = packet.properties?.responseTopic ?? (typeof value.replyTo === "string" ? value.replyTo : undefined);
    const correlationData = packet.properties?.correlationData ?? (typeof value.corr === "string" ? Buffer.from(value.corr) : undefined);
    // Answers go only to reply topics of this cluster, never where a stranger on the broker points.
    if (!responseTopic || !correlationData || !responseTopic.startsWith(`${this.topics.prefix}/node/`)) return;
    const timeoutMs = typeof value.timeoutMs === "number" && value.timeoutMs > 0 ? Math.min(value.timeoutMs, 300_000) : 30_000;
    let reply: ReplyMessage;
    if (!this.mine.has(identity) || !this.callHandler) {
      reply = { ok: false, error: { name: "Error", message: `charger ${identity} is not connected to instance ${this.instance} any more` } };
    } else {
      try {
        reply = { ok: true, result: await this.callHandler(identity, value.action, value.payload, timeoutMs) };
      } catch (err) {
        const e = err as Error & { rpcErrorCode?: string };
        reply = { ok: false, error: { name: e.name, message: e.message, rpcErrorCode: e.rpcErrorCode } };
      }
    }
    if (!this.connected) return;
    reply.corr = correlationData.toString();
    this.publish(responseTopic, JSON.stringify(reply), { qos: 1, properties: { correlationData } });
  }

  private onReply(payload: Buffer, packet: IPublishPacket): void {
    const value = parseJsonObject(payload);
    const correlation = packet.properties?.correlationData?.toString() ?? (typeof value?.corr === "string" ? value.corr : undefined);
    if (!correlation || !value) return;
    const pending = this.pending.get(correlation);
    if (!pending) return;
    this.pending.delete(correlation);
    clearTimeout(pending.timer);
    if (value.ok === true) {
      pending.resolve(value.result);
      return;
    }
    const error = isObject(value.error) ? value.error : {};
    pending.reject(
      new RemoteCallError(
        typeof error.name === "string" ? error.name : "Error",
        typeof error.message === "string" ? error.message : `instance ${pending.instance} could not run the command`,
        typeof error.rpcErrorCode === "string" ? error.rpcErrorCode : undefined,
      ),
    );
  }

  private onEvent(identity: string, kind: string, payload: Buffer): void {
    if (this.eventListeners.size === 0) return;
    const value = parseJsonObject(payload);
    if (!value || typeof value.origin !== "string" || value.origin === this.instance) return;
    const event: ClusterEvent = {
      origin: value.origin,
      identity,
      kind,
      eventId: typeof value.eventId === "string" ? value.eventId : "",
      event: value.event,
    };
    for (const listener of this.eventListeners) listener(event);
  }

  private onChargerState(identity: string, payload: Buffer): void {
    if (payload.length === 0) {
      this.chargerStates.delete(identity);
      return;
    }
    const value = parseJsonObject(payload);
    if (!value || value.origin === this.instance) return;
    this.chargerStates.set(identity, value.state);
    if (typeof value.reportDone === "number") for (const listener of [...this.reportListeners]) listener(identity, value.reportDone);
  }

  private onSession(identity: string, key: string, payload: Buffer): void {
    const topicKey = `${identity}\u0000${key}`;
    if (payload.length === 0) {
      const had = this.sessions.get(topicKey);
      this.sessions.delete(topicKey);
      if (had && had.origin !== this.instance) for (const listener of this.sessionListeners) listener(identity, key, undefined);
      return;
    }
    const value = parseJsonObject(payload);
    if (!value || typeof value.origin !== "string" || !isObject(value.session)) return;
    const record: SessionRecord = { origin: value.origin, session: value.session };
    this.sessions.set(topicKey, record);
    if (record.origin !== this.instance) for (const listener of this.sessionListeners) listener(identity, key, record);
  }
}
