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
 * behind it again whenever the threads tie (the first one wins a tie).
 */
import type { Piscina } from 'piscina';
import type { PendingBatch } from './pool-batch.ts';

type Balancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;

export class PoolBalancer {
  /** Straggling batches per stuck thread, by threadId. */
  readonly #stuck = new Map<number, number>();
  /** Batches counted in #stuck, with their thread. */
  readonly #stuckBatches = new Map<PendingBatch, number>();

  constructor(private readonly tasksPerThreadMax: number) {}

  readonly balance: Balancer = (_task, workers) => {
    let best: (typeof workers)[number] | null = null;
    let bestUsage = this.tasksPerThreadMax;
    let stuck: (typeof workers)[number] | null = null;
    for (const w of workers) {
      const usage = w.isRunningAbortableTask ? 1 : w.currentUsage;
      if (usage >= bestUsage) continue;
      if (this.#stuck.size > 0 && this.#stuck.has(w.id)) {
        stuck ??= w;
        continue;
      }
      best = w;
      bestUsage = usage;
      if (usage === 0) break;
    }
    return best ?? stuck;
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
