/**
 * Work stealing, after Dask's handshake: a worker with idle threads and nothing in the
 * scheduler's queue it can run asks a busy worker (more tasks than threads, so some of
 * them cannot have started) to give one back. The victim answers:
 * - stealGranted: it dropped the run before it started -> the task is assigned again
 *   (new runId), to the thief if it still has room, else by normal placement;
 * - stealRefused: the run started or finished -> nothing changes, and that run is never
 *   asked for again (no ping-pong).
 * A task has at most one steal in flight; a thief at most as many as its idle threads.
 * A completion of the run while the steal is in flight is accepted as usual; answers
 * for a run that is no longer current are ignored. Tasks are never run twice: the
 * victim only grants what it has not started.
 *
 * Victims: the most excess (tasks beyond threads, minus steals already in flight);
 * among their tasks, the lowest priority / latest submitted one the thief can run,
 * i.e. the one the victim would start last. Input locality is not weighed (yet).
 */
import type { SchedulerCore } from './core.ts';
import { currentRun } from './lifecycle.ts';
import { assign, makeReady } from './placement.ts';
import { compareTasks, fits, hasResources, rareOf, slotted, stuck } from './state.ts';
import type { TaskState, WorkerState } from './state.ts';
import type { SchedulerEvent } from './types.ts';

type StealAnswer = Extract<SchedulerEvent, { type: 'stealGranted' | 'stealRefused' }>;

/** Threads a worker could start something on now, counting steals it waits for. */
function idleThreads(w: WorkerState): number {
  return Math.min(w.threads, w.capacity) - slotted(w) - w.stealsIn;
}

/** Tasks on a worker that cannot be running and are not being stolen already. */
function excess(w: WorkerState): number {
  return slotted(w) - w.stealsOut - w.threads;
}

/**
 * Whether this run may be asked for (no steal in flight, not refused before). Unslotted
 * runs are never asked for: seceded ones are running, actor tasks must stay with their actor.
 */
export function stealable(ts: TaskState): boolean {
  return !ts.stealPending && (ts.rare?.refusedRunId ?? 0) !== ts.runId && !ts.unslotted;
}

/** Asks the worker running `ts` to give the run back; `thief` undefined for retirement. */
export function requestSteal(core: SchedulerCore, ts: TaskState, thief: WorkerState | undefined): void {
  const victim = ts.processingOn!;
  ts.stealPending = true;
  if (thief !== undefined || ts.rare !== undefined) rareOf(ts).thief = thief;
  victim.stealsOut++;
  if (thief !== undefined) thief.stealsIn++;
  core.emit({ type: 'steal', stimulusId: core.stimulusId, workerId: victim.id, id: ts.id, runId: ts.runId });
}

/** The task on `victim` the thief should take: the one the victim would start last. */
function pickTask(victim: WorkerState, thief: WorkerState): TaskState | undefined {
  let worst: TaskState | undefined;
  for (const ts of victim.processing.values()) {
    if (!stealable(ts) || (ts.rare !== undefined && !hasResources(thief, ts))) continue;
    if (worst === undefined || compareTasks(ts, worst) > 0) worst = ts;
  }
  return worst;
}

/**
 * One steal for this thief; false when no worker has anything for it. The victim is the
 * worker with the most excess that has a task for the thief (the first in join order among
 * equals). Candidates are tried in that order and the first with a task wins, so that
 * usually one worker's runs are scanned (pickTask reads every run there, each a record
 * likely out of the CPU cache), not those of every worker with more excess than the ones
 * before it: in bench/scheduler-child.ts that halved the runs read per steal.
 */
function stealFor(core: SchedulerCore, thief: WorkerState): boolean {
  const workers = core.workerList;
  // The candidate tried last: the next one comes after it in (excess desc, join order).
  let triedExcess = Infinity;
  let triedIndex = -1;
  for (;;) {
    let next = -1;
    let most = 0;
    for (let i = 0; i < workers.length; i++) {
      const w = workers[i]!;
      const extra = excess(w);
      if (w === thief || extra <= most) continue;
      if (extra > triedExcess || (extra === triedExcess && i <= triedIndex)) continue;
      next = i;
      most = extra;
    }
    if (next < 0) return false;
    const ts = pickTask(workers[next]!, thief);
    if (ts !== undefined) {
      requestSteal(core, ts, thief);
      return true;
    }
    triedExcess = most;
    triedIndex = next;
  }
}

