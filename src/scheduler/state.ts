/**
 * The records the scheduler keeps per task and per worker. Plain mutable objects linked
 * by reference (not by id) so that hot paths do no map lookups.
 *
 * Memory: a graph may hold a million records, so a task allocates no collection it does
 * not need. Dependencies waited on and dependents still to run are counters (the
 * dependents themselves are found through `dependents`, filtered by state); dependents
 * and holders are small arrays, shared empty ones until the first entry (see refs.ts).
 */
import type { ErrorInfo } from '../errors.ts';
import { isActorSpec } from '../graph/spec.ts';
import type { SerializerRef, TaskSpec } from '../graph/spec.ts';
import type { TaskStateName } from './types.ts';
import { ChurnMap, ChurnSet } from '../util/churn-map.ts';

export interface TaskState {
  readonly id: string;
  readonly key: string;
  readonly clientId: string;
  /** DROPPED_SPEC once the record is forgotten (core.ts dropTask). */
  spec: TaskSpec;
  /** Global creation order: submission order, then graph order within a batch. */
  seq: number;
  readonly priority: number;
  state: TaskStateName;
  /** Resolved dependencies (deduplicated). */
  dependencies: TaskState[];
  /**
   * Every task record that lists this one as a dependency: an array while small, a Set
   * once large (removal must stay cheap under huge fan-out). Use refs.ts to change it.
   */
  dependents: TaskState[] | Set<TaskState>;
  /** Dependencies not in memory; non-zero only while waiting or processing early. */
  waitingCount: number;
  /** Dependents that are still to run (waiting/queued/processing): they need this result. */
  waiterCount: number;
  /** The owning client holds a future for it. */
  wanted: boolean;
  /** In the ready list, to be placed at the end of the current event. */
  ready: boolean;
  processingOn: WorkerState | undefined;
  /** runId of the current or last assignment. */
  runId: number;
  /** A steal of the current run was asked for and not answered yet. */
  stealPending: boolean;
  /**
   * Processing without a thread slot: seceded (waiting on its subtasks) or an actor task
   * (run by the worker's actor host, not its pool). Such runs do not count against capacity.
   */
  unslotted: boolean;
  /**
   * Assigned early (early.ts): processing on a worker that is still computing some of its
   * inputs, so it cannot start yet. Also unslotted, and `waitingCount` counts those inputs.
   * Not in its worker's `processing` until they are there (see WorkerState.early).
   */
  early: boolean;
  /**
   * The current run's worker tells the client itself when it succeeds (the task was wanted
   * when assigned: WireAssign.tellClient), so the key update taskFinished emits is
   * marked `byWorker` and the coordinator does not send it.
   */
  workerTellsClient: boolean;
  /** Position in its queue (ordered-tasks.ts); -1 when not queued. */
  heapIndex: number;
  /** Workers holding the result (at most a few). Replaced, never shared, once non-empty. */
  whoHas: WorkerState[];
  nbytes: number;
  serializer: SerializerRef;
  inline: Uint8Array | undefined;
  /**
   * The fields few tasks ever set, undefined while they all have their defaults: created by
   * the spec (resource needs, actors) or by the first steal, failure, retry or error
   * (use `rareOf` to write them). A million records may be held at once: each field kept
   * here instead of on the record is 8 MB less per million tasks to allocate and mark.
   */
  rare: RareFields | undefined;
}

