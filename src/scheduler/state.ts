/**
 * The records the scheduler keeps per task and per worker. Plain mutable objects linked
 * by reference (not by id) so that hot paths do no map lookups.
 */
import type { ErrorInfo } from '../errors.ts';
import type { SerializerRef, TaskSpec } from '../graph/spec.ts';
import type { TaskStateName } from './types.ts';

export interface TaskState {
  readonly id: string;
  readonly key: string;
  readonly clientId: string;
  readonly spec: TaskSpec;
  /** Global creation order: submission order, then graph order within a batch. */
  readonly seq: number;
  readonly priority: number;
  /** Resource needs as [name, amount] pairs (empty for most tasks). */
  readonly needs: ReadonlyArray<readonly [string, number]>;
  /** Canonical string of `needs`: tasks with equal needs share a queue. */
  readonly sig: string;
  state: TaskStateName;
  /** Resolved dependencies (deduplicated). */
  dependencies: TaskState[];
  /** Every task record that lists this one as a dependency. */
  readonly dependents: Set<TaskState>;
  /** Dependencies not in memory; non-empty only while waiting. */
  readonly waitingOn: Set<TaskState>;
  /** Dependents that are still to run (waiting/queued/processing) and need this result. */
  readonly waiters: Set<TaskState>;
  /** The owning client holds a future for it. */
  wanted: boolean;
  /** In the ready list, to be placed at the end of the current event. */
  ready: boolean;
  processingOn: WorkerState | undefined;
  /** runId of the current or last assignment. */
  runId: number;
  /** Retryable failures so far (the retry budget is spec.retries). */
  failures: number;
  /** Times a worker died while running this task. */
  suspicious: number;
  /** When a pending retry is due; -1 when none. */
  dueMs: number;
  /** Position in its queue heap; -1 when not queued. */
  heapIndex: number;
  readonly whoHas: Set<WorkerState>;
  nbytes: number;
  serializer: SerializerRef;
  inline: Uint8Array | undefined;
  error: ErrorInfo | undefined;
}

export interface WorkerState {
  readonly id: string;
  /** Join order, for deterministic tie-breaks. */
  readonly order: number;
  threads: number;
  /** ceil(threads * workerSaturation): tasks sent to it at once. */
  capacity: number;
  resources: Record<string, number>;
  address: string;
  readonly processing: Set<TaskState>;
  readonly hasWhat: Set<TaskState>;
}

const NO_NEEDS: ReadonlyArray<readonly [string, number]> = [];

export function createTask(id: string, clientId: string, spec: TaskSpec, seq: number): TaskState {
  let needs = NO_NEEDS;
  let sig = '';
  const names = Object.keys(spec.resources);
  if (names.length > 0) {
    names.sort();
    needs = names.map((name) => [name, spec.resources[name]!] as const).filter(([, amount]) => amount > 0);
    sig = needs.map(([name, amount]) => `${name}=${amount}`).join(', ');
  }
  return {
    id,
    key: spec.key,
    clientId,
    spec,
    seq,
    priority: spec.priority,
    needs,
    sig,
    state: 'released',
    dependencies: [],
    dependents: new Set(),
    waitingOn: new Set(),
    waiters: new Set(),
    wanted: false,
    ready: false,
    processingOn: undefined,
    runId: 0,
    failures: 0,
    suspicious: 0,
    dueMs: -1,
    heapIndex: -1,
    whoHas: new Set(),
    nbytes: 0,
    serializer: spec.serializer,
    inline: undefined,
    error: undefined,
  };
}

/** Waiting, queued or processing: the task still has to run and holds on to its inputs. */
export function isActive(state: TaskStateName): boolean {
  return state === 'waiting' || state === 'queued' || state === 'processing';
}

/** Whether a worker's declared resources cover a task's needs (capacity aside). */
export function hasResources(worker: WorkerState, ts: TaskState): boolean {
  for (const [name, amount] of ts.needs) {
    if ((worker.resources[name] ?? 0) < amount) return false;
  }
  return true;
}

/** Whether a worker can take this task right now. */
export function fits(worker: WorkerState, ts: TaskState): boolean {
  return worker.processing.size < worker.capacity && (ts.needs.length === 0 || hasResources(worker, ts));
}

/** Queue order: higher priority first, then earlier creation. Negative: a goes first. */
export function compareTasks(a: TaskState, b: TaskState): number {
  return a.priority !== b.priority ? b.priority - a.priority : a.seq - b.seq;
}