/**
 * End of an event: workers that gained room (or, when an assignment created excess,
 * every worker) steal for their idle threads. Queued work they could run has been given
 * to them already by placement, so stealing only happens when the queue has none.
 */
export function balance(core: SchedulerCore): void {
  if (!core.config.stealing || core.workerList.length < 2) return;
  // Two loops, not one `for...of` over either list: a loop that meets two kinds of
  // collection runs the generic iterator protocol, which allocates at every step.
  if (core.excessCreated) {
    for (const thief of core.workerList) stealForIdle(core, thief);
  } else {
    for (let i = 0; i < core.freed.size; i++) stealForIdle(core, core.freed.at(i));
  }
}

/** Steals for each idle thread of a live, non-retiring worker, while anyone has work for it. */
function stealForIdle(core: SchedulerCore, thief: WorkerState): void {
  if (thief.retiring || idleThreads(thief) <= 0 || core.workers.get(thief.id) !== thief) return;
  while (idleThreads(thief) > 0 && stealFor(core, thief));
}

export function stealGranted(core: SchedulerCore, ev: StealAnswer): void {
  const ts = currentRun(core, ev.id, ev.runId, ev.workerId);
  if (ts === undefined) return;
  // Granted even if we did not ask (or asked for retirement): the worker dropped the run.
  const thief = ts.rare?.thief;
  core.endRun(ts);
  core.transition(ts, 'waiting');
  if (ts.waitingCount > 0) return; // an early run (never asked for): it waits for its inputs
  if (thief !== undefined && core.workers.get(thief.id) === thief && fits(thief, ts)) assign(core, ts, thief);
  else makeReady(core, ts);
}

export function stealRefused(core: SchedulerCore, ev: StealAnswer): void {
  const ts = currentRun(core, ev.id, ev.runId, ev.workerId);
  if (ts === undefined || !ts.stealPending) return;
  rareOf(ts).refusedRunId = ts.runId;
  core.clearSteal(ts, ts.processingOn!);
}

/**
 * A worker's pool found this run straggling: it holds its thread far longer than its kind
 * usually does, and the worker took back what had queued behind it. The worker is fed for
 * its other threads only (state.ts capacityOf). Once every thread of
 * the worker is held so, the worker gets no new tasks (state.ts fits) and is asked for the
 * runs it has not started, to run them elsewhere, as a retiring worker is (steal without a
 * thief; a run it already started refuses). It takes tasks again once a straggler ends
 * (core.ts endRun).
 */
export function taskStraggling(core: SchedulerCore, ev: Extract<SchedulerEvent, { type: 'taskStraggling' }>): void {
  const ts = currentRun(core, ev.id, ev.runId, ev.workerId);
  // An early run counts: it started in the pool dispatch of its inputs, whose results the
  // thread holds until it ends, so the scheduler still sees them running (their slot is
  // the straggler's thread) and this run early. A seceded run holds no thread.
  if (ts === undefined || (ts.unslotted && !ts.early)) return;
  const w = ts.processingOn!;
  w.straggling.add(ts.runId);
  if (!stuck(w) || w.retiring) return;
  askBack(core, w, core.workerList.filter((o) => o !== w && !o.retiring && !stuck(o)));
}

/**
 * Asks `w`, without a thief, for every run it may give back that one of `others` could
 * run (a retiring worker's runs, or those of a worker whose every thread straggles); not
 * its stragglers, which are running. The runs granted are placed as usual.
 */
export function askBack(core: SchedulerCore, w: WorkerState, others: readonly WorkerState[]): void {
  if (others.length === 0) return;
  for (const ts of w.processing.values()) {
    if (w.straggling.has(ts.runId) || !stealable(ts) || feedsStraggler(ts, w)) continue;
    if (others.some((o) => ts.rare === undefined || hasResources(o, ts))) requestSteal(core, ts, undefined);
  }
}

/** Whether an early straggler on `w` takes this run's result: then the run is done, its result held in the straggler's thread. */
function feedsStraggler(ts: TaskState, w: WorkerState): boolean {
  for (const d of ts.dependents) if (d.early && d.processingOn === w && w.straggling.has(d.runId)) return true;
  return false;
}
