/**
 * What keeps an actor alive besides its owner's handle: a count of holds per actor id.
 *
 * A task holds the actors it has handles to (`spec.holdsActors`, found by the client when
 * it encoded the arguments) while it is to run or running, and an actor method call also
 * holds the actor it calls, so calls made before the last handle was released still run
 * (as in Ray). An actor holds, for as long as it lives, the actors handed to its
 * constructor and to any of its method calls: it may have kept those handles in its state.
 * (That is conservative: a handle the actor dropped keeps its target alive until the actor
 * itself is freed. Two actors holding each other's handles stay alive until their owners
 * leave, as with any reference count.)
 *
 * Holds change with state transitions only (core.transition calls {@link changeHolds}), so a
 * record re-run from lineage or re-created after a loss takes its holds again. When an
 * actor's count drops to zero its id goes on `core.unheld`, and {@link releaseUnheld}, at
 * the end of the event, lets go of the creations nobody wants or holds any more: the
 * release rules (release.ts) treat a held creation like a wanted one.
 *
 * Not counted: handles inside task *results*, and the owner disconnecting (its actors go
 * with it, like Ray's owner fate-sharing).
 */
import { ACTOR_CREATE } from '../graph/spec.ts';
import type { SchedulerCore } from './core.ts';
import { settle } from './release.ts';
import { isActive } from './state.ts';
import type { TaskState } from './state.ts';
import type { TaskStateName } from './types.ts';

/** Whether a record in `state` holds the actors it names. */
function holding(ts: TaskState, state: TaskStateName): boolean {
  return isActive(state) || (state === 'memory' && ts.spec.actor === ACTOR_CREATE);
}

/**
 * Whether a task may hold actors at all (cheap test for the transition hot path: it reads
 * the record only, see RareFields.mayHold).
 */
export function mayHold(ts: TaskState): boolean {
  return ts.rare !== undefined && ts.rare.mayHold;
}

/** Calls `fn` for each actor a record holds by its own spec: lent handles, and the callee of a call. */
function forEachOwnHold(ts: TaskState, fn: (actorId: string) => void): void {
  const lent = ts.spec.holdsActors;
  // An actor holding itself could never be freed (a client cannot make one, a message can).
  if (lent !== undefined) for (const id of lent) if (id !== ts.id) fn(id);
  const callee = ts.spec.actor;
  if (callee !== undefined && callee !== '' && callee !== ACTOR_CREATE && lent?.includes(callee) !== true) fn(callee);
}

/** The actors a record holds by its own spec now (for the invariant checks). */
export function heldBy(ts: TaskState): readonly string[] {
  const ids: string[] = [];
  if (holding(ts, ts.state)) forEachOwnHold(ts, (id) => ids.push(id));
  return ids;
}

/** Whether an actor's creation is alive or being created (it may then borrow handles). */
export function isLiveActor(ts: TaskState): boolean {
  return ts.spec.actor === ACTOR_CREATE && holding(ts, ts.state);
}

/** Follows a transition of a record that may hold actors (see core.transition). */
export function changeHolds(core: SchedulerCore, ts: TaskState, from: TaskStateName, to: TaskStateName): void {
  const before = holding(ts, from);
  if (before === holding(ts, to)) return;
  if (!before) {
    forEachOwnHold(ts, (id) => hold(core, id)); // no array per transition of a call
    lendToCallee(core, ts);
    return;
  }
  forEachOwnHold(ts, (id) => unhold(core, id));
  const borrowed = core.actorBorrows.get(ts.id);
  if (borrowed === undefined) return;
  core.actorBorrows.delete(ts.id);
  for (const id of borrowed) unhold(core, id);
}

/** A call lends its handles to the actor it calls, for that actor's lifetime. */
function lendToCallee(core: SchedulerCore, call: TaskState): void {
  const lent = call.spec.holdsActors;
  const calleeId = call.spec.actor;
  if (lent === undefined || calleeId === undefined || calleeId === ACTOR_CREATE) return;
  const callee = core.tasks.get(calleeId);
  if (callee === undefined || !isLiveActor(callee)) return;
  let borrowed = core.actorBorrows.get(calleeId);
  for (const id of lent) {
    // An actor holding itself could never be freed.
    if (id === calleeId || callee.spec.holdsActors?.includes(id) === true || borrowed?.includes(id) === true) continue;
    if (borrowed === undefined) core.actorBorrows.set(calleeId, (borrowed = []));
    borrowed.push(id);
    hold(core, id);
  }
}

function hold(core: SchedulerCore, actorId: string): void {
  core.actorHolds.set(actorId, (core.actorHolds.get(actorId) ?? 0) + 1);
}

function unhold(core: SchedulerCore, actorId: string): void {
  const n = (core.actorHolds.get(actorId) ?? 0) - 1;
  if (n > 0) {
    core.actorHolds.set(actorId, n);
    return;
  }
  core.actorHolds.delete(actorId);
  core.unheld.push(actorId);
}

/**
 * End of an event: applies the release rules to the actors whose last hold went during
 * it (letting one go may let go of the actors it held in turn).
 */
export function releaseUnheld(core: SchedulerCore): void {
  while (core.unheld.length > 0) {
    const ids = core.unheld;
    core.unheld = [];
    const creations: TaskState[] = [];
    for (const id of ids) {
      if (core.actorHolds.has(id)) continue; // held again since
      const ts = core.tasks.get(id);
      if (ts !== undefined && ts.spec.actor === ACTOR_CREATE) creations.push(ts);
    }
    if (creations.length > 0) settle(core, creations);
  }
}
