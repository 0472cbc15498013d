/**
 * The worker state machine's invariants (worker/state.ts), over a view of its fields.
 * Tests check them after every step; production code never needs to.
 */
import { assert } from '../errors.ts';
import { PIPELINE_BATCHES_MAX } from './batching.ts';
import { NO_INPUTS, type Lane, type WorkerTask } from './state-types.ts';
import type { SetView } from '../util/small-set.ts';

export interface WorkerStateView {
  tasks: ReadonlyMap<string, WorkerTask>;
  /** Results held here, each with whether it is owned. */
  held: ReadonlyMap<string, boolean>;
  needers: ReadonlyMap<string, number>;
  awaited: ReadonlyMap<string, SetView<WorkerTask>>;
  fetching: ReadonlyMap<string, { started: boolean; waiters: ReadonlySet<WorkerTask> }>;
  readySize: number;
  /** Whether the task is in the ready queue. */
  inReady(task: WorkerTask): boolean;
  replicas: ReadonlySet<string>;
  actorQueues: ReadonlyMap<string, readonly WorkerTask[]>;
  executing: number;
  longSlots: number;
  transfers: number;
  paused: boolean;
  threads: number;
  transfersMax: number;
  pipeline: boolean;
}

export function checkWorkerState(v: WorkerStateView): void {
    let executing = 0;
    let rejoined = 0;
    let readyTasks = 0;
    const lanes = new Map<Lane, number>();
    for (const task of v.tasks.values()) {
      if (task.state === 'executing' && task.slot && task.lane === undefined) executing += 1;
      if (task.lane !== undefined) lanes.set(task.lane, (lanes.get(task.lane) ?? 0) + 1);
      assert(task.lane === undefined || task.slot, `${task.assign.id} in a batch without a slot`);
      if (task.state === 'executing' && task.slot && task.rejoined) rejoined += 1;
      assert(!task.slot || (task.state === 'executing' && task.actor === undefined), `${task.assign.id} holds a slot while ${task.state}`);
      const queued = task.actor !== undefined && v.actorQueues.get(task.actor)?.includes(task) === true;
      assert(queued === (task.actor !== undefined && task.state !== 'executing'), `${task.assign.id}: actor queue membership`);
      if (task.state !== 'fetching') assert(task.missing.size === 0, `${task.assign.id} ready with missing inputs`);
      // Nothing waits for what will never come: a ready task (not an actor's) is queued,
      // and each input a fetching task misses is being fetched for it or made here.
      const waitsInQueue = task.state === 'ready' && task.actor === undefined;
      assert(v.inReady(task) === waitsInQueue, `${task.assign.id}: ${task.state}, ${waitsInQueue ? 'not ' : ''}in the ready queue`);
      if (waitsInQueue) readyTasks += 1;
      if (task.state === 'fetching') assert(task.missing.size > 0, `${task.assign.id} fetching with nothing missing`);
      for (const id of task.missing) {
        const coming = v.fetching.get(id)?.waiters.has(task) === true || v.awaited.get(id)?.has(task) === true;
        assert(coming, `${task.assign.id} misses ${id}, which is neither fetched for it nor made here`);
      }
      for (const dep of task.assign.deps) assert(v.needers.has(dep.id), `${dep.id} needed but not counted`);
    }
    assert(NO_INPUTS.size === 0, 'the shared empty set of missing inputs is empty');
    assert(readyTasks === v.readySize, `ready queue holds ${v.readySize}, expected ${readyTasks}`);
    for (const [lane, n] of lanes) assert(lane.active === n && n > 0, 'a batch counts the tasks holding its slot');
    assert(executing + lanes.size === v.executing, 'executing count matches');
    // Only runs that rejoined after seceding may take the count above the threads, and
    // short batches queued behind short runs (pipelining, batching.ts mayPipeline; a run
    // found straggling after batches queued behind it may hold one of them).
    const queued = v.pipeline ? (PIPELINE_BATCHES_MAX - 1) * v.threads : 0;
    assert(v.executing <= v.threads + rejoined + queued, 'never more tasks executing than threads');
    let long = 0;
    for (const task of v.tasks.values()) if (task.long) long++;
    assert(long === v.longSlots, `long slots ${v.longSlots}, expected ${long}`);
    for (const queue of v.actorQueues.values()) {
      assert(queue.length > 0 && queue[0]!.state !== 'ready', 'an actor task is ready at the head of its queue');
    }
    assert(v.transfers <= v.transfersMax, 'transfers within limit');
    let started = 0;
    for (const fetch of v.fetching.values()) if (fetch.started) started += 1;
    assert(started === v.transfers, 'transfer count matches started fetches');
    for (const [id, waiters] of v.awaited) {
      assert(waiters.size > 0 && !v.held.has(id), `awaited ${id}: no waiters, or already here`);
      for (const w of waiters) assert(v.tasks.get(w.assign.id) === w && w.missing.has(id), `${w.assign.id} awaits ${id} but does not miss it`);
    }
    for (const id of v.replicas) assert(v.fetching.has(id) && !v.held.has(id), `replica ${id} not being fetched`);
    if (!v.paused) {
      // pump() ran: a free thread never idles next to a ready task, nor a free slot next to a queued fetch.
      assert(v.readySize === 0 || v.executing >= v.threads, 'a thread is idle while tasks are ready');
      const queued = [...v.fetching.values()].some((f) => !f.started);
      assert(!queued || v.transfers === v.transfersMax, 'a transfer slot is idle while fetches wait');
    }
}