/** See TaskState.rare. Each field's default is what a task without `rare` has. */
export interface RareFields {
  /** Resource needs as [name, amount] pairs (default: none). */
  readonly needs: ReadonlyArray<readonly [string, number]>;
  /** Canonical string of `needs`: tasks with equal needs share a queue (default ''). */
  readonly sig: string;
  /**
   * The spec lends actor handles or is an actor task, so its transitions may change holds
   * on actors (actor-holds.ts). Kept here so that a transition need not read the spec.
   */
  readonly mayHold: boolean;
  /** Who asked for the pending steal (undefined: a retiring worker gives it back to anyone). */
  thief: WorkerState | undefined;
  /** runId whose steal was refused (it is running): never asked again (default 0). */
  refusedRunId: number;
  /** Retryable failures so far (the retry budget is spec.retries). */
  failures: number;
  /** Times a worker died while running this task. */
  suspicious: number;
  /** When a pending retry is due; -1 when none. */
  dueMs: number;
  /** Why it erred (set while erred). */
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
  /**
   * Its current runs but the early ones, by runId. Keyed by run rather than a Set of
   * records so that a worker's report finds its run here (currentRun), in a map of a few
   * hundred entries, instead of looking its task id up among every record the scheduler
   * holds.
   */
  readonly processing: Map<number, TaskState>;
  /** Tasks in `processing` that hold no thread slot (see TaskState.unslotted). */
  unslotted: number;
  /**
   * Its early runs (waiting there for inputs it computes). Counted only: they join
   * `processing` once their inputs are there (early.ts). Stealing scans `processing` for a
   * run to take back, and early runs, never stolen, can outnumber the others there (up to
   * `earlyPerWorker`): under chains of tasks they were three quarters of every scan, each
   * a record out of the CPU cache. Every early run waits, directly or through other early
   * runs, on a run in `processing`, and is taken back with it (early.ts takeBack).
   */
  early: number;
  readonly hasWhat: Set<TaskState>;
  /** Sum of nbytes over hasWhat. */
  heldBytes: number;
  /** Tasks processing here with a steal pending. */
  stealsOut: number;
  /** Runs here (early ones too) that its pool found straggling, by runId, until they end (stealing.ts taskStraggling). */
  readonly straggling: Set<number>;
  /** Steals pending on other workers on behalf of this one. */
  stealsIn: number;
  /** Gets no new work; its work and results are moved elsewhere, then it is retired. */
  retiring: boolean;
  /** Retiring: results being copied away, with the recipient of each copy. */
  readonly copies: Map<TaskState, WorkerState>;
  /** Retiring: the workers that failed to make a copy of a result (replicateFailed), not asked again; made on the first. */
  copiesFailed: Map<TaskState, WorkerState[]> | undefined;
  /** Membership mark of `core.freed` (freed.ts); 0 when never added. */
  freedMark: number;
}

const NO_NEEDS: ReadonlyArray<readonly [string, number]> = [];
/**
 * Shared empty lists. Not frozen: a frozen array has its own elements kind, and a
 * `for (const x of list)` loop that meets both frozen and ordinary arrays is compiled to
 * the generic iterator protocol, which allocates an iterator and a result per step (5x
 * slower in a micro-benchmark). These lists are iterated on every task's hot path. The
 * invariant checks assert that they stay empty instead.
 */
export const NO_TASKS: TaskState[] = [];
export const NO_WORKERS: WorkerState[] = [];

function newRare(needs: RareFields['needs'], sig: string, mayHold: boolean): RareFields {
  return { needs, sig, mayHold, thief: undefined, refusedRunId: 0, failures: 0, suspicious: 0, dueMs: -1, error: undefined };
}

/** A task's rare fields, created with their defaults on first use (see TaskState.rare). */
export function rareOf(ts: TaskState): RareFields {
  return (ts.rare ??= newRare(NO_NEEDS, '', false));
}

/** Whether a spec lends actor handles or is an actor task (see RareFields.mayHold). */
export function specMayHold(spec: TaskSpec): boolean {
  return spec.holdsActors !== undefined || (spec.actor !== undefined && spec.actor !== '');
}

/** What a task's spec puts in its rare fields (undefined when nothing). */
function rareFromSpec(spec: TaskSpec): RareFields | undefined {
  const mayHold = specMayHold(spec);
  let needs = NO_NEEDS;
  let sig = '';
  for (const _ in spec.resources) {
    const names = Object.keys(spec.resources).sort();
    needs = names.map((name) => [name, spec.resources[name]!] as const).filter(([, amount]) => amount > 0);
    sig = needs.map(([name, amount]) => `${name}=${amount}`).join(', ');
    break;
  }
  return mayHold || needs.length > 0 ? newRare(needs, sig, mayHold) : undefined;
}

/**
 * Whether a task is run by a worker's actor host (isActorSpec). The record says whether
 * that is possible at all (RareFields.mayHold) before the spec is read: this is asked on
 * every assignment, and most tasks' specs are no longer in the CPU cache by then.
 */
export function isActorTask(ts: TaskState): boolean {
  return ts.rare !== undefined && ts.rare.mayHold && isActorSpec(ts.spec);
}

/** Resource needs as [name, amount] pairs (empty for most tasks). */
export function needsOf(ts: TaskState): ReadonlyArray<readonly [string, number]> {
  return ts.rare === undefined ? NO_NEEDS : ts.rare.needs;
}

/** The queue a task goes to: tasks with equal needs share one ('' for no needs). */
export function sigOf(ts: TaskState): string {
  return ts.rare === undefined ? '' : ts.rare.sig;
}

