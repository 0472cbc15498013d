/**
 * Queued tasks: one ordered queue per distinct set of resource needs, so a worker that
 * gains capacity finds the best task it can run by looking at a few queue fronts instead
 * of skipping over tasks that need resources it lacks.
 */
import { OrderedTasks } from './ordered-tasks.ts';
import { compareTasks, hasResources, sigOf } from './state.ts';
import type { TaskState, WorkerState } from './state.ts';

export interface QueueGroup {
  /** Needs shared by every task in the group (see sigOf). */
  readonly sig: string;
  readonly example: TaskState;
  readonly tasks: OrderedTasks;
}

export class TaskQueues {
  private readonly groups = new Map<string, QueueGroup>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(ts: TaskState): void {
    const sig = sigOf(ts);
    let group = this.groups.get(sig);
    if (group === undefined) {
      group = { sig, example: ts, tasks: new OrderedTasks() };
      this.groups.set(sig, group);
    }
    group.tasks.push(ts);
    this.count++;
  }

  remove(ts: TaskState): void {
    this.groups.get(sigOf(ts))!.tasks.remove(ts);
    this.count--;
  }

  has(ts: TaskState): boolean {
    const tasks = this.groups.get(sigOf(ts))?.tasks;
    return tasks !== undefined && tasks.has(ts);
  }

  /** The highest-priority queued task this worker has the resources for (capacity aside). */
  bestFor(worker: WorkerState): TaskState | undefined {
    if (this.count === 0) return undefined;
    let best: TaskState | undefined;
    for (const group of this.groups.values()) {
      const top = group.tasks.peek();
      if (top === undefined || (best !== undefined && compareTasks(top, best) >= 0)) continue;
      if (hasResources(worker, top)) best = top;
    }
    return best;
  }

  /** Non-empty groups, for inspection. */
  *nonEmpty(): IterableIterator<QueueGroup> {
    for (const group of this.groups.values()) if (group.tasks.size > 0) yield group;
  }
}
