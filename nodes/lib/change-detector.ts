/**
 * Decides which fields of a state changed enough to publish. Knows nothing of
 * Node-RED or MQTT: the node turns the result into messages.
 *
 * A field is emitted when it is first seen, when it differs from the value
 * last *emitted* (numbers beyond their deadband), or when it has not been
 * emitted for `refreshAfterMs` (so late subscribers still get values). The
 * comparison is against the last emitted value, not the last seen one, so a
 * slow drift inside the deadband is still published once it adds up.
 */

export type Deadband = { kind: "absolute"; value: number } | { kind: "percent"; value: number };

export interface ChangeDetectorOptions {
  /** Per-field deadband; `*` applies to every numeric field without its own rule. */
  deadbands?: Record<string, Deadband>;
  /** Fields never emitted (flattened names, e.g. "raw" or "currentA.l1"). */
  ignore?: string[];
  /** Re-emit a field unchanged after this long without an emission (0 = never). */
  refreshAfterMs?: number;
  /** Nested objects are flattened with this separator (default "."). */
  separator?: string;
}

export type ChangeReason = "first" | "changed" | "refresh";

export interface FieldChange {
  field: string;
  value: unknown;
  previous: unknown;
  reason: ChangeReason;
}

interface FieldMemory {
  value: unknown;
  emittedAt: number;
}

/** The part of the detector's memory that survives a restart. */
export type DetectorMemory = Record<string, Record<string, FieldMemory>>;

export class ChangeDetector {
  private readonly options: Required<Omit<ChangeDetectorOptions, "deadbands">> & { deadbands: Record<string, Deadband> };
  private memory: DetectorMemory = {};

  constructor(options: ChangeDetectorOptions = {}) {
    this.options = {
      deadbands: options.deadbands ?? {},
      ignore: options.ignore ?? [],
      refreshAfterMs: options.refreshAfterMs ?? 0,
      separator: options.separator ?? ".",
    };
    for (const [field, band] of Object.entries(this.options.deadbands)) {
      if (!(Number.isFinite(band.value) && band.value >= 0)) {
        throw new Error(`Deadband for "${field}" must be a number of 0 or more`);
      }
    }
  }

  /** Compares `state` for `key` (a charger name) with what was emitted before. */
  detect(key: string, state: Record<string, unknown>, now: number): FieldChange[] {
    const fields = flatten(state, this.options.separator);
    const known = (this.memory[key] ??= {});
    const changes: FieldChange[] = [];
    for (const [field, value] of Object.entries(fields)) {
      // null is "no value" (a source that could not measure it), never a change to publish.
      if (this.isIgnored(field) || value === undefined || value === null) continue;
      const before = known[field];
      let reason: ChangeReason | undefined;
      if (!before) reason = "first";
      else if (this.differs(field, before.value, value)) reason = "changed";
      else if (this.options.refreshAfterMs > 0 && now - before.emittedAt >= this.options.refreshAfterMs) reason = "refresh";
      if (!reason) continue;
      changes.push({ field, value, previous: before?.value, reason });
      known[field] = { value, emittedAt: now };
    }
    return changes;
  }

  /** Forgets one charger (next sample emits everything), or all when no key is given. */
  reset(key?: string): void {
    if (key === undefined) this.memory = {};
    else delete this.memory[key];
  }

  exportMemory(): DetectorMemory {
    return structuredClone(this.memory);
  }

  importMemory(memory: unknown): void {
    this.memory = isDetectorMemory(memory) ? structuredClone(memory) : {};
  }

  private isIgnored(field: string): boolean {
    const sep = this.options.separator;
    // Ignoring "currentA" also ignores "currentA.l1".
    return this.options.ignore.some((name) => field === name || field.startsWith(name + sep));
  }

  private differs(field: string, before: unknown, after: unknown): boolean {
    if (typeof before === "number" && typeof after === "number") {
      const band = this.options.deadbands[field] ?? this.options.deadbands["*"];
      const delta = Math.abs(after - before);
      if (!band) return delta !== 0 || Number.isNaN(before) !== Number.isNaN(after);
      const limit = band.kind === "absolute" ? band.value : (Math.abs(before) * band.value) / 100;
      // A zero deadband still reports any change; otherwise the change must exceed the band.
      return band.value === 0 ? delta !== 0 : delta > limit;
    }
    return !sameValue(before, after);
  }
}

/** Flattens nested plain objects: {currentA: {l1: 6}} → {"currentA.l1": 6}. Arrays stay whole. */
export function flatten(state: Record<string, unknown>, separator = ".", prefix = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(state)) {
    const name = prefix ? `${prefix}${separator}${key}` : key;
    if (isPlainObject(value) && Object.keys(value).length > 0) Object.assign(out, flatten(value, separator, name));
    else out[name] = value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function isDetectorMemory(value: unknown): value is DetectorMemory {
  if (!isPlainObject(value)) return false;
  return Object.values(value).every(
    (fields) =>
      isPlainObject(fields) &&
      Object.values(fields).every((entry) => isPlainObject(entry) && typeof entry.emittedAt === "number" && "value" in entry),
  );
}

/** Parses the dialog's deadband text: "powerW=50, totalEnergyWh=1%, *=0.5". */
export function parseDeadbands(text: string): Record<string, Deadband> {
  const out: Record<string, Deadband> = {};
  for (const part of text.split(/[,\n;]/).map((p) => p.trim()).filter(Boolean)) {
    const match = /^([^=\s]+)\s*=\s*([0-9]*\.?[0-9]+)\s*(%?)$/.exec(part);
    if (!match) throw new Error(`Cannot read deadband "${part}": write it as field=number or field=number%`);
    out[match[1]] = { kind: match[3] === "%" ? "percent" : "absolute", value: Number(match[2]) };
  }
  return out;
}

/** Splits a comma/newline separated list of field names. */
export function parseFieldList(text: string): string[] {
  return text.split(/[,\n;]/).map((p) => p.trim()).filter(Boolean);
}

/** Makes a name safe as one MQTT topic level (no "/", "+", "#"). */
export function topicLevel(name: string): string {
  return name.replace(/[/+#]/g, "_").trim() || "_";
}
