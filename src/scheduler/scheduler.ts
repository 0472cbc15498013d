/**
 * The coordinator's brain: a pure, synchronous state machine modelled on
 * dask/distributed's scheduler. Events in, commands out; no I/O, timers, clock or
 * randomness (time arrives as `nowMs` on events).
 *
 * Decisions worth knowing (see also the file comments of the helpers):
 * - Tasks that become ready during an event are placed when the event ends, highest
 *   priority first: on the worker holding most input bytes, else the least loaded one
 *   that has capacity and the resources. Otherwise they are queued (priority, then
 *   submission order) and pulled by workers as they gain capacity.
 * - Only what wanted keys need runs (as in Dask): a submitted task that no wanted key
 *   depends on is dropped at once. Resubmitting an existing key reuses the task.
 * - Resources are checked against what a worker declares (capacity-style, as in Dask's
 *   `valid_workers`); concurrent use on one worker is the worker's business.
 * - Cancelling a key cancels it and all its dependents; wanted ones are notified
 *   'cancelled' even if they were already in memory (the result is released).
 * - A result lost with its worker is recomputed from lineage; a wanted key is then
 *   notified again ('memory' with the new holder) when the recomputation finishes.
 * - A client disconnecting removes all its tasks without notifications.
 * - A task's dependents whose missing inputs are all being computed on its worker are
 *   assigned there with it (early.ts), so they start without a round trip; they are taken
 *   back if an input ends without a result.
 * - Idle workers steal unstarted work from busy ones (stealing.ts), and workers can
 *   retire gracefully (retire.ts); both only with the victim's consent, so a task never
 *   runs twice to completion.
 */
import { assertNever } from '../errors.ts';
import { releaseUnheld } from './actor-holds.ts';
import { pruneActorWaiters, routeActorCalls, taskRejoined, taskSeceded } from './actors.ts';
import { SchedulerCore } from './core.ts';
import { tasksByState, waitingReasons, workerInfo } from './inspect.ts';
import type { WaitingReason, WorkerInfo } from './inspect.ts';
import { checkInvariants } from './invariants.ts';
import { taskFailed, taskFinished, tick } from './lifecycle.ts';
import { placeReady } from './placement.ts';
import { cancelKeys } from './release.ts';
import { progressRetirement, replicateFailed, replicated, workerRetiring } from './retire.ts';
import { replicaTargets, replicateRequested } from './replicas.ts';
import { balance, stealGranted, stealRefused, taskStraggling } from './stealing.ts';
import type { TaskState } from './state.ts';
import { clientDisconnected, graphSubmitted, keysReleased } from './submit.ts';
import { DEFAULT_SCHEDULER_CONFIG } from './types.ts';
import { taskId } from '../graph/task-id.ts';
import type { SchedulerCommand, SchedulerConfig, SchedulerEvent, StoryEntry, TaskStateName } from './types.ts';
import { inputMissing, workerJoined, workerLost } from './workers.ts';

export type { WaitingReason, WorkerInfo } from './inspect.ts';

/** Events after which a retiring worker may have moved on (besides retireDirty). */
function concernsRetiring(core: SchedulerCore, ev: SchedulerEvent): boolean {
  switch (ev.type) {
    case 'taskFinished':
    case 'taskFailed':
      return core.workers.get(ev.workerId)?.retiring === true;
    case 'workerJoined':
    case 'workerLost':
      return true;
    default:
      return false;
  }
}

export class Scheduler {
  readonly config: Readonly<SchedulerConfig>;
  readonly #core: SchedulerCore;

  constructor(config: Partial<SchedulerConfig> = {}) {
    this.config = Object.freeze({ ...DEFAULT_SCHEDULER_CONFIG, ...config });
    this.#core = new SchedulerCore(this.config);
  }

