/**
 * Consistency checks over the whole scheduler state. O(tasks + edges): tests call it
 * after every event; production code never needs to.
 */
import { assert } from '../errors.ts';
import { STATE_NAMES } from './types.ts';
import type { SchedulerCore } from './core.ts';
import { dependentCount, hasDependent } from './refs.ts';
import { isActorSpec } from '../graph/spec.ts';
import { heldBy, isLiveActor, mayHold } from './actor-holds.ts';
import { waitsInLine } from './call-order.ts';
import { isActorCall, isParked, waitsForActor } from './actors.ts';
import { NO_TASKS, NO_WORKERS, dueMsOf, isActive, specMayHold, wantsMore } from './state.ts';
import type { TaskState, WorkerState } from './state.ts';

function checkLinks(core: SchedulerCore, ts: TaskState): void {
  const id = ts.id;
  let waiting = 0;
  for (const dep of ts.dependencies) {
    assert(core.tasks.get(dep.id) === dep, `${id}: dependency ${dep.id} is forgotten`);
    assert(hasDependent(dep, ts), `${id}: missing from dependents of ${dep.id}`);
    assert(dep.clientId === ts.clientId, `${id}: depends on another client's task ${dep.id}`);
    if (dep.state !== 'memory') waiting++;
  }
  assert(new Set(ts.dependencies).size === ts.dependencies.length, `${id}: duplicate dependencies`);
  const expected = ts.state === 'waiting' || ts.early ? waiting : 0;
  assert(ts.waitingCount === expected, `${id} (${ts.state}): waitingCount ${ts.waitingCount}, expected ${expected}`);
  let waiters = 0;
  const dependents = [...ts.dependents];
  assert(new Set(dependents).size === dependents.length, `${id}: duplicate dependents`);
  for (const d of dependents) {
    assert(core.tasks.get(d.id) === d, `${id}: dependent ${d.id} is forgotten`);
    assert(d.dependencies.includes(ts), `${id}: dependent ${d.id} does not list it`);
    if (isActive(d.state)) waiters++;
  }
  assert(ts.waiterCount === waiters, `${id}: waiterCount ${ts.waiterCount}, expected ${waiters}`);
}

