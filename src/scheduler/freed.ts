/**
 * The workers that gained capacity during the current event (`core.freed`): placement lets
 * them pull queued tasks and stealing looks at them when the event ends (scheduler.ts).
 *
 * A set of workers in the order they were added, emptied after every event. Not a `Set`:
 * emptying a Set allocates a new hash table each time (clear() does, and so does deleting
 * the last entry), once per event, i.e. once per finished task. Here membership is a mark
 * on the worker (`freedMark` equals the set's current mark), and emptying bumps the mark
 * and resets a count, so the array behind it is reused.
 */
import type { WorkerState } from './state.ts';

export class FreedWorkers {
  /** Members in insertion order: the first `count` entries (later ones are stale). */
  private readonly list: WorkerState[] = [];
  private count = 0;
  /** `freedMark` of current members; never 0, the mark of a worker never added. */
  private mark = 1;

  get size(): number {
    return this.count;
  }

  /** The i-th member in insertion order (0 <= i < size). */
  at(i: number): WorkerState {
    return this.list[i]!;
  }

  /** Adds a worker at the end, unless it is a member already. */
  add(w: WorkerState): void {
    if (w.freedMark === this.mark) return;
    w.freedMark = this.mark;
    this.list[this.count++] = w;
  }

  delete(w: WorkerState): void {
    if (w.freedMark !== this.mark) return;
    w.freedMark = 0;
    const i = this.list.indexOf(w);
    this.list.copyWithin(i, i + 1, this.count);
    this.count--;
  }

  clear(): void {
    if (this.count === 0) return;
    this.count = 0;
    this.mark++;
  }
}
