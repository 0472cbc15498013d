/**
 * Events into and commands out of the scheduler state machine.
 *
 * The scheduler is pure: `handle(event)` returns commands and never does I/O, reads a
 * clock or draws random numbers. Time arrives as `nowMs` on events. Every event and
 * command carries the `stimulusId` of the event that caused it, so a task's story can
 * be traced from client submission to worker completion.
 *
 * Keys: clients name tasks with keys unique per client. Inside the scheduler (and on
 * workers) a task is identified by its id, `${clientId}/${key}`, so two clients can
 * never see or touch each other's tasks.
 */
import type { ErrorInfo } from '../errors.ts';
import type { TaskSpec } from '../graph/spec.ts';

export type TaskStateName = 'released' | 'waiting' | 'queued' | 'processing' | 'memory' | 'erred' | 'forgotten';

/** Every state name, in lifecycle order (an index into it is a compact form of a state). */
export const STATE_NAMES: readonly TaskStateName[] = [
  'released',
  'waiting',
  'queued',
  'processing',
  'memory',
  'erred',
  'forgotten',
];

/**
 * A state's index in STATE_NAMES. A switch over the names (literals, so compared by
 * identity) instead of a lookup table: a property lookup by a key that varies over seven
 * names is a megamorphic keyed load, and the scheduler does several per transition.
 */
export function stateIndex(name: TaskStateName): number {
  switch (name) {
    case 'released':
      return 0;
    case 'waiting':
      return 1;
    case 'queued':
      return 2;
    case 'processing':
      return 3;
    case 'memory':
      return 4;
    case 'erred':
      return 5;
    case 'forgotten':
      return 6;
  }
}

interface EventBase {
  stimulusId: string;
  nowMs: number;
}

export type SchedulerEvent =
  | (EventBase & {
      type: 'graphSubmitted';
      clientId: string;
      /** Echoed on the submitReply command. */
      requestId: string;
      tasks: TaskSpec[];
      /** Keys (of this client) the client holds futures for. */
      wants: string[];
      /** Results the client failed to fetch from these holders: taken off their books. */
      missing?: { key: string; workerId: string }[];
      /**
       * A direct submission (client/direct.ts): this worker started the batch's one task
       * already, as run `runId` (a direct run: graph/task-id.ts); for a put of several
       * values, each task, as runs `runId` + its place in `tasks`. Adopted as the task's run
       * if the task is new and the worker may take it; otherwise cancelled there (see
       * submit.ts adoptDirectRuns).
       */
      startedOn?: { workerId: string; runId: number };
    })
  | (EventBase & { type: 'keysReleased'; clientId: string; keys: string[] })
  | (EventBase & { type: 'keysCancelled'; clientId: string; keys: string[] })
  | (EventBase & { type: 'clientDisconnected'; clientId: string })
  | (EventBase & {
      type: 'workerJoined';
      workerId: string;
      threads: number;
      /** Declared resources, e.g. { gpu: 1, memory: 8e9 }. */
      resources: Record<string, number>;
      /** Data-plane address other workers and clients fetch results from. */
      address: string;
    })
  | (EventBase & { type: 'workerLost'; workerId: string })
  | (EventBase & {
      type: 'taskFinished';
      workerId: string;
      id: string;
      runId: number;
      nbytes: number;
      serializer: { id: string; module: string };
      /** Present when the result is small enough to travel on control messages. */
      inline: Uint8Array | undefined;
      durationMs: number;
    })
  | (EventBase & { type: 'taskFailed'; workerId: string; id: string; runId: number; error: ErrorInfo })
  /**
   * The worker could not fetch input `depId` of this run from any holder: the run ended
   * without running. Not the task's fault (Dask's missing-data): the holders are taken
   * off the books, the input is recomputed if no copy is left, and the task waits for it.
   */
  | (EventBase & { type: 'inputMissing'; workerId: string; id: string; runId: number; depId: string })
  /**
   * The victim of a `steal` dropped the run before it started. Reported for a run that is
   * not current any more (it finished, was cancelled, reassigned), it is ignored.
   */
  | (EventBase & { type: 'stealGranted'; workerId: string; id: string; runId: number })
  /** The victim of a `steal` keeps the run (already running or done). */
  | (EventBase & { type: 'stealRefused'; workerId: string; id: string; runId: number })
  /**
   * The worker wants to leave gracefully (Dask's retire_workers): it gets no new work, its
   * unstarted tasks are stolen back, results only it holds are copied elsewhere, then a
   * `retired` command says it may go. Sending it again re-issues pending copies.
   */
  | (EventBase & { type: 'workerRetiring'; workerId: string })
  /** The worker now holds copies of these results (answer to `replicate`). */
  | (EventBase & { type: 'replicated'; workerId: string; ids: string[] })
  | (EventBase & { type: 'replicateFailed'; workerId: string; ids: string[] })
  /** A client wants its results of `keys` held by `n` workers each (0: every worker): replicas.ts. */
  | (EventBase & { type: 'replicateRequested'; clientId: string; keys: string[]; n: number })
  /**
   * The run waits on subtasks it submitted (Dask's secede): it keeps running but no longer
   * counts against its worker's threads, so its subtasks (or others) can use the slot.
   */
  | (EventBase & { type: 'taskSeceded'; workerId: string; id: string; runId: number })
  /** The run stopped waiting on subtasks and counts against its worker's threads again. */
  | (EventBase & { type: 'taskRejoined'; workerId: string; id: string; runId: number })
  /**
   * The run holds its pool thread far longer than its kind usually does (worker/stragglers.ts):
   * while every thread of its worker is held so, the worker gets no new tasks and gives back
   * those it has not started (stealing.ts taskStraggling).
   */
  | (EventBase & { type: 'taskStraggling'; workerId: string; id: string; runId: number })
  | (EventBase & { type: 'tick' });

