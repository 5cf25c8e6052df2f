/**
 * MQTT topic layout of one cluster. Every instance of a cluster uses the
 * same prefix (`ocpp/<cluster>` by default); charger identities and instance
 * names are escaped so that `/`, `+`, `#` and `%` in them cannot change the
 * topic's shape or act as wildcards.
 */

/** Escapes one topic level: `%`, `/`, `+`, `#`, NUL and a leading `$` become %XX. */
export function topicLevel(name: string): string {
  if (name === "") return "%00";
  let out = "";
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === "%" || ch === "/" || ch === "+" || ch === "#" || ch === "\u0000" || (i === 0 && ch === "$")) {
      out += "%" + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0");
    } else out += ch;
  }
  return out;
}

/** Reverses topicLevel(); returns undefined for a level that topicLevel() cannot have produced. */
export function fromTopicLevel(level: string): string | undefined {
  if (level === "%00") return "";
  try {
    return decodeURIComponent(level);
  } catch {
    return undefined;
  }
}

export class ClusterTopics {
  readonly prefix: string;

  constructor(clusterName: string, rootPrefix = "ocpp") {
    this.prefix = `${rootPrefix}/${topicLevel(clusterName)}`;
  }

  nodeState(instance: string): string {
    return `${this.prefix}/node/${topicLevel(instance)}/state`;
  }
  get nodeStates(): string {
    return `${this.prefix}/node/+/state`;
  }
  reply(instance: string): string {
    return `${this.prefix}/node/${topicLevel(instance)}/reply`;
  }
  /** One record per (charger, instance): an instance only ever writes its own, so two cannot overwrite each other. */
  owner(identity: string, instance: string): string {
    return `${this.prefix}/cp/${topicLevel(identity)}/owner/${topicLevel(instance)}`;
  }
  get owners(): string {
    return `${this.prefix}/cp/+/owner/+`;
  }
  command(identity: string): string {
    return `${this.prefix}/cp/${topicLevel(identity)}/cmd`;
  }
  event(identity: string, kind: string): string {
    return `${this.prefix}/cp/${topicLevel(identity)}/evt/${topicLevel(kind)}`;
  }
  get events(): string {
    return `${this.prefix}/cp/+/evt/+`;
  }
  /** For a database writer that must see each event once: every subscriber of one group gets a share. */
  sharedEvents(group: string): string {
    return `$share/${topicLevel(group)}/${this.events}`;
  }
  chargerState(identity: string): string {
    return `${this.prefix}/cp/${topicLevel(identity)}/state`;
  }
  get chargerStates(): string {
    return `${this.prefix}/cp/+/state`;
  }
  session(identity: string, key: string): string {
    return `${this.prefix}/cp/${topicLevel(identity)}/session/${topicLevel(key)}`;
  }
  get sessions(): string {
    return `${this.prefix}/cp/+/session/+`;
  }

  /** Splits a topic under this prefix into its levels after the prefix, or undefined. */
  parse(topic: string): string[] | undefined {
    if (!topic.startsWith(this.prefix + "/")) return undefined;
    const levels = topic.slice(this.prefix.length + 1).split("/");
    const decoded: string[] = [];
    for (const level of levels) {
      const value = fromTopicLevel(level);
      if (value === undefined) return undefined;
      decoded.push(value);
    }
    return decoded;
  }
}
