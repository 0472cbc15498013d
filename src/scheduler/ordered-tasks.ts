/**
 * One queue of tasks in scheduling order (compareTasks), for task-queue.ts.
 *
 * A binary heap alone pays O(log n) on every removal of the best task, and with a
 * million queued tasks each of those ~20 steps reads a record that is not in the CPU
 * cache: in `bench/scheduler-child.ts` (1M independent tasks) that was about 0.4 µs of
 * every task. Yet tasks nearly always arrive in order: a submission's records are created
 * in seq order, mostly with equal priorities. So tasks that arrive in order go to the end
 * of a sorted `run` (a FIFO: push and take are O(1) and read memory in sequence), and only
 * the others to a heap; the best task is the better of the two fronts.
 *
 * `heapIndex` (owned by this queue) locates a task in either part: its index in the
 * heap, or its absolute position in the run (`offset` + array index, stable while the
 * array's front is cut off). Which part holds it is told by identity: a task is in at
 * most one, at its index there. Tasks removed from the middle of the run leave a hole
 * (undefined) that is skipped when it reaches the front.
 */
import { Heap } from '../util/heap.ts';
import { compareTasks } from './state.ts';
import type { TaskState } from './state.ts';

/** Holes at the front of the run past which the array is cut (and at least half of it). */
const RUN_CUT_MIN = 1024;

export class OrderedTasks {
  private readonly heap = new Heap<TaskState>(compareTasks);
  /** Tasks in scheduling order, with holes; live ones from `head` on. */
  private run: (TaskState | undefined)[] = [];
  private head = 0;
  /** Run positions cut off the front of `run` so far. */
  private offset = 0;
  /** Live tasks in the run. */
  private runCount = 0;
  /** The task last appended to the run: every task in it comes no later. */
  private runLast: TaskState | undefined;

  get size(): number {
    return this.runCount + this.heap.size;
  }

  /** The first task in scheduling order. */
  peek(): TaskState | undefined {
    const a = this.runCount > 0 ? this.run[this.head] : undefined;
    const b = this.heap.peek();
    if (a === undefined) return b;
    return b === undefined || compareTasks(a, b) < 0 ? a : b;
  }

  push(ts: TaskState): void {
    if (this.runCount > 0 && compareTasks(this.runLast!, ts) > 0) {
      this.heap.push(ts);
      return;
    }
    ts.heapIndex = this.offset + this.run.length;
    this.run.push(ts);
    this.runCount++;
    this.runLast = ts;
  }

  has(ts: TaskState): boolean {
    return this.heap.has(ts) || this.inRun(ts);
  }

  remove(ts: TaskState): void {
    if (this.heap.has(ts)) {
      this.heap.remove(ts);
      return;
    }
    this.run[ts.heapIndex - this.offset] = undefined;
    ts.heapIndex = -1;
    if (--this.runCount === 0) {
      // Empty: start afresh, so that the next task is in order whatever it is.
      this.run = [];
      this.head = 0;
      this.offset = 0;
      this.runLast = undefined;
      return;
    }
    const run = this.run;
    let head = this.head;
    while (run[head] === undefined) head++;
    this.head = head;
    if (head >= RUN_CUT_MIN && head * 2 >= run.length) {
      this.run = run.slice(head);
      this.offset += head;
      this.head = 0;
    }
  }

  /** Every task, in no particular order (for inspection). */
  items(): TaskState[] {
    const out: TaskState[] = [];
    for (let i = this.head; i < this.run.length; i++) {
      const ts = this.run[i];
      if (ts !== undefined) out.push(ts);
    }
    return out.concat(this.heap.items);
  }

  private inRun(ts: TaskState): boolean {
    const i = ts.heapIndex - this.offset;
    return i >= this.head && i < this.run.length && this.run[i] === ts;
  }
}
