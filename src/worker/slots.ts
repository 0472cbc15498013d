/**
 * A worker's thread slots, as its state machine (worker/state.ts) counts them: runs and
 * batches holding a thread, those nothing may queue behind in the pool, and the expected
 * work of the short tasks the pool holds (pipelining: batching.ts mayPipeline).
 *
 * A run alone holds a slot; a batch holds one for all its tasks (a Lane) until the last
 * of them lets go. A run that counts as `long` (WorkerTask.long) keeps the pool from
 * queuing anything behind the busy threads: a task not known to be short, a run alone
 * (the pool shows no progress of a run alone, only how long it has run, so what queued
 * behind one could not be told from a straggler's hold-up), a task that took its slot
 * back after seceding, and a run the pool found straggling (worker/executor-pool.ts).
 */
import { mayPipeline, type BatchConfig } from './batching.ts';
import type { WorkerTask } from './state-types.ts';

export class Slots {
  /** Runs and batches holding a thread slot. */
  executing = 0;
  /** Slots held by `long` tasks. */
  longSlots = 0;
  /** Expected run time of the short tasks holding slots (WorkerTask.costMs). */
  inFlightMs = 0;

  constructor(
    private readonly threads: number,
    private readonly batch: BatchConfig,
  ) {}

  /** Whether a thread is free. */
  get free(): boolean {
    return this.executing < this.threads;
  }

  /** Threads not busy, at least 1 (takeBatch shares the ready tasks among them). */
  get freeThreads(): number {
    return Math.max(1, this.threads - this.executing);
  }

  /**
   * Whether another run may start: a thread is free, or every busy thread runs short
   * tasks that something may queue behind, and the next run is short too (`nextShort`),
   * so it queues behind them in the pool.
   */
  hasRoom(nextShort: () => boolean): boolean {
    if (this.executing < this.threads) return true;
    if (this.longSlots > 0 || !mayPipeline(this.executing, this.inFlightMs, this.threads, this.batch)) return false;
    return nextShort();
  }

  /** The tasks of one dispatch take a slot (one, shared through a lane, for a batch); costMs set by takeBatch. */
  take(batch: readonly WorkerTask[]): void {
    const lane = batch.length > 1 ? { active: batch.length } : undefined;
    for (const task of batch) {
      task.state = 'executing';
      task.slot = true;
      task.lane = lane;
      this.inFlightMs += task.costMs;
    }
    this.executing += 1;
    if (lane === undefined) this.markLong(batch[0]!);
  }

  /** Nothing queues behind this run any more (a no-op unless it holds a slot). */
  markLong(task: WorkerTask): void {
    if (!task.slot || task.long) return;
    task.long = true;
    this.longSlots += 1;
  }

  /** The task stops counting against the threads (its batch's slot frees with its last task). */
  release(task: WorkerTask): void {
    if (!task.slot) return;
    task.slot = false;
    this.inFlightMs -= task.costMs;
    task.costMs = 0;
    if (task.long) {
      task.long = false;
      this.longSlots -= 1;
    }
    const lane = task.lane;
    task.lane = undefined;
    if (lane === undefined || --lane.active === 0) this.executing -= 1;
    if (this.executing === 0) this.inFlightMs = 0; // no rounding left over when idle
  }

  /** A seceded task takes a slot of its own back, even above the thread limit. */
  rejoin(task: WorkerTask): void {
    task.slot = true;
    task.rejoined = true;
    task.lane = undefined;
    this.executing += 1;
    this.markLong(task);
  }
}
