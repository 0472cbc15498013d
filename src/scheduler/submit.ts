/**
 * Graph submission and client-driven release. Validation happens before any state
 * changes, so a rejected batch leaves the scheduler exactly as it was.
 */
import { FloeError, toErrorInfo } from '../errors.ts';
import type { ErrorInfo } from '../errors.ts';
import { validateGraph } from '../graph/validate.ts';
import type { SchedulerCore } from './core.ts';
import { activate } from './lifecycle.ts';
import { removeClosure, settle } from './release.ts';
import { addDependent } from './refs.ts';
import { createTask } from './state.ts';
import type { TaskState } from './state.ts';
import { taskId } from './types.ts';
import { resultMissing } from './workers.ts';
import type { SchedulerEvent } from './types.ts';

type GraphSubmitted = Extract<SchedulerEvent, { type: 'graphSubmitted' }>;

function check(core: SchedulerCore, ev: GraphSubmitted): ErrorInfo | undefined {
  const known = (key: string): boolean => core.tasks.has(taskId(ev.clientId, key));
  const error = validateGraph(ev.tasks, known);
  if (error !== undefined) return error;
  if (ev.wants.length === 0) return undefined;
  const inBatch = new Set(ev.tasks.map((spec) => spec.key));
  for (const key of ev.wants) {
    if (!inBatch.has(key) && !known(key)) {
      return toErrorInfo(new FloeError('MISSING_DEPENDENCY', `wanted key "${key}" is not in the graph`, { taskKey: key }));
    }
  }
  return undefined;
}

/** Creates and links the records of keys this client does not have yet. */
function createTasks(core: SchedulerCore, ev: GraphSubmitted): TaskState[] {
  const created: TaskState[] = [];
  for (const spec of ev.tasks) {
    const id = taskId(ev.clientId, spec.key);
    // Same key, same task (Dask): an existing record is reused, not recreated.
    if (core.tasks.has(id)) continue;
    const ts = createTask(id, ev.clientId, spec, ++core.seq);
    core.addTask(ts);
    created.push(ts);
  }
  let outOfOrder = false;
  for (const ts of created) {
    const keys = ts.spec.deps;
    if (keys.length === 0) continue;
    const deps: TaskState[] = [];
    for (const key of keys.length > 1 ? new Set(keys) : keys) {
      const dep = core.tasks.get(taskId(ev.clientId, key))!;
      if (dep.seq > ts.seq) outOfOrder = true;
      deps.push(dep);
      addDependent(dep, ts);
    }
    ts.dependencies = deps;
  }
  if (outOfOrder) renumber(created);
  return created;
}

/**
 * Gives a batch that lists dependents before their dependencies (clients send them in
 * creation order, a raw message need not) the same seq numbers in dependency order, so
 * that "older" always means "not downstream": graph order on workers and the order of
 * actor calls (call-order.ts) rely on it.
 */
function renumber(created: TaskState[]): void {
  const seqs = created.map((ts) => ts.seq);
  const inBatch = new Set(created);
  const pending = new Map<TaskState, number>();
  const order: TaskState[] = [];
  for (const ts of created) {
    let n = 0;
    for (const dep of ts.dependencies) if (inBatch.has(dep)) n++;
    if (n === 0) order.push(ts);
    else pending.set(ts, n);
  }
  for (let i = 0; i < order.length; i++) {
    for (const d of order[i]!.dependents) {
      const n = pending.get(d);
      if (n === undefined) continue;
      if (n > 1) pending.set(d, n - 1);
      else {
        pending.delete(d);
        order.push(d);
      }
    }
  }
  // validateGraph rejected cycles, so every task is in `order`.
  order.forEach((ts, i) => (ts.seq = seqs[i]!));
}

export function graphSubmitted(core: SchedulerCore, ev: GraphSubmitted): void {
  const error = check(core, ev);
  core.emit({ type: 'submitReply', stimulusId: core.stimulusId, clientId: ev.clientId, requestId: ev.requestId, error });
  if (error !== undefined) return;
  const firstNewSeq = core.seq + 1;
  const created = createTasks(core, ev);
  for (const { key, workerId } of ev.missing ?? []) {
    const ts = core.tasks.get(taskId(ev.clientId, key));
    if (ts !== undefined) resultMissing(core, ts, workerId);
  }
  const wanted: TaskState[] = [];
  for (const key of ev.wants) {
    const ts = core.tasks.get(taskId(ev.clientId, key))!;
    ts.wanted = true;
    wanted.push(ts);
  }
  // As in Dask, what runs is what the wanted keys need: activating a wanted task
  // activates its released (new or lineage) dependencies.
  for (const ts of wanted) {
    if (ts.state === 'released') activate(core, ts);
    else if (ts.seq >= firstNewSeq) continue;
    else if (ts.state === 'memory') core.notifyMemory(ts);
    else if (ts.state === 'erred') core.notifyFailure(ts, 'erred', ts.error!);
  }
  // New tasks nothing wanted needs are dropped right away.
  const unneeded: TaskState[] = [];
  for (const ts of created) if (ts.state === 'released') unneeded.push(ts);
  if (unneeded.length > 0) settle(core, unneeded);
}

/** The client dropped its futures for these keys. Unknown keys are ignored. */
export function keysReleased(core: SchedulerCore, clientId: string, keys: readonly string[]): void {
  const touched: TaskState[] = [];
  for (const key of keys) {
    const ts = core.tasks.get(taskId(clientId, key));
    if (ts === undefined || !ts.wanted) continue;
    ts.wanted = false;
    touched.push(ts);
  }
  settle(core, touched);
}

/**
 * A disconnected client can never fetch anything again: all its tasks are removed
 * (runs cancelled, results released), without notifications.
 */
export function clientDisconnected(core: SchedulerCore, clientId: string): void {
  // A scan of all records: disconnects are rare, and an index per client would cost
  // memory and time on every task.
  const own: TaskState[] = [];
  for (const ts of core.tasks.values()) if (ts.clientId === clientId) own.push(ts);
  if (own.length > 0) removeClosure(core, own);
}
