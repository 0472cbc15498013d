/**
 * floe's built-in serializers: msgpack (default), json, v8 and raw.
 *
 * Each one refuses values it would silently drop or corrupt, so that a bad result fails
 * in the task that produced it (with a clear error) rather than in some dependent later:
 *
 * - msgpack: functions anywhere are rejected by msgpackr itself through the `writeFunction`
 *   hook (free, no walk); symbols are rejected by msgpackr. Class instances would lose their
 *   prototype (msgpackr writes them as plain objects), so a bounded pre-check walk
 *   ({@link MSGPACK_CHECK_NODES_MAX} nodes, {@link MSGPACK_CHECK_DEPTH_MAX} levels,
 *   cycle-safe) rejects them; beyond the budget they are not checked, which keeps the
 *   check cheap for big results. Instances with a `toJSON()` are allowed (msgpackr encodes
 *   what toJSON returns: that is the author's explicit choice).
 * - json: a replacer rejects functions, symbols, BigInt, non-finite numbers, `undefined`
 *   at the top level or in arrays (JSON turns it into null), and any non-plain object
 *   left after `toJSON()` (Map, Set, typed arrays, class instances: JSON writes `{}` or
 *   index maps). `undefined` object properties are dropped, as JSON always does: reading
 *   them back still gives `undefined`.
 * - v8: node:v8 structured serialization; DataCloneError (functions, symbols...) is an error.
 *   Class instances become plain objects, exactly as with `postMessage`.
 * - raw: only Uint8Array (incl. Buffer) and ArrayBuffer; deserializes to a Uint8Array.
 */
import * as v8 from 'node:v8';
import { Packr } from 'msgpackr';
import type { Serializer } from './types.ts';

/** Node budget of the msgpack class-instance pre-check. */
export const MSGPACK_CHECK_NODES_MAX = 10_000;
/** Depth budget of the msgpack class-instance pre-check. */
export const MSGPACK_CHECK_DEPTH_MAX = 64;

/**
 * Options shared by the result codec and the argument codec.
 * `structuredClone` keeps Map/Set/Date/RegExp/Error/typed arrays/cycles and `undefined`;
 * `moreTypes` adds the remaining typed arrays; records (msgpackr's default) keep plain
 * objects and Maps apart, and records are self-describing within each message, so any
 * Packr instance (in any thread) can decode any message. BigInt round-trips at any size.
 */
export const MSGPACK_OPTIONS = {
  structuredClone: true,
  moreTypes: true,
  writeFunction: (): never => {
    throw new TypeError('functions cannot be serialized');
  },
} as const;

export function createPackr(overrides: { structuredClone?: boolean } = {}): Packr {
  return new Packr({ ...MSGPACK_OPTIONS, ...overrides });
}

const packr = createPackr();
/**
 * For flat values, which hold no object twice: results that quickMsgpackable passes
 * (primitives, plain objects and arrays of primitives) and flat arguments (args.ts
 * encodeFlatArgs). No structured cloning, whose map of the objects seen is made per pack;
 * the bytes are the same (test/unit/serde.test.ts checks that they are).
 */
export const flatPackr = createPackr({ structuredClone: false });

export const msgpackSerializer: Serializer = {
  id: 'msgpack',
  serialize(value) {
    if (quickMsgpackable(value)) return flatPackr.pack(value);
    walkMsgpackable(value, 'result');
    return packr.pack(value);
  },
  deserialize(bytes) {
    return packr.unpack(bytes) as unknown;
  },
};

export const jsonSerializer: Serializer = {
  id: 'json',
  serialize(value) {
    const text = JSON.stringify(value, jsonReplacer());
    // Only reachable for values the replacer cannot see (never with the replacer above),
    // kept as a guard: JSON.stringify returns undefined instead of throwing.
    if (text === undefined) throw new TypeError('value has no JSON representation');
    return Buffer.from(text, 'utf8');
  },
  deserialize(bytes) {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as unknown;
  },
};

export const v8Serializer: Serializer = {
  id: 'v8',
  serialize(value) {
    return v8.serialize(value);
  },
  deserialize(bytes) {
    return v8.deserialize(bytes) as unknown;
  },
};

