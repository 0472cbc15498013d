/**
 * Actors and seceded runs.
 *
 * An actor is created by a task (`spec.actor` ACTOR_CREATE, the class's module and export) placed like any
 * other (resources, load); its tiny result stays "in memory" on the worker that hosts the
 * instance, and that holder *is* the actor's location. A method call is a task whose
 * `spec.actor` names the creation task's id (any client may call: the id is global). Calls
 * are not data dependents of the creation: a failing call must not fail the next one.
 * Instead, when a call is ready:
 * - an older call of the same caller is not routed yet (waits for a future argument): it
 *   waits behind it (call-order.ts), so each caller's calls start in the order made;
 * - actor alive (creation in memory): it is assigned to the actor's worker at once,
 *   whatever that worker's load (actor tasks use no pool slot);
 * - actor being created or re-created: the call is parked until it is alive;
 * - actor erred (constructor threw) or gone (released, lost): the call errs, ACTOR_LOST
 *   or the creation's own error.
 * When the actor's worker is lost, calls running there err with ACTOR_LOST (Ray's default
 * of no task retries: their effect on the state is unknown), and the creation either runs
 * again elsewhere (`restartsMax`, state reset as in Ray; the owner is notified 'memory' with
 * the new location) or errs with ACTOR_LOST.
 */
import { ACTOR_CREATE, isActorSpec } from '../graph/spec.ts';
import type { SchedulerCore } from './core.ts';
import { activate, currentRun, markErred } from './lifecycle.ts';
import { routeInOrder } from './call-order.ts';
import { assign } from './placement.ts';
import { dueMsOf, isActive, isActorTask } from './state.ts';
import type { TaskState, WorkerState } from './state.ts';
import type { SchedulerEvent } from './types.ts';

type RunEvent = Extract<SchedulerEvent, { type: 'taskSeceded' | 'taskRejoined' }>;

export function isActorCreation(ts: TaskState): boolean {
  return ts.spec.actor === ACTOR_CREATE;
}

export function isActorCall(ts: TaskState): boolean {
  // isActorTask first: it reads the spec only for tasks that may be actor tasks.
  return isActorTask(ts) && ts.spec.actor !== ACTOR_CREATE;
}

/** Whether a waiting call is parked until its actor exists. */
export { waitsForActor };

export function isParked(core: SchedulerCore, ts: TaskState): boolean {
  return isActorCall(ts) && core.actorWaiters.get(ts.spec.actor!)?.includes(ts) === true;
}

/**
 * Whether calls must wait: the actor is being (re)created. (Calls still go to an actor
 * whose worker is retiring: it lives there until the worker leaves, then it is re-created
 * elsewhere or lost like on any lost worker; it cannot move with its state.)
 */
function waitsForActor(creation: TaskState | undefined): boolean {
  return creation !== undefined && isActive(creation.state);
}

/** The worker hosting an actor now, or undefined while it is being created or when gone. */
function actorWorker(creation: TaskState | undefined): WorkerState | undefined {
  if (creation === undefined || creation.state !== 'memory') return undefined;
  return creation.whoHas[0];
}

function routeCall(core: SchedulerCore, ts: TaskState): void {
  ts.ready = false;
  const actorId = ts.spec.actor!;
  const creation = core.tasks.get(actorId);
  const w = actorWorker(creation);
  if (w !== undefined) {
    assign(core, ts, w);
    return;
  }
  if (waitsForActor(creation)) {
    let list = core.actorWaiters.get(actorId);
    if (list === undefined) core.actorWaiters.set(actorId, (list = []));
    if (!list.includes(ts)) list.push(ts);
    return;
  }
  const error =
    creation?.state === 'erred'
      ? creation.rare!.error!
      : core.makeError('ACTOR_LOST', `actor ${actorId} does not exist any more (released or lost)`, ts.key);
  markErred(core, ts, error);
}

/**
 * Before placement: takes actor calls out of the ready list and routes them, and routes
 * again the parked calls whose actor is no longer being created. Repeated until nothing
 * moves: a call that errs may err an actor creation that depends on it.
 */
export function routeActorCalls(core: SchedulerCore): void {
  while (releaseWaiters(core) + routeReady(core) > 0);
}

