/**
 * The serializer registry of this realm (thread).
 *
 * The table lives on `globalThis` under a global symbol, not in this module: floe may be
 * loaded twice in one thread (dist/ by the pool thread entry, src/ by a TypeScript task
 * module that imports floe's sources), and a serializer registered through either copy
 * must be visible to both.
 */
import { FloeError, isFloeError } from '../errors.ts';
import type { SerializerRef } from '../graph/spec.ts';
import { BUILTIN_SERIALIZERS } from './builtins.ts';
import type { Serializer, SerializerDefinition } from './types.ts';

interface Entry {
  serializer: Serializer;
  moduleUrl: string;
}

const REGISTRY = Symbol.for('floe.serde.registry');

/**
 * This realm's table, once this copy of floe has found or made it (and added its builtins).
 * The table on `globalThis` is never replaced and entries are never removed, so once found
 * it stays the one every copy uses: getSerializer, called per result, is then one Map look-up.
 */
let found: Map<string, Entry> | undefined;

function table(): Map<string, Entry> {
  if (found !== undefined) return found;
  const g = globalThis as unknown as Record<symbol, Map<string, Entry> | undefined>;
  let t = g[REGISTRY];
  if (t === undefined) {
    t = new Map();
    g[REGISTRY] = t;
  }
  // Another copy of floe may have created the table already; builtins are added only when
  // missing, so each copy's (equivalent) builtins never clash.
  for (const s of BUILTIN_SERIALIZERS) if (!t.has(s.id)) t.set(s.id, { serializer: s, moduleUrl: '' });
  found = t;
  return t;
}

/** Ids of the serializers every floe thread knows without importing anything. */
export const BUILTIN_SERIALIZER_IDS: readonly string[] = BUILTIN_SERIALIZERS.map((s) => s.id);

/**
 * Registers a serializer in this realm. Registering the same object twice is a no-op;
 * another object under a taken id is an INVALID_ARGUMENT error.
 */
export function registerSerializer(serializer: Serializer, moduleUrl = ''): void {
  if (typeof serializer !== 'object' || serializer === null) {
    throw new FloeError('INVALID_ARGUMENT', 'serializer must be an object with id, serialize and deserialize');
  }
  if (typeof serializer.id !== 'string' || serializer.id === '') {
    throw new FloeError('INVALID_ARGUMENT', 'serializer.id must be a non-empty string');
  }
  if (typeof serializer.serialize !== 'function' || typeof serializer.deserialize !== 'function') {
    throw new FloeError('INVALID_ARGUMENT', `serializer "${serializer.id}" must have serialize and deserialize functions`);
  }
  const t = table();
  const existing = t.get(serializer.id);
  if (existing !== undefined) {
    if (existing.serializer === serializer) return;
    throw new FloeError(
      'INVALID_ARGUMENT',
      `a different serializer with id "${serializer.id}" is already registered` +
        (existing.moduleUrl === '' ? '' : ` (by ${existing.moduleUrl})`),
    );
  }
  t.set(serializer.id, { serializer, moduleUrl });
}

/**
 * Defines a custom serializer in a module that workers can import:
 *
 * ```ts
 * export const csv = defineSerializer(import.meta.url, { id: 'csv', serialize, deserialize });
 * const load = task(fn, { serializer: csv });
 * ```
 *
 * Call it at the top level of the module: a worker that meets the id imports `moduleUrl`
 * to register it.
 */
export function defineSerializer(moduleUrl: string, serializer: Serializer): SerializerDefinition {
  // A URL (as task() asks): workers import the module by it to find the serializer.
  if (typeof moduleUrl !== 'string' || !/^[a-z][a-z0-9+.-]*:/i.test(moduleUrl)) {
    throw new FloeError('INVALID_ARGUMENT', `defineSerializer(moduleUrl, ...): moduleUrl must be the defining module's import.meta.url (got ${String(moduleUrl)})`);
  }
  registerSerializer(serializer, moduleUrl);
  return Object.freeze({ id: serializer.id, moduleUrl, serializer });
}

/** The serializer with this id if it is registered in this realm. */
export function getSerializer(id: string): Serializer | undefined {
  return table().get(id)?.serializer;
}

/**
 * Finds the serializer a ref names, importing its module first when it is not known yet.
 * Fails with UNKNOWN_SERIALIZER naming the id and module.
 */
export async function resolveSerializer(ref: SerializerRef): Promise<Serializer> {
  const known = getSerializer(ref.id);
  if (known !== undefined) return known;
  if (ref.module === '') {
    throw new FloeError('UNKNOWN_SERIALIZER', `unknown serializer "${ref.id}" (no module given to load it from)`);
  }
  try {
    await import(ref.module);
  } catch (e) {
    throw new FloeError(
      'UNKNOWN_SERIALIZER',
      `serializer "${ref.id}": cannot import its module ${ref.module}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  const loaded = getSerializer(ref.id);
  if (loaded === undefined) {
    throw new FloeError(
      'UNKNOWN_SERIALIZER',
      `module ${ref.module} did not register serializer "${ref.id}" (call defineSerializer at its top level)`,
    );
  }
  return loaded;
}

/** Serializes a task result; any failure is UNSERIALIZABLE_RESULT naming task and serializer. */
export function serializeResult(value: unknown, serializer: Serializer, taskKey: string): Uint8Array {
  return serializeWith(serializer, value, `result of task "${taskKey}"`, 'UNSERIALIZABLE_RESULT', taskKey);
}

/**
 * `serializer.serialize(value)`, checked: a throw, or anything but a Uint8Array returned,
 * is a FloeError with `code` naming `what` (e.g. `result of task "k"`) and the serializer.
 */
export function serializeWith(serializer: Serializer, value: unknown, what: string, code: 'UNSERIALIZABLE_RESULT' | 'UNSERIALIZABLE_ARGUMENT', taskKey?: string): Uint8Array {
  let bytes: unknown;
  try {
    bytes = serializer.serialize(value);
  } catch (e) {
    throw new FloeError(code, `${what} cannot be serialized with "${serializer.id}": ${reason(e)}`, { cause: e, ...(taskKey === undefined ? {} : { taskKey }) });
  }
  if (!(bytes instanceof Uint8Array)) {
    const got = isThenable(bytes) ? 'a Promise (serializers must be synchronous)' : bytes === null ? 'null' : typeof bytes;
    throw new FloeError(code, `${what}: serializer "${serializer.id}" returned ${got}, not a Uint8Array`, taskKey === undefined ? {} : { taskKey });
  }
  return bytes;
}

/** Whether `value` is a Promise (or like one); if so, its outcome is ignored from now on (a rejection must not go unhandled). */
function isThenable(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || typeof (value as { then?: unknown }).then !== 'function') return false;
  (value as PromiseLike<unknown>).then(undefined, () => undefined);
  return true;
}

/** Deserializes stored bytes; any failure is DESERIALIZE_FAILED naming key and serializer. */
export function deserializeValue(bytes: Uint8Array, serializer: Serializer, key: string): unknown {
  try {
    const value = serializer.deserialize(bytes);
    // A task would be given the Promise itself, and a path into it would read undefined.
    if (isThenable(value)) throw new Error('it returned a Promise (serializers must be synchronous)');
    return value;
  } catch (e) {
    throw new FloeError(
      'DESERIALIZE_FAILED',
      `result of "${key}" cannot be deserialized with "${serializer.id}": ${reason(e)}`,
      { cause: e, taskKey: key },
    );
  }
}

function reason(e: unknown): string {
  if (isFloeError(e) || e instanceof Error) return e.message;
  return String(e);
}