/** Where an input of an assigned task can be found. */
export interface DepLocation {
  id: string;
  /**
   * Workers holding the result (the assignee may be one of them). Empty, with no inline
   * bytes, for an input the assignee itself is computing (early assignment, early.ts): it
   * waits for that run to finish there.
   */
  holders: string[];
  nbytes: number;
  serializer: { id: string; module: string };
  inline: Uint8Array | undefined;
}

interface CommandBase {
  stimulusId: string;
}

export type SchedulerCommand =
  | (CommandBase & {
      type: 'submitReply';
      clientId: string;
      requestId: string;
      /** Absent when the graph was accepted. */
      error: ErrorInfo | undefined;
    })
  | (CommandBase & {
      type: 'assign';
      workerId: string;
      id: string;
      /** Increases on every (re)assignment; completions with another runId are ignored. */
      runId: number;
      /** 1 for the first attempt. */
      attempt: number;
      spec: TaskSpec;
      deps: DepLocation[];
      /** Graph order (creation sequence): the worker starts lower ones first among equal priorities. */
      order: number;
      /** The client wants the result: the worker tells it on success (TaskState.workerTellsClient). */
      tellClient: boolean;
    })
  | (CommandBase & { type: 'cancelRun'; workerId: string; id: string; runId: number })
  | (CommandBase & { type: 'releaseData'; workerId: string; id: string })
  | (CommandBase & {
      type: 'notifyClient';
      clientId: string;
      key: string;
      status: 'memory' | 'erred' | 'cancelled';
      /** For 'memory': a worker holding the result ('' if only inline). */
      workerId: string;
      nbytes: number;
      serializer: { id: string; module: string };
      inline: Uint8Array | undefined;
      /** For 'erred' and 'cancelled'. */
      error: ErrorInfo | undefined;
      /**
       * The client knows already: the worker that made the result told it (WireAssign.tellClient).
       * The scheduler still says so, for its own record of what each client has been told.
       */
      byWorker: boolean;
    })
  /**
   * Give this run back if it has not started: the worker answers `stealGranted` (dropped
   * it) or `stealRefused`. Sent for work stealing and to drain a retiring worker.
   */
  | (CommandBase & { type: 'steal'; workerId: string; id: string; runId: number })
  /** Fetch a copy of a result from `holders` (worker ids) and keep it until released. */
  | (CommandBase & {
      type: 'replicate';
      /** The recipient. */
      workerId: string;
      id: string;
      holders: string[];
      nbytes: number;
      serializer: { id: string; module: string };
    })
  /** A retiring worker holds nothing needed and runs nothing: it may exit. */
  | (CommandBase & { type: 'retired'; workerId: string })
  /** Ask the driver to deliver a `tick` event at (or after) this time. */
  | (CommandBase & { type: 'wakeAt'; atMs: number });

export interface SchedulerConfig {
  /**
   * A worker is sent up to ceil(threads * workerSaturation) tasks at once; the rest
   * stay queued on the scheduler in priority order (as in Dask's root-task queuing).
   */
  workerSaturation: number;
  /**
   * Short tasks: a worker is also sent as many tasks as its threads can run in this many
   * milliseconds, judged by the recent average run time, so its threads stay busy across
   * the round trip to the scheduler even when a task takes microseconds (0: off). Work
   * stealing moves tasks back if that guess leaves another worker idle.
   */
  saturationWindowMs: number;
  /** Upper bound, per thread, of tasks sent to a worker at once. */
  maxTasksPerThread: number;
  /** Times a task may be running on a worker that dies before it is marked erred. */
  allowedFailures: number;
  /** Transitions kept for `story()` (a ring buffer; 0 turns logging off). */
  logSizeMax: number;
  /**
   * Workers with idle threads and nothing queued for them steal unstarted tasks from
   * workers holding more tasks than threads (never running a task twice: the victim
   * must agree).
   */
  stealing: boolean;
  /**
   * Early assignment: a task whose missing inputs are all being computed on one worker is
   * sent there at once, and starts the moment they finish, without a round trip to the
   * scheduler (early.ts). At most this many such tasks wait on a worker (0: off).
   */
  earlyPerWorker: number;
}

export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = {
  workerSaturation: 2,
  saturationWindowMs: 20,
  maxTasksPerThread: 200,
  allowedFailures: 3,
  logSizeMax: 100_000,
  stealing: true,
  earlyPerWorker: 1024,
};

/** One line of a task's history, as returned by `story(id)`. */
export interface StoryEntry {
  id: string;
  from: TaskStateName;
  to: TaskStateName;
  stimulusId: string;
  nowMs: number;
}