export const rawSerializer: Serializer = {
  id: 'raw',
  serialize(value) {
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    throw new TypeError(`raw serializer accepts only Uint8Array, Buffer or ArrayBuffer, got ${describe(value)}`);
  },
  deserialize(bytes) {
    return bytes;
  },
};

export const BUILTIN_SERIALIZERS: readonly Serializer[] = [msgpackSerializer, jsonSerializer, v8Serializer, rawSerializer];

/** What a JSON replacer's error names: made only for an error, as the replacer runs for every value. */
function jsonWhere(isTop: boolean, key: string): string {
  return isTop ? 'the value' : `key "${key}"`;
}

/** A fresh replacer per call: its first invocation is for the top-level value. */
function jsonReplacer(): (this: unknown, key: string, value: unknown) => unknown {
  let top = true;
  return function (this: unknown, key: string, value: unknown): unknown {
    const isTop = top;
    top = false;
    switch (typeof value) {
      case 'function':
      case 'symbol':
      case 'bigint':
        throw new TypeError(`${jsonWhere(isTop, key)} is a ${typeof value}, which JSON cannot represent`);
      case 'undefined':
        if (isTop || Array.isArray(this)) throw new TypeError(`${jsonWhere(isTop, key)} is undefined, which JSON cannot represent`);
        return value;
      case 'number':
        if (!Number.isFinite(value)) throw new TypeError(`${jsonWhere(isTop, key)} is ${String(value)}, which JSON turns into null`);
        return value;
      case 'object':
        if (value !== null && !Array.isArray(value) && !isPlainObject(value)) {
          throw new TypeError(`${jsonWhere(isTop, key)} is ${describe(value)}, which JSON would not round-trip`);
        }
        return value;
      default:
        return value;
    }
  };
}

export function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Types msgpackr (structuredClone + moreTypes) encodes faithfully. */
function isMsgpackBuiltin(value: object): boolean {
  return (
    Array.isArray(value) ||
    value instanceof Map ||
    value instanceof Set ||
    value instanceof Date ||
    value instanceof RegExp ||
    value instanceof Error ||
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value)
  );
}

/** Children a plain object or array may have for the quick check (quickMsgpackable). */
const QUICK_CHILDREN_MAX = 64;

/** A value the walk below takes as it is: neither an object, a function nor a symbol. */
function isPrimitiveData(v: unknown): boolean {
  const type = typeof v;
  return (type !== 'object' || v === null) && type !== 'function' && type !== 'symbol';
}

/**
 * The common result, checked without allocating anything: a primitive, or a plain object
 * or an array of at most QUICK_CHILDREN_MAX primitives. True means the walk below would
 * find nothing wrong; false only that it must look. (The walk makes a set, a stack and a
 * path string per value, several hundred bytes for a two-field object, on every result.)
 */
