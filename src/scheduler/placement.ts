/**
 * Putting ready tasks on workers: locality first (the worker holding most input bytes),
 * else the least loaded worker that has capacity and the resources; otherwise the task
 * is queued in priority order until some worker can take it.
 */
import type { SchedulerCore } from './core.ts';
import { assignDependentsEarly } from './early.ts';
import { capacityOf, compareTasks, fits, isActorTask, slotted, wantsMore } from './state.ts';
import type { TaskState, WorkerState } from './state.ts';
import type { DepLocation } from './types.ts';

/** Scratch map reused by decideWorker (bytes of a task's inputs per holder). */
const bytesByHolder = new Map<WorkerState, number>();

function lessLoaded(a: WorkerState, b: WorkerState): boolean {
  // Compare processing/threads without dividing (threads may differ per worker).
  const la = slotted(a) * b.threads;
  const lb = slotted(b) * a.threads;
  return la !== lb ? la < lb : a.order < b.order;
}

/** The worker a ready task should run on now, or undefined when none can take it. */
export function decideWorker(core: SchedulerCore, ts: TaskState): WorkerState | undefined {
  let best: WorkerState | undefined;
  if (ts.dependencies.length > 0) {
    let bestBytes = 0;
    const deps = ts.dependencies;
    if (deps.length === 1) {
      // The common case (chains, maps): no need for the per-holder sums.
      const dep = deps[0]!;
      if (dep.nbytes > 0) {
        for (const w of dep.whoHas) if (fits(w, ts) && (best === undefined || lessLoaded(w, best))) best = w;
      }
    } else {
      for (const dep of deps) {
        for (const w of dep.whoHas) bytesByHolder.set(w, (bytesByHolder.get(w) ?? 0) + dep.nbytes);
      }
      for (const [w, bytes] of bytesByHolder) {
        if (bytes <= 0 || !fits(w, ts)) continue;
        if (best === undefined || bytes > bestBytes || (bytes === bestBytes && lessLoaded(w, best))) {
          best = w;
          bestBytes = bytes;
        }
      }
      bytesByHolder.clear();
    }
    if (best !== undefined) return best;
  }
  for (const w of core.workerList) {
    if (!fits(w, ts)) continue;
    // Join order is the tie-break, so the first idle worker is the answer.
    if (slotted(w) === 0) return w;
    if (best === undefined || lessLoaded(w, best)) best = w;
  }
  return best;
}

/** The deps of an assignment without inputs (shared; frozen so that a push throws). */
const NO_DEPS: DepLocation[] = Object.freeze([]) as unknown as DepLocation[];

function depLocation(dep: TaskState): DepLocation {
  const holders: string[] = [];
  for (const w of dep.whoHas) holders.push(w.id);
  return { id: dep.id, holders, nbytes: dep.nbytes, serializer: dep.serializer, inline: dep.inline };
}

/** Assigns a task to a worker, then its dependents that can wait for it there (early.ts). */
export function assign(core: SchedulerCore, ts: TaskState, w: WorkerState): void {
  assignRun(core, ts, w);
  if (core.config.earlyPerWorker > 0 && ts.waiterCount > 0) assignDependentsEarly(core, ts, w, assignRun);
}

/** One assignment: the run, its slot and the `assign` command (inputs' locations). */
function assignRun(core: SchedulerCore, ts: TaskState, w: WorkerState): void {
  startRun(core, ts, w, ++core.runCounter);
  const deps = ts.dependencies.length === 0 ? NO_DEPS : ts.dependencies.map(depLocation);
  core.emit({
    type: 'assign',
    stimulusId: core.stimulusId,
    workerId: w.id,
    id: ts.id,
    runId: ts.runId,
    attempt: (ts.rare?.failures ?? 0) + 1,
    spec: ts.spec,
    deps,
    order: ts.seq,
    tellClient: ts.wanted,
  });
}

/**
 * The bookkeeping of a run on a worker (its slot, the task processing there) without the
 * `assign` command. Alone, for a run a worker started on its own from a direct submission
 * (submit.ts adoptDirectRun): the worker tells the client a wanted result itself then too.
 */
export function startRun(core: SchedulerCore, ts: TaskState, w: WorkerState, runId: number): void {
  ts.ready = false;
  ts.runId = runId;
  ts.processingOn = w;
  if (!ts.early) w.processing.set(runId, ts); // an early one joins once its inputs are there
  if (isActorTask(ts)) {
    // Actor tasks run on the worker's actor host, not on its pool threads.
    ts.unslotted = true;
    w.unslotted++;
  }
  if (slotted(w) > w.threads) core.excessCreated = true;
  core.transition(ts, 'processing');
  ts.workerTellsClient = ts.wanted;
}

