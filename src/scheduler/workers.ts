/**
 * Workers coming and going. A lost worker's running tasks are rescheduled (or erred
 * once they have killed more than `allowedFailures` workers); results only it held are
 * recomputed from lineage when still needed.
 */
import { tasksPerThread } from './capacity.ts';
import type { SchedulerCore } from './core.ts';
import { isActorCreation, lostActor, lostActorCall } from './actors.ts';
import { activate, currentRun, markErred } from './lifecycle.ts';
import { makeReady } from './placement.ts';
import { createWorker, isActive, rareOf } from './state.ts';
import type { TaskState } from './state.ts';
import type { SchedulerEvent } from './types.ts';

type WorkerJoined = Extract<SchedulerEvent, { type: 'workerJoined' }>;

export function workerJoined(core: SchedulerCore, ev: WorkerJoined): void {
  const threads = Math.max(0, ev.threads);
  const capacity = Math.ceil(threads * tasksPerThread(core));
  const existing = core.workers.get(ev.workerId);
  if (existing !== undefined) {
    // Joining again (e.g. a reconnect) updates what the worker declares.
    existing.threads = threads;
    existing.capacity = capacity;
    existing.resources = { ...ev.resources };
    existing.address = ev.address;
    core.freed.add(existing);
    return;
  }
  const w = createWorker(ev.workerId, ++core.joinCounter, threads, capacity, { ...ev.resources }, ev.address);
  core.workers.set(w.id, w);
  core.workerList.push(w);
  core.freed.add(w);
}

export function workerLost(core: SchedulerCore, workerId: string): void {
  const w = core.workers.get(workerId);
  if (w === undefined) return;
  core.workers.delete(workerId);
  core.workerList = core.workerList.filter((x) => x !== w);
  core.freed.delete(w);
  if (w.retiring) core.retiringCount--;
  w.copies.clear();
  // Its results first leave the books (so that nothing below sends it a releaseData),
  // then its runs are rescheduled (so that no cancelRun goes to it), then results with
  // no copy left are recomputed.
  const held = [...w.hasWhat];
  for (const ts of held) core.removeHeld(w, ts);
  const running = [...w.processing.values()];
  for (const ts of running) {
    // Early runs (not in `processing`) are taken back with the run they wait on (early.ts).
    if (ts.processingOn === w && !lostActorCall(core, ts, w)) rescheduleRun(core, ts);
  }
  for (const ts of held) {
    if (ts.state !== 'memory' || ts.whoHas.length > 0) continue;
    // An actor lives where its creation result is: that result cannot simply be copied.
    if (isActorCreation(ts)) lostActor(core, ts, w);
    else if (ts.inline === undefined) lostResult(core, ts);
  }
}

function rescheduleRun(core: SchedulerCore, ts: TaskState): void {
  const started = !ts.early;
  core.endRun(ts);
  // An early run had not started: the loss is not its doing.
  if (started) rareOf(ts).suspicious++;
  const suspicious = ts.rare?.suspicious ?? 0;
  if (suspicious > core.config.allowedFailures) {
    const message = `task "${ts.key}" was running on ${suspicious} workers that died`;
    markErred(core, ts, core.makeError('WORKER_LOST', message, ts.key));
    return;
  }
  core.transition(ts, 'waiting');
  if (ts.waitingCount === 0) makeReady(core, ts);
}

/**
 * The last copy of a result is gone. Memory results are always still needed (otherwise
 * they would have been released), so it is recomputed; dependents that were about to use
 * it go back to waiting on it (a running one is cancelled: it may not have fetched it).
 */
function lostResult(core: SchedulerCore, ts: TaskState): void {
  core.transition(ts, 'released');
  for (const d of ts.dependents) {
    if (!isActive(d.state)) continue;
    d.waitingCount++;
    d.ready = false;
    if (d.state === 'queued') {
      core.queue.remove(d);
      core.transition(d, 'waiting');
    } else if (d.state === 'processing') {
      core.cancelRun(d);
      core.transition(d, 'waiting');
    }
  }
  activate(core, ts);
}

/**
 * A client could not fetch `ts`'s result from `workerId` (Dask's missing-data report):
 * that holder is taken off the books and told to drop any copy it still has; with no copy
 * left the result is recomputed from lineage, and the client hears of its new location
 * when it is back in memory. A report about a holder that is no longer on the books
 * (already handled) changes nothing.
 */
export function resultMissing(core: SchedulerCore, ts: TaskState, workerId: string): void {
  if (ts.state !== 'memory') return;
  const holder = ts.whoHas.find((w) => w.id === workerId);
  if (holder === undefined) return;
  core.removeHeld(holder, ts);
  core.emit({ type: 'releaseData', stimulusId: core.stimulusId, workerId: holder.id, id: ts.id });
  if (ts.whoHas.length === 0 && ts.inline === undefined) lostResult(core, ts);
}

/**
 * A run ended because its worker could not fetch input `depId` from any holder. The
 * holders are taken off the books (if one is in fact alive it is told to drop its copy);
 * with no copy left the input is recomputed from lineage; the task waits for it.
 */
export function inputMissing(core: SchedulerCore, ev: Extract<SchedulerEvent, { type: 'inputMissing' }>): void {
  const ts = currentRun(core, ev.id, ev.runId, ev.workerId);
  if (ts === undefined) return;
  core.endRun(ts);
  core.transition(ts, 'waiting');
  const dep = core.tasks.get(ev.depId);
  if (dep !== undefined && dep.state === 'memory') {
    for (const holder of [...dep.whoHas]) {
      if (holder.id === ev.workerId) continue;
      core.removeHeld(holder, dep);
      core.emit({ type: 'releaseData', stimulusId: core.stimulusId, workerId: holder.id, id: dep.id });
    }
    if (dep.whoHas.length === 0 && dep.inline === undefined) lostResult(core, dep);
  }
  if (ts.state === 'waiting' && ts.waitingCount === 0) makeReady(core, ts);
}
