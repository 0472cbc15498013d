/**
 * What `submitWith` needs per call, made cheap for the common case of many calls of one
 * task definition: its options are validated once per definition (not per call), and a
 * task's spec is built as one object of a fixed shape (no spreads); when a batch is sent,
 * its specs get their export names (resolveKnown, resolveLater), waiting only for modules not loaded yet.
 */
import type { TaskSpec } from '../graph/spec.ts';
import type { TaskOptions } from '../graph/options.ts';
import { checkOptionsObject, normalizeOptions, type NormalizedTaskOptions } from '../graph/validate-options.ts';
import type { TaskDefCore } from './task-def.ts';
import { knownExportName, resolveExportName } from './exports.ts';
import { mapPacked } from '../util/packed.ts';

/** A queued task's spec; `exportName` is resolved at flush time when not known yet. */
export type QueuedSpec = Omit<TaskSpec, 'exportName'> & { exportName: string | undefined };

// A definition's options are frozen when it is made (task(), with()), so their normalized
// form cannot change: it is kept for as long as the definition lives.
const normalized = new WeakMap<object, NormalizedTaskOptions>();

/** The normalized options of one call: the definition's, overridden by `extra`. */
export function callOptions(def: TaskDefCore<unknown[], unknown>, extra: TaskOptions): NormalizedTaskOptions {
  checkOptionsObject(extra);
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

/** What resolveKnown and resolveLater need of a queued task (submitter.ts). */
export interface Resolvable {
  spec: QueuedSpec;
  def: object | undefined;
  moduleUrl: string;
}

/**
 * Fills in each task's export name (and the name of unnamed tasks), in place, where it is
 * known without loading a module. Returns the indices of the others (resolveLater), or
 * undefined when there are none: then nothing needs to wait.
 */
export function resolveKnown(ready: readonly Resolvable[]): number[] | undefined {
  let later: number[] | undefined;
  for (let i = 0; i < ready.length; i++) if (!resolveNow(ready[i]!)) (later ??= []).push(i);
  return later;
}

/**
 * Fills in the export names of tasks `later` (indices into `ready`) once their modules
 * have loaded. Returns the tasks that could not be resolved, by index, with why.
 */
export async function resolveLater(ready: readonly Resolvable[], later: readonly number[]): Promise<Map<number, { error: unknown }>> {
  const unresolved = new Map<number, { error: unknown }>();
  const settled = await Promise.allSettled(later.map((i) => resolveExportName(ready[i]!.def, ready[i]!.moduleUrl)));
  settled.forEach((result, j) => {
    const i = later[j]!;
    if (result.status === 'fulfilled') nameSpec(ready[i]!.spec, result.value);
    else unresolved.set(i, { error: result.reason });
  });
  return unresolved;
}

/** Fills in a task's export name if it is known without loading its module; false if not. */
export function resolveNow(task: Resolvable): boolean {
  const exportName = task.spec.exportName ?? (task.def === undefined ? undefined : knownExportName(task.def));
  if (exportName === undefined) return false;
  nameSpec(task.spec, exportName);
  return true;
}

function nameSpec(spec: QueuedSpec, exportName: string): void {
  spec.exportName = exportName;
  // Unnamed tasks (arrow functions passed to task()) are named after their export.
  if (spec.name === '') spec.name = exportName;
}

/** The specs of tasks whose export names are filled in (resolveNow), as one packed array (util/packed.ts). */
export function resolvedSpecs(tasks: readonly Resolvable[]): TaskSpec[] {
  return mapPacked(tasks, resolvedSpec);
}

function resolvedSpec(task: Resolvable): TaskSpec {
  return task.spec as TaskSpec;
}