function releaseWaiters(core: SchedulerCore): number {
  if (core.actorWaiters.size === 0) return 0;
  let released = 0;
  for (const [actorId, list] of [...core.actorWaiters]) {
    if (waitsForActor(core.tasks.get(actorId))) continue;
    core.actorWaiters.delete(actorId);
    for (const ts of list) {
      if (ts.state !== 'waiting' || ts.waitingCount !== 0 || dueMsOf(ts) >= 0) continue;
      routeCall(core, ts);
      released++;
    }
  }
  return released;
}

function routeReady(core: SchedulerCore): number {
  const ready = core.readyList;
  let calls = 0;
  for (const ts of ready) if (ts.ready && isActorCall(ts)) calls++;
  if (calls === 0 && core.dirtyLines.size === 0) return 0;
  const readyCalls: TaskState[] = [];
  if (calls > 0) {
    core.readyList = ready.filter((ts) => !isActorCall(ts));
    for (const ts of ready) {
      if (!ts.ready || !isActorCall(ts)) continue;
      ts.ready = false;
      readyCalls.push(ts);
    }
  }
  // Each caller's calls start in the order they were made (call-order.ts). Routing one may
  // err another (through a dependency): routeCall skips those no longer waiting.
  return routeInOrder(core, readyCalls, (ts) => routeCall(core, ts));
}

/** Drops parked calls that are not waiting any more (released, cancelled, erred). */
export function pruneActorWaiters(core: SchedulerCore): void {
  for (const [actorId, list] of core.actorWaiters) {
    const kept = list.filter((ts) => ts.state === 'waiting' && core.tasks.get(ts.id) === ts);
    if (kept.length === 0) core.actorWaiters.delete(actorId);
    else if (kept.length !== list.length) core.actorWaiters.set(actorId, kept);
  }
}

/** A run that was processing on a lost worker: actor calls err, others run again. */
export function lostActorCall(core: SchedulerCore, ts: TaskState, w: WorkerState): boolean {
  if (!isActorCall(ts)) return false;
  core.endRun(ts);
  const restarting = (core.tasks.get(ts.spec.actor!)?.spec.restartsMax ?? 0) > (core.actorRestarts.get(ts.spec.actor!) ?? 0);
  const message = `actor ${ts.spec.actor} was lost with worker ${w.id} while running "${ts.key}"${restarting ? ' (it is being re-created, with fresh state)' : ''}`;
  markErred(core, ts, core.makeError('ACTOR_LOST', message, ts.key));
  return true;
}

/**
 * The worker hosting this actor was lost (its creation result left the books already):
 * re-create it elsewhere while restarts remain, else err it with ACTOR_LOST.
 */
export function lostActor(core: SchedulerCore, creation: TaskState, w: WorkerState): void {
  creation.inline = undefined;
  const restarts = core.actorRestarts.get(creation.id) ?? 0;
  if (restarts < (creation.spec.restartsMax ?? 0)) {
    core.actorRestarts.set(creation.id, restarts + 1);
    core.transition(creation, 'released');
    activate(core, creation);
    return;
  }
  const message = `actor ${creation.id} was lost with worker ${w.id}${restarts > 0 ? ` after ${restarts} restarts` : ''}`;
  markErred(core, creation, core.makeError('ACTOR_LOST', message, creation.key));
}

export function taskSeceded(core: SchedulerCore, ev: RunEvent): void {
  const ts = currentRun(core, ev.id, ev.runId, ev.workerId);
  if (ts === undefined || ts.unslotted) return;
  const w = ts.processingOn!;
  ts.unslotted = true;
  w.unslotted++;
  w.straggling.delete(ts.runId); // waiting on its subtasks, it holds no thread
  core.freed.add(w);
}

export function taskRejoined(core: SchedulerCore, ev: RunEvent): void {
  const ts = currentRun(core, ev.id, ev.runId, ev.workerId);
  if (ts === undefined || !ts.unslotted || ts.early || isActorSpec(ts.spec)) return;
  const w = ts.processingOn!;
  ts.unslotted = false;
  w.unslotted--;
}
