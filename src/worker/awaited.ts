/**
 * Inputs being made on this worker that tasks here wait for (worker/state.ts): a chain's or
 * a tree's tasks assigned early, with no holders for their inputs (scheduler/early.ts). By
 * input id, the tasks waiting; when one of those inputs fails, the scheduler cancels them.
 * The counterpart of fetches.ts for results made here instead of fetched.
 */
import type { WorkerTask } from './state-types.ts';
import { ChurnMap } from '../util/churn-map.ts';
import { SmallSet } from '../util/small-set.ts';

export class Awaited {
  /** The tasks waiting for each input being made here (takeBatch follows them). */
  readonly byId = new ChurnMap<string, SmallSet<WorkerTask>>();

  get size(): number {
    return this.byId.size;
  }

  /** `task` waits for input `id`, being made here. */
  wait(task: WorkerTask, id: string): void {
    task.missing.add(id);
    let waiters = this.byId.get(id);
    if (waiters === undefined) this.byId.set(id, (waiters = new SmallSet()));
    waiters.add(task);
  }

  /** `task` no longer waits for `id` (it was dropped). */
  unwait(id: string, task: WorkerTask): void {
    const waiters = this.byId.get(id);
    if (waiters?.delete(task) === true && waiters.size === 0) this.byId.delete(id);
  }

  /** Input `id` was made here: the tasks that waited for it (their `missing` still has it), no longer kept. */
  made(id: string): Iterable<WorkerTask> | undefined {
    const waiters = this.byId.get(id);
    if (waiters !== undefined) this.byId.delete(id);
    return waiters;
  }

  /** An early task follows the runs making its inputs in their batch: it stops waiting for them here. */
  follows(task: WorkerTask): void {
    for (const id of task.missing) this.unwait(id, task);
    task.missing.clear();
  }
}
