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
 *
 * Between processes the submission goes on a direct stream of the data plane to that worker
 * (dataplane/grpc-direct.ts), and the run's key update comes back on it: neither passes
 * through nats-server, which took two hops each way. The coordinator's answer still comes
 * over NATS, to the request's reply subject, which the stream carries. A stream can break
 * with an update on it. So a key sent on a stream stays pending here until its update
 * arrives (on any path); if the stream breaks first, the coordinator is asked for the key
 * again, once it has answered the submission (a want, which it answers with the key's
 * location when the run ends, even one that was to tell the client itself). A submission
 * still unanswered when its stream breaks fails over to the coordinator at once. A worker
 * that takes no streams (an older one) gets lone tasks on its subject.
 */
import { FloeError } from '../errors.ts';
import type { DataPlane, DirectStream, DirectSubmission } from '../dataplane/dataplane.ts';
import { decodeMessage } from '../transport/codec.ts';
import { isLoneTask, type WireOf } from '../transport/messages.ts';
import type { RequestOptions } from '../transport/transport.ts';
import type { KeyState } from './future.ts';
import { ChurnMap } from '../util/churn-map.ts';

export interface DirectTargetOptions {
  enabled: boolean;
  /** A worker's direct subject (over the transport). */
  subjectOf(workerId: string): string;
  /** Opens a direct stream to a worker's data-plane address (DataPlane.openDirect), if the data plane has them. */
  open?: NonNullable<DataPlane['openDirect']>;
  /** Key updates that came on a stream. */
  onUpdates(wire: WireOf<'clientUpdates'>): void;
  /** Asks the coordinator for a key again: its update may have been lost with a stream. */
  askAgain(state: KeyState): void;
}

/** How one submission goes to a worker (see requestWithRetry). */
export interface DirectRoute {
  /** The worker's direct subject: where the request goes unless `via` sends it. */
  subject: string;
  via?: RequestOptions['sendVia'];
  /** The worker did not answer: it is not tried again until a result names one. */
  failed(): void;
  /** The submission was answered (by way of the worker or not), or failed for good (not `accepted`: its task fails). */
  answered(accepted: boolean): void;
}

/** A stream to one worker. */
interface Link {
  stream: DirectStream<DirectSubmission>;
  broken: boolean;
}

/** A key sent on a stream whose update has not come yet. */
interface Pending {
  link: Link;
  answered: boolean;
  /** Fails its request (while unanswered): the stream broke. */
  fail(error: Error): void;
}

/** Which worker a lone task goes to (the one that made the latest result), and how. */
export class DirectTarget {
  private workerId: string | undefined;
  private address = '';
  private readonly links = new Map<string, Link>();
  private readonly pending = new ChurnMap<KeyState, Pending>();
  /** Addresses of workers that take no direct streams (older ones): lone tasks go to their subject. */
  private readonly noStreams = new Set<string>();

  constructor(private readonly options: DirectTargetOptions) {}

  /** A worker holds a result of ours: lone tasks go there from now on. */
  noteWorker(workerId: string, address: string): void {
    if (!this.options.enabled || workerId === '') return;
    this.workerId = workerId;
    this.address = address;
  }

  /** How to send `msg` (of `state`'s task) directly, or undefined (to the coordinator). */
  routeFor(msg: WireOf<'submit'>, state: KeyState): DirectRoute | undefined {
    if (this.workerId === undefined || !isLoneTask(msg)) return undefined;
    const subject = this.options.subjectOf(this.workerId);
    const failed = (): void => this.failed(subject);
    const link = this.linkTo(this.address);
    if (link === undefined) return { subject, failed, answered: noop };
    return {
      subject,
      failed,
      via: (replyTo, submit, fail) => {
        if (!link.stream.send({ replyTo, submit })) throw new FloeError('REQUEST_TIMEOUT', `the direct stream to ${this.address} did not take the submission`);
        this.pending.set(state, { link, answered: false, fail });
      },
      answered: (accepted) => this.answered(state, accepted),
    };
  }

  /** A key's update came (on any path): nothing is owed for it on a stream any more. */
  settled(state: KeyState): void {
    if (this.pending.size > 0) this.pending.delete(state);
  }

  /** Ends every stream (the client closes): nothing more is asked for. */
  close(): void {
    this.pending.clear();
    for (const link of this.links.values()) link.stream.close();
    this.links.clear();
  }

  /** Sending to `subject` failed: that worker is not tried again until a result names one. */
  failed(subject: string): void {
    if (this.workerId !== undefined && this.options.subjectOf(this.workerId) === subject) this.workerId = undefined;
  }

  private linkTo(address: string): Link | undefined {
    const open = this.options.open;
    if (open === undefined || address === '' || this.noStreams.has(address)) return undefined;
    const known = this.links.get(address);
    if (known !== undefined) return known;
    let link: Link;
    try {
      link = {
        broken: false,
        stream: open(address, {
          message: (data) => this.onMessage(link, data),
          closed: (error) => {
            if (error?.unsupported === true) this.unsupported(address);
            if (error !== undefined) this.broke(link);
          },
        }),
      };
    } catch {
      return undefined; // the data plane is closed: the transport's way
    }
    this.links.set(address, link);
    return link;
  }

  private unsupported(address: string): void {
    if (this.noStreams.size >= NO_STREAMS_MAX) this.noStreams.clear();
    this.noStreams.add(address);
  }

  private onMessage(link: Link, data: Uint8Array): void {
    let wire;
    try {
      wire = decodeMessage(data);
    } catch {
      wire = undefined;
    }
    if (wire?.type === 'clientUpdates') {
      this.options.onUpdates(wire);
      return;
    }
    // Not what a worker sends: the stream is not to be trusted with more.
    link.stream.close();
    this.broke(link);
  }

  /** A stream ended unasked: what was owed on it is asked of the coordinator. */
  private broke(link: Link): void {
    if (link.broken) return;
    link.broken = true;
    for (const [address, l] of this.links) if (l === link) this.links.delete(address);
    const error = new Error('the direct stream to the worker broke');
    for (const [state, p] of [...this.pending]) {
      if (p.link !== link) continue;
      if (!p.answered) {
        p.fail(error); // its request goes to the coordinator; answered() asks again
        continue;
      }
      this.pending.delete(state);
      this.askAgain(state);
    }
  }

  private answered(state: KeyState, accepted: boolean): void {
    const p = this.pending.get(state);
    if (p === undefined) return;
    if (!accepted) {
      this.pending.delete(state); // its task fails: nothing is owed
      return;
    }
    if (!p.link.broken) {
      p.answered = true;
      return;
    }
    this.pending.delete(state);
    this.askAgain(state);
  }

  private askAgain(state: KeyState): void {
    if (state.status === 'pending') this.options.askAgain(state);
  }
}

function noop(): void {}

/** Addresses remembered as taking no direct streams, at most (then forgotten, and tried again). */
const NO_STREAMS_MAX = 1024;

/** Validates the `directSubmit` option of Client.local and Client.connect. */
export function checkDirectSubmit(value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new FloeError('INVALID_OPTION', `options.directSubmit must be a boolean (got ${JSON.stringify(value) ?? typeof value})`);
  }
}
