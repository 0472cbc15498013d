/**
 * Direct submission, the worker's side (the client's: client/direct.ts). A client sends a
 * lone task (no inputs, nothing else in flight) straight to the worker that ran its last
 * one, saving the coordinator's hop before the run: client -> worker instead of client ->
 * coordinator -> worker. The coordinator still owns every task. The worker starts the
 * task at once if a thread is free, under a run id of its own (DIRECT_RUN_IDS_FROM up),
 * and passes the submission on to the coordinator, saying which run it started; the
 * coordinator answers the client's request as for any submission, and the scheduler
 * adopts the run or cancels it.
 *
 * The submission of a run started here is held, and passed on inside the worker's next
 * report to the coordinator (WorkerEvents.relayed, `takeHeld`), which goes on the worker's
 * reliable link; if no report goes out within RELAY_HOLD_MS, one goes for it (`report`).
 * A lone no-op's report usually comes within that time, so its submission and its report
 * are one message. Passed on at once, it woke the coordinator and nats-server while the
 * pool thread ran the task, all on the same few cores, and a no-op's round trip took
 * longer: 1.21 against 1.03 ms median on 2 cores (4,000 round trips each, alternating with
 * a client going through the coordinator, which took 1.35).
 *
 * Order is what makes this safe. The coordinator handles a report's submissions before
 * anything else in it, and the worker's reports arrive in order, so the scheduler always
 * knows the task before it hears of its run. A run it does not adopt is cancelled (or,
 * finished, its result released) like any stale run. And the client releases a key only
 * after its submission was answered, so a release never overtakes the task it releases.
 *
 * Anything that is not a lone task is passed on at once as it came (a request to the
 * coordinator's submit subject, answered to the client), without starting it.
 *
 * Between processes, clients send lone tasks on a direct stream of the data plane
 * (dataplane/grpc-direct.ts) rather than over NATS, with the subject their request's answer
 * goes to. The key update of a run started from a stream goes back on that client's stream
 * (`tell`), so neither the task nor its result passes through nats-server. An update the
 * stream could not carry goes the usual way (the worker's reliable link); one lost with a
 * stream that broke, the client asks the coordinator for (client/direct.ts).
 */
import { FloeError, toErrorInfo } from '../errors.ts';
import { DIRECT_RUN_IDS_FROM, taskId } from '../graph/task-id.ts';
import { decodeMessage, encodeMessage } from '../transport/codec.ts';
import { isLoneTask, type KeyUpdate, type WireAssign, type WireMessage, type WireOf, type WireRelayed } from '../transport/messages.ts';
import { passedOnRequest } from '../transport/reliable-message.ts';
import type { Subscription, Transport, TransportMessage } from '../transport/transport.ts';
import type { DirectEvents, DirectStream, DirectSubmission } from '../dataplane/dataplane.ts';
import type { Logger } from '../util/logger.ts';

export interface DirectSubmissionsOptions {
  transport: Transport;
  /** The coordinator's submit subject. */
  submitSubject: string;
  workerId: string;
  /** This worker's incarnation now. */
  epoch(): number;
  /** Starts the task if it can start here at once; false if not (it is then only passed on). */
  tryStart(assign: WireAssign): boolean;
  /** Sends the coordinator a report now, with the held submissions (`takeHeld`). */
  report(): void;
  log: Logger;
}

/** What direct submissions did here (tests and benchmarks read it). */
export interface DirectCounts {
  started: number;
  passedOn: number;
}

/** Longest a started run's submission waits for the worker's next report to go in. */
const RELAY_HOLD_MS = 1;

