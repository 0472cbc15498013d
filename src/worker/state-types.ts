/**
 * Events into and commands out of the worker's state machine (worker/state.ts). The node
 * driver (worker/node.ts) turns I/O into these events and these commands into I/O.
 */
import type { ErrorInfo } from '../errors.ts';
import type { SerializerRef } from '../graph/spec.ts';
import type { WireAssign } from '../transport/messages.ts';
import { SmallSet } from '../util/small-set.ts';

export type WorkerEvent =
  | { type: 'assigned'; stimulusId: string; tasks: WireAssign[] }
  | { type: 'cancelled'; stimulusId: string; id: string; runId: number }
  /** Results the scheduler no longer counts on here: all those of one message in one event. */
  | { type: 'released'; stimulusId: string; ids: readonly string[] }
  | { type: 'fetched'; stimulusId: string; id: string }
  | { type: 'fetchFailed'; stimulusId: string; id: string; error: ErrorInfo }
  /** The scheduler wants this run back (work stealing / retirement) if it has not started. */
  | { type: 'steal'; stimulusId: string; id: string; runId: number }
  /**
   * Keep a copy of this result (a retiring worker is being drained): fetched like a
   * missing input, then owned until the scheduler releases it. `serializer` is the
   * result's; the fetched bytes carry it too.
   */
  | { type: 'replicate'; stimulusId: string; id: string; addresses: string[]; serializer: SerializerRef }
  /**
   * Memory pressure (worker/memory.ts): while paused, no new executions or input fetches
   * start; running ones finish. Unpausing starts whatever is ready.
   */
  | { type: 'paused'; stimulusId: string; paused: boolean }
  /**
   * The run waits on subtasks it submitted (Dask's secede): its thread slot is free for
   * other tasks until it `rejoined`. Ignored for runs not executing with a slot.
   */
  | { type: 'seceded'; stimulusId: string; id: string; runId: number }
  /** The run is done waiting and counts against the threads again (even above the limit). */
  | { type: 'rejoined'; stimulusId: string; id: string; runId: number }
  | {
      type: 'executed';
      stimulusId: string;
      id: string;
      runId: number;
      /** `bytes`: the result, when the run stored it in memory at once (its report need not look it up). */
      outcome: { ok: true; nbytes: number; serializer: SerializerRef; bytes?: Uint8Array } | { ok: false; error: ErrorInfo };
      /** How long the task ran in its thread: teaches which tasks are short enough to batch. */
      durationMs?: number;
      /** When it started in its thread (epoch ms), reported with a success. */
      startedAtMs?: number;
    }
  /**
   * The pool made no progress on `stragglers` for a while, and took back the runs queued
   * behind them that had not started (`runs`: worker/stragglers.ts). Nothing queues behind
   * a straggler any more; the runs taken back start again here if a thread is free, and
   * are otherwise given back to the scheduler (reportStolen), which runs them elsewhere.
   */
  | { type: 'returned'; stimulusId: string; stragglers: readonly RunRef[]; runs: readonly RunRef[] }
  /**
   * A value a client put here (worker/puts.ts) is in the store: it is the result of run
   * `runId` of task `id`, made without a thread; or, `replica`, a copy of a value another
   * worker took (reported as a replica, as a copy fetched for the scheduler is). Only for an
   * id this worker knows nothing of (WorkerState.knows).
   */
  | { type: 'put'; stimulusId: string; id: string; runId: number; nbytes: number; serializer: SerializerRef; bytes?: Uint8Array; startedAtMs: number; replica?: boolean };

/** One run of a task. */
export interface RunRef {
  id: string;
  runId: number;
}

