/**
 * Letting go: releasing results nobody needs, stopping tasks nobody needs, forgetting
 * records, and cancellation. The rules follow Dask:
 * - a result is released when no client wants it and no pending dependent needs it (an
 *   actor's creation also while lent handles hold it, see actor-holds.ts);
 * - a task still to run is stopped (cancelRun if processing) in the same case;
 * - a record is forgotten when it is released or erred, nobody wants it and it has no
 *   dependents; until then it stays as lineage, so lost results can be recomputed.
 */
import type { SchedulerCore } from './core.ts';
import { dependentCount, removeDependent } from './refs.ts';
import { NO_TASKS, NO_WORKERS, isActive } from './state.ts';
import type { TaskState } from './state.ts';

/**
 * Takes a task out of wherever it is scheduled (queue, worker, retry timer, ready list)
 * and stops it needing its inputs. Dependencies that lost a waiter are pushed to `touched`.
 * The caller sets the next state.
 */
export function detach(core: SchedulerCore, ts: TaskState, touched: TaskState[]): void {
  const wasActive = isActive(ts.state);
  if (ts.state === 'queued') core.queue.remove(ts);
  core.cancelRun(ts);
  if (ts.rare !== undefined && ts.rare.dueMs >= 0) {
    core.retrying.delete(ts);
    ts.rare.dueMs = -1;
  }
  ts.ready = false;
  ts.waitingCount = 0;
  if (!wasActive) return;
  for (const dep of ts.dependencies) {
    dep.waiterCount--;
    touched.push(dep);
  }
}

/** Drops a result everywhere it lives (memory -> released). */
export function dropData(core: SchedulerCore, ts: TaskState): void {
  const holders = ts.whoHas;
  ts.whoHas = NO_WORKERS;
  for (const w of holders) {
    if (w.hasWhat.delete(ts)) w.heldBytes -= ts.nbytes;
    if (w.retiring) {
      w.copies.delete(ts);
      core.retireDirty = true;
    }
    core.emit({ type: 'releaseData', stimulusId: core.stimulusId, workerId: w.id, id: ts.id });
  }
  ts.inline = undefined;
  core.transition(ts, 'released');
}

/** Unlinks a released/erred record from its dependencies and drops it. */
function forget(core: SchedulerCore, ts: TaskState, touched: TaskState[]): void {
  for (const dep of ts.dependencies) {
    removeDependent(dep, ts);
    touched.push(dep);
  }
  ts.dependencies = NO_TASKS;
  if (ts.rare !== undefined) ts.rare.error = undefined;
  core.dropTask(ts);
}

/**
 * Applies the release/forget rules to `items` and to everything that changes as a
 * consequence (iteratively: chains may be very long).
 */
export function settle(core: SchedulerCore, items: readonly TaskState[]): void {
  // Given items in order; what they cascade into, depth first.
  const stack = settleStack;
  const base = stack.length; // this call's part: safe should a transition below ever settle
  for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]!);
  while (stack.length > base) {
    const ts = stack.pop()!;
    if (ts.state === 'forgotten' || ts.wanted || ts.waiterCount > 0 || core.isHeldActor(ts)) continue;
    if (ts.state === 'memory') {
      dropData(core, ts);
    } else if (isActive(ts.state)) {
      detach(core, ts, stack);
      core.transition(ts, 'released');
    }
    if (dependentCount(ts) === 0 && (ts.state === 'released' || ts.state === 'erred')) forget(core, ts, stack);
  }
}

/**
 * Scratch stack of settle, reused: settle runs for every finished task with inputs, and
 * a stack of its own per call was an allocation per task.
 */
const settleStack: TaskState[] = [];

/** A task and all its transitive dependents, in discovery order. */
export function withDependents(roots: TaskState[]): TaskState[] {
  const seen = new Set<TaskState>(roots);
  const out = [...seen];
  for (let i = 0; i < out.length; i++) {
    for (const d of out[i]!.dependents) {
      if (seen.has(d)) continue;
      seen.add(d);
      out.push(d);
    }
  }
  return out;
}

/**
 * Removes a closed set of tasks (every dependent of a member is a member), whatever
 * their state: runs are cancelled, results released, records forgotten. Dependencies
 * outside the set are then settled. `beforeDrop` sees each wanted member first.
 */
export function removeClosure(core: SchedulerCore, closure: TaskState[], beforeDrop?: (ts: TaskState) => void): void {
  const touched: TaskState[] = [];
  for (const ts of closure) {
    if (ts.wanted) {
      ts.wanted = false;
      // An erred future has settled for good; anything else is told.
      if (ts.state !== 'erred') beforeDrop?.(ts);
    }
  }
  for (const ts of closure) {
    if (ts.state === 'memory') {
      dropData(core, ts);
    } else if (isActive(ts.state)) {
      detach(core, ts, touched);
      core.transition(ts, 'released');
    }
  }
  for (const ts of closure) {
    if (ts.state !== 'forgotten') forget(core, ts, touched);
  }
  settle(core, touched);
}

/**
 * Cancels keys of one client and everything that depends on them. Wanted tasks are
 * notified 'cancelled' (code CANCELLED) so their futures settle -- including tasks already
 * in memory: cancelling a computed key releases it for that client. Erred tasks are only
 * dropped: their clients already had their final notification.
 */
export function cancelKeys(core: SchedulerCore, roots: TaskState[]): void {
  const rootKeys = new Map<TaskState, string>();
  const closure = withDependents(roots);
  for (const root of roots) rootKeys.set(root, root.key);
  const rootKey = roots.length === 1 ? roots[0]!.key : undefined;
  removeClosure(core, closure, (ts) => {
    const key = rootKeys.get(ts) ?? rootKey;
    const message =
      key === ts.key
        ? `task "${ts.key}" was cancelled`
        : `task "${ts.key}" depends on a cancelled task${key === undefined ? '' : ` ("${key}")`}`;
    core.notifyFailure(ts, 'cancelled', core.makeError('CANCELLED', message, key ?? ts.key));
  });
}
