/**
 * Running tasks: (re)activating released tasks, completions, failures with retries,
 * and error propagation to dependents.
 */
import type { ErrorInfo } from '../errors.ts';
import { observeRunTime } from './capacity.ts';
import { inputsArrived } from './early.ts';
import type { SchedulerCore } from './core.ts';
import { makeReady } from './placement.ts';
import { detach, settle } from './release.ts';
import { dueMsOf, isActive, rareOf } from './state.ts';
import type { TaskState } from './state.ts';
import type { SchedulerEvent } from './types.ts';

type EventOf<T extends SchedulerEvent['type']> = Extract<SchedulerEvent, { type: T }>;

/**
 * Brings a released task (new, or kept for lineage) back to life: its released
 * dependencies are activated first (iteratively), then it waits on the inputs not in
 * memory, or is ready. A task with an erred input is erred with the same error.
 */
export function activate(core: SchedulerCore, root: TaskState): void {
  const stack = activationStack;
  const base = stack.length; // activate may run inside another activation's markErred
  stack.push(root);
  while (stack.length > base) {
    const ts = stack[stack.length - 1]!;
    if (ts.state !== 'released') {
      stack.pop();
      continue;
    }
    const deps = ts.dependencies;
    const top = stack.length;
    let erredDep: TaskState | undefined;
    let pending = false;
    for (const dep of deps) {
      if (dep.state === 'erred') {
        erredDep = dep;
        break;
      }
      if (dep.state === 'released') {
        stack.push(dep);
        pending = true;
      }
    }
    if (erredDep !== undefined) {
      stack.length = top - 1; // drop the inputs pushed above and the task itself
      markErred(core, ts, erredDep.rare!.error!);
      // Inputs activated on its behalf may now be needed by nobody.
      settle(core, deps);
      continue;
    }
    if (pending) continue;
    stack.pop();
    let waiting = 0;
    for (const dep of deps) {
      dep.waiterCount++;
      if (dep.state !== 'memory') waiting++;
    }
    ts.waitingCount = waiting;
    core.transition(ts, 'waiting');
    if (waiting === 0) makeReady(core, ts);
  }
}

/** Scratch stack of activate (reused: activation runs for every wanted task). */
const activationStack: TaskState[] = [];

/**
 * Errs a task and every dependent still to run, all with the same error info, and
 * notifies the clients that want them. Dependents already in memory keep their result;
 * released ones will err if they are ever recomputed.
 */
export function markErred(core: SchedulerCore, root: TaskState, error: ErrorInfo): void {
  const touched: TaskState[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const ts = stack.pop()!;
    if (ts !== root && !isActive(ts.state)) continue;
    detach(core, ts, touched);
    rareOf(ts).error = error;
    core.transition(ts, 'erred');
    if (ts.wanted) core.notifyFailure(ts, 'erred', error);
    touched.push(ts);
    for (const d of ts.dependents) if (isActive(d.state)) stack.push(d);
  }
  settle(core, touched);
}

/** The task an event reports on, if it is the current run; stale reports give undefined. */
export function currentRun(core: SchedulerCore, id: string, runId: number, workerId: string): TaskState | undefined {
  // Found through the worker's runs (a small map), not the task id among all records
  // (a large one, whose lookups miss the CPU cache): a run is current exactly when its
  // live worker lists it under its runId.
  const w = core.workers.get(workerId);
  if (w === undefined) return undefined;
  const ts = w.processing.get(runId);
  if (ts !== undefined) return ts.id === id ? ts : undefined;
  // An early run is not in `processing` (WorkerState.early); its report may come first.
  if (w.early === 0) return undefined;
  const early = core.tasks.get(id);
  return early !== undefined && early.early && early.processingOn === w && early.runId === runId ? early : undefined;
}