  /** Applies events in order and returns the commands they cause, in order. */
  handle(...events: SchedulerEvent[]): SchedulerCommand[] {
    const core = this.#core;
    const out: SchedulerCommand[] = [];
    core.out = out;
    for (const ev of events) {
      core.stimulusId = ev.stimulusId;
      core.nowMs = ev.nowMs;
      this.#dispatch(ev);
      if (core.unheld.length > 0) releaseUnheld(core);
      routeActorCalls(core);
      placeReady(core);
      if (core.retiringCount > 0 && (core.retireDirty || concernsRetiring(core, ev))) {
        progressRetirement(core);
        routeActorCalls(core);
        placeReady(core);
      }
      balance(core);
      // Calls that erred while being routed may have let go of their actor.
      if (core.unheld.length > 0) releaseUnheld(core);
      if (core.actorWaiters.size > 0) pruneActorWaiters(core);
      core.freed.clear();
      core.excessCreated = false;
      core.retireDirty = false;
    }
    core.out = [];
    return out;
  }

  #dispatch(ev: SchedulerEvent): void {
    const core = this.#core;
    switch (ev.type) {
      case 'graphSubmitted':
        return graphSubmitted(core, ev);
      case 'keysReleased':
        return keysReleased(core, ev.clientId, ev.keys);
      case 'keysCancelled': {
        const roots: TaskState[] = [];
        for (const key of ev.keys) {
          const ts = core.tasks.get(taskId(ev.clientId, key));
          if (ts !== undefined) roots.push(ts);
        }
        if (roots.length > 0) cancelKeys(core, roots);
        return;
      }
      case 'clientDisconnected':
        return clientDisconnected(core, ev.clientId);
      case 'workerJoined':
        return workerJoined(core, ev);
      case 'workerLost':
        return workerLost(core, ev.workerId);
      case 'taskFinished':
        return taskFinished(core, ev);
      case 'taskFailed':
        return taskFailed(core, ev);
      case 'stealGranted':
        return stealGranted(core, ev);
      case 'inputMissing':
        return inputMissing(core, ev);
      case 'stealRefused':
        return stealRefused(core, ev);
      case 'workerRetiring':
        return workerRetiring(core, ev.workerId);
      case 'replicated':
        return replicated(core, ev.workerId, ev.ids);
      case 'replicateFailed':
        return replicateFailed(core, ev.workerId, ev.ids);
      case 'replicateRequested':
        return replicateRequested(core, ev.clientId, ev.keys, ev.n);
      case 'taskSeceded':
        return taskSeceded(core, ev);
      case 'taskRejoined':
        return taskRejoined(core, ev);
      case 'taskStraggling':
        return taskStraggling(core, ev);
      case 'tick':
        return tick(core);
      default:
        return assertNever(ev, 'scheduler event');
    }
  }

  /** Throws (code INTERNAL) if any internal invariant is broken. For tests. */
  validate(): void {
    checkInvariants(this.#core);
  }

  /** Transitions of one task (by id), oldest first, as far back as the log goes. */
  story(id: string): StoryEntry[] {
    return this.#core.log.story(id, this.#core.tasks.get(id)?.seq);
  }

  /** Current state of a task by id; 'forgotten' when the scheduler has no record. */
  stateOf(id: string): TaskStateName {
    return this.#core.tasks.get(id)?.state ?? 'forgotten';
  }

  /** How many workers are to hold each of a client's `keys` after a replicateRequested of `n` (0: every worker): replicas.ts. */
  replicaTargets(clientId: string, keys: readonly string[], n: number): { key: string; holders: number }[] {
    return replicaTargets(this.#core, clientId, keys, n);
  }

  /** The workers holding a task's result, by id (none when it has no result in memory or no record). */
  holdersOf(id: string): string[] {
    return this.#core.tasks.get(id)?.whoHas.map((w) => w.id) ?? [];
  }

  /** Number of task records per state ('forgotten' is always 0). */
  get counts(): Readonly<Record<TaskStateName, number>> {
    return this.#core.counts; // a new object each time
  }

  /** Number of task records held. */
  get size(): number {
    return this.#core.tasks.size;
  }

  /** Task ids grouped by state. */
  tasksByState(): Record<TaskStateName, string[]> {
    return tasksByState(this.#core);
  }

  /** Live workers in join order. */
  workerInfo(): WorkerInfo[] {
    return workerInfo(this.#core);
  }

  /** Queued tasks no worker can run because of their resource needs, and why. */
  waitingReasons(): WaitingReason[] {
    return waitingReasons(this.#core);
  }
}
