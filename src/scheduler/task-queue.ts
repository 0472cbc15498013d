/**
 * Queued tasks: one binary heap per distinct set of resource needs, so a worker that
 * gains capacity finds the best task it can run by looking at a few heap tops instead
 * of skipping over tasks that need resources it lacks.
 */
import { compareTasks, hasResources, sigOf } from './state.ts';
import type { TaskState, WorkerState } from './state.ts';
import { Heap } from '../util/heap.ts';

/** Queued tasks in scheduling order (see compareTasks). */
export class TaskHeap extends Heap<TaskState> {
  constructor() {
    super(compareTasks);
  }
}

export interface QueueGroup {
  /** Needs shared by every task in the group (see sigOf). */
  readonly sig: string;
  readonly example: TaskState;
  readonly heap: TaskHeap;
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
      group = { sig, example: ts, heap: new TaskHeap() };
      this.groups.set(sig, group);
    }
    group.heap.push(ts);
    this.count++;
  }

  remove(ts: TaskState): void {
    this.groups.get(sigOf(ts))!.heap.remove(ts);
    this.count--;
  }

  has(ts: TaskState): boolean {
    const heap = this.groups.get(sigOf(ts))?.heap;
    return heap !== undefined && heap.has(ts);
  }

  /** The highest-priority queued task this worker has the resources for (capacity aside). */
  bestFor(worker: WorkerState): TaskState | undefined {
    if (this.count === 0) return undefined;
    let best: TaskState | undefined;
    for (const group of this.groups.values()) {
      const top = group.heap.peek();
      if (top === undefined || (best !== undefined && compareTasks(top, best) >= 0)) continue;
      if (hasResources(worker, top)) best = top;
    }
    return best;
  }

  /** Non-empty groups, for inspection. */
  *nonEmpty(): IterableIterator<QueueGroup> {
    for (const group of this.groups.values()) if (group.heap.size > 0) yield group;
  }
}
