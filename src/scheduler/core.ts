/**
 * The scheduler's state and its lowest-level operations (transitions, commands,
 * notifications). The event handlers live in sibling files as functions over this core,
 * to keep each file small; only scheduler.ts is public.
 */
import { FloeError, toErrorInfo } from '../errors.ts';
import type { ErrorInfo } from '../errors.ts';
import { StoryLog } from './story-log.ts';
import { TaskQueues } from './task-queue.ts';
import type { TaskState, WorkerState } from './state.ts';
import type { SchedulerCommand, SchedulerConfig, TaskStateName } from './types.ts';

export const STATE_NAMES: readonly TaskStateName[] = [
  'released',
  'waiting',
  'queued',
  'processing',
  'memory',
  'erred',
  'forgotten',
];

export class SchedulerCore {
  readonly tasks = new Map<string, TaskState>();
  readonly workers = new Map<string, WorkerState>();
  /** Live workers in join order. */
  workerList: WorkerState[] = [];
  readonly queue = new TaskQueues();
  /** Tasks waiting for a retry to come due. */
  readonly retrying = new Set<TaskState>();
  /** Every task record of a client. */
  readonly clientTasks = new Map<string, Set<TaskState>>();
  /** Tasks that became ready during the current event; placed when it ends. */
  readyList: TaskState[] = [];
  /** Workers that gained capacity during the current event. */
  readonly freed = new Set<WorkerState>();
  readonly counts: Record<TaskStateName, number>;
  readonly log: StoryLog;
  out: SchedulerCommand[] = [];
  stimulusId = '';
  nowMs = 0;
  seq = 0;
  runCounter = 0;
  joinCounter = 0;
  /** Earliest tick already asked for with wakeAt (Infinity when none is pending). */
  wakeRequestedMs = Infinity;

  constructor(readonly config: SchedulerConfig) {
    this.log = new StoryLog(config.logSizeMax);
    this.counts = Object.fromEntries(STATE_NAMES.map((name) => [name, 0])) as Record<TaskStateName, number>;
  }

  transition(ts: TaskState, to: TaskStateName): void {
    const from = ts.state;
    this.counts[from]--;
    this.counts[to]++;
    ts.state = to;
    this.log.add(ts.id, from, to, this.stimulusId, this.nowMs);
  }

  /** Records a brand-new task (it starts as 'released'). */
  addTask(ts: TaskState): void {
    this.tasks.set(ts.id, ts);
    this.counts.released++;
    this.log.add(ts.id, 'forgotten', 'released', this.stimulusId, this.nowMs);
    let own = this.clientTasks.get(ts.clientId);
    if (own === undefined) {
      own = new Set();
      this.clientTasks.set(ts.clientId, own);
    }
    own.add(ts);
  }

  /** Drops a task record for good. Callers have unlinked it already. */
  dropTask(ts: TaskState): void {
    this.transition(ts, 'forgotten');
    this.counts.forgotten--;
    this.tasks.delete(ts.id);
    const own = this.clientTasks.get(ts.clientId);
    if (own !== undefined) {
      own.delete(ts);
      if (own.size === 0) this.clientTasks.delete(ts.clientId);
    }
  }

  emit(command: SchedulerCommand): void {
    this.out.push(command);
  }

  notifyMemory(ts: TaskState): void {
    let holder = '';
    for (const w of ts.whoHas) {
      holder = w.id;
      break;
    }
    this.emit({
      type: 'notifyClient',
      stimulusId: this.stimulusId,
      clientId: ts.clientId,
      key: ts.key,
      status: 'memory',
      workerId: holder,
      nbytes: ts.nbytes,
      serializer: ts.serializer,
      inline: ts.inline,
      error: undefined,
    });
  }

  notifyFailure(ts: TaskState, status: 'erred' | 'cancelled', error: ErrorInfo): void {
    this.emit({
      type: 'notifyClient',
      stimulusId: this.stimulusId,
      clientId: ts.clientId,
      key: ts.key,
      status,
      workerId: '',
      nbytes: 0,
      serializer: ts.serializer,
      inline: undefined,
      error,
    });
  }

  /** Asks the driver for a tick at `atMs` unless an earlier one is already pending. */
  requestWake(atMs: number): void {
    if (atMs >= this.wakeRequestedMs) return;
    this.wakeRequestedMs = atMs;
    this.emit({ type: 'wakeAt', stimulusId: this.stimulusId, atMs });
  }

  makeError(code: 'CANCELLED' | 'WORKER_LOST', message: string, taskKey: string): ErrorInfo {
    return toErrorInfo(new FloeError(code, message, { taskKey }));
  }
}
