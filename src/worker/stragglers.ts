/**
 * Finds pool threads stuck on a straggler while runs queue behind it (after Dask, whose
 * workers keep unstarted tasks out of the thread pool so that work stealing can still
 * move them).
 *
 * The worker queues short tasks in the pool, in batches, behind the ones its threads run
 * (worker/batching.ts mayPipeline). A task of a name learned as short that runs long now
 * holds up every run queued behind it on its thread, and those can no longer be stolen.
 * So while batches are pending, the pool executor looks at them every STRAGGLER_TICK_MS:
 * a batch that made no progress since the last look (PendingBatch.progress) and has a run
 * started is straggling; one that made none and still has runs waiting is stalled. The
 * threads of straggling batches get no more batches while others can take them
 * (pool-balancer.ts); the runs of stalled batches that have not started, and those the
 * straggling batches finished without posting their results, are taken back and given to
 * the worker again (executor.ts RETURNED), with the stragglers, so that its state machine
 * runs them elsewhere and queues nothing more behind the stragglers.
 *
 * A run is thus found straggling after one to two ticks; runs it held up wait at most that
 * long. A run that seceded (waits on its subtasks, beside its batch) is reported too,
 * once its batch is done; the worker ignores it, as it holds no slot.
 *
 * A run alone shows no progress (it has no cells), and nothing should queue behind it, but
 * it holds its thread all the same, and the pool balancer cannot always keep batches from
 * queuing behind it (pool-balancer.ts). So runs alone are watched too: one still running at
 * the second look is found, once, and the batches stalled at that look are taken back. The
 * worker hears of it as a straggler only if its kind was learned short (RunOptions.short):
 * a task of a kind not known to be short may well run long.
 */
import type { BatchRun } from './executor.ts';
import type { PendingBatch } from './pool-batch.ts';
import { ChurnMap } from '../util/churn-map.ts';

/** How often pending batches are looked at. */
export const STRAGGLER_TICK_MS = 100;

/** A run found straggling: its batch and index. */
export interface Straggler {
  batch: PendingBatch;
  index: number;
}

export class StragglerWatch {
  #timer: NodeJS.Timeout | undefined;
  /** Runs alone being watched, with the looks each has run through (reported at the second). */
  readonly #lone = new ChurnMap<BatchRun, number>();

  constructor(
    private readonly pending: () => Iterable<PendingBatch>,
    /**
     * Called when a look finds stragglers: in batches, with the batches stalled at that look
     * (maybe none), and runs alone (each once).
     */
    private readonly onStraggling: (stragglers: Straggler[], stalled: PendingBatch[], lone: BatchRun[]) => void,
  ) {}

  /** A run alone started: it is looked at until `unwatch`. */
  watch(run: BatchRun): void {
    this.#lone.set(run, 0);
    this.arm();
  }

  unwatch(run: BatchRun): void {
    this.#lone.delete(run);
  }

  /** A batch is pending: looks at the batches every tick while any is. */
  arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.look()) this.arm();
    }, STRAGGLER_TICK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One look at the pending batches and runs alone (the timer's; tests call it directly); whether any is pending. */
  look(): boolean {
    const stragglers: Straggler[] = [];
    const stalled: PendingBatch[] = [];
    const lone: BatchRun[] = [];
    let any = this.#lone.size > 0;
    for (const [run, looks] of this.#lone) {
      this.#lone.set(run, looks + 1);
      if (looks + 1 === 2) lone.push(run);
    }
    for (const batch of this.pending()) {
      any = true;
      const progress = batch.progress();
      const moved = progress !== batch.seenProgress;
      batch.seenProgress = progress;
      if (moved) continue;
      for (const index of batch.startedRuns()) stragglers.push({ batch, index });
      if (batch.hasWaiting()) stalled.push(batch);
    }
    if (stragglers.length > 0 || lone.length > 0) this.onStraggling(stragglers, stalled, lone);
    return any;
  }
}
