/**
 * Queued tasks: one binary heap per distinct set of resource needs, so a worker that
 * gains capacity finds the best task it can run by looking at a few heap tops instead
 * of skipping over tasks that need resources it lacks.
 */
import { compareTasks, hasResources } from './state.ts';
import type { TaskState, WorkerState } from './state.ts';

/** Min-heap on compareTasks; each task remembers its index so it can be removed in O(log n). */
export class TaskHeap {
  readonly items: TaskState[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): TaskState | undefined {
    return this.items[0];
  }

  push(ts: TaskState): void {
    ts.heapIndex = this.items.length;
    this.items.push(ts);
    this.up(ts.heapIndex);
  }

  remove(ts: TaskState): void {
    const i = ts.heapIndex;
    const last = this.items.pop()!;
    ts.heapIndex = -1;
    if (last === ts) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.up(i);
    this.down(last.heapIndex);
  }

  private up(i: number): void {
    const items = this.items;
    const ts = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (compareTasks(ts, p) >= 0) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = ts;
    ts.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const ts = items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && compareTasks(items[right]!, items[left]!) < 0) child = right;
      const c = items[child]!;
      if (compareTasks(c, ts) >= 0) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = ts;
    ts.heapIndex = i;
  }
}

export interface QueueGroup {
  /** Needs shared by every task in the group (see TaskState.sig). */
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
    let group = this.groups.get(ts.sig);
    if (group === undefined) {
      group = { sig: ts.sig, example: ts, heap: new TaskHeap() };
      this.groups.set(ts.sig, group);
    }
    group.heap.push(ts);
    this.count++;
  }

  remove(ts: TaskState): void {
    this.groups.get(ts.sig)!.heap.remove(ts);
    this.count--;
  }

  has(ts: TaskState): boolean {
    const heap = this.groups.get(ts.sig)?.heap;
    return heap !== undefined && ts.heapIndex >= 0 && heap.items[ts.heapIndex] === ts;
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
