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
import type { SetView } from '../util/small-set.ts';
import type { WireAssign } from '../transport/messages.ts';
import type { Heap, HeapItem } from '../util/heap.ts';

export interface BatchConfig {
  /** Expected run time of one batch. 0 disables batching. */
  budgetMs: number;
  /** Tasks in one batch. */
  tasksMax: number;
  /**
   * While every busy thread runs short tasks, queue more batches of short tasks in the
   * pool (see mayPipeline), so that a thread goes straight on to them instead of idling
   * while the main thread takes the results in and sends the next batch.
   */
  pipeline: boolean;
}

/** Batches per thread in the pool at most, running and queued (pipelining). */
export const PIPELINE_BATCHES_MAX = 8;

/**
 * Whether one more batch of short tasks may go to the pool while every thread is busy
 * with short tasks: while the pool holds fewer than PIPELINE_BATCHES_MAX batches per
 * thread, and less than two batches' time budget of expected work per thread
 * (`inFlightMs`: the expected run time of the tasks it holds). Batches of a full budget
 * thus queue one per thread behind the running one, and batches of tasks of microseconds
 * several: with one, a thread ran 64 no-ops in 0.3 ms and then idled for milliseconds
 * while the main thread, sharing two cores with the other processes, took the results in,
 * and the roots of the task-lag shapes waited behind it. What is queued in the pool can no
 * longer be stolen or overtaken, hence the bound in time; behind a straggler, the pool
 * gives it back (worker/stragglers.ts).
 */
export function mayPipeline(executing: number, inFlightMs: number, threads: number, config: BatchConfig): boolean {
  return config.pipeline && executing < PIPELINE_BATCHES_MAX * threads && inFlightMs < 2 * config.budgetMs * threads;
}

export const DEFAULT_BATCH: BatchConfig = { budgetMs: 2, tasksMax: 64, pipeline: true };

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

/** What batching needs to know of a worker task. */
export interface BatchTask extends HeapItem {
  assign: WireAssign;
  /** Inputs not here yet. */
  missing: SetView<string>;
  /** Actor tasks never go in a batch. */
  actor: string | undefined;
  /** Set by takeBatch for the tasks it returns: the expected run time, 0 for one not known to be short. */
  costMs: number;
}

/** A batch task's assignment: a function of the module, not a closure made per batch (see Making). */
export function assignOf(task: BatchTask): WireAssign {
  return task.assign;
}

/** The tasks waiting for result `id` to be made here (assigned early), by id. */
export interface Waiters<T> {
  get(id: string): Iterable<T> | undefined;
}

/**
 * `first` and the ready tasks that may run after it in the same thread, taken off `ready`:
 * while they are short and fit the batch's time budget, and no more than an even share
 * of the ready tasks among the free threads (so a batch does not leave a thread idle).
 *
 * With `waiting` (the tasks waiting for a result to be made here: assigned early), each
 * task is followed at once by the waiting tasks whose inputs are all made in the batch
 * (transitively: a chain follows its head), under the same limits. The thread hands
 * results straight on (runtime/run-batch.ts), so a chain's hand-off costs microseconds
 * instead of a trip through the main thread; depth first, so the chains a batch starts are
 * finished in it. A ready task whose followers would not all fit is left for the next
 * batch (only `first`'s may be cut short): the rest of a chain cut at the end of a batch
 * waited for the main thread to take the batch's results in, milliseconds while the cores
 * are busy, and that was most of the task lag of the tasks after a root. The caller marks
 * the followers as no longer waiting.
 */
export function takeBatch<T extends BatchTask>(
  first: T,
  ready: Heap<T>,
  times: RunTimes,
  config: BatchConfig,
  freeThreads: number,
  waiting?: Waiters<T>,
): T[] {
  const firstMs = batchCostMs(first.assign, times, config);
  first.costMs = firstMs ?? 0;
  if (firstMs === undefined) return [first];
  const making: Making<T> = { batch: [first], inBatch: new Set<string>(), costMs: firstMs, waiting, times, config };
  const { batch } = making;
  follow(making, first);
  const readyMax = Math.min(config.tasksMax, Math.ceil((ready.size + 1) / freeThreads));
  let readyTaken = 1;
  while (batch.length < config.tasksMax && readyTaken < readyMax) {
    const next = ready.peek();
    if (next === undefined) break;
    const ms = batchCostMs(next.assign, times, config);
    if (ms === undefined || making.costMs + ms > config.budgetMs) break;
    ready.pop();
    const lengthBefore = batch.length;
    const costBefore = making.costMs;
    next.costMs = ms;
    batch.push(next);
    making.costMs += ms;
    if (!follow(making, next)) {
      // Its chain would be cut: it goes whole in the next batch.
      for (const task of batch.splice(lengthBefore)) making.inBatch.delete(task.assign.id);
      making.costMs = costBefore;
      ready.push(next);
      break;
    }
    readyTaken++;
  }
  return batch;
}

/**
 * A batch being made. The helpers take it as an argument rather than closing over it: a
 * closure made per batch is a new function each time, and V8 compiled `follow` again and
 * again, 9 ms each on a background thread, every few rounds of the task-lag shapes. With
 * module functions, the optimizations finished in rounds 5 to 20 of those shapes fell from
 * 70 to 34, all processes together (`--trace-opt`); the lag itself changed less than the
 * machine's noise.
 */
interface Making<T extends BatchTask> {
  readonly batch: T[];
  readonly inBatch: Set<string>;
  costMs: number;
  readonly waiting: Waiters<T> | undefined;
  readonly times: RunTimes;
  readonly config: BatchConfig;
}

/** Follows `head` with its waiting tasks (takeBatch); false if one that could follow did not fit. */
function follow<T extends BatchTask>(making: Making<T>, head: T): boolean {
  const { batch, inBatch, waiting, times, config } = making;
  if (waiting === undefined) return true; // no task waits on another: nothing reads inBatch
  inBatch.add(head.assign.id);
  const stack = [head];
  while (stack.length > 0) {
    for (const waiter of waiting.get(stack.pop()!.assign.id) ?? []) {
      if (waiter.actor !== undefined || inBatch.has(waiter.assign.id)) continue;
      let made = true;
      for (const id of waiter.missing) if (!inBatch.has(id)) made = false;
      const ms = made ? batchCostMs(waiter.assign, times, config) : undefined;
      if (ms === undefined) continue; // waits for another input, or runs alone anyway
      if (making.costMs + ms > config.budgetMs || batch.length >= config.tasksMax) return false;
      making.costMs += ms;
      waiter.costMs = ms;
      batch.push(waiter);
      inBatch.add(waiter.assign.id);
      stack.push(waiter);
    }
  }
  return true;
}
