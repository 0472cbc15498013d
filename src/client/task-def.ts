/**
 * The brand and shape of a task definition, kept in a file with no imports beyond
 * types so that pool threads can recognise tasks without loading the client.
 */
import type { TaskOptions } from '../graph/options.ts';

/** Global symbol: survives duplicate copies of floe (src vs dist) and realms. */
export const TASK_BRAND = Symbol.for('floe.task');

/** The function a task runs. Returns a value or a promise of one. */
export type TaskFn<A extends unknown[], R> = (...args: A) => R | Promise<R>;

/** Fields every task definition carries; the callable part lives in client/task.ts. */
export interface TaskDefCore<A extends unknown[], R> {
  readonly [TASK_BRAND]: true;
  /** URL of the module that defines (and exports) the task. */
  readonly moduleUrl: string;
  /** Export name; resolved lazily from the module when not given. */
  readonly exportName: string | undefined;
  readonly fn: TaskFn<A, R>;
  readonly options: Readonly<TaskOptions>;
}

export function isTaskDef(value: unknown): value is TaskDefCore<unknown[], unknown> {
  return (
    (typeof value === 'function' || (typeof value === 'object' && value !== null)) &&
    (value as unknown as Record<symbol, unknown>)[TASK_BRAND] === true
  );
}
