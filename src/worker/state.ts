/**
 * A worker's task logic as a pure state machine (after dask's worker_state_machine):
 * assignments, fetches of missing inputs, execution slots, cancellation and data
 * lifetime. No I/O here: `handle(event)` returns commands for the node driver.
 */
import { assert, type ErrorInfo } from '../errors.ts';
import { runReplaces } from '../graph/task-id.ts';
import type { WireAssign } from '../transport/messages.ts';
import { Heap } from '../util/heap.ts';
import { actorOf, enqueueActorTask, leaveActorQueue, startActorTasks, type ActorQueues } from './actor-queues.ts';
import { assignOf, batchCostMs, DEFAULT_BATCH, RunTimes, takeBatch, type BatchConfig } from './batching.ts';
import { Awaited } from './awaited.ts';
import { Fetches } from './fetches.ts';
import { Slots } from './slots.ts';
import { checkWorkerState, type WorkerStateView } from './state-check.ts';
import { NO_INPUTS, readyOrder, type RunRef, type WorkerCommand, type WorkerEvent, type WorkerTask } from './state-types.ts';
import { ChurnMap } from '../util/churn-map.ts';
import { SmallSet } from '../util/small-set.ts';

export type { WorkerCommand, WorkerEvent } from './state-types.ts';

export interface WorkerStateConfig {
  threads: number;
  /** Concurrent incoming transfers. */
  transfersMax: number;
  /** Batching of short tasks (worker/batching.ts). Default DEFAULT_BATCH. */
  batch?: BatchConfig;
}

export class WorkerState {
  private readonly tasks = new ChurnMap<string, WorkerTask>();
  /** Results held here (made or fetched), each with whether it is owned: made (or replicated) here, not released yet. */
  private readonly held = new ChurnMap<string, boolean>();
  /** Input id -> number of local tasks still needing it. */
  private readonly needers = new ChurnMap<string, number>();
  /** Inputs being made here that early tasks wait for (worker/awaited.ts). */
  private readonly awaited = new Awaited();
  /** Inputs and replicas being fetched, or waiting for a transfer slot (worker/fetches.ts). */
  private readonly fetches: Fetches;
  private readonly ready = new Heap<WorkerTask>(readyOrder);
  /** Actor tasks not started yet, per actor in call order (worker/actor-queues.ts). */
  private readonly actorQueues: ActorQueues = new Map();
  /** Thread slots held by executing tasks (worker/slots.ts). */
  private readonly slots: Slots;
  private seq = 0;
  private paused = false;
  private readonly runTimes = new RunTimes();
  private readonly batch: BatchConfig;

  constructor(private readonly config: WorkerStateConfig) {
    this.batch = config.batch ?? DEFAULT_BATCH;
    this.slots = new Slots(config.threads, this.batch);
    this.fetches = new Fetches(config.transfersMax);
  }

  get executingCount(): number {
    return this.slots.executing;
  }

  get taskCount(): number {
    return this.tasks.size;
  }

