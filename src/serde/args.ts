/**
 * Task arguments with embedded references to other tasks' results.
 *
 * The client replaces every future found in the arguments (inside arrays and plain
 * objects, at any depth) by a {@link FutureRef}; the arguments are then msgpack-encoded
 * with a msgpackr extension for FutureRef. In the pool thread each ref is replaced by the
 * (deserialized) dependency result. Futures inside Maps, Sets or class instances are not
 * looked for: pass them in arrays or plain objects.
 */
import { addExtension } from 'msgpackr';
import { FloeError, isFloeError } from '../errors.ts';
import { checkMsgpackable, createPackr, describe, flatPackr, isPlainObject, PathSteps, STEP } from './builtins.ts';
import { ActorRef, actorIdOf, isActorRef } from './actor-ref.ts';
import { SmallSet } from '../util/small-set.ts';
import { FUTURE_REF_EXT_TYPE, writeFlat } from './flat-writer.ts';

/** msgpack extension type of FutureRef ('F'); msgpackr's own types do not use it. */
export { FUTURE_REF_EXT_TYPE };
/** Nesting limit of arguments: deeper structures are rejected instead of overflowing the stack. */
export const ARGS_DEPTH_MAX = 1000;

const FUTURE_REF_BRAND = Symbol.for('floe.futureRef');

/** The path of a ref to a whole result: one frozen array shared by all such refs. */
const WHOLE: readonly (string | number)[] = Object.freeze([]);

/** A reference to another task's result, or to an element of it (`path` [3] is `result[3]`). */
export class FutureRef {
  declare readonly [FUTURE_REF_BRAND]: true;
  constructor(
    readonly key: string,
    readonly path: readonly (string | number)[] = WHOLE,
  ) {}
}
// On the prototype: one brand for all refs, not one property per ref.
Object.defineProperty(FutureRef.prototype, FUTURE_REF_BRAND, { value: true });

/** Brand check: works across duplicate copies of floe (src/ and dist/) in one thread. */
export function isFutureRef(value: unknown): value is FutureRef {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[FUTURE_REF_BRAND] === true;
}

// Every copy of floe adds its own class; the last one added decodes, and all copies read
// refs through isFutureRef(), so copies interoperate.
addExtension({
  Class: FutureRef,
  type: FUTURE_REF_EXT_TYPE,
  write(ref: FutureRef) {
    // A fresh path array each time: with structured cloning, msgpackr would encode a second
    // occurrence of the shared empty path as a back-reference.
    return [ref.key, ref.path === WHOLE ? [] : ref.path];
  },
  read(data: unknown) {
    if (!Array.isArray(data) || typeof data[0] !== 'string' || !Array.isArray(data[1])) {
      throw new FloeError('MALFORMED_MESSAGE', 'malformed future reference in task arguments');
    }
    return new FutureRef(data[0], data[1] as (string | number)[]);
  },
});

const packr = createPackr();
// Flat arguments (encodeFlatArgs) are packed by builtins.ts's flatPackr: they hold no
// object twice (one array passed twice goes the general way).

export interface EncodedArgs {
  /**
   * A view into msgpackr's buffer, never written over by later packs (msgpackr goes on
   * after it, or in a new buffer): ownBytes() it before posting it to another thread.
   */
  bytes: Uint8Array;
  /** Distinct keys of the referenced results, in first-seen order. */
  deps: string[];
  /** Distinct ids of the actors whose handles the arguments carry, in first-seen order. */
  actors: string[];
}

/**
 * Encodes task arguments, replacing each value for which `toRef` returns a ref by that ref.
 * Unserializable arguments are UNSERIALIZABLE_ARGUMENT errors naming the position; an
 * error thrown by `toRef` itself (say, a future of another client) passes through as is.
 */
export function encodeArgs(args: unknown[], toRef: (value: unknown) => FutureRef | undefined): EncodedArgs {
  return encodeFlatArgs(args, toRef) ?? encodeAnyArgs(args, toRef);
}

/** Longest array argument the fast path takes (its deps are deduplicated by linear search). */
const FLAT_ARRAY_MAX = 64;

/**
 * The common case, without the general walk's maps and closures: arguments that are
 * primitives, futures or refs, or arrays of those. Anything else (objects, nested arrays,
 * actor handles, one array passed twice) returns undefined and takes the general path,
 * which then encodes them the same way it would have. `toRef` is called in the same order
 * as the general path calls it, so its errors are the same.
 */