function quickMsgpackable(value: unknown): boolean {
  if (isPrimitiveData(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  let children = 0;
  if (Array.isArray(value)) {
    if (value.length > QUICK_CHILDREN_MAX) return false;
    for (let i = 0; i < value.length; i++) if (!isPrimitiveData(value[i])) return false;
    return true;
  }
  if (!isPlainObject(value)) return false;
  for (const key in value) {
    // Own properties only, as Object.keys below; an inherited one sends the value the long way.
    if (++children > QUICK_CHILDREN_MAX || !Object.hasOwn(value, key) || !isPrimitiveData((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * Throws on values msgpack would silently corrupt. `root` names the value in messages
 * ('result', 'argument 2').
 */
export function checkMsgpackable(value: unknown, root: string): void {
  if (!quickMsgpackable(value)) walkMsgpackable(value, root);
}

/** The bounded, cycle-safe walk of checkMsgpackable, which names the path of what it rejects. */
function walkMsgpackable(value: unknown, root: string): void {
  new MsgpackCheck(root).visit(value, 0);
}

/** Kinds of step from a container to a child, for the place an error names. */
export const STEP = { index: 0, key: 1, mapKey: 2, mapValue: 3, setItem: 4 } as const;
type StepKind = (typeof STEP)[keyof typeof STEP];

/**
 * Where a walk over a value is: the steps down from its root, made into text
 * ("result.rows[3]", "argument 0.m.get(\"k\")") only when an error names the place, so that
 * walking a big array or a list of records makes no string per value (MsgpackCheck here,
 * ArgsWalk in args.ts).
 */
export class PathSteps {
  private readonly kinds: StepKind[] = [];
  private readonly steps: unknown[] = [];

  /** One step down (an array index, an object key, a Map key or value, a Set item); returns its place, for `move`. */
  down(kind: StepKind, step: unknown): number {
    this.kinds.push(kind);
    this.steps.push(step);
    return this.kinds.length - 1;
  }

  /** The step at `at` goes to another child of the same container (an array's next index). */
  move(at: number, step: unknown): void {
    this.steps[at] = step;
  }

  up(): void {
    this.kinds.pop();
    this.steps.pop();
  }

  clear(): void {
    this.kinds.length = 0;
    this.steps.length = 0;
  }

  text(root: string): string {
    let text = root;
    for (let i = 0; i < this.kinds.length; i++) {
      const step = this.steps[i];
      switch (this.kinds[i]) {
        case STEP.index: text += `[${step as number}]`; break;
        case STEP.key: text += `.${step as string}`; break;
        case STEP.mapKey: text += ' (map key)'; break;
        case STEP.mapValue: text += `.get(${describeKey(step)})`; break;
        default: text += ' (set item)';
      }
    }
    return text;
  }
}

/**
 * One pre-check walk: the first MSGPACK_CHECK_NODES_MAX values in depth-first order (an
 * array's items first to last; a plain object's keys, a Map's entries and a Set's items
 * last to first, each Map entry's value before its key), MSGPACK_CHECK_DEPTH_MAX levels
 * down. Where it is goes on PathSteps, made into text only for an error, and the walk stops
 * at its budget: a result of 100,000 numbers is 10,000 quick
 * checks, not 100,000 path strings.
 */
class MsgpackCheck {
  private readonly seen = new Set<object>();
  private nodes = 0;
  private readonly steps = new PathSteps();

  constructor(private readonly root: string) {}

  visit(v: unknown, depth: number): void {
    if (this.nodes >= MSGPACK_CHECK_NODES_MAX) return;
    this.nodes++;
    if (typeof v === 'function') throw new TypeError(`${this.path()} is a function, which cannot be serialized`);
    if (typeof v === 'symbol') throw new TypeError(`${this.path()} is a symbol, which cannot be serialized`);
    if (typeof v !== 'object' || v === null || this.seen.has(v)) return;
    this.seen.add(v);
    const plain = isPlainObject(v);
    if (!plain && !isMsgpackBuiltin(v)) {
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return;
      throw new TypeError(`${this.path()} is ${describe(v)}, which would lose its class; return plain data or use a custom serializer`);
    }
    if (depth >= MSGPACK_CHECK_DEPTH_MAX) return;
    const below = depth + 1;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && this.nodes < MSGPACK_CHECK_NODES_MAX; i++) this.child(STEP.index, i, v[i], below);
    } else if (v instanceof Map) {
      const entries = [...(v as Map<unknown, unknown>)];
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, e] = entries[i]!;
        this.child(STEP.mapValue, k, e, below);
        this.child(STEP.mapKey, k, k, below);
      }
    } else if (v instanceof Set) {
      const items = [...(v as Set<unknown>)];
      for (let i = items.length - 1; i >= 0; i--) this.child(STEP.setItem, undefined, items[i], below);
    } else if (plain) {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) this.child(STEP.key, keys[i], (v as Record<string, unknown>)[keys[i]!], below);
    }
  }

  private child(kind: StepKind, step: unknown, value: unknown, depth: number): void {
    this.steps.down(kind, step);
    this.visit(value, depth);
    this.steps.up();
  }

  /** The path to the value being checked, as an error names it: "result.rows[3]". */
  private path(): string {
    return this.steps.text(this.root);
  }
}

function describeKey(k: unknown): string {
  if (typeof k === 'string') return JSON.stringify(k);
  if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return String(k);
  return describe(k);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  const name = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'anonymous class';
  return `an instance of ${name}`;
}
