/**
 * The scheduler's state and its lowest-level operations (transitions, commands,
 * notifications). The event handlers live in sibling files as functions over this core,
 * to keep each file small; only scheduler.ts is public.
 */
import { FloeError, toErrorInfo } from '../errors.ts';
import type { ErrorInfo } from '../errors.ts';
import { changeHolds, isLiveActor, mayHold } from './actor-holds.ts';
import { joinLine, leftWaiting } from './call-order.ts';
import { endEarly, takeBack } from './early.ts';
import { FreedWorkers } from './freed.ts';
import type { CallLine } from './call-order.ts';
import { ACTOR_CREATE, type TaskSpec } from '../graph/spec.ts';
import { addHolder, removeHolder } from './refs.ts';
import { StoryLog } from './story-log.ts';
import { TaskQueues } from './task-queue.ts';
import { NO_TASKS, type TaskState, type WorkerState } from './state.ts';
import { STATE_NAMES, stateIndex } from './types.ts';
import type { SchedulerCommand, SchedulerConfig, TaskStateName } from './types.ts';
import { ChurnMap } from '../util/churn-map.ts';


/**
 * The spec of every forgotten record (see dropTask): no task, nothing to keep alive. Not
 * frozen, as NO_TASKS is not (state.ts): nothing writes to a spec.
 */
export const DROPPED_SPEC: TaskSpec = {
  key: '',
  name: '',
  module: '',
  exportName: '',
  args: new Uint8Array(0),
  deps: [],
  serializer: { id: 'msgpack', module: '' },
  priority: 0,
  retries: 0,
  retryDelayMs: 0,
  retryBackoff: 1,
  timeoutMs: 0,
  resources: {},
};

export class SchedulerCore {
  readonly tasks = new ChurnMap<string, TaskState>();
  readonly workers = new Map<string, WorkerState>();
  /** Live workers in join order. */
  workerList: WorkerState[] = [];
  readonly queue = new TaskQueues();
  /**
   * Actor method calls ready to run while their actor is being created (or re-created),
   * by actor id; placed on the actor's worker once it exists (see actors.ts).
   */
  readonly actorWaiters = new Map<string, TaskState[]>();
  /** Actor calls not routed yet, per actor and caller, oldest first (call-order.ts). */
  readonly callLines = new Map<string, CallLine>();
  /** The calls in some line (call-order.ts). */
  readonly linedCalls = new Set<TaskState>();
  /** Lines (keys of callLines) to look at again at the end of the event. */
  readonly dirtyLines = new Set<string>();
  /** Holds on each actor (by id) besides its owner's handle; absent when none (actor-holds.ts). */
  readonly actorHolds = new Map<string, number>();
  /** Actors lent to an actor in its method calls, by the borrower's id (actor-holds.ts). */
  readonly actorBorrows = new Map<string, string[]>();
  /** Actors whose last hold went during the current event. */
  unheld: string[] = [];
  /** Times each actor (by id) has been re-created after losing its worker. */
  readonly actorRestarts = new Map<string, number>();
  /** Tasks waiting for a retry to come due. */
  readonly retrying = new Set<TaskState>();
  /** Tasks that became ready during the current event; placed when it ends. */
  readyList: TaskState[] = [];
  /** Workers that gained capacity during the current event. */
  readonly freed = new FreedWorkers();
  /** Tasks in each state, by stateIndex. */
  private readonly stateCounts: number[] = STATE_NAMES.map(() => 0);
  readonly log: StoryLog;
  out: SchedulerCommand[] = [];
  stimulusId = '';
  nowMs = 0;
  seq = 0;
  runCounter = 0;
  joinCounter = 0;
  /** Earliest tick already asked for with wakeAt (Infinity when none is pending). */
  wakeRequestedMs = Infinity;
  /** Tasks assigned early, on all workers (early.ts). */
  earlyCount = 0;
  /** Live workers with `retiring` set. */
  retiringCount = 0;
  /** An assignment this event left some worker with more tasks than threads. */
  excessCreated = false;
  /** Something a retiring worker waits for may have changed during this event. */
  retireDirty = false;
  /** Moving average of run times (undefined until the first run ends). */
  runTimeAvgMs: number | undefined = undefined;
  /** Tasks per thread that workers' capacities currently reflect. */
  tasksPerThread: number;

  constructor(readonly config: SchedulerConfig) {
    this.log = new StoryLog(config.logSizeMax);
    this.tasksPerThread = config.workerSaturation;
  }

  /** Tasks in each state. */
  get counts(): Record<TaskStateName, number> {
    return Object.fromEntries(STATE_NAMES.map((name, i) => [name, this.stateCounts[i]!])) as Record<TaskStateName, number>;
  }

  transition(ts: TaskState, to: TaskStateName): void {
    const from = ts.state;
    this.stateCounts[stateIndex(from)]!--;
    this.stateCounts[stateIndex(to)]!++;
    ts.state = to;
    this.log.add(ts.seq, from, to, this.stimulusId, this.nowMs);
    // Early tasks waiting on this run cannot start when it ends without a result.
    if (from === 'processing' && to !== 'memory' && this.earlyCount > 0) takeBack(this, ts);
    if (mayHold(ts)) {
      changeHolds(this, ts, from, to);
      if (ts.spec.actor !== ACTOR_CREATE && ts.spec.actor !== undefined) {
        if (to === 'waiting') joinLine(this, ts);
        else if (from === 'waiting') leftWaiting(this, ts);
      }
    }
  }