function encodeFlatArgs(args: unknown[], toRef: (value: unknown) => FutureRef | undefined): EncodedArgs | undefined {
  const deps: string[] = [];
  const walked = new Array<unknown>(args.length);
  for (let i = 0; i < args.length; i++) {
    const value = args[i];
    const flat = flatValue(value, toRef, deps);
    if (flat !== NOT_FLAT) {
      walked[i] = flat;
      continue;
    }
    if (!Array.isArray(value) || value.length > FLAT_ARRAY_MAX) return undefined;
    // The same array twice is encoded once and referenced (structured cloning).
    for (let j = 0; j < i; j++) if (args[j] === value) return undefined;
    const copy = new Array<unknown>(value.length);
    for (let j = 0; j < value.length; j++) {
      const element = flatValue(value[j], toRef, deps);
      if (element === NOT_FLAT) return undefined;
      copy[j] = element;
    }
    walked[i] = copy;
  }
  let bytes = writeFlat(walked, wholeRefKey);
  if (bytes === undefined) {
    try {
      bytes = flatPackr.pack(walked);
    } catch {
      return undefined; // the general path finds the culprit and names it
    }
  }
  return { bytes, deps, actors: [] };
}

/** The key of a ref to a whole result (flat-writer.ts writes those; refs to a part go to msgpackr). */
function wholeRefKey(value: object): string | undefined {
  return value instanceof FutureRef && value.path === WHOLE ? value.key : undefined;
}

const NOT_FLAT = Symbol('not flat');