export function taskFinished(core: SchedulerCore, ev: EventOf<'taskFinished'>): void {
  const ts = currentRun(core, ev.id, ev.runId, ev.workerId);
  if (ts === undefined) {
    dropStaleResult(core, ev);
    return;
  }
  const w = ts.processingOn!;
  // An early run's report may overtake its inputs' (a worker stores results
  // asynchronously under memory pressure): it ran, so they were there.
  if (ts.early) ts.waitingCount = 0;
  core.endRun(ts);
  observeRunTime(core, ev.durationMs);
  ts.nbytes = ev.nbytes;
  ts.serializer = ev.serializer;
  ts.inline = ev.inline;
  core.addHeld(w, ts);
  core.transition(ts, 'memory');
  // A run assigned while the key was wanted told the client itself (WireAssign.tellClient).
  if (ts.wanted) core.notifyMemory(ts, ts.workerTellsClient);
  if (ts.waiterCount > 0) {
    // Every waiter is waiting on this result (it was not in memory when they activated);
    // the processing ones were assigned early, here, and may start now.
    for (const d of ts.dependents) {
      if (!isActive(d.state) || --d.waitingCount > 0) continue;
      if (d.early) inputsArrived(core, d);
      else if (dueMsOf(d) < 0) makeReady(core, d);
    }
  }
  const deps = ts.dependencies;
  if (deps.length === 0) return;
  for (const dep of deps) dep.waiterCount--;
  settle(core, deps);
}

/**
 * A result the scheduler no longer waits for: released or cancelled after the run ended
 * but before its report came (the worker had nothing left to cancel), or from a run
 * replaced since. The worker keeps a finished result until told, so it is told to drop
 * it, unless the scheduler counts on that copy or runs the task there again (then the
 * worker drops the copy itself when the new run is assigned: worker/state.ts onAssign).
 */
function dropStaleResult(core: SchedulerCore, ev: EventOf<'taskFinished'>): void {
  const w = core.workers.get(ev.workerId);
  if (w === undefined) return;
  const ts = core.tasks.get(ev.id);
  if (ts !== undefined && (ts.processingOn === w || w.hasWhat.has(ts))) return;
  core.emit({ type: 'releaseData', stimulusId: core.stimulusId, workerId: w.id, id: ev.id });
}

export function taskFailed(core: SchedulerCore, ev: EventOf<'taskFailed'>): void {
  const ts = currentRun(core, ev.id, ev.runId, ev.workerId);
  if (ts === undefined) return;
  // An early run keeps counting the inputs not reported yet: a retry waits for them.
  core.endRun(ts);
  const error = ev.error.taskKey === '' ? { ...ev.error, taskKey: ts.key } : ev.error;
  const spec = ts.spec;
  if (!error.retryable || (ts.rare?.failures ?? 0) >= spec.retries) {
    markErred(core, ts, error);
    return;
  }
  const rare = rareOf(ts);
  rare.failures++;
  core.transition(ts, 'waiting');
  const delayMs = spec.retryDelayMs * spec.retryBackoff ** (rare.failures - 1);
  if (delayMs > 0) {
    rare.dueMs = core.nowMs + delayMs;
    core.retrying.add(ts);
    core.requestWake(rare.dueMs);
  } else if (ts.waitingCount === 0) {
    makeReady(core, ts);
  }
}

/** Retries that came due become ready (or keep waiting for inputs that were lost meanwhile). */
export function tick(core: SchedulerCore): void {
  // A delivered tick consumes the pending request, even one that came early (timers may
  // fire a little before the asked time); anything not yet due asks again below.
  core.wakeRequestedMs = Infinity;
  let nextMs = Infinity;
  for (const ts of core.retrying) {
    const rare = ts.rare!; // a retry's due time is set there
    if (rare.dueMs > core.nowMs) {
      nextMs = Math.min(nextMs, rare.dueMs);
      continue;
    }
    core.retrying.delete(ts);
    rare.dueMs = -1;
    if (ts.waitingCount === 0) makeReady(core, ts);
  }
  if (nextMs !== Infinity) core.requestWake(nextMs);
}
