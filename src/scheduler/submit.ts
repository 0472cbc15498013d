/**
 * Graph submission and client-driven release. Validation happens before any state
 * changes, so a rejected batch leaves the scheduler exactly as it was.
 */
import { FloeError, toErrorInfo } from '../errors.ts';
import type { ErrorInfo } from '../errors.ts';
import { indexGraph } from '../graph/validate.ts';
import type { SchedulerCore } from './core.ts';
import { activate } from './lifecycle.ts';
import { removeClosure, settle } from './release.ts';
import { addDependent } from './refs.ts';
import { createTask, hasResources, isActorTask } from './state.ts';
import { startRun } from './placement.ts';
import type { TaskState } from './state.ts';
import { taskId } from '../graph/task-id.ts';
import { resultMissing } from './workers.ts';
import type { SchedulerEvent } from './types.ts';

type GraphSubmitted = Extract<SchedulerEvent, { type: 'graphSubmitted' }>;

/**
 * A submitted batch's keys resolved to records: by position for keys in the batch (no
 * task id is built for them), by id for keys the client submitted earlier.
 */
class Batch {
  /** Position of each key in `ev.tasks`. */
  readonly index = new Map<string, number>();
  /** The record of `ev.tasks[i]` (new or reused), once createTasks ran. */
  readonly records: TaskState[] = [];
  /** `taskId(clientId, key)` is `prefix + key`: one concatenation per id, not two. */
  readonly prefix: string;

  constructor(
    private readonly core: SchedulerCore,
    clientId: string,
  ) {
    this.prefix = taskId(clientId, '');
  }

  known(key: string): boolean {
    return this.index.has(key) || this.core.tasks.has(this.prefix + key);
  }

  get(key: string): TaskState | undefined {
    const i = this.index.get(key);
    return i !== undefined ? this.records[i] : this.core.tasks.get(this.prefix + key);
  }
}

/**
 * Whether the i-th wanted key is the key of the batch's i-th task: how clients list the
 * keys they want (those of the tasks they send, in order), found so without a lookup.
 */
function isOwnKey(ev: GraphSubmitted, i: number): boolean {
  return i < ev.tasks.length && ev.tasks[i]!.key === ev.wants[i];
}

function check(batch: Batch, ev: GraphSubmitted): ErrorInfo | undefined {
  const error = indexGraph(ev.tasks, (key) => batch.known(key), batch.index);
  if (error !== undefined) return error;
  for (let i = 0; i < ev.wants.length; i++) {
    const key = ev.wants[i]!;
    if (isOwnKey(ev, i)) continue;
    if (!batch.known(key)) {
      return toErrorInfo(new FloeError('MISSING_DEPENDENCY', `wanted key "${key}" is not in the graph`, { taskKey: key }));
    }
  }
  return undefined;
}

/** Longest dependency list deduplicated by scanning instead of a Set. */
const DEPS_SCAN_MAX = 16;

