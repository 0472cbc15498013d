/**
 * Actor calls start in the order each caller made them, even when an earlier call still
 * waits for a future argument (as in Ray): a call is routed to its actor (actors.ts) only
 * once every earlier call of the same caller to the same actor has been routed.
 *
 * Per (actor, caller) the scheduler keeps the calls not routed yet, in creation order
 * (`seq`). A call joins its line when it starts waiting (activation, or a retry) and leaves
 * it when it is routed (assigned, parked until its actor exists, or erred by routing). A
 * call that leaves 'waiting' any other way (cancelled, released, erred through an input)
 * marks its line for a look at the end of the event, so the calls behind it move on.
 * A call routed once that is ready again without leaving 'waiting' (a parked call whose
 * input was lost and recomputed) has had its turn: it is routed at once.
 */
import type { SchedulerCore } from './core.ts';
import { dueMsOf } from './state.ts';
import type { TaskState } from './state.ts';

/** The calls of one caller to one actor that are not routed yet, oldest first. */
export interface CallLine {
  calls: TaskState[];
  /** Index of the first call still in the line (calls before it have left). */
  head: number;
}

function lineKey(call: TaskState): string {
  return `${call.spec.actor!}\n${call.clientId}`;
}

/** A call starts waiting: it joins its line, behind every older call. */
export function joinLine(core: SchedulerCore, call: TaskState): void {
  // Still in its line (it left 'waiting' and came back within one event): keeps its place.
  if (core.linedCalls.has(call)) return;
  const key = lineKey(call);
  let line = core.callLines.get(key);
  if (line === undefined) core.callLines.set(key, (line = { calls: [], head: 0 }));
  const calls = line.calls;
  let i = calls.length;
  while (i > line.head && calls[i - 1]!.seq > call.seq) i--;
  if (i === calls.length) calls.push(call);
  else calls.splice(i, 0, call);
  core.linedCalls.add(call);
}

/** A call stopped waiting: the calls behind it may move on at the end of the event. */
export function leftWaiting(core: SchedulerCore, call: TaskState): void {
  core.dirtyLines.add(lineKey(call));
}

/** Whether a call is still in its line, i.e. not routed yet. */
function inLine(core: SchedulerCore, call: TaskState): boolean {
  return call.state === 'waiting' && core.tasks.get(call.id) === call;
}

/** Whether a waiting call could be routed now (its inputs are in memory, no retry pending). */
function routable(call: TaskState): boolean {
  return call.waitingCount === 0 && dueMsOf(call) < 0;
}

/**
 * Routes the calls at the front of a line that can go, in order, with `route`; stops at
 * the first that cannot go yet. Returns how many were routed.
 */
function advance(core: SchedulerCore, key: string, route: (call: TaskState) => void): number {
  const line = core.callLines.get(key);
  if (line === undefined) return 0;
  const calls = line.calls;
  let routed = 0;
  while (line.head < calls.length) {
    const call = calls[line.head]!;
    if (inLine(core, call) && !routable(call)) break;
    line.head++;
    core.linedCalls.delete(call);
    if (!inLine(core, call)) continue;
    route(call);
    routed++;
  }
  if (line.head === calls.length) core.callLines.delete(key);
  else if (line.head > 64 && line.head * 2 > calls.length) {
    line.calls = calls.slice(line.head);
    line.head = 0;
  }
  return routed;
}

/**
 * Routes the given ready calls and whatever their lines let through now, in each line's
 * order; also moves the lines marked during this event. Returns how many were routed.
 */
export function routeInOrder(core: SchedulerCore, ready: TaskState[], route: (call: TaskState) => void): number {
  let routed = 0;
  const keys = core.dirtyLines;
  for (const call of ready) {
    if (core.linedCalls.has(call)) {
      keys.add(lineKey(call));
    } else {
      route(call);
      routed++;
    }
  }
  for (const key of [...keys]) {
    keys.delete(key);
    routed += advance(core, key, route);
  }
  return routed;
}

/** Whether a ready call waits behind an older call of its caller (for the invariant checks). */
export function waitsInLine(core: SchedulerCore, call: TaskState): boolean {
  const line = core.callLines.get(lineKey(call));
  if (line === undefined) return false;
  const at = line.calls.indexOf(call, line.head);
  if (at < 0) return false;
  for (let i = line.head; i < at; i++) {
    const before = line.calls[i]!;
    if (inLine(core, before) && !routable(before)) return true;
  }
  return false;
}