/** Marks a waiting task (all inputs in memory, no retry pending) for placement. */
export function makeReady(core: SchedulerCore, ts: TaskState): void {
  if (ts.ready) return;
  ts.ready = true;
  core.readyList.push(ts);
}

function isSorted(list: TaskState[]): boolean {
  for (let i = 1; i < list.length; i++) if (compareTasks(list[i - 1]!, list[i]!) > 0) return false;
  return true;
}

/** Gives a worker queued tasks, best first, until it is saturated. */
export function fillWorker(core: SchedulerCore, w: WorkerState): void {
  if (!wantsMore(w)) return;
  while (slotted(w) < capacityOf(w)) {
    const ts = core.queue.bestFor(w);
    if (ts === undefined) return;
    core.queue.remove(ts);
    assign(core, ts, w);
  }
}

/**
 * End of an event: place tasks that became ready (highest priority first), then let
 * workers that gained capacity pull from the queue (`freed` is cleared by the caller,
 * after stealing had a look at it). Dependents made ready by a completion
 * therefore get freed slots before older queued tasks: depth-first, as in Dask, which
 * keeps memory low.
 */
export function placeReady(core: SchedulerCore): void {
  const ready = core.readyList;
  if (ready.length > 0) {
    core.readyList = [];
    if (!isSorted(ready)) ready.sort(compareTasks);
    const roots = new RootBlocks(core, ready);
    // Whether a task without resource needs just found no worker with room. Then no such
    // task will until something is assigned (whether a worker fits one does not depend on
    // the task), so the next ones are queued without asking every worker again: a
    // submission of a million roots would otherwise ask all workers for each.
    let plainFull = false;
    for (const ts of ready) {
      if (!ts.ready) continue;
      const plain = ts.rare === undefined;
      let w: WorkerState | undefined;
      if (plainFull && plain) {
        if (roots.isRoot(ts)) roots.noRoom(); // what place() would have found
      } else {
        w = roots.isRoot(ts) ? roots.place(ts) : decideWorker(core, ts);
      }
      if (w !== undefined) {
        plainFull = false;
        assign(core, ts, w);
      } else {
        if (plain) plainFull = true;
        ts.ready = false;
        core.transition(ts, 'queued');
        core.queue.push(ts);
      }
    }
  }
  if (core.freed.size > 0 && core.queue.size > 0) {
    for (let i = 0; i < core.freed.size; i++) {
      const w = core.freed.at(i);
      if (core.workers.get(w.id) === w) fillWorker(core, w);
    }
  }
}

/**
 * Co-assignment of root tasks (no inputs) made ready together, as in Dask: consecutive
 * roots go to one worker in blocks of an even share per thread, instead of alternating
 * between workers. Neighbouring roots are usually reduced together (a tree sum, the
 * chunks of one array), so their dependents find all inputs on one worker: they go there
 * early (early.ts) and run in the same pool thread, with no transfer and no round trip.
 * A block ends early when its worker is full; the queue then hands out the rest in order,
 * which keeps later blocks contiguous too.
 */
class RootBlocks {
  /** Roots per thread in a block: an even share of this event's roots. */
  private readonly perThread: number;
  private worker: WorkerState | undefined;
  private left = 0;

  constructor(
    private readonly core: SchedulerCore,
    ready: readonly TaskState[],
  ) {
    let roots = 0;
    for (const ts of ready) if (ts.dependencies.length === 0) roots++;
    // Only dependents (made ready by completions): no blocks to size.
    if (roots === 0) {
      this.perThread = 0;
      return;
    }
    let threads = 0;
    for (const w of core.workerList) if (!w.retiring) threads += w.threads;
    this.perThread = threads === 0 ? 1 : Math.ceil(roots / threads);
  }

  isRoot(ts: TaskState): boolean {
    return ts.dependencies.length === 0 && this.perThread > 1;
  }

  /** No worker has room for the current root: the block ends (as place() ends it then). */
  noRoom(): void {
    this.worker = undefined;
    this.left = 0;
  }

  place(ts: TaskState): WorkerState | undefined {
    const last = this.worker;
    if (last !== undefined && this.left > 0 && this.core.workers.get(last.id) === last && fits(last, ts)) {
      this.left--;
      return last;
    }
    const w = decideWorker(this.core, ts);
    this.worker = w;
    this.left = w === undefined ? 0 : this.perThread * w.threads - 1;
    return w;
  }
}
