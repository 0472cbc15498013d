/**
 * Which ready tasks a worker starts together in one pool dispatch (a *batch*). Handing a
 * task to a pool thread costs tens of microseconds whatever it carries, more than a small
 * task itself; a batch pays it once and its tasks run one after another in one thread,
 * holding one thread slot (see WorkerState).
 *
 * A task queued in a batch waits for the ones before it, as it would have waited in the
 * worker's ready queue, but it can no longer be stolen or overtaken by a more urgent task.
 * So only tasks known to be short go in a batch, and only as many as fit a small time
 * budget: each task name's typical run time is learned from the runs on this worker, and
 * a name seen for the first time runs alone. Tasks with a timeout always run alone (their
 * timeout stops their thread).
 */
import type { WireAssign } from '../transport/messages.ts';
import type { Heap, HeapItem } from '../util/heap.ts';

export interface BatchConfig {
  /** Expected run time of one batch. 0 disables batching. */
  budgetMs: number;
  /** Tasks in one batch. */
  tasksMax: number;
}

export const DEFAULT_BATCH: BatchConfig = { budgetMs: 2, tasksMax: 64 };

/** Task names remembered; past it the estimates start over (a limit on memory). */
const NAMES_MAX = 4096;
/** Weight of the newest run in the moving average. */
const ALPHA = 0.3;

/** Typical run time per task name, from the runs on this worker. */
export class RunTimes {
  readonly #ms = new Map<string, number>();

  observe(name: string, durationMs: number): void {
    if (!(durationMs >= 0)) return;
    const old = this.#ms.get(name);
    if (old === undefined && this.#ms.size >= NAMES_MAX) this.#ms.clear();
    this.#ms.set(name, old === undefined ? durationMs : old + ALPHA * (durationMs - old));
  }

  get(name: string): number | undefined {
    return this.#ms.get(name);
  }
}

/** Expected run time of `a` when it may go in a batch; undefined when it must run alone. */
export function batchCostMs(a: WireAssign, times: RunTimes, config: BatchConfig): number | undefined {
  if (config.budgetMs <= 0 || a.spec.timeoutMs > 0) return undefined;
  const ms = times.get(a.spec.name);
  return ms !== undefined && ms <= config.budgetMs ? ms : undefined;
}

/**
 * `first` and the ready tasks that may run after it in the same thread, taken off `ready`:
 * while they are short and fit the batch's time budget, and no more than an even share
 * of the ready tasks among the free threads (so a batch does not leave a thread idle).
 */
export function takeBatch<T extends HeapItem & { assign: WireAssign }>(
  first: T,
  ready: Heap<T>,
  times: RunTimes,
  config: BatchConfig,
  freeThreads: number,
): T[] {
  let costMs = batchCostMs(first.assign, times, config);
  if (costMs === undefined || ready.size === 0) return [first];
  const tasksMax = Math.min(config.tasksMax, Math.ceil((ready.size + 1) / freeThreads));
  const batch = [first];
  while (batch.length < tasksMax) {
    const next = ready.peek();
    if (next === undefined) break;
    const ms = batchCostMs(next.assign, times, config);
    if (ms === undefined || costMs + ms > config.budgetMs) break;
    ready.pop();
    batch.push(next);
    costMs += ms;
  }
  return batch;
}