  get heldCount(): number {
    return this.held.size;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Whether a task with no inputs, assigned now, would start at once: a thread is free,
   * nothing waits for one, and this worker knows nothing of the task (worker/direct.ts).
   */
  startsAtOnce(id: string): boolean {
    return !this.paused && this.slots.free && this.ready.size === 0 && !this.tasks.has(id) && !this.held.has(id);
  }

  /** Whether this worker has a task or a result of this id (a put must be of a new one). */
  knows(id: string): boolean {
    return this.tasks.has(id) || this.held.has(id);
  }

  handle(event: WorkerEvent): WorkerCommand[] {
    const out: WorkerCommand[] = [];
    const sid = event.stimulusId;
    switch (event.type) {
      case 'assigned':
        for (const a of event.tasks) this.onAssign(a, sid, out);
        break;
      case 'cancelled':
        this.onCancel(event.id, event.runId, sid, out);
        break;
      case 'released':
        for (const id of event.ids) this.onReleased(id, sid, out);
        break;
      case 'fetched':
        this.onFetched(event.id, sid, out);
        break;
      case 'fetchFailed':
        this.onFetchFailed(event.id, event.error, sid, out);
        break;
      case 'executed':
        this.onExecuted(event, out);
        break;
      case 'steal':
        this.onSteal(event.id, event.runId, sid, out);
        break;
      case 'replicate':
        this.onReplicate(event.id, event.addresses, sid, out);
        break;
      case 'paused':
        this.paused = event.paused;
        break;
      case 'returned':
        this.onReturned(event.stragglers, event.runs, sid, out);
        break;
      case 'put':
        this.onPut(event, out);
        break;
      case 'seceded':
      case 'rejoined':
        this.onSlot(event.id, event.runId, event.type === 'seceded', sid, out);
        break;
    }
    this.pump(sid, out);
    return out;
  }

  private onAssign(a: WireAssign, sid: string, out: WorkerCommand[]): void {
    const existing = this.tasks.get(a.id);
    if (existing !== undefined) {
      if (!runReplaces(a.runId, existing.assign.runId)) return; // duplicate delivery
      this.onCancel(a.id, existing.assign.runId, sid, out);
    }
    // Assigned here, so the scheduler counts on no copy here: one an earlier run left (its late report dropped) goes as if released.
    this.onReleased(a.id, sid, out);
    const actor = actorOf(a);
    const missing = a.deps.length === 0 ? NO_INPUTS : new SmallSet<string>();
    const task: WorkerTask = { assign: a, state: 'fetching', missing, seq: ++this.seq, heapIndex: -1, slot: false, lane: undefined, rejoined: false, actor, long: false, straggling: false, costMs: 0 };
    this.tasks.set(a.id, task);
    if (actor !== undefined) enqueueActorTask(this.actorQueues, actor, task);
    for (const dep of a.deps) {
      this.needers.set(dep.id, (this.needers.get(dep.id) ?? 0) + 1);
      if (this.held.has(dep.id)) continue;
      if (dep.inline !== undefined) {
        this.held.set(dep.id, false);
        out.push({ type: 'storeInline', stimulusId: sid, id: dep.id, bytes: dep.inline, serializer: dep.serializer });
        continue;
      }
      task.missing.add(dep.id);
      if (dep.holders.length === 0) {
        this.awaited.wait(task, dep.id);
        continue;
      }
      this.fetches.wait(dep.id, dep.holders, task);
    }
    if (task.missing.size === 0) this.makeReady(task);
  }

  private onCancel(id: string, runId: number, sid: string, out: WorkerCommand[]): void {
    const task = this.tasks.get(id);
    if (task === undefined || task.assign.runId !== runId) return;
    if (task.state === 'executing') {
      this.slots.release(task);
      out.push({ type: 'abort', stimulusId: sid, id, runId });
    } else if (task.state === 'ready' && task.actor === undefined) {
      this.ready.remove(task);
    }
    this.forget(task, sid, out);
  }

  private onSlot(id: string, runId: number, seceded: boolean, sid: string, out: WorkerCommand[]): void {
    const task = this.tasks.get(id);
    if (task === undefined || task.assign.runId !== runId || task.state !== 'executing' || task.actor !== undefined) return;
    if (task.slot !== seceded) return; // no change
    if (seceded) {
      this.slots.release(task);
      task.straggling = false; // the scheduler forgets it too
    } else {
      this.slots.rejoin(task); // back on a slot of its own, even if it started in a batch
    }
    out.push({ type: 'reportSlot', stimulusId: sid, id, runId, seceded });
  }

  /**
   * The pool gave back runs queued behind stragglers: nothing queues behind those any more
   * (and the scheduler hears of each, once), and the runs given back start again here if a
   * thread is free; the others go back to the scheduler, which may run them elsewhere (the
   * scheduler asked for them before, if at all, while they were queued in the pool, and was
   * refused). A run given back that takes an input its batch was to hand over waits for it
   * again here.
   */
  private onReturned(stragglers: readonly RunRef[], runs: readonly RunRef[], sid: string, out: WorkerCommand[]): void {
    for (const ref of stragglers) {
      const task = this.current(ref);
      if (task?.state !== 'executing' || !task.slot || task.straggling) continue;
      task.straggling = true;
      this.slots.markLong(task); // a run alone is long already
      out.push({ type: 'reportStraggling', stimulusId: sid, ...ref });
    }
    const back: WorkerTask[] = [];
    for (const ref of runs) {
      const task = this.current(ref);
      if (task?.state !== 'executing' || !task.slot) continue;
      this.slots.release(task);
      back.push(task);
      for (const dep of task.assign.deps) if (!this.held.has(dep.id)) this.awaited.wait(task, dep.id);
      if (task.missing.size === 0) this.makeReady(task);
      else task.state = 'fetching';
    }
    this.pump(sid, out);
    for (const task of back) {
      if (task.state !== 'ready' || this.tasks.get(task.assign.id) !== task) continue;
      this.ready.remove(task);
      this.forget(task, sid, out);
      out.push({ type: 'reportStolen', stimulusId: sid, id: task.assign.id, runId: task.assign.runId });
    }
  }

  /** The task of this run, if it is the current one here. */
  private current(ref: RunRef): WorkerTask | undefined {
    const task = this.tasks.get(ref.id);
    return task?.assign.runId === ref.runId ? task : undefined;
  }

  /** Gives a run back unless it started: the scheduler then runs it elsewhere. */
  private onSteal(id: string, runId: number, sid: string, out: WorkerCommand[]): void {
    const task = this.tasks.get(id);
    if (task === undefined || task.assign.runId !== runId || task.state === 'executing') {
      out.push({ type: 'reportStealRefused', stimulusId: sid, id, runId });
      return;
    }
    this.onCancel(id, runId, sid, out);
    out.push({ type: 'reportStolen', stimulusId: sid, id, runId });
  }

  private onReplicate(id: string, addresses: string[], sid: string, out: WorkerCommand[]): void {
    if (this.held.has(id)) {
      this.held.set(id, true);
      out.push({ type: 'reportReplicated', stimulusId: sid, id });
      return;
    }
    this.fetches.replicate(id, addresses);
  }

  private onFetched(id: string, sid: string, out: WorkerCommand[]): void {
    const fetch = this.fetches.end(id);
    if (fetch === undefined) return;
    if (fetch.replica) {
      this.held.set(id, true);
      out.push({ type: 'reportReplicated', stimulusId: sid, id });
    } else if (!this.held.has(id)) {
      this.held.set(id, false);
    }
    for (const task of fetch.waiters) {
      if (task.missing.delete(id) && task.missing.size === 0 && task.state === 'fetching') this.makeReady(task);
    }
    this.collect(id, sid, out);
  }

  private onFetchFailed(id: string, error: ErrorInfo, sid: string, out: WorkerCommand[]): void {
    const fetch = this.fetches.end(id);
    if (fetch === undefined) return;
    if (fetch.replica) out.push({ type: 'replicateFailed', stimulusId: sid, id, error });
    for (const task of fetch.waiters) {
      if (!task.missing.has(id) || this.tasks.get(task.assign.id) !== task) continue;
      const { id: taskId, runId } = task.assign;
      out.push({ type: 'reportInputMissing', stimulusId: sid, id: taskId, runId, depId: id, error });
      this.forget(task, sid, out);
    }
  }

  private onExecuted(event: Extract<WorkerEvent, { type: 'executed' }>, out: WorkerCommand[]): void {
    const task = this.tasks.get(event.id);
    if (task === undefined || task.assign.runId !== event.runId || task.state !== 'executing') return;
    this.slots.release(task);
    if (event.durationMs !== undefined) this.runTimes.observe(task.assign.spec.name, event.durationMs);
    const sid = event.stimulusId;
    if (event.outcome.ok) {
      this.held.set(event.id, true);
      const waiters = this.awaited.made(event.id);
      if (waiters !== undefined) {
        for (const w of waiters) if (w.missing.delete(event.id) && w.missing.size === 0 && w.state === 'fetching') this.makeReady(w);
      }
      const { id, runId, durationMs = 0, startedAtMs = 0, outcome: { nbytes, serializer, bytes } } = event;
      const tellClient = task.assign.tellClient === true;
      out.push({ type: 'reportFinished', stimulusId: sid, id, runId, tellClient, durationMs, startedAtMs, nbytes, serializer, bytes });
    } else {
      out.push({ type: 'reportFailed', stimulusId: sid, id: event.id, runId: event.runId, error: event.outcome.error });
    }
    this.forget(task, sid, out);
  }

  /** A client's value is stored here: owned, as a run's result is, and reported (to the client too), or reported as a replica. */
  private onPut(event: Extract<WorkerEvent, { type: 'put' }>, out: WorkerCommand[]): void {
    assert(!this.knows(event.id), `a put of ${event.id}, which this worker knows already`);
    this.held.set(event.id, true);
    const { stimulusId, id, runId, startedAtMs, nbytes, serializer, bytes } = event;
    if (event.replica === true) out.push({ type: 'reportReplicated', stimulusId, id });
    else out.push({ type: 'reportFinished', stimulusId, id, runId, tellClient: true, durationMs: 0, startedAtMs, nbytes, serializer, bytes });
  }

  /** Drops a task and lets go of the inputs it was holding on to. */
  private forget(task: WorkerTask, sid: string, out: WorkerCommand[]): void {
    this.tasks.delete(task.assign.id);
    if (task.actor !== undefined) leaveActorQueue(this.actorQueues, task.actor, task);
    for (const dep of task.assign.deps) {
      this.fetches.unwait(dep.id, task);
      this.awaited.unwait(dep.id, task);
      const n = (this.needers.get(dep.id) ?? 0) - 1;
      if (n > 0) this.needers.set(dep.id, n);
      else this.needers.delete(dep.id);
      this.collect(dep.id, sid, out);
    }
  }

  /** The scheduler no longer counts on this result: no longer owned, deleted unless a task here needs it. */
  private onReleased(id: string, sid: string, out: WorkerCommand[]): void {
    // collect's rule in two lookups, not four: a big release deletes many results at once.
    if (!this.held.has(id)) return;
    if (this.isNeeded(id)) this.held.set(id, false);
    else this.drop(id, sid, out);
  }

  /** Deletes a result nobody here needs and the scheduler does not count on (held, not owned). */
  private collect(id: string, sid: string, out: WorkerCommand[]): void {
    if (this.held.get(id) !== false || this.isNeeded(id)) return;
    this.drop(id, sid, out);
  }

  /** Whether a task here still needs the result (no lookup while none needs any). */
  private isNeeded(id: string): boolean {
    return this.needers.size > 0 && this.needers.has(id);
  }

  private drop(id: string, sid: string, out: WorkerCommand[]): void {
    this.held.delete(id);
    out.push({ type: 'deleteData', stimulusId: sid, id });
  }

  private makeReady(task: WorkerTask): void {
    task.state = 'ready';
    if (task.actor === undefined) this.ready.push(task);
  }

  /** Starts transfers and executions while slots are free. */
  private pump(sid: string, out: WorkerCommand[]): void {
    // Actor calls run even under memory pressure: their actor exists already.
    if (this.actorQueues.size > 0) startActorTasks(this.actorQueues, sid, out);
    if (this.paused) return; // memory pressure: nothing new comes in or runs
    this.fetches.start(sid, out);
    while (this.ready.size > 0 && this.slots.hasRoom(this.nextShort)) {
      const first = this.ready.pop();
      assert(first !== undefined, 'ready queue not empty');
      const waiting = this.awaited.size > 0 ? this.awaited.byId : undefined;
      const batch = takeBatch(first, this.ready, this.runTimes, this.batch, this.slots.freeThreads, waiting);
      if (batch.length === 1 && !this.slots.free) {
        // A run alone does not queue in the pool: the pool could not take it back (worker/stragglers.ts).
        this.ready.push(first);
        break;
      }
      if (waiting !== undefined) for (const task of batch) if (task.missing.size > 0) this.awaited.follows(task);
      this.slots.take(batch);
      if (batch.length > 1) out.push({ type: 'executeBatch', stimulusId: sid, assigns: batch.map(assignOf) });
      else out.push({ type: 'execute', stimulusId: sid, assign: first.assign, short: batchCostMs(first.assign, this.runTimes, this.batch) !== undefined });
    }
  }

  /** Whether the next ready task is short (it may queue behind short runs in the pool). */
  private readonly nextShort = (): boolean => batchCostMs(this.ready.peek()!.assign, this.runTimes, this.batch) !== undefined;

  /** Invariants, checked by tests after every step. */
  validate(): void {
    checkWorkerState(this.view());
  }

  /** The state as its invariants see it (state-check.ts); tests look at it too. */
  view(): WorkerStateView {
    return {
      tasks: this.tasks,
      held: this.held,
      needers: this.needers,
      awaited: this.awaited.byId,
      fetching: this.fetches.byId,
      readySize: this.ready.size,
      inReady: (task) => this.ready.has(task),
      replicas: this.fetches.replicas,
      actorQueues: this.actorQueues,
      executing: this.slots.executing,
      longSlots: this.slots.longSlots,
      transfers: this.fetches.transfers,
      paused: this.paused,
      threads: this.config.threads,
      transfersMax: this.config.transfersMax,
      pipeline: this.batch.pipeline,
    };
  }
}
