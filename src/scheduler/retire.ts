/**
 * Graceful retirement (after Dask's retire_workers). A retiring worker:
 * - gets no new assignments (placement skips it) and steals nothing;
 * - gives back its unstarted tasks (steal commands without a thief; granted ones are
 *   placed elsewhere; refused ones run to completion there);
 * - has every result it alone holds (among non-retiring workers) and that is still
 *   needed copied to the non-retiring worker holding the fewest bytes (`replicate`).
 *   Results whose bytes the scheduler has inline are not copied: dependents get the
 *   inline bytes with their assignment, as after a worker loss;
 * - once it runs nothing and every needed result it holds is elsewhere, is told
 *   `retired` and removed as if lost, with nothing lost or recomputed.
 * With no other (non-retiring) worker nothing can move: its tasks keep running there
 * and it stays retiring until it holds nothing needed (or another worker joins).
 * A copy that fails is reported by its recipient (replicateFailed): the next pass sends it
 * to another worker, never again to one that failed it; with no other left, the worker
 * stays retiring (sending workerRetiring again forgets the failures and re-issues).
 * A workerLost during retirement is a normal loss.
 */
import type { SchedulerCore } from './core.ts';
import { askBack } from './stealing.ts';
import { isActorCreation } from './actors.ts';
import { runCount } from './state.ts';
import type { TaskState, WorkerState } from './state.ts';
import { workerLost } from './workers.ts';

export function workerRetiring(core: SchedulerCore, workerId: string): void {
  const w = core.workers.get(workerId);
  if (w === undefined) return;
  if (w.retiring) {
    // Asked again: re-issue copies that may have failed, to any worker.
    w.copies.clear();
    w.copiesFailed = undefined;
  } else {
    w.retiring = true;
    core.retiringCount++;
  }
  core.retireDirty = true;
}

export function replicated(core: SchedulerCore, workerId: string, ids: readonly string[]): void {
  const w = core.workers.get(workerId);
  if (w === undefined) return;
  for (const id of ids) {
    const ts = core.tasks.get(id);
    if (ts === undefined || ts.state !== 'memory') {
      // Released while the copy travelled: the recipient must not keep it.
      core.emit({ type: 'releaseData', stimulusId: core.stimulusId, workerId: w.id, id });
      continue;
    }
    core.addHeld(w, ts);
    for (const holder of ts.whoHas) if (holder.copies.get(ts) === w) holder.copies.delete(ts);
  }
  core.retireDirty = true;
}

/**
 * Worker `workerId` could not make the copies of `ids` it was sent (its fetch or its store
 * failed). A retiring holder's copy to it is no longer under way, and will not go to it
 * again. Copies a client asked for (replicas.ts) are not tracked: the client asks again.
 */
export function replicateFailed(core: SchedulerCore, workerId: string, ids: readonly string[]): void {
  const to = core.workers.get(workerId);
  if (to === undefined) return;
  for (const id of ids) {
    const ts = core.tasks.get(id);
    if (ts === undefined) continue;
    for (const holder of ts.whoHas) {
      if (holder.copies.get(ts) !== to) continue;
      holder.copies.delete(ts);
      const byResult = (holder.copiesFailed ??= new Map<TaskState, WorkerState[]>());
      const failed = byResult.get(ts);
      if (failed === undefined) byResult.set(ts, [to]);
      else failed.push(to);
    }
  }
  core.retireDirty = true;
}

/** Drives every retiring worker as far as it can go now. */
export function progressRetirement(core: SchedulerCore): void {
  core.retireDirty = false;
  if (core.retiringCount === 0) return;
  for (const w of [...core.workerList]) if (w.retiring) drain(core, w);
}

function activeWorkers(core: SchedulerCore): WorkerState[] {
  return core.workerList.filter((w) => !w.retiring);
}

/** Whether a non-retiring worker holds it. */
function safeElsewhere(ts: TaskState): boolean {
  for (const h of ts.whoHas) if (!h.retiring) return true;
  return false;
}

/** Whether some retiring holder has a copy to a live, non-retiring worker under way. */
function copyInFlight(core: SchedulerCore, ts: TaskState): boolean {
  for (const h of ts.whoHas) {
    const to = h.copies.get(ts);
    if (to !== undefined && core.workers.get(to.id) === to && !to.retiring) return true;
  }
  return false;
}

function drain(core: SchedulerCore, w: WorkerState): void {
  const others = activeWorkers(core);
  askBack(core, w, others);
  let done = runCount(w) === 0;
  // Bytes sent to each recipient during this pass, so copies spread out.
  const planned = new Map<WorkerState, number>();
  for (const ts of w.hasWhat) {
    // An actor cannot be copied: when its worker has left it is re-created or lost (actors.ts).
    if (safeElsewhere(ts) || ts.inline !== undefined || isActorCreation(ts)) {
      w.copies.delete(ts);
      w.copiesFailed?.delete(ts);
      continue;
    }
    done = false;
    if (copyInFlight(core, ts)) continue;
    w.copies.delete(ts);
    let to: WorkerState | undefined;
    let toBytes = 0;
    const failed = w.copiesFailed?.get(ts);
    for (const o of others) {
      if (failed?.includes(o) === true) continue;
      const bytes = o.heldBytes + (planned.get(o) ?? 0);
      if (to === undefined || bytes < toBytes || (bytes === toBytes && runCount(o) < runCount(to))) {
        to = o;
        toBytes = bytes;
      }
    }
    if (to === undefined) continue; // nobody (else) to copy to: stays retiring
    planned.set(to, (planned.get(to) ?? 0) + ts.nbytes);
    w.copies.set(ts, to);
    const holders: string[] = [];
    for (const h of ts.whoHas) holders.push(h.id);
    core.emit({
      type: 'replicate',
      stimulusId: core.stimulusId,
      workerId: to.id,
      id: ts.id,
      holders,
      nbytes: ts.nbytes,
      serializer: ts.serializer,
    });
  }
  if (!done) return;
  core.emit({ type: 'retired', stimulusId: core.stimulusId, workerId: w.id });
  workerLost(core, w.id);
}
