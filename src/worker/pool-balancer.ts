/**
 * Which pool thread a dispatch goes to (Piscina's loadBalancer).
 *
 * Piscina's default balancer gives a thread running an abortable task (ours all are: they
 * can be cancelled) nothing else. Tasks waiting on subtasks must share their thread, so
 * this one counts such a thread as holding one task and picks the least busy thread. The
 * worker's state machine keeps the number of tasks actually running to `threads`.
 *
 * Threads stuck on a straggler (worker/stragglers.ts) get nothing while another thread can
 * take the dispatch: the runs taken back from behind a straggler would otherwise queue
 * behind it again whenever the threads tie (the first one wins a tie). Nor does a thread
 * given a run alone, until it is seen idle: such a run may be long (it is long unless of a
 * kind learned short), and the worker dispatches when its own count of threads has one
 * free, while that thread may still be finishing its last batch, so the threads tie. A run
 * alone queued behind another could not be taken back (only batches show their progress),
 * nor a batch behind a run alone that is not watched.
 */
import type { Piscina } from 'piscina';
import type { PendingBatch } from './pool-batch.ts';

type Balancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;

/** The pool's name for runs alone (the thread entry's export of that name, runtime/thread.ts). */
export const RUN_ALONE = 'alone';

export class PoolBalancer {
  /** Straggling batches per stuck thread, by threadId. */
  readonly #stuck = new Map<number, number>();
  /** Batches counted in #stuck, with their thread. */
  readonly #stuckBatches = new Map<PendingBatch, number>();
  /** Threads given a run alone and not seen idle since, by threadId. */
  readonly #alone = new Set<number>();

  constructor(private readonly tasksPerThreadMax: number) {}

  readonly balance: Balancer = (task, workers) => {
    let best: (typeof workers)[number] | null = null;
    let bestUsage = this.tasksPerThreadMax;
    let held: (typeof workers)[number] | null = null;
    if (this.#alone.size > 0) for (const w of workers) if (w.currentUsage === 0) this.#alone.delete(w.id);
    for (const w of workers) {
      const usage = w.isRunningAbortableTask ? 1 : w.currentUsage;
      if (usage >= bestUsage) continue;
      if ((this.#stuck.size > 0 && this.#stuck.has(w.id)) || (this.#alone.size > 0 && this.#alone.has(w.id))) {
        held ??= w;
        continue;
      }
      best = w;
      bestUsage = usage;
      if (usage === 0) break;
    }
    const chosen = best ?? held;
    if (chosen !== null && task.name === RUN_ALONE) this.#alone.add(chosen.id);
    return chosen;
  };

  /** `batch` straggles: its thread gets nothing more while another can take it, until the batch is done. False if known already. */
  stuck(batch: PendingBatch): boolean {
    const thread = batch.threadId;
    if (thread === 0 || this.#stuckBatches.has(batch)) return false;
    this.#stuckBatches.set(batch, thread);
    this.#stuck.set(thread, (this.#stuck.get(thread) ?? 0) + 1);
    return true;
  }

  /** Every run of `batch` settled. */
  batchDone(batch: PendingBatch): void {
    const thread = this.#stuckBatches.get(batch);
    if (thread === undefined) return;
    this.#stuckBatches.delete(batch);
    const n = (this.#stuck.get(thread) ?? 0) - 1;
    if (n > 0) this.#stuck.set(thread, n);
    else this.#stuck.delete(thread);
  }
}
