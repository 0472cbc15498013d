/**
 * floe's own tasks, addressed by module 'floe:builtin'. Built here by hand (not with
 * task()) so that pool threads need no client code.
 */
import { TASK_BRAND } from '../client/task-def.ts';
import { FloeError } from '../errors.ts';
import type { TaskDefCore, TaskFn } from '../client/task-def.ts';

function builtin(name: string, fn: TaskFn<unknown[], unknown>): TaskDefCore<unknown[], unknown> {
  return Object.freeze({ [TASK_BRAND]: true as const, moduleUrl: 'floe:builtin', exportName: name, fn, options: {} });
}

/** `collect(a, b, c)` → `[a, b, c]`: gathers several results into one. */
function collect(...items: unknown[]): unknown[] {
  return items;
}

/** `getItem(x, k)` → `x[k]` (`x.get(k)` for a Map). */
function getItem(container: unknown, key: unknown): unknown {
  if (container instanceof Map) return container.get(key);
  if (typeof container !== 'object' || container === null) {
    throw new TypeError(`getItem: cannot read [${String(key)}] of ${container === null ? 'null' : typeof container}`);
  }
  return (container as Record<string | number, unknown>)[key as string | number];
}

/**
 * The task of a value a client put on a worker (Client.put). The value is stored there as
 * this task's result, which never runs for it; it runs only when no copy is left (its
 * worker was lost), and a value put is not recomputed: the task fails saying so.
 */
function put(key: unknown): never {
  throw new FloeError(
    'RESULT_UNAVAILABLE',
    `the value put as ${String(key)} was lost with the worker that held it (a put value is not recomputed, as a task's result is): put it again`,
  );
}

export const BUILTIN_TASKS: ReadonlyMap<string, TaskDefCore<unknown[], unknown>> = new Map([
  ['collect', builtin('collect', collect)],
  ['getItem', builtin('getItem', getItem)],
  ['put', builtin('put', put)],
]);