/** When a pending retry is due; -1 when none. */
export function dueMsOf(ts: TaskState): number {
  return ts.rare === undefined ? -1 : ts.rare.dueMs;
}

export function createTask(id: string, clientId: string, spec: TaskSpec, seq: number): TaskState {
  // An object literal, not a class instance: V8 allocates the objects of a literal that
  // mostly survive directly in the old generation (allocation-site pretenuring), so a
  // million records are not copied by scavenges on their way there.
  return {
    id,
    key: spec.key,
    clientId,
    spec,
    seq,
    priority: spec.priority,
    state: 'released',
    dependencies: NO_TASKS,
    dependents: NO_TASKS,
    waitingCount: 0,
    waiterCount: 0,
    wanted: false,
    ready: false,
    processingOn: undefined,
    runId: 0,
    stealPending: false,
    unslotted: false,
    early: false,
    workerTellsClient: false,
    heapIndex: -1,
    whoHas: NO_WORKERS,
    nbytes: 0,
    serializer: spec.serializer,
    inline: undefined,
    rare: rareFromSpec(spec),
  };
}

export function createWorker(
  id: string,
  order: number,
  threads: number,
  capacity: number,
  resources: Record<string, number>,
  address: string,
): WorkerState {
  return {
    id,
    order,
    threads,
    capacity,
    resources,
    address,
    processing: new ChurnMap(),
    unslotted: 0,
    early: 0,
    hasWhat: new ChurnSet(),
    heldBytes: 0,
    stealsOut: 0,
    stealsIn: 0,
    straggling: new ChurnSet(),
    retiring: false,
    copies: new ChurnMap(),
    copiesFailed: undefined,
    freedMark: 0,
  };
}

/** Waiting, queued or processing: the task still has to run and holds on to its inputs. */
export function isActive(state: TaskStateName): boolean {
  return state === 'waiting' || state === 'queued' || state === 'processing';
}

/** Whether a worker's declared resources cover a task's needs (capacity aside). */
export function hasResources(worker: WorkerState, ts: TaskState): boolean {
  for (const [name, amount] of needsOf(ts)) {
    if ((worker.resources[name] ?? 0) < amount) return false;
  }
  return true;
}

/** Tasks processing on a worker that hold a thread slot (seceded and actor tasks do not). */
export function slotted(worker: WorkerState): number {
  return worker.processing.size - worker.unslotted;
}

/** Tasks processing on a worker, early ones included. */
export function runCount(worker: WorkerState): number {
  return worker.processing.size + worker.early;
}

/** Whether a worker can take this task right now (retiring workers take nothing, nor those whose every thread straggles). */
export function fits(worker: WorkerState, ts: TaskState): boolean {
  return (
    slotted(worker) < capacityOf(worker) && !worker.retiring && !stuck(worker) && (ts.rare === undefined || hasResources(worker, ts))
  );
}

/**
 * The tasks a worker may hold now: its capacity, less the share of the threads its
 * stragglers hold. A straggler keeps its own slot (an early one, its inputs': stealing.ts
 * taskStraggling) and its thread is fed nothing more, so a worker with 2 threads, 64 tasks
 * per thread and one straggler holds 65, not 128 (and one whose every thread straggles,
 * only its stragglers).
 */
export function capacityOf(worker: WorkerState): number {
  const held = Math.min(worker.straggling.size, worker.threads);
  if (held === 0) return worker.capacity;
  const perThread = worker.capacity / worker.threads;
  return Math.ceil(worker.capacity - held * Math.max(0, perThread - 1));
}

/** Every thread of the worker is held by a straggler (stealing.ts taskStraggling). */
export function stuck(worker: WorkerState): boolean {
  return worker.straggling.size >= worker.threads;
}

/**
 * Whether a worker should pull queued tasks now: when it has room for a good batch, not at
 * every free slot. A worker sent many short tasks at once (see capacity.ts) is topped up
 * when half its queue is gone, in one message, rather than one task per completion; with
 * the base capacity (a slot or two beyond its threads) that is at every free slot.
 */
export function wantsMore(worker: WorkerState): boolean {
  const capacity = capacityOf(worker);
  const batch = Math.max(1, Math.ceil((capacity - worker.threads) / 2));
  return !worker.retiring && !stuck(worker) && capacity - slotted(worker) >= batch;
}

/** Queue order: higher priority first, then earlier creation. Negative: a goes first. */
export function compareTasks(a: TaskState, b: TaskState): number {
  return a.priority !== b.priority ? b.priority - a.priority : a.seq - b.seq;
}
