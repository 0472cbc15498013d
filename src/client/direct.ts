/**
 * Direct submission, the client's side (the worker's: worker/direct.ts), as Ray's owners
 * send tasks straight to a worker. A submission of one lone task (no inputs, wanted, not
 * an actor's, no resources, nothing else in it) goes to the worker that made this
 * client's latest result, which starts it at once if it has a free thread and passes the
 * submission on to the coordinator. A sequential caller (`await client.submit(...)` in a
 * loop) thereby saves the coordinator's hop before each run.
 *
 * The request is answered by the coordinator, as any submission is. If that worker is
 * gone (no responders) or the answer does not come in time, the submission goes to the
 * coordinator instead, which is safe: the scheduler takes a key it has as the same task.
 * Such a worker is not tried again until a later result names a worker.
 */
import { FloeError } from '../errors.ts';
import { isLoneTask, type WireOf } from '../transport/messages.ts';

/** Which worker a lone task goes to: the one that made the latest result. */
export class DirectTarget {
  private workerId: string | undefined;

  constructor(
    private readonly enabled: boolean,
    private readonly subjectOf: (workerId: string) => string,
  ) {}

  /** A worker holds a result of ours: lone tasks go there from now on. */
  noteWorker(workerId: string): void {
    if (this.enabled && workerId !== '') this.workerId = workerId;
  }

  /** Where to send `msg` directly, or undefined (to the coordinator). */
  subjectFor(msg: WireOf<'submit'>): string | undefined {
    if (this.workerId === undefined || !isLoneTask(msg)) return undefined;
    return this.subjectOf(this.workerId);
  }

  /** Sending to `subject` failed: that worker is not tried again until a result names one. */
  failed(subject: string): void {
    if (this.workerId !== undefined && this.subjectOf(this.workerId) === subject) this.workerId = undefined;
  }
}

/** Validates the `directSubmit` option of Client.local and Client.connect. */
export function checkDirectSubmit(value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new FloeError('INVALID_OPTION', `options.directSubmit must be a boolean (got ${JSON.stringify(value) ?? typeof value})`);
  }
}