export type WorkerCommand =
  | { type: 'storeInline'; stimulusId: string; id: string; bytes: Uint8Array; serializer: SerializerRef }
  | { type: 'fetch'; stimulusId: string; id: string; addresses: string[] }
  /** `short`: of a kind learned short, so the pool watches it (RunOptions.short). */
  | { type: 'execute'; stimulusId: string; assign: WireAssign; short?: boolean }
  /** Run these one after another in one thread, in this order (worker/batching.ts). */
  | { type: 'executeBatch'; stimulusId: string; assigns: WireAssign[] }
  | { type: 'abort'; stimulusId: string; id: string; runId: number }
  /**
   * `tellClient`: the run's assignment asked the worker to tell the client too
   * (WireAssign.tellClient). The run's timing and result as its `executed` event had them
   * (0: unknown; `bytes` absent: in the store, maybe spilled).
   */
  | {
      type: 'reportFinished';
      stimulusId: string;
      id: string;
      runId: number;
      tellClient: boolean;
      durationMs: number;
      startedAtMs: number;
      nbytes: number;
      serializer: SerializerRef;
      bytes: Uint8Array | undefined;
    }
  | { type: 'reportFailed'; stimulusId: string; id: string; runId: number; error: ErrorInfo }
  | { type: 'deleteData'; stimulusId: string; id: string }
  /** Steal granted: the run was dropped before it started (scheduler event stealGranted). */
  | { type: 'reportStolen'; stimulusId: string; id: string; runId: number }
  /** Steal refused: the run is executing, done or unknown here (event stealRefused). */
  | { type: 'reportStealRefused'; stimulusId: string; id: string; runId: number }
  /** The pool found the run straggling (event `returned`; scheduler event taskStraggling). */
  | { type: 'reportStraggling'; stimulusId: string; id: string; runId: number }
  /** An input could not be fetched from any holder: the run is dropped, the scheduler decides. */
  | { type: 'reportInputMissing'; stimulusId: string; id: string; runId: number; depId: string; error: ErrorInfo }
  /** The run's slot is free (scheduler event taskSeceded) or taken again (taskRejoined). */
  | { type: 'reportSlot'; stimulusId: string; id: string; runId: number; seceded: boolean }
  /** A replica is now held here (scheduler event replicated). */
  | { type: 'reportReplicated'; stimulusId: string; id: string }
  /**
   * A replica could not be fetched. Not reported to the scheduler (which keeps the
   * source worker retiring until it is asked again); for logs and metrics.
   */
  | { type: 'replicateFailed'; stimulusId: string; id: string; error: ErrorInfo };

/** A task on this worker, as the state machine tracks it. */
export interface WorkerTask {
  assign: WireAssign;
  state: 'fetching' | 'ready' | 'executing';
  /** Inputs not here yet; NO_INPUTS (shared, always empty) for a task that takes none. */
  missing: SmallSet<string>;
  seq: number;
  heapIndex: number;
  /** Executing and counted against the threads (not seceded, not an actor task). */
  slot: boolean;
  /** Started in a batch: the batch holds one slot for all its tasks that still count. */
  lane: Lane | undefined;
  /** Took its slot back after seceding: the only way above the thread limit. */
  rejoined: boolean;
  /** Actor tasks: the actor's id (its creation task's id); they queue per actor, not for threads. */
  actor: string | undefined;
  /**
   * No batch may queue behind it in the pool (worker/slots.ts): it runs alone (a task not
   * known to be short, or any run alone), rejoined after seceding, or straggles.
   */
  long: boolean;
  /** The pool found it straggling and the scheduler was told (once; again after a secede). */
  straggling: boolean;
  /** While it holds a slot: its expected run time if short (set by batching.ts takeBatch), else 0. */
  costMs: number;
}

/**
 * The `missing` set of every task without inputs: most tasks of a big flow are leaves, and
 * a set each cost an allocation per task. Nothing ever adds to it (only a task's inputs
 * are added, and it has none); the state check asserts it stays empty.
 */
export const NO_INPUTS = new SmallSet<string>();

/** A batch of tasks sharing one thread slot (worker/batching.ts). */
export interface Lane {
  /** Tasks of the batch that still hold its slot (not finished, cancelled or seceded). */
  active: number;
}

/**
 * The order of a worker's ready tasks: highest priority first, then the scheduler's graph
 * order, then arrival order. Graph order matters once a worker holds many short tasks at
 * once: a dependent of a task that just finished starts before newer root tasks (depth
 * first, as in Dask), which keeps task lag and memory low.
 */
export function readyOrder(a: WorkerTask, b: WorkerTask): number {
  return b.assign.spec.priority - a.assign.spec.priority || (a.assign.order ?? 0) - (b.assign.order ?? 0) || a.seq - b.seq;
}
