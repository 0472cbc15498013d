/**
 * Early assignment: when a task is assigned to a worker, its dependents whose missing
 * inputs are all being computed on that same worker are assigned there too, at once.
 * The worker holds them until those inputs finish locally and starts them then, without
 * the round trip through the scheduler (report, placement, assign) that would otherwise
 * sit between a task and its dependent. A chain of tasks is sent in one go; its task lag
 * becomes the worker's own hand-off.
 *
 * This is the only place where a processing task may lack inputs. The rules:
 * - A task goes early to `w` only if every input is in memory (anywhere: the worker
 *   fetches it) or processing on `w` (itself possibly early), it waits for nothing else
 *   (no retry due, not an actor task, resources fit) and `w` is not retiring. The
 *   placement it gets is the one decideWorker would pick once those inputs finish: the
 *   worker holding them.
 * - An early task holds no thread slot (it is `unslotted`), is never stolen, and at most
 *   `earlyPerWorker` wait on one worker (beyond that a chain continues through the
 *   scheduler as usual, and goes early again from there).
 * - When its last missing input finishes, it takes a slot (`inputsArrived`): from then on
 *   it is an ordinary assignment, which stealing may move.
 * - When one of its inputs leaves processing without a result (failure, retry, steal,
 *   cancel, loss of the worker), the early task is taken back (`takeBack`): cancelRun,
 *   then waiting again; its own early dependents follow.
 * - Its own report may come before its inputs' (the worker stores results asynchronously
 *   under memory pressure): it is accepted as for any run; a finished one no longer waits
 *   for anything, a failed one that retries waits for the inputs still to be reported.
 */
import type { SchedulerCore } from './core.ts';
import { dueMsOf, hasResources, isActorTask, slotted } from './state.ts';
import type { TaskState, WorkerState } from './state.ts';

/** Whether `d` may be assigned to `w` now, before its inputs exist. */
function canGoEarly(core: SchedulerCore, d: TaskState, w: WorkerState): boolean {
  if (d.state !== 'waiting' || d.ready || dueMsOf(d) >= 0 || d.waitingCount === 0) return false;
  if (w.early >= core.config.earlyPerWorker || w.retiring || isActorTask(d)) return false;
  if (d.rare !== undefined && !hasResources(w, d)) return false;
  for (const dep of d.dependencies) {
    if (dep.state === 'memory') continue;
    if (dep.state !== 'processing' || dep.processingOn !== w) return false;
  }
  return true;
}

/**
 * `root` was just assigned to `w`: assigns early, in graph order, the dependents (and
 * their dependents, transitively) that can wait for it there. `assignRun` is placement's
 * assignment without this step.
 */
export function assignDependentsEarly(
  core: SchedulerCore,
  root: TaskState,
  w: WorkerState,
  assignRun: (core: SchedulerCore, ts: TaskState, w: WorkerState) => void,
): void {
  const stack = [root];
  while (stack.length > 0) {
    const ts = stack.pop()!;
    for (const d of ts.dependents) {
      if (!canGoEarly(core, d, w)) continue;
      // Set before the run starts: startRun keeps an early run out of `processing`.
      d.early = true;
      d.unslotted = true;
      w.early++;
      core.earlyCount++;
      assignRun(core, d, w);
      stack.push(d);
    }
  }
}

/** Undoes the early bookkeeping of a run that ends (core.endRun) or may start (inputsArrived). */
export function endEarly(core: SchedulerCore, ts: TaskState, w: WorkerState): void {
  ts.early = false;
  ts.unslotted = false;
  w.early--;
  core.earlyCount--;
}

/**
 * The last missing input of an early task finished on its worker: the task will start
 * there now, so it takes a thread slot like any assignment (and may be stolen from here on).
 */
export function inputsArrived(core: SchedulerCore, ts: TaskState): void {
  const w = ts.processingOn!;
  endEarly(core, ts, w);
  w.processing.set(ts.runId, ts);
  if (slotted(w) > w.threads) core.excessCreated = true;
}

/** Set while takeBack runs: the transitions it makes must not start another walk. */
let takingBack = false;

/**
 * `root` left processing without a result: every early task waiting on it (directly or
 * through other early tasks) can no longer start; each is cancelled on its worker and
 * waits again.
 */
export function takeBack(core: SchedulerCore, root: TaskState): void {
  if (takingBack) return;
  takingBack = true;
  try {
    const stack = [root];
    while (stack.length > 0) {
      const ts = stack.pop()!;
      for (const d of ts.dependents) {
        if (!d.early) continue;
        core.cancelRun(d);
        core.transition(d, 'waiting');
        stack.push(d);
      }
    }
  } finally {
    takingBack = false;
  }
}