  /**
   * A live actor (created or being created) that lent handles still hold: kept like a
   * wanted result. Holds keep an actor alive; they never bring a released one back.
   */
  isHeldActor(ts: TaskState): boolean {
    return this.actorHolds.size > 0 && this.actorHolds.has(ts.id) && isLiveActor(ts);
  }

  /**
   * Records a brand-new task (it starts as 'released'). Its creation is logged by
   * `logCreated`, once its seq is final (submit.ts may renumber a batch).
   */
  addTask(ts: TaskState): void {
    this.tasks.set(ts.id, ts);
    this.stateCounts[stateIndex('released')]!++;
  }

  logCreated(ts: TaskState): void {
    this.log.add(ts.seq, 'forgotten', 'released', this.stimulusId, this.nowMs);
  }

  /**
   * Drops a task record for good. Callers have unlinked it already. The record lets go of
   * its spec (and the message the spec was decoded from) and of its dependents: records
   * are pretenured (state.ts createTask), and the young generation's collections treat
   * every pointer from the old generation as live until a full collection finds the
   * record dead. A forgotten record that kept its spec kept it, and what it references,
   * through every scavenge in between: in task-lag rounds, the coordinator's scavenges
   * copied and promoted some 13 MB of such garbage each.
   */
  dropTask(ts: TaskState): void {
    this.transition(ts, 'forgotten');
    this.log.forgot(ts.seq, ts.id);
    this.stateCounts[stateIndex('forgotten')]!--;
    if (this.actorRestarts.size > 0) this.actorRestarts.delete(ts.id);
    this.tasks.delete(ts.id);
    ts.spec = DROPPED_SPEC;
    ts.dependents = NO_TASKS;
  }

  /**
   * Ends the current run's tie to its worker (completion, failure, cancel, steal, loss):
   * frees the slot and settles any steal in flight for it. The caller sets the state.
   */
  endRun(ts: TaskState): void {
    const w = ts.processingOn;
    if (w === undefined) return;
    ts.processingOn = undefined;
    if (w.straggling.size > 0) w.straggling.delete(ts.runId);
    if (ts.early) {
      endEarly(this, ts, w);
    } else {
      w.processing.delete(ts.runId);
      if (ts.unslotted) {
        ts.unslotted = false;
        w.unslotted--;
      }
    }
    if (this.workers.get(w.id) === w) this.freed.add(w);
    if (w.retiring) this.retireDirty = true;
    if (ts.stealPending) this.clearSteal(ts, w);
  }

  /**
   * Stops a run the scheduler no longer wants there: ends it (endRun) and tells its worker
   * to drop it. A worker being lost is told nothing: its runs are being rescheduled (an
   * early run there can be stopped while that happens).
   */
  cancelRun(ts: TaskState): void {
    const w = ts.processingOn;
    if (w === undefined) return;
    this.endRun(ts);
    if (this.workers.get(w.id) === w) {
      this.emit({ type: 'cancelRun', stimulusId: this.stimulusId, workerId: w.id, id: ts.id, runId: ts.runId });
    }
  }

  /** Forgets the steal in flight for a task's run (answered, or the run ended). */
  clearSteal(ts: TaskState, victim: WorkerState): void {
    ts.stealPending = false;
    victim.stealsOut--;
    const thief = ts.rare?.thief;
    if (thief === undefined) return;
    thief.stealsIn--;
    ts.rare!.thief = undefined;
    // The thief may have room again: let it look for other work at the end of the event.
    if (this.workers.get(thief.id) === thief) this.freed.add(thief);
  }

  /** A worker holds a result from now on. */
  addHeld(w: WorkerState, ts: TaskState): void {
    // Asked of the record's few holders, not of the worker's results (a large set).
    if (ts.whoHas.includes(w)) return;
    w.hasWhat.add(ts);
    w.heldBytes += ts.nbytes;
    addHolder(ts, w);
  }

  /** A worker no longer holds a result. */
  removeHeld(w: WorkerState, ts: TaskState): void {
    if (!w.hasWhat.delete(ts)) return;
    w.heldBytes -= ts.nbytes;
    removeHolder(ts, w);
  }

  emit(command: SchedulerCommand): void {
    this.out.push(command);
  }

  /** `byWorker`: the worker that made the result told the client already (WireAssign.tellClient). */
  notifyMemory(ts: TaskState, byWorker = false): void {
    const holder = ts.whoHas.length > 0 ? ts.whoHas[0]!.id : '';
    this.emit({
      type: 'notifyClient',
      stimulusId: this.stimulusId,
      byWorker,
      clientId: ts.clientId,
      key: ts.key,
      status: 'memory',
      workerId: holder,
      nbytes: ts.nbytes,
      serializer: ts.serializer,
      inline: ts.inline,
      error: undefined,
    });
  }

  notifyFailure(ts: TaskState, status: 'erred' | 'cancelled', error: ErrorInfo): void {
    this.emit({
      type: 'notifyClient',
      stimulusId: this.stimulusId,
      byWorker: false,
      clientId: ts.clientId,
      key: ts.key,
      status,
      workerId: '',
      nbytes: 0,
      serializer: ts.serializer,
      inline: undefined,
      error,
    });
  }

  /** Asks the driver for a tick at `atMs` unless an earlier one is already pending. */
  requestWake(atMs: number): void {
    if (atMs >= this.wakeRequestedMs) return;
    this.wakeRequestedMs = atMs;
    this.emit({ type: 'wakeAt', stimulusId: this.stimulusId, atMs });
  }

  makeError(code: 'CANCELLED' | 'WORKER_LOST' | 'ACTOR_LOST', message: string, taskKey: string): ErrorInfo {
    return toErrorInfo(new FloeError(code, message, { taskKey }));
  }
}