export class DirectSubmissions {
  readonly counts: DirectCounts = { started: 0, passedOn: 0 };
  /** Direct runs started here so far: their run ids count from DIRECT_RUN_IDS_FROM. */
  private runs = 0;
  /**
   * Submissions of runs started here, not passed on yet (a few: a run starts only on a free
   * thread, or is a put's, and RELAY_HOLD_MS is short).
   */
  private held: WireRelayed[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sub: Subscription | undefined;
  /** Each client's direct stream here (its latest), by client id. */
  private readonly streams = new Map<string, DirectStream<Uint8Array>>();

  constructor(private readonly options: DirectSubmissionsOptions) {}

  /** Takes the submissions sent to `subject` (the worker's direct subject) from now on. */
  listen(subject: string): void {
    this.sub = this.options.transport.subscribe(subject, (msg) => this.onMessage(msg));
  }

  /** Takes no more; what is held still goes to the coordinator (a report now). */
  close(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
    if (this.held.length > 0) this.options.report();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A client's direct stream (DataPlane.acceptDirect): what comes on it is taken as from the subject. */
  accept(stream: DirectStream<Uint8Array>): DirectEvents<DirectSubmission> {
    let clientId: string | undefined;
    return {
      message: (submission) => {
        clientId = this.onMessage(this.streamRequest(submission), stream) ?? clientId;
      },
      closed: () => {
        if (clientId !== undefined && this.streams.get(clientId) === stream) this.streams.delete(clientId);
      },
    };
  }

  /**
   * Sends a client the key update of a run started here, on its direct stream; false if it
   * has none open (the update then goes the usual way).
   */
  tell(clientId: string, update: KeyUpdate): boolean {
    const stream = this.streams.get(clientId);
    if (stream === undefined) return false;
    if (stream.send(encodeMessage({ type: 'clientUpdates', updates: [update] }))) return true;
    this.streams.delete(clientId);
    return false;
  }

  /** Drops a departed client's stream (the coordinator said it left). */
  left(clientId: string): void {
    const stream = this.streams.get(clientId);
    this.streams.delete(clientId);
    stream?.close();
  }

  /** `stream`: the direct stream it came on, if any. Returns the submitting client's id. */
  onMessage(msg: TransportMessage, stream?: DirectStream<Uint8Array>): string | undefined {
    const { log } = this.options;
    let wire: WireMessage;
    try {
      wire = decodeMessage(msg.data);
      if (wire.type !== 'submit') throw new FloeError('MALFORMED_MESSAGE', `a worker takes only submissions directly, not ${wire.type}`);
      if (wire.direct !== undefined) throw new FloeError('MALFORMED_MESSAGE', 'a direct submission must not say it was passed on already');
    } catch (error) {
      log.warn({ subject: msg.subject, err: error }, 'rejected malformed direct submission');
      msg.respond(encodeMessage({ type: 'error', error: toErrorInfo(error, 'MALFORMED_MESSAGE') }));
      return undefined;
    }
    if (stream !== undefined && this.streams.get(wire.clientId) !== stream) this.streams.set(wire.clientId, stream);
    let runId = 0; // none started
    if (isLoneTask(wire)) {
      const spec = wire.tasks[0]!;
      const assign: WireAssign = { id: taskId(wire.clientId, spec.key), runId: DIRECT_RUN_IDS_FROM + this.runs + 1, attempt: 1, spec, deps: [], tellClient: true };
      if (this.options.tryStart(assign)) {
        this.runs += 1;
        runId = assign.runId;
      }
    }
    if (runId !== 0) this.counts.started += 1;
    else this.counts.passedOn += 1;
    if (runId === 0 || msg.replyTo === undefined) {
      this.relay(this.passedOn(wire, runId), msg);
      return wire.clientId;
    }
    // Encoded after the run started: the pool thread works meanwhile.
    this.hold(wire, runId, msg.replyTo);
    return wire.clientId;
  }

  /**
   * Runs of `wire`'s `count` tasks started here by other means (a client's put of one value
   * or several: worker/puts.ts): the first one's run id (task i's is that plus i), their
   * submission held to go to the coordinator as a direct run's does.
   * Call it before the run's outcome is reported, so the report comes after the submission.
   */
  startedHere(wire: WireOf<'submit'>, replyTo: string, count = 1): number {
    // A submission's tasks (several only for a put of several values) get run ids in a row.
    const runId = DIRECT_RUN_IDS_FROM + this.runs + 1;
    this.runs += count;
    this.hold(wire, runId, replyTo);
    return runId;
  }

  /** Holds the submission of run `runId` started here, for the worker's next report (or one soon for it). */
  private hold(wire: WireOf<'submit'>, runId: number, replyTo: string): void {
    this.held.push({ replyTo, submit: this.passedOn(wire, runId) });
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.options.report();
    }, RELAY_HOLD_MS);
  }

  /** The submission as passed on to the coordinator: saying it came here, and which run started here (0: none). */
  private passedOn(wire: WireOf<'submit'>, runId: number): Uint8Array {
    return encodeMessage({ ...wire, direct: { workerId: this.options.workerId, epoch: this.options.epoch(), runId } });
  }

  /** A submission that came on a stream, as a request its answer goes back to the client from. */
  private streamRequest(submission: DirectSubmission): TransportMessage {
    const { transport, log } = this.options;
    // Unanswered, its request times out.
    return passedOnRequest(transport, 'direct stream', submission.submit, submission.replyTo, (err) => log.warn({ err }, 'could not answer a direct submission'));
  }

  /** The held submissions, for the report about to go out (WorkerEvents.relayed); none are held after. */
  takeHeld(): WireRelayed[] {
    if (this.held.length === 0) return [];
    clearTimeout(this.timer);
    this.timer = undefined;
    const held = this.held;
    this.held = [];
    return held;
  }

  private relay(data: Uint8Array, request: TransportMessage): void {
    try {
      this.options.transport.relay(this.options.submitSubject, data, request);
    } catch (error) {
      // The client's request times out and goes to the coordinator; a run started here
      // is then the coordinator's to cancel (it hears of it as a stale run).
      this.options.log.warn({ err: error }, 'could not pass a direct submission on to the coordinator');
    }
  }
}