/** Creates and links the records of keys this client does not have yet. */
function createTasks(core: SchedulerCore, ev: GraphSubmitted, batch: Batch): TaskState[] {
  const created: TaskState[] = [];
  const records = batch.records;
  for (const spec of ev.tasks) {
    const id = batch.prefix + spec.key;
    // Same key, same task (Dask): an existing record is reused, not recreated.
    const existing = core.tasks.get(id);
    if (existing !== undefined) {
      records.push(existing);
      continue;
    }
    const ts = createTask(id, ev.clientId, spec, ++core.seq);
    core.addTask(ts);
    records.push(ts);
    created.push(ts);
  }
  let outOfOrder = false;
  for (const ts of created) {
    const keys = ts.spec.deps;
    if (keys.length === 0) continue;
    if (keys.length === 1) {
      // The common case (chains, maps), as an exact-size array: an array grown by push
      // reserves room for 17 entries, which a million records would pay for.
      const dep = batch.get(keys[0]!)!;
      if (dep.seq > ts.seq) outOfOrder = true;
      ts.dependencies = [dep];
      addDependent(dep, ts);
      continue;
    }
    const deps: TaskState[] = [];
    // A key listed twice is one dependency; a Set only for long lists (includes is O(n)).
    const unique = keys.length > DEPS_SCAN_MAX ? new Set(keys) : keys;
    for (const key of unique) {
      const dep = batch.get(key)!;
      if (unique === keys && deps.includes(dep)) continue;
      if (dep.seq > ts.seq) outOfOrder = true;
      deps.push(dep);
      addDependent(dep, ts);
    }
    ts.dependencies = deps;
  }
  if (outOfOrder) renumber(created);
  for (const ts of created) core.logCreated(ts);
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
  const batch = new Batch(core, ev.clientId);
  const error = check(batch, ev);
  core.emit({ type: 'submitReply', stimulusId: core.stimulusId, clientId: ev.clientId, requestId: ev.requestId, error });
  if (error !== undefined) {
    if (ev.startedOn !== undefined) adoptDirectRuns(core, ev, undefined, 0);
    return;
  }
  const firstNewSeq = core.seq + 1;
  const created = createTasks(core, ev, batch);
  for (const { key, workerId } of ev.missing ?? []) {
    const ts = core.tasks.get(taskId(ev.clientId, key));
    if (ts !== undefined) resultMissing(core, ts, workerId);
  }
  const wanted: TaskState[] = [];
  for (let i = 0; i < ev.wants.length; i++) {
    const ts = isOwnKey(ev, i) ? batch.records[i]! : batch.get(ev.wants[i]!)!;
    ts.wanted = true;
    wanted.push(ts);
  }
  // As in Dask, what runs is what the wanted keys need: activating a wanted task
  // activates its released (new or lineage) dependencies.
  for (const ts of wanted) {
    if (ts.state === 'released') activate(core, ts);
    else if (ts.seq >= firstNewSeq) continue;
    else if (ts.state === 'memory') core.notifyMemory(ts);
    else if (ts.state === 'erred') core.notifyFailure(ts, 'erred', ts.rare!.error!);
    // Asked again while its run, which was to tell the client itself, is not done: the
    // client may have lost that word with a direct stream (client/direct.ts). Told here too.
    else ts.workerTellsClient = false;
  }
  if (ev.startedOn !== undefined) adoptDirectRuns(core, ev, batch, firstNewSeq);
  // New tasks nothing wanted needs are dropped right away.
  const unneeded: TaskState[] = [];
  for (const ts of created) if (ts.state === 'released') unneeded.push(ts);
  if (unneeded.length > 0) settle(core, unneeded);
}

/**
 * A direct submission's runs (client/direct.ts): the worker started the batch's task (one,
 * or for a put of several values, each of them, as runs `runId`, `runId` + 1, ... in order)
 * under run ids of its own before the scheduler heard of them. Such a run is its task's run
 * if the task is new (created by this batch: `batch`, seq from `firstNewSeq` on), wanted,
 * ready (no inputs), not an actor task, and the worker may take it. Otherwise it is
 * cancelled there, and the task goes its usual way: a known task runs or ran elsewhere
 * already; a rejected batch (no `batch`) creates nothing.
 */
function adoptDirectRuns(core: SchedulerCore, ev: GraphSubmitted, batch: Batch | undefined, firstNewSeq: number): void {
  const { workerId, runId } = ev.startedOn!;
  const w = core.workers.get(workerId);
  if (w === undefined) return; // lost or never registered: it starts over, its runs go with it
  for (let i = 0; i < ev.tasks.length; i++) {
    const ts = batch?.records[i];
    if (
      ts !== undefined && ts.seq >= firstNewSeq && ts.wanted && ts.ready && ts.state === 'waiting' && ts.dependencies.length === 0 &&
      !isActorTask(ts) && !w.retiring && (ts.rare === undefined || hasResources(w, ts))
    ) {
      startRun(core, ts, w, runId + i);
      continue;
    }
    const id = taskId(ev.clientId, ev.tasks[i]!.key);
    core.emit({ type: 'cancelRun', stimulusId: core.stimulusId, workerId: w.id, id, runId: runId + i });
  }
}

/** The client dropped its futures for these keys. Unknown keys are ignored. */
export function keysReleased(core: SchedulerCore, clientId: string, keys: readonly string[]): void {
  const touched: TaskState[] = [];
  const prefix = taskId(clientId, '');
  for (const key of keys) {
    const ts = core.tasks.get(prefix + key);
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
