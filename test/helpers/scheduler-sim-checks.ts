/**
 * What test/unit/scheduler-random.test.ts checks of every command the scheduler gives its
 * simulated cluster (helpers/scheduler-sim.ts), as the commands come: an assignment goes to
 * a live worker with its inputs where it says, a cancel or steal names the current run, a
 * release names data the worker has, notifications end at a final one, a retired worker
 * leaves no run and no only copy behind. Each command is also counted (`totals`).
 */
import { ACTOR_CREATE } from '../../src/graph/spec.ts';
import { taskId } from '../../src/graph/task-id.ts';
import type { SchedulerCommand } from '../../src/scheduler/types.ts';
import type { Notify, Sim } from './scheduler-sim.ts';

/** Commands seen over all seeds, by kind, to show the simulation really covers each path. */
export const totals = new Map<string, number>();

export function countCommand(kind: string): void {
  totals.set(kind, (totals.get(kind) ?? 0) + 1);
}

type Check = (ok: boolean, what: string) => void;

/** Checks one command of the event being handled (`sim.batch`) and takes it into the simulation. */
export function observeCommand(sim: Sim, c: SchedulerCommand): void {
  const kind = c.type === 'notifyClient' ? `notify:${c.status}` : c.type;
  countCommand(kind);
  const check = (ok: boolean, what: string): void => {
    if (!ok) sim.fail(`${what}: ${JSON.stringify(c, (_k, v: unknown) => (v instanceof Uint8Array ? '<bytes>' : v))}`);
  };
  switch (c.type) {
    case 'assign':
      checkAssign(sim, c, check);
      break;
    case 'cancelRun':
      check(sim.current.get(c.id) === c.runId, 'cancel of a run that is not current');
      sim.current.delete(c.id);
      break;
    case 'releaseData': {
      // A stale report's result is on its worker too (the run ended before its cancel came).
      const stale = sim.staleReport?.workerId === c.workerId && sim.staleReport.id === c.id;
      check(sim.held.get(c.workerId)?.delete(c.id) === true || stale, 'release of data the worker does not have');
      break;
    }
    case 'notifyClient':
      checkNotify(sim, c, check);
      break;
    case 'wakeAt':
      sim.wakeAt = Math.min(sim.wakeAt, c.atMs);
      break;
    case 'submitReply':
      check(c.error === undefined, 'random graphs are valid');
      break;
    case 'steal':
      check(sim.workers.has(c.workerId), 'steal from a dead worker');
      check(sim.current.get(c.id) === c.runId, 'steal of a run that is not current');
      sim.steals.push({ workerId: c.workerId, id: c.id, runId: c.runId });
      break;
    case 'replicate':
      check(sim.workers.has(c.workerId) && !sim.retiring.has(c.workerId), 'copy to a dead or retiring worker');
      check(sim.s.stateOf(c.id) === 'memory', 'copy of a result not in memory');
      for (const w of c.holders) check(sim.held.get(w)?.has(c.id) === true, 'copy source does not have it');
      sim.copies.push({ workerId: c.workerId, id: c.id });
      break;
    case 'retired':
      checkRetired(sim, c.workerId, check);
      break;
  }
}

function checkAssign(sim: Sim, c: Extract<SchedulerCommand, { type: 'assign' }>, check: Check): void {
  check(sim.workers.has(c.workerId), 'assign to a dead worker');
  // Actor calls go to their actor, which stays on its worker until that one leaves.
  check(!sim.retiring.has(c.workerId) || (c.spec.actor !== undefined && c.spec.actor !== ACTOR_CREATE), 'assign to a retiring worker');
  const awaits: string[] = [];
  // Assigned and cancelled by the same event (its inputs may be released by then too).
  const cancelled = sim.batch.some((x) => x.type === 'cancelRun' && x.id === c.id && x.runId === c.runId);
  for (const dep of cancelled ? [] : c.deps) {
    if (dep.holders.length === 0 && dep.inline === undefined) {
      // Early: the input's current run is on this same worker.
      const runId = sim.current.get(dep.id);
      const local = sim.pending.some((r) => r.id === dep.id && r.runId === runId && r.workerId === c.workerId);
      check(sim.s.stateOf(dep.id) === 'processing' && local, 'early input not being computed on the assignee');
      awaits.push(dep.id);
      continue;
    }
    check(sim.s.stateOf(dep.id) === 'memory', 'input not in memory');
    for (const w of dep.holders) check(sim.held.get(w)?.has(dep.id) === true, 'holder does not have it');
  }
  if (awaits.length > 0) countCommand('assign:early');
  sim.current.set(c.id, c.runId);
  sim.pending.push({ workerId: c.workerId, id: c.id, runId: c.runId, awaits });
}

function checkNotify(sim: Sim, c: Notify, check: Check): void {
  const key = taskId(c.clientId, c.key);
  const list = sim.notes.get(key) ?? [];
  const last = list.at(-1);
  check(last === undefined || last.status === 'memory', 'notification after a final erred/cancelled');
  list.push(c);
  sim.notes.set(key, list);
  if (c.status === 'memory') {
    const memoryNotes = list.filter((x) => x.status === 'memory').length;
    check(memoryNotes <= (sim.acceptedCount.get(key) ?? 0), 'more memory notifications than completions');
  }
  if (c.status === 'cancelled') {
    check(c.error?.code === 'CANCELLED', 'cancelled without CANCELLED');
    sim.wanted.delete(key);
  }
}

function checkRetired(sim: Sim, w: string, check: Check): void {
  check(sim.retiring.has(w), 'retired without retiring');
  for (const [id, runId] of sim.current) {
    if (sim.pending.some((r) => r.workerId === w && r.id === id && r.runId === runId)) check(false, `retired while running ${id}`);
  }
  for (const id of sim.held.get(w) ?? []) {
    if (sim.s.stateOf(id) !== 'memory') continue;
    const elsewhere = [...sim.held].some(([other, ids]) => other !== w && sim.workers.has(other) && ids.has(id));
    check(elsewhere, `retired as the only holder of ${id}`);
  }
  sim.workers.delete(w);
  sim.held.delete(w);
  sim.retiring.delete(w);
}
