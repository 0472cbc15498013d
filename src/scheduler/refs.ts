/**
 * Small reference lists on task records: `dependents` (array while small, Set once
 * large) and `whoHas` (holders; a handful at most). Shared empty arrays stand for
 * "none", so a record with no dependents or holders allocates nothing for them.
 */
import { NO_TASKS, NO_WORKERS } from './state.ts';
import type { TaskState, WorkerState } from './state.ts';

/** Past this many dependents an array becomes a Set (removal is then O(1)). */
const DEPENDENTS_ARRAY_MAX = 32;

export function dependentCount(ts: TaskState): number {
  const d = ts.dependents;
  return Array.isArray(d) ? d.length : d.size;
}

export function hasDependent(ts: TaskState, d: TaskState): boolean {
  const list = ts.dependents;
  return Array.isArray(list) ? list.includes(d) : list.has(d);
}

export function addDependent(ts: TaskState, d: TaskState): void {
  const list = ts.dependents;
  if (!Array.isArray(list)) {
    list.add(d);
  } else if (list === NO_TASKS) {
    ts.dependents = [d];
  } else if (list.length < DEPENDENTS_ARRAY_MAX) {
    list.push(d);
  } else {
    const set = new Set(list);
    set.add(d);
    ts.dependents = set;
  }
}

export function removeDependent(ts: TaskState, d: TaskState): void {
  const list = ts.dependents;
  if (!Array.isArray(list)) {
    list.delete(d);
    return;
  }
  const i = list.indexOf(d);
  if (i < 0) return;
  if (list.length === 1) ts.dependents = NO_TASKS;
  else list.splice(i, 1); // keep order: it decides the order of commands
}

export function addHolder(ts: TaskState, w: WorkerState): void {
  if (ts.whoHas === NO_WORKERS) ts.whoHas = [w];
  else if (!ts.whoHas.includes(w)) ts.whoHas.push(w);
}

export function removeHolder(ts: TaskState, w: WorkerState): void {
  const list = ts.whoHas;
  const i = list.indexOf(w);
  if (i < 0) return;
  if (list.length === 1) ts.whoHas = NO_WORKERS;
  else list.splice(i, 1);
}
