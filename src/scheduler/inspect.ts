/** Read-only views of the scheduler state for status pages, the CLI and tests. */
import type { SchedulerCore } from './core.ts';
import { STATE_NAMES } from './types.ts';
import { hasResources, runCount } from './state.ts';
import type { TaskStateName } from './types.ts';

export interface WorkerInfo {
  id: string;
  address: string;
  threads: number;
  /** Tasks sent to it at once (ceil(threads * workerSaturation)). */
  capacity: number;
  /** Tasks assigned to it and not yet finished. */
  processing: number;
  /** Results it holds. */
  held: number;
  resources: Record<string, number>;
  /** Retiring: gets no new work and is being drained (see the workerRetiring event). */
  retiring: boolean;
  /** Its runs found holding their thread far longer than their kind does (stealing.ts taskStraggling). */
  straggling: number;
}

export interface WaitingReason {
  id: string;
  reason: string;
}

export function tasksByState(core: SchedulerCore): Record<TaskStateName, string[]> {
  const out = Object.fromEntries(STATE_NAMES.map((name) => [name, [] as string[]])) as Record<TaskStateName, string[]>;
  for (const ts of core.tasks.values()) out[ts.state].push(ts.id);
  return out;
}

export function workerInfo(core: SchedulerCore): WorkerInfo[] {
  return core.workerList.map((w) => ({
    id: w.id,
    address: w.address,
    threads: w.threads,
    capacity: w.capacity,
    processing: runCount(w),
    held: w.hasWhat.size,
    resources: { ...w.resources },
    retiring: w.retiring,
    straggling: w.straggling.size,
  }));
}

/** Queued tasks that no current worker has the resources for, with a reason each. */
export function waitingReasons(core: SchedulerCore): WaitingReason[] {
  const out: WaitingReason[] = [];
  for (const group of core.queue.nonEmpty()) {
    if (group.sig === '') continue;
    if (core.workerList.some((w) => !w.retiring && hasResources(w, group.example))) continue;
    const reason = `needs ${group.sig}; no worker has it`;
    const ids = group.tasks.items().map((ts) => ts.id).sort();
    for (const id of ids) out.push({ id, reason });
  }
  return out;
}
