/**
 * Drives the scheduler state machine in unit tests: fills in stimulus ids and times,
 * validates the invariants after every event, and summarises commands as short strings.
 */
import type { ErrorInfo } from '../../src/errors.ts';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import type { SchedulerCommand, SchedulerConfig, SchedulerEvent } from '../../src/scheduler/types.ts';

export type Ev = SchedulerEvent extends infer E ? (E extends SchedulerEvent ? Omit<E, 'stimulusId' | 'nowMs'> : never) : never;

export function taskError(extra: Partial<ErrorInfo> = {}): ErrorInfo {
  return { code: 'TASK_ERROR', message: 'boom', retryable: true, stack: 'Error: boom\n    at task', taskKey: '', originalName: 'Error', ...extra };
}

/** Drives a scheduler: fills in stimulus ids and times, validates after every event. */
export class Harness {
  readonly s: Scheduler;
  now = 0;
  private n = 0;
  readonly runs = new Map<string, { runId: number; workerId: string; attempt: number }>();
  last: SchedulerCommand[] = [];

  constructor(config: Partial<SchedulerConfig> = {}) {
    // Fixed capacities (threads × workerSaturation) and one assignment per ready task,
    // unless a test asks for adaptive capacities or early assignment (early.ts).
    this.s = new Scheduler({ saturationWindowMs: 0, earlyPerWorker: 0, ...config });
  }

  send(ev: Ev): string[] {
    const stimulusId = `s${++this.n}`;
    const cmds = this.s.handle({ ...ev, stimulusId, nowMs: this.now });
    this.s.validate();
    for (const c of cmds) {
      if (c.stimulusId !== stimulusId) throw new Error(`command with stimulus ${c.stimulusId}, expected ${stimulusId}`);
      if (c.type === 'assign') this.runs.set(c.id, { runId: c.runId, workerId: c.workerId, attempt: c.attempt });
    }
    this.last = cmds;
    return cmds.map(summary);
  }

  submit(tasks: TaskSpec[], wants: string[], clientId = 'c'): string[] {
    return this.send({ type: 'graphSubmitted', clientId, requestId: 'r', tasks, wants });
  }

  join(workerId: string, threads = 1, resources: Record<string, number> = {}): string[] {
    return this.send({ type: 'workerJoined', workerId, threads, resources, address: `addr-${workerId}` });
  }

  finish(id: string, nbytes = 10, run = this.runs.get(id)!): string[] {
    return this.send({
      type: 'taskFinished',
      workerId: run.workerId,
      id,
      runId: run.runId,
      nbytes,
      serializer: { id: 'msgpack', module: '' },
      inline: undefined,
      durationMs: 1,
    });
  }

  fail(id: string, error: ErrorInfo = taskError()): string[] {
    const run = this.runs.get(id)!;
    return this.send({ type: 'taskFailed', workerId: run.workerId, id, runId: run.runId, error });
  }
}

export function summary(c: SchedulerCommand): string {
  switch (c.type) {
    case 'submitReply':
      return `submitReply ${c.error?.code ?? 'ok'}`;
    case 'assign':
      return `assign ${c.workerId} ${c.id}`;
    case 'cancelRun':
      return `cancelRun ${c.workerId} ${c.id}`;
    case 'releaseData':
      return `releaseData ${c.workerId} ${c.id}`;
    case 'notifyClient':
      return `notify ${c.clientId} ${c.key} ${c.status}${c.error === undefined ? '' : ` ${c.error.code}`}`;
    case 'wakeAt':
      return `wakeAt ${c.atMs}`;
    case 'steal':
      return `steal ${c.workerId} ${c.id}`;
    case 'replicate':
      return `replicate ${c.workerId} ${c.id} from ${c.holders.join(',')}`;
    case 'retired':
      return `retired ${c.workerId}`;
  }
}

export function notifications(h: Harness): Extract<SchedulerCommand, { type: 'notifyClient' }>[] {
  return h.last.filter((c): c is Extract<SchedulerCommand, { type: 'notifyClient' }> => c.type === 'notifyClient');
}