/** A primitive as is, a future as its ref (its key added to deps), or NOT_FLAT. */
function flatValue(value: unknown, toRef: (value: unknown) => FutureRef | undefined, deps: string[]): unknown {
  if (typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol' ? NOT_FLAT : value;
  if (value === null) return value;
  const ref = isFutureRef(value) ? value : toRef(value);
  if (ref === undefined) return NOT_FLAT;
  if (!deps.includes(ref.key)) deps.push(ref.key);
  return ref;
}

/** @internal The general path (exported for tests that compare it with the fast one). */
export function encodeAnyArgs(args: unknown[], toRef: (value: unknown) => FutureRef | undefined): EncodedArgs {
  const walk = new ArgsWalk(toRef);
  const walked: unknown[] = [];
  for (let i = 0; i < args.length; i++) {
    try {
      walked.push(walk.argument(i, args[i]));
    } catch (e) {
      if (walk.refError !== undefined) throw walk.refError.error;
      throw unserializableArgument(i, e);
    }
  }
  try {
    return { bytes: packr.pack(walked), deps: walk.deps, actors: walk.actors };
  } catch (e) {
    // Error path only: find the culprit argument by encoding them one by one.
    for (let i = 0; i < walked.length; i++) {
      try {
        packr.pack(walked[i]);
      } catch (inner) {
        throw unserializableArgument(i, inner);
      }
    }
    throw new FloeError('UNSERIALIZABLE_ARGUMENT', `task arguments cannot be serialized: ${message(e)}`, { cause: e });
  }
}

/**
 * One walk of the arguments for encodeAnyArgs: each future becomes its ref (its key a dep),
 * each actor handle an ActorRef (its id lent), arrays and plain objects are copied with
 * those in them, and anything else msgpack takes is kept as it is. Where the walk is goes
 * on PathSteps (builtins.ts), made into text only for an error.
 */
class ArgsWalk {
  readonly deps: string[] = [];
  readonly actors: string[] = [];
  /** An error thrown by `toRef` itself: it passes through as it is. */
  refError: { error: unknown } | undefined;
  private readonly seenDeps = new Set<string>();
  /** Containers already copied: a cycle or a shared subtree keeps its shape. */
  private readonly copies = new Map<object, unknown>();
  /** The argument being walked, and the array indices and object keys down to the value being visited. */
  private index = 0;
  private readonly steps = new PathSteps();

  constructor(private readonly toRef: (value: unknown) => FutureRef | undefined) {}

  argument(index: number, value: unknown): unknown {
    this.index = index;
    this.steps.clear();
    return this.visit(value, 0);
  }

  private visit(value: unknown, depth: number): unknown {
    const type = typeof value;
    // Primitives as they are (no future or actor handle is one).
    if (type !== 'object' && type !== 'function') {
      if (type === 'symbol') throw new TypeError(`${this.where()} is a symbol, which cannot be sent to a task`);
      return value;
    }
    if (value === null) return value;
    const ref = isFutureRef(value) ? value : this.refOf(value);
    if (ref !== undefined) {
      if (!this.seenDeps.has(ref.key)) {
        this.seenDeps.add(ref.key);
        this.deps.push(ref.key);
      }
      return ref;
    }
    if (isActorRef(value)) return this.lend(value);
    const actorId = actorIdOf(value);
    if (actorId !== undefined) return this.lend(new ActorRef(actorId));
    if (type === 'function') throw new TypeError(`${this.where()} is a function, which cannot be sent to a task`);
    const container = value as object;
    const done = this.copies.get(container);
    if (done !== undefined) return done; // cycle or shared subtree: keep the same shape
    if (depth >= ARGS_DEPTH_MAX) throw new TypeError(`${this.where()} is nested more than ${ARGS_DEPTH_MAX} levels deep`);
    if (Array.isArray(container)) return this.copyArray(container, depth);
    if (isPlainObject(container)) return this.copyObject(container as Record<string, unknown>, depth);
    // Map, Set, Date, typed arrays...: encoded as they are; class instances are rejected.
    checkMsgpackable(container, this.where());
    this.copies.set(container, container);
    return container;
  }

  private copyArray(value: unknown[], depth: number): unknown[] {
    const copy = new Array<unknown>(value.length);
    this.copies.set(value, copy);
    const at = this.steps.down(STEP.index, 0);
    for (let i = 0; i < value.length; i++) {
      this.steps.move(at, i);
      copy[i] = this.visit(value[i], depth + 1);
    }
    this.steps.up();
    return copy;
  }

  private copyObject(value: Record<string, unknown>, depth: number): Record<string, unknown> {
    const copy: Record<string, unknown> = {};
    this.copies.set(value, copy);
    const at = this.steps.down(STEP.key, '');
    for (const k of Object.keys(value)) {
      this.steps.move(at, k);
      copy[k] = this.visit(value[k], depth + 1);
    }
    this.steps.up();
    return copy;
  }

  private refOf(value: unknown): FutureRef | undefined {
    try {
      return this.toRef(value);
    } catch (error) {
      this.refError = { error };
      throw error;
    }
  }

  private lend(ref: ActorRef): ActorRef {
    if (!this.actors.includes(ref.actorId)) this.actors.push(ref.actorId);
    return ref;
  }

  /** The path to the value being visited, as an error names it: "argument 0.rows[3]". */
  private where(): string {
    return this.steps.text(`argument ${this.index}`);
  }
}

/**
 * Decodes arguments, replacing every ref by `resolve(ref)` and every actor handle by
 * `resolveActor(ref)` (default: left as an ActorRef).
 */
export function decodeArgs(
  bytes: Uint8Array,
  resolve: (ref: FutureRef) => unknown,
  resolveActor: (ref: ActorRef) => unknown = (ref) => ref,
): unknown[] {
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch (e) {
    throw new FloeError('DESERIALIZE_FAILED', `task arguments cannot be decoded: ${message(e)}`, { cause: e });
  }
  if (!Array.isArray(decoded)) {
    throw new FloeError('DESERIALIZE_FAILED', `task arguments must decode to an array, got ${describe(decoded)}`);
  }
  new ArgsPatch(resolve, resolveActor).array(decoded);
  return decoded;
}

/**
 * Puts the inputs into decoded arguments, in place (the decoded tree is fresh): each ref
 * becomes `resolve(ref)`, each actor handle `resolveActor(ref)`. Refs were only placed in
 * arrays and plain objects, so only those are walked, and each once: a shared one
 * (structured cloning) patched twice would walk into the results patched in. Arrays and
 * objects have loops of their own, so that a long array of numbers is one quick pass.
 */
class ArgsPatch {
  private readonly seen = new SmallSet<object>();

  constructor(
    private readonly resolve: (ref: FutureRef) => unknown,
    private readonly resolveActor: (ref: ActorRef) => unknown,
  ) {}

  array(a: unknown[]): void {
    this.seen.add(a);
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (typeof v !== 'object' || v === null) continue;
      const patched = this.value(v);
      if (patched !== v) a[i] = patched;
    }
  }

  private object(o: Record<string, unknown>): void {
    this.seen.add(o);
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (typeof v !== 'object' || v === null) continue;
      const patched = this.value(v);
      if (patched !== v) o[k] = patched;
    }
  }

  /** A ref or an actor handle resolved; an array or a plain object patched (once); anything else as it is. */
  private value(v: object): unknown {
    if (isFutureRef(v)) return this.resolve(v);
    if (isActorRef(v)) return this.resolveActor(v);
    if (this.seen.has(v)) return v;
    if (Array.isArray(v)) this.array(v);
    else if (isPlainObject(v)) this.object(v as Record<string, unknown>);
    return v;
  }
}

function unserializableArgument(position: number, e: unknown): FloeError {
  if (isFloeError(e) && e.code === 'UNSERIALIZABLE_ARGUMENT') return e;
  return new FloeError('UNSERIALIZABLE_ARGUMENT', `argument ${position} cannot be serialized: ${message(e)}`, {
    cause: e,
  });
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
