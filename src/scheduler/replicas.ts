/**
 * Copies of results a client asks for (Client.replicate, Dask's `replicate`): each result
 * held by as many workers as asked (all of them by default), the copies made by the
 * workers that lack it, fetching it from its holders (the `replicate` command, as for a
 * retiring worker's results: retire.ts), chosen by the fewest bytes held. A copy that
 * fails is not tracked here (its worker reports it, which retire.ts uses): the client,
 * which watches the holders (whoHas), asks again for what is still short, and copies
 * already there or under way are not made twice (the worker shares a fetch in flight and
 * reports a copy it holds again).
 */
import { taskId } from '../graph/task-id.ts';
import { isActorCreation } from './actors.ts';
import type { SchedulerCore } from './core.ts';
import type { TaskState, WorkerState } from './state.ts';

/** How many workers are to hold each of `keys` (0: none can: it is not in memory on any worker). */
export function replicaTargets(core: SchedulerCore, clientId: string, keys: readonly string[], n: number): { key: string; holders: number }[] {
  const active = core.workerList.filter((w) => !w.retiring).length;
  const prefix = taskId(clientId, '');
  return keys.map((key) => ({ key, holders: target(core.tasks.get(prefix + key), active, n) }));
}

function target(ts: TaskState | undefined, active: number, n: number): number {
  if (ts === undefined || ts.state !== 'memory' || ts.whoHas.length === 0 || isActorCreation(ts)) return 0;
  return Math.max(1, Math.min(n === 0 ? active : n, active));
}

/** Sends copies of `keys`' results to the workers, least loaded first, until each has its target of holders. */
export function replicateRequested(core: SchedulerCore, clientId: string, keys: readonly string[], n: number): void {
  const active = core.workerList.filter((w) => !w.retiring);
  // Bytes sent to each recipient by this request, so that copies spread out.
  const planned = new Map<WorkerState, number>();
  const load = (w: WorkerState): number => w.heldBytes + (planned.get(w) ?? 0);
  const prefix = taskId(clientId, '');
  for (const key of keys) {
    const ts = core.tasks.get(prefix + key);
    const want = target(ts, active.length, n);
    if (ts === undefined || want === 0) continue;
    let have = 0;
    for (const h of ts.whoHas) if (!h.retiring) have++;
    if (have >= want) continue;
    const holders = ts.whoHas.map((h) => h.id);
    const to = active.filter((w) => !ts.whoHas.includes(w)).sort((a, b) => load(a) - load(b));
    for (const w of to.slice(0, want - have)) {
      planned.set(w, (planned.get(w) ?? 0) + ts.nbytes);
      core.emit({ type: 'replicate', stimulusId: core.stimulusId, workerId: w.id, id: ts.id, holders, nbytes: ts.nbytes, serializer: ts.serializer });
    }
  }
}
