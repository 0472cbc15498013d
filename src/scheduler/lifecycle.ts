/**
 * Running tasks: (re)activating released tasks, completions, failures with retries,
 * and error propagation to dependents.
 */
import type { ErrorInfo } from '../errors.ts';
import type { SchedulerCore } from './core.ts';
import { makeReady } from './placement.ts';
import { detach, settle } from './release.ts';
import { isActive } from './state.ts';
import type { TaskState } from './state.ts';
import type { SchedulerEvent } from './types.ts';

type EventOf<T extends SchedulerEvent['type']> = Extract<SchedulerEvent, { type: T }>;

/**
 * Brings a released task (new, or kept for lineage) back to life: its released
 * dependencies are activated first (iteratively), then it waits on the inputs not in
 * memory, or is ready. A task with an erred input is erred with the same error.
 */
export function activate(core: SchedulerCore, root: TaskState): void {
  const stack = [root];
  while (stack.length > 0) {
    const ts = stack[stack.length - 1]!;
    if (ts.state !== 'released') {
      stack.pop();
      continue;
    }
    const erredDep = ts.dependencies.find((dep) => dep.state === 'erred');
    if (erredDep !== undefined) {
      stack.pop();
      markErred(core, ts, erredDep.error!);
      // Inputs activated on its behalf may now be needed by nobody.
      settle(core, [...ts.dependencies]);
      continue;
    }
    let pending = false;
    for (const dep of ts.dependencies) {
      if (dep.state === 'released') {
        stack.push(dep);
        pending = true;
      }
    }
    if (pending) continue;
    stack.pop();
    for (const dep of ts.dependencies) {
      dep.waiters.add(ts);
      if (dep.state !== 'memory') ts.waitingOn.add(dep);
    }
    core.transition(ts, 'waiting');
    if (ts.waitingOn.size === 0) makeReady(core, ts);
  }
}

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
    ts.error = error;
    core.transition(ts, 'erred');
    if (ts.wanted) core.notifyFailure(ts, 'erred', error);
    touched.push(ts);
    for (const d of ts.dependents) if (isActive(d.state)) stack.push(d);
  }
  settle(core, touched);
}

/** The task an event reports on, if it is the current run; stale reports give undefined. */
function currentRun(core: SchedulerCore, id: string, runId: number, workerId: string): TaskState | undefined {
  const ts = core.tasks.get(id);
  if (ts === undefined || ts.state !== 'processing' || ts.runId !== runId) return undefined;
  const w = ts.processingOn!;
  if (w.id !== workerId || core.workers.get(workerId) !== w) return undefined;
  w.processing.delete(ts);
  ts.processingOn = undefined;
  core.freed.add(w);
  return ts;
}

export function taskFinished(core: SchedulerCore, ev: EventOf<'taskFinished'>): void {
  const ts = currentRun(core, ev.id, ev.runId, ev.workerId);
  if (ts === undefined) return;
  const w = core.workers.get(ev.workerId)!;
  ts.nbytes = ev.nbytes;
  ts.serializer = ev.serializer;
  ts.inline = ev.inline;
  ts.whoHas.add(w);
  w.hasWhat.add(ts);
  core.transition(ts, 'memory');
  if (ts.wanted) core.notifyMemory(ts);
  for (const d of ts.waiters) {
    if (d.waitingOn.delete(ts) && d.waitingOn.size === 0 && d.dueMs < 0) makeReady(core, d);
  }
  const touched: TaskState[] = [ts];
  for (const dep of ts.dependencies) if (dep.waiters.delete(ts)) touched.push(dep);
  settle(core, touched);
}

export function taskFailed(core: SchedulerCore, ev: EventOf<'taskFailed'>): void {
  const ts = currentRun(core, ev.id, ev.runId, ev.workerId);
  if (ts === undefined) return;
  const error = ev.error.taskKey === '' ? { ...ev.error, taskKey: ts.key } : ev.error;
  const spec = ts.spec;
  if (!error.retryable || ts.failures >= spec.retries) {
    markErred(core, ts, error);
    return;
  }
  ts.failures++;
  core.transition(ts, 'waiting');
  const delayMs = spec.retryDelayMs * spec.retryBackoff ** (ts.failures - 1);
  if (delayMs > 0) {
    ts.dueMs = core.nowMs + delayMs;
    core.retrying.add(ts);
    core.requestWake(ts.dueMs);
  } else if (ts.waitingOn.size === 0) {
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
    if (ts.dueMs > core.nowMs) {
      nextMs = Math.min(nextMs, ts.dueMs);
      continue;
    }
    core.retrying.delete(ts);
    ts.dueMs = -1;
    if (ts.waitingOn.size === 0) makeReady(core, ts);
  }
  if (nextMs !== Infinity) core.requestWake(nextMs);
}
