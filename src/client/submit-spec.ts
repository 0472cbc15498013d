/**
 * What `submitWith` needs per call, made cheap for the common case of many calls of one
 * task definition: its options are validated once per definition (not per call), and a
 * task's spec is built as one object of a fixed shape (no spreads).
 */
import type { TaskSpec } from '../graph/spec.ts';
import type { TaskOptions } from '../graph/options.ts';
import { normalizeOptions, type NormalizedTaskOptions } from '../graph/validate-options.ts';
import type { TaskDefCore } from './task-def.ts';

/** A queued task's spec; `exportName` is resolved at flush time when not known yet. */
export type QueuedSpec = Omit<TaskSpec, 'exportName'> & { exportName: string | undefined };

// A definition's options are frozen when it is made (task(), with()), so their normalized
// form cannot change: it is kept for as long as the definition lives.
const normalized = new WeakMap<object, NormalizedTaskOptions>();

/** The normalized options of one call: the definition's, overridden by `extra`. */
export function callOptions(def: TaskDefCore<unknown[], unknown>, extra: TaskOptions): NormalizedTaskOptions {
  if (hasOwnKeys(extra)) return normalizeOptions({ ...def.options, ...extra }, 'task options');
  let opts = normalized.get(def);
  if (opts === undefined) {
    opts = normalizeOptions(def.options, 'task options');
    normalized.set(def, opts);
  }
  return opts;
}

function hasOwnKeys(object: object): boolean {
  for (const key in object) if (Object.hasOwn(object, key)) return true;
  return false;
}

/** Builds a spec; `opts.serializer` and `opts.resources` are shared, never mutated. */
export function buildSpec(
  key: string,
  name: string,
  def: TaskDefCore<unknown[], unknown>,
  opts: NormalizedTaskOptions,
  args: Uint8Array,
  deps: string[],
  actors: string[],
  extra: Pick<TaskSpec, 'actor' | 'restartsMax'> | undefined,
): QueuedSpec {
  return {
    key,
    name,
    module: def.moduleUrl,
    exportName: def.exportName,
    args,
    deps,
    serializer: opts.serializer,
    priority: opts.priority,
    retries: opts.retries,
    retryDelayMs: opts.retryDelayMs,
    retryBackoff: opts.retryBackoff,
    timeoutMs: opts.timeoutMs,
    resources: opts.resources,
    traceParent: undefined,
    actor: extra?.actor,
    restartsMax: extra?.restartsMax,
    holdsActors: actors.length === 0 ? undefined : actors,
  };
}

let lastName = '';
let lastPrefix = '';

/** The key prefix for a task name: characters other than word characters, '.' and '-' become '_'. */
export function keyPrefix(name: string): string {
  // Consecutive calls almost always share a name.
  if (name !== lastName) {
    lastName = name;
    lastPrefix = name.replace(/[^\w.-]/g, '_');
  }
  return lastPrefix;
}