function checkState(core: SchedulerCore, ts: TaskState): void {
  const id = ts.id;
  const s = ts.state;
  assert(mayHold(ts) === specMayHold(ts.spec), `${id}: mayHold differs from its spec`);
  assert(!ts.ready, `${id}: still marked ready after the event`);
  assert((s === 'processing') === (ts.processingOn !== undefined), `${id}: processingOn vs ${s}`);
  assert((s === 'queued') === (ts.heapIndex >= 0 && core.queue.has(ts)), `${id}: queue membership vs ${s}`);
  assert((dueMsOf(ts) >= 0) === core.retrying.has(ts), `${id}: retry bookkeeping`);
  assert(dueMsOf(ts) < 0 || s === 'waiting', `${id}: retry due while ${s}`);
  assert(s === 'memory' || ts.whoHas.length === 0, `${id}: holders while ${s}`);
  assert(new Set(ts.whoHas).size === ts.whoHas.length, `${id}: duplicate holders`);
  assert(ts.stealPending || ts.rare?.thief === undefined, `${id}: thief without a pending steal`);
  assert(!ts.stealPending || s === 'processing', `${id}: steal pending while ${s}`);
  assert(s === 'memory' || ts.inline === undefined, `${id}: inline data while ${s}`);
  if (s === 'processing') {
    const w = ts.processingOn!;
    assert(core.workers.get(w.id) === w, `${id}: processing on a lost worker ${w.id}`);
    if (ts.early) assert(!w.processing.has(ts.runId), `${id}: early but in ${w.id}.processing`);
    else assert(w.processing.get(ts.runId) === ts, `${id}: not in ${w.id}.processing`);
  }
  if (ts.early) {
    // Early: each input is in memory or being computed on the same worker.
    const w = ts.processingOn;
    assert(s === 'processing' && ts.unslotted && ts.waitingCount > 0 && !isActorSpec(ts.spec), `${id}: early while ${s}`);
    for (const dep of ts.dependencies) {
      assert(dep.state === 'memory' || (dep.state === 'processing' && dep.processingOn === w), `${id} (early on ${w?.id}): input ${dep.id} is ${dep.state}`);
    }
  } else if (s === 'processing' || s === 'queued') {
    for (const dep of ts.dependencies) assert(dep.state === 'memory', `${id} (${s}): input ${dep.id} is ${dep.state}`);
  }
  if (s === 'waiting') assert(ts.waitingCount > 0 || dueMsOf(ts) >= 0 || isParked(core, ts) || waitsInLine(core, ts), `${id}: waiting on nothing`);
  assert(!ts.unslotted || s === 'processing', `${id}: unslotted while ${s}`);
  assert(s !== 'processing' || !isActorSpec(ts.spec) || ts.unslotted, `${id}: actor task holds a slot`);
  assert(s !== 'queued' || !isActorCall(ts), `${id}: actor call queued (calls go to their actor's worker)`);
  if (isActorCall(ts) && s === 'processing') {
    const creation = core.tasks.get(ts.spec.actor!);
    // The creation may have been released while calls run: they finish there.
    assert(creation === undefined || creation.state !== 'memory' || creation.whoHas.includes(ts.processingOn!) || creation.whoHas.length === 0, `${id}: runs away from its actor`);
  }
  if (s === 'memory') {
    assert(ts.whoHas.length > 0 || ts.inline !== undefined, `${id}: in memory nowhere`);
    assert(ts.wanted || ts.waiterCount > 0 || core.isHeldActor(ts), `${id}: in memory but not needed`);
    for (const w of ts.whoHas) {
      assert(core.workers.get(w.id) === w && w.hasWhat.has(ts), `${id}: bad holder ${w.id}`);
    }
  }
  if (s === 'erred') assert(ts.rare?.error !== undefined, `${id}: erred without an error`);
  if (isActive(s)) assert(ts.wanted || ts.waiterCount > 0 || core.isHeldActor(ts), `${id}: ${s} but nothing needs it`);
  if (s === 'released' || s === 'erred') {
    assert(ts.wanted || dependentCount(ts) > 0, `${id}: ${s} record should be forgotten`);
  }
}

function checkWorkers(core: SchedulerCore): void {
  assert(core.workerList.length === core.workers.size, 'worker list and map differ');
  let processing = 0;
  let allEarly = 0;
  let retiring = 0;
  const stealsIn = new Map<WorkerState, number>();
  const earlyOn = new Map<WorkerState, number>();
  const earlyRuns = new Set<number>();
  for (const ts of core.tasks.values()) {
    const thief = ts.rare?.thief;
    if (thief !== undefined) stealsIn.set(thief, (stealsIn.get(thief) ?? 0) + 1);
    if (ts.early) {
      earlyOn.set(ts.processingOn!, (earlyOn.get(ts.processingOn!) ?? 0) + 1);
      earlyRuns.add(ts.runId);
    }
  }
  for (let i = 0; i < core.workerList.length; i++) {
    const w = core.workerList[i]!;
    assert(core.workers.get(w.id) === w, `worker ${w.id} not in map`);
    if (i > 0) assert(core.workerList[i - 1]!.order < w.order, 'workers out of join order');
    processing += w.processing.size + w.early;
    let stealsOut = 0;
    let unslotted = 0;
    for (const [runId, ts] of w.processing) {
      assert(ts.runId === runId && ts.processingOn === w && core.tasks.get(ts.id) === ts, `${w.id}: stray ${ts.id}`);
      if (ts.stealPending) stealsOut++;
      if (ts.unslotted) unslotted++;
    }
    assert(unslotted === w.unslotted, `${w.id}: unslotted ${w.unslotted}, expected ${unslotted}`);
    for (const runId of w.straggling) {
      const slot = w.processing.get(runId)?.unslotted === false;
      assert(slot || earlyRuns.has(runId), `${w.id}: straggling run ${runId} neither processing with a slot nor early`);
    }
    const early = earlyOn.get(w) ?? 0;
    assert(early === w.early && early <= core.config.earlyPerWorker, `${w.id}: early ${w.early}, expected ${early}`);
    allEarly += early;
    assert(stealsOut === w.stealsOut, `${w.id}: stealsOut ${w.stealsOut}, expected ${stealsOut}`);
    assert((stealsIn.get(w) ?? 0) === w.stealsIn, `${w.id}: stealsIn ${w.stealsIn}`);
    let bytes = 0;
    for (const ts of w.hasWhat) {
      assert(ts.whoHas.includes(w) && core.tasks.get(ts.id) === ts, `${w.id}: stray held ${ts.id}`);
      bytes += ts.nbytes;
    }
    assert(bytes === w.heldBytes, `${w.id}: heldBytes ${w.heldBytes}, expected ${bytes}`);
    if (w.retiring) retiring++;
    for (const ts of w.copies.keys()) {
      assert(w.retiring && w.hasWhat.has(ts), `${w.id}: copy of ${ts.id} it does not hold`);
    }
    if (wantsMore(w)) {
      const runnable = core.queue.bestFor(w);
      assert(runnable === undefined, `${w.id} has room but ${runnable?.id} is queued`);
    }
  }
  assert(processing === core.counts.processing, 'worker processing counts do not add up');
  assert(allEarly === core.earlyCount, `early count ${core.earlyCount}, expected ${allEarly}`);
  assert(retiring === core.retiringCount, 'retiring count is off');
}

