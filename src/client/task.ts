/**
 * `task()`: how users define tasks. A task is addressed by (module URL, export name),
 * so it must be exported from the module that defines it; workers import that module
 * in their pool threads. Calling a task inside a flow returns a typed Future.
 */
import { FloeError } from '../errors.ts';
import type { TaskOptions } from '../graph/options.ts';
import { normalizeOptions } from '../graph/validate-options.ts';
import { TASK_BRAND, type TaskDefCore, type TaskFn } from './task-def.ts';
import type { Future } from './future.ts';
import { currentFlow } from './flow-context.ts';

/** A value, or a future of it; arrays may mix values and futures element-wise. */
export type Arg<T> =
  | T
  | Future<T>
  | (T extends readonly (infer E)[] ? readonly Arg<E>[] : never);

export type Args<A extends unknown[]> = { [K in keyof A]: Arg<A[K]> };

export interface TaskDef<A extends unknown[], R> extends TaskDefCore<A, R> {
  /** Inside a flow: adds this task to the flow's graph and returns its future. */
  (...args: Args<A>): Future<Awaited<R>>;
  /** The same task with some options changed (validated now). */
  with(options: TaskOptions): TaskDef<A, R>;
  /**
   * Inside a flow: one task per item. With a future of a list (known only at run
   * time, like Kubeflow's ParallelFor), the fan-out happens once that list exists;
   * the result is a future of the list of results.
   */
  map(items: Future<readonly A[0][]>, ...rest: Args<Tail<A>>): Future<Awaited<R>[]>;
  map(items: readonly Arg<A[0]>[], ...rest: Args<Tail<A>>): Future<Awaited<R>>[];
}

export type Tail<A extends unknown[]> = A extends [unknown, ...infer T] ? T : [];

/**
 * Defines a task. Export the result from the module whose `import.meta.url` you pass:
 *
 * ```ts
 * export const add = task(import.meta.url, (a: number, b: number) => a + b);
 * ```
 */
export function task<A extends unknown[], R>(
  moduleUrl: string,
  fn: TaskFn<A, R>,
  options: TaskOptions = {},
): TaskDef<A, R> {
  if (typeof moduleUrl !== 'string' || !/^[a-z][a-z0-9+.-]*:/i.test(moduleUrl)) {
    throw new FloeError(
      'INVALID_ARGUMENT',
      `task(moduleUrl, fn): moduleUrl must be the defining module's import.meta.url (got ${String(moduleUrl)})`,
    );
  }
  if (typeof fn !== 'function') {
    throw new FloeError('INVALID_ARGUMENT', `task(moduleUrl, fn): fn must be a function (got ${typeof fn})`);
  }
  normalizeOptions(options, 'task options');
  return makeDef(moduleUrl, fn, options, undefined);
}

function makeDef<A extends unknown[], R>(
  moduleUrl: string,
  fn: TaskFn<A, R>,
  options: TaskOptions,
  exportName: string | undefined,
  origin?: object,
): TaskDef<A, R> {
  const call = (...args: Args<A>): Future<Awaited<R>> => requireFlow(fn.name).call(def, args);
  const def = Object.assign(call, {
    [TASK_BRAND]: true as const,
    moduleUrl,
    exportName,
    fn,
    options: Object.freeze({ ...options }),
    with(more: TaskOptions): TaskDef<A, R> {
      const merged = { ...options, ...more };
      normalizeOptions(merged, 'task options');
      return makeDef(moduleUrl, fn, merged, exportName, ORIGINALS.get(def));
    },
    map(items: unknown, ...rest: unknown[]): unknown {
      return requireFlow(fn.name).map(def, items, rest);
    },
  }) as unknown as TaskDef<A, R>;
  // `with()` variants are not exported themselves: they remember the original.
  ORIGINALS.set(def, origin ?? def);
  return def;
}

/** Tasks made by `with()` point at the exported task they derive from. */
export const ORIGINALS = new WeakMap<object, object>();

function requireFlow(name: string): ReturnType<typeof currentFlow> & object {
  const flow = currentFlow();
  if (flow === undefined) {
    throw new FloeError(
      'INVALID_ARGUMENT',
      `task ${name || '(anonymous)'} was called outside a flow: call tasks inside client.run(flow) or use client.submit(task, ...args)`,
    );
  }
  return flow;
}