export function checkInvariants(core: SchedulerCore): void {
  // Shared by every record without dependencies, dependents or holders (state.ts).
  assert(NO_TASKS.length === 0 && NO_WORKERS.length === 0, 'a shared empty list is not empty');
  const counted = Object.fromEntries(STATE_NAMES.map((name) => [name, 0])) as Record<string, number>;
  for (const [id, ts] of core.tasks) {
    assert(ts.id === id && ts.state !== 'forgotten', `${id}: bad record`);
    counted[ts.state]!++;
    checkLinks(core, ts);
    checkState(core, ts);
  }
  for (const name of STATE_NAMES) assert(counted[name] === core.counts[name], `count of ${name} is off`);
  assert(core.queue.size === core.counts.queued, 'queue size differs from queued count');
  for (const ts of core.retrying) assert(core.tasks.get(ts.id) === ts, `retrying forgotten ${ts.id}`);
  assert(core.readyList.length === 0 && core.freed.size === 0 && !core.excessCreated, 'event leftovers');
  for (const [actorId, list] of core.actorWaiters) {
    assert(list.length > 0 && waitsForActor(core.tasks.get(actorId)), `calls parked on ${actorId}, which is not being created`);
    for (const ts of list) assert(ts.state === 'waiting' && core.tasks.get(ts.id) === ts, `${ts.id}: parked while ${ts.state}`);
  }
  checkActorHolds(core);
  checkWorkers(core);
}

/** Holds on actors match what records hold now, and no unheld, unwanted actor lingers. */
function checkActorHolds(core: SchedulerCore): void {
  const expected = new Map<string, number>();
  const add = (id: string): void => void expected.set(id, (expected.get(id) ?? 0) + 1);
  for (const ts of core.tasks.values()) for (const id of heldBy(ts)) add(id);
  for (const [borrowerId, ids] of core.actorBorrows) {
    const borrower = core.tasks.get(borrowerId);
    assert(borrower !== undefined && isLiveActor(borrower), `${borrowerId}: borrows handles but is not a live actor`);
    assert(ids.length > 0 && new Set(ids).size === ids.length && !ids.includes(borrowerId), `${borrowerId}: bad borrowed list`);
    for (const id of ids) add(id);
  }
  assert(core.unheld.length === 0, 'unheld actors left after the event');
  assert(core.dirtyLines.size === 0, 'call lines left to look at after the event');
  for (const [key, line] of core.callLines) {
    assert(line.head < line.calls.length, `call line ${key} is empty but kept`);
    for (let i = line.head + 1; i < line.calls.length; i++) assert(line.calls[i - 1]!.seq < line.calls[i]!.seq, `call line ${key} out of order`);
  }
  assert(expected.size === core.actorHolds.size, `actor holds: ${core.actorHolds.size} actors held, expected ${expected.size}`);
  for (const [id, n] of expected) assert(core.actorHolds.get(id) === n, `actor ${id}: ${core.actorHolds.get(id) ?? 0} holds, expected ${n}`);
}
