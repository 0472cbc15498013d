/**
 * Batches task submissions: everything submitted during one event-loop turn goes to
 * the coordinator as one graph (one request, or a stream of pieces when it is big: see
 * piece-stream.ts). A big graph submitted in one go (a loop of submit calls) starts going
 * out while the loop still runs (sendEarly). Tasks that depend on keys not yet submitted
 * (the fan-out of a future's value, expanded once it exists) wait here until their inputs
 * have been sent.
 */
import { FloeError, isFloeError, toErrorInfo } from '../errors.ts';
import type { TaskSpec } from '../graph/spec.ts';
import { encodeMessage } from '../transport/codec.ts';
import type { Transport } from '../transport/transport.ts';
import type { MissingResult, WireOf } from '../transport/messages.ts';
import { asFloeError, type KeyState } from './future.ts';
import { resolveKnown, resolveLater, resolveNow, resolvedSpecs, type QueuedSpec } from './submit-spec.ts';
import { argsOver, pieceEnd, STREAM_TASKS_MIN } from './submit-pieces.ts';
import { PieceStream, type StreamIo } from './piece-stream.ts';
import type { DirectRoute, DirectTarget } from './direct.ts';
import type { CoordinatorIncarnation } from './incarnation.ts';
import { checkSubmitAnswer, requestWithRetry } from './submit-request.ts';
import { Wants } from './wants.ts';
import { ATTR, SpanKind, recordFailure, startSpan, traceparentOf, tracingEnabled, type Span } from '../telemetry/trace.ts';

/** A task waiting to be sent; `exportName` is resolved at flush time. */
export interface QueuedTask {
  state: KeyState;
  spec: QueuedSpec;
  def: object | undefined;
  moduleUrl: string;
  /**
   * Keys of the inputs, retained by the client until the scheduler has the task: a future
   * released meanwhile must not let its key go before the task that needs it is sent.
   */
  pinned?: KeyState[];
}

export interface SubmitterOptions {
  transport: Transport;
  subject: string;
  clientId: string;
  timeoutMs: number;
  /** Keys known to be sent already (or being sent). */
  isSubmitted(key: string): boolean;
  lookup(key: string): KeyState | undefined;
  /** Lets go of `pinned` keys once their dependent is with the scheduler (or failed). */
  unpin(states: KeyState[]): void;
  /** Tells the scheduler the client no longer wants these keys (after a split submission). */
  releaseKeys(keys: string[]): void;
  /** Whether to ask the coordinator for task progress (someone listens). */
  wantsProgress(): boolean;
  /** Where lone tasks go directly (client/direct.ts); absent: everything to the coordinator. */
  direct?: DirectTarget;
  /** Named in submissions, and told the incarnation each answer names (client/incarnation.ts). */
  incarnation?: CoordinatorIncarnation;
}

export class Submitter {
  private batch: QueuedTask[] = [];
  private wants = new Wants();
  private missing: MissingResult[] = [];
  private held: QueuedTask[] = [];
  private flushQueued = false;
  private requestSeq = 0;
  private inflight = new Set<Promise<void>>();
  /** A submission streamed while its tasks are still being submitted (see sendEarly). */
  private open: { stream: PieceStream; tasks: QueuedTask[] } | undefined;
  /** Set when what is queued cannot go early: it waits for the flush. */
  private earlyOff = false;

  constructor(private readonly options: SubmitterOptions) {}

  /**
   * Queues a task for the next batch, or into `deferTo` (a flow's graph, sent with
   * `enqueueAll` when the flow body returns, so async bodies still go out as one batch).
   */
  enqueue(task: QueuedTask, wanted: boolean, deferTo?: QueuedTask[]): void {
    if (wanted) this.wants.add(task.state);
    if (deferTo !== undefined) {
      deferTo.push(task);
      return;
    }
    this.batch.push(task);
    this.queueFlush();
    if (this.batch.length >= (this.open?.stream.nextSize ?? STREAM_TASKS_MIN) && !this.earlyOff) this.sendEarly();
  }

  /**
   * Sends the full pieces of a big submission while the caller is still submitting: a
   * loop of submit calls does not give the flush a turn until it ends, and the cluster
   * would sit idle meanwhile (a 100k-task loop takes a few hundred milliseconds). Once
   * STREAM_TASKS_MIN tasks are queued, they open a stream whose pieces (64, 128, 256 ...
   * tasks, as streamPieces cuts them, ending where a flow starts: pieceEnd) go as soon as
   * each is full and the task after it is known; the flush sends the rest and closes the
   * stream. So the requests are the ones the flush alone would have sent. (A piece sent
   * before the submission's end was known wants all its keys; the extra wants are
   * released after.)
   * Only the plain case goes early: no earlier submission still in flight, every task's
   * inputs sent before it, export names already known, tracing off. Anything else leaves
   * the queue to the flush.
   */
  private sendEarly(): void {
    if (this.open === undefined && (this.inflight.size > 0 || this.held.length > 0 || tracingEnabled())) {
      this.earlyOff = true;
      return;
    }
    const open = (this.open ??= { stream: new PieceStream(this.streamIo()), tasks: [] });
    let taken = 0;
    while (this.batch.length - taken >= open.stream.nextSize) {
      // Where a piece ends depends on the task after it (pieceEnd): it waits for that one.
      if (this.batch.length - taken === open.stream.nextSize) break;
      const end = pieceEnd(this.batch.length, taken, open.stream.nextSize, (k) => this.batch[k]!.spec.deps.length > 0);
      const piece = this.batch.slice(taken, end);
      if (!this.markSendable(piece) || !open.stream.sendNow(resolvedSpecs(piece))) {
        for (const task of piece) task.state.submitted = false;
        this.earlyOff = true;
        break;
      }
      for (const task of piece) open.tasks.push(task);
      taken += piece.length;
    }
    if (taken === 0) return;
    this.batch = this.batch.slice(taken);
    // On the wire now: nats.js writes publishes when the current task ends, and the caller's
    // loop is that task, so early pieces reached nobody before it was over. A flush writes
    // before it returns (it then awaits a PING's answer); a failed one fails no piece.
    this.options.transport.flush().catch(() => undefined);
  }

  /** Marks the tasks submitted if each one's inputs are sent before it and its export name is known; false (some may be marked) if not. */
  private markSendable(piece: QueuedTask[]): boolean {
    for (const task of piece) {
      for (const d of task.spec.deps) if (!this.options.isSubmitted(d)) return false;
      if (!resolveNow(task)) return false;
      task.state.submitted = true;
    }
    return true;
  }

  /** Queues tasks collected with `enqueue(..., deferTo)`. */
  enqueueAll(tasks: QueuedTask[], wantAll = false): void {
    if (tasks.length === 0) return;
    if (wantAll) for (const task of tasks) this.wants.add(task.state);
    // Not push(...tasks): a flow of a million tasks would overflow the call stack.
    for (const task of tasks) this.batch.push(task);
    this.queueFlush();
  }

  /** Asks the scheduler again for a wanted key's update (one a broken direct stream may have lost). */
  askAgain(state: KeyState): void {
    this.wants.locate(state);
    this.queueFlush();
  }

  /** Asks the scheduler to keep (and report) a key that was submitted unwanted. */
  want(state: KeyState): void {
    if (this.wants.add(state)) this.queueFlush();
  }

  /**
   * Asks the scheduler again for a key's current location (it answers with a key update),
   * telling it which holder failed to serve the result.
   */
  locate(state: KeyState, failedHolder: string): void {
    this.wants.locate(state);
    this.missing.push({ key: state.key, workerId: failedHolder });
    this.queueFlush();
  }

  /** Re-examines held tasks after a deferred key was queued. */
  release(): void {
    if (this.held.length > 0) this.queueFlush();
  }

  /** Drops held tasks that depend on a key that will never be submitted. */
  dropHeldDependingOn(failed: Set<string>, error: FloeError): void {
    let changed = true;
    while (changed) {
      changed = false;
      for (const task of this.held) {
        if (task.spec.deps.some((d) => failed.has(d)) && !failed.has(task.state.key)) {
          failed.add(task.state.key);
          task.state.fail(error);
          changed = true;
        }
      }
    }
    for (const task of this.held) if (failed.has(task.state.key)) this.unpin(task);
    this.held = this.held.filter((t) => !failed.has(t.state.key));
  }

  private unpin(task: QueuedTask): void {
    const pinned = task.pinned;
    if (pinned === undefined) return;
    task.pinned = undefined;
    this.options.unpin(pinned);
  }

  /** Resolves when everything queued so far has been answered. */
  async drain(): Promise<void> {
    while (this.flushQueued || this.inflight.size > 0) {
      if (this.flushQueued) await Promise.resolve();
      await Promise.all([...this.inflight]);
    }
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      // One submission at a time, in order: a later batch (or a want) must never reach
      // the coordinator before the batch that creates its keys. A lone task needs nothing
      // of earlier batches, so it does not wait for their answers: a sequential caller's
      // next task leaves as soon as the last result is in (with direct submission, the
      // answer to its submission may come after the result).
      // Every submission not answered yet is in `inflight`.
      const earlier = this.needsNothingEarlier() || this.inflight.size === 0 ? undefined : Promise.all(this.inflight);
      const p = (earlier === undefined ? this.flush() : earlier.then(() => this.flush())).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    });
  }

  /** Whether what is queued is one task with no inputs, wanting nothing but itself. */
  private needsNothingEarlier(): boolean {
    if (this.batch.length !== 1 || this.held.length > 0 || this.missing.length > 0 || this.open !== undefined) return false;
    const task = this.batch[0]!;
    if (task.spec.deps.length > 0) return false;
    return this.wants.onlyKey(task.state.key);
  }

  private takeReady(): QueuedTask[] {
    const candidates = this.held.length === 0 ? this.batch : [...this.held, ...this.batch];
    this.held = [];
    this.batch = [];
    // Keys of this batch's ready tasks, for their dependents in it: a key released since it
    // was queued is no longer among the client's keys (isSubmitted), yet it is being sent.
    // Not kept when no task here has inputs (a map over a list): a set of 100,000 keys was
    // about 5% of the client's main thread in a throughput run (100k no-ops, CPU profile).
    const sending = candidates.some((task) => task.spec.deps.length > 0) ? new Set<string>() : undefined;
    const ready: QueuedTask[] = [];
    // Repeat until stable: a task is ready when each dep is submitted or ready in this batch.
    let progress = true;
    let rest = candidates;
    while (progress) {
      progress = false;
      const next: QueuedTask[] = [];
      for (const task of rest) {
        if (sending === undefined || this.depsSent(task.spec.deps, sending)) {
          ready.push(task);
          sending?.add(task.state.key);
          task.state.submitted = true;
          progress = true;
        } else {
          next.push(task);
        }
      }
      rest = next;
    }
    this.held = rest;
    return ready;
  }

  private depsSent(deps: string[], sending: Set<string>): boolean {
    for (const d of deps) if (!sending.has(d) && !this.options.isSubmitted(d)) return false;
    return true;
  }

  private async flush(): Promise<void> {
    const open = this.open;
    this.open = undefined;
    this.earlyOff = false;
    const ready = this.takeReady();
    // Wants for keys still held go out with those keys, never before them. A key released
    // since it was queued is still sent wanted (its release follows this batch): an actor
    // created and released at once must still run the calls made on it meanwhile.
    const wants = this.wants.take();
    if (ready.length === 0 && wants.length === 0 && open === undefined) return;
    const missing = this.missing;
    this.missing = [];
    try {
      await this.send(ready, wants, missing, open);
    } finally {
      for (const task of ready) this.unpin(task);
      if (open !== undefined) for (const task of open.tasks) this.unpin(task);
    }
  }

  /** `open`: the stream that the tasks sent early went in, which these join. */
  private async send(ready: QueuedTask[], allWants: string[], missing: MissingResult[], open?: { stream: PieceStream; tasks: QueuedTask[] }): Promise<void> {
    // A task that cannot be resolved (module or export missing) fails alone, with the tasks
    // of this batch that depend on it; the rest of the batch still goes out.
    const later = resolveKnown(ready);
    const unresolved = later === undefined ? undefined : await resolveLater(ready, later);
    let failed: Map<string, unknown> | undefined;
    const tasks: TaskSpec[] = [];
    const sent: QueuedTask[] = [];
    for (let i = 0; i < ready.length; i++) {
      const task = ready[i]!;
      const depFailed = failed === undefined ? undefined : task.spec.deps.find((d) => failed!.has(d));
      const own = unresolved?.get(i);
      if (own === undefined && depFailed === undefined) {
        tasks.push(task.spec as TaskSpec);
        sent.push(task);
        continue;
      }
      const error: unknown = own !== undefined ? own.error : failed!.get(depFailed!);
      (failed ??= new Map()).set(task.state.key, error);
      failAll([task], error);
    }
    const wants = failed === undefined ? allWants : allWants.filter((k) => !failed.has(k));
    if (failed !== undefined) {
      const first = failed.values().next().value;
      this.dropHeldDependingOn(new Set(failed.keys()), isFloeError(first) ? first : new FloeError('INTERNAL', String(first)));
    }
    if (tasks.length === 0 && wants.length === 0 && open === undefined) return;
    const { clientId, transport, timeoutMs } = this.options;
    // The submit span is the parent of the coordinator's spans for these tasks: its
    // traceparent rides in each TaskSpec (see telemetry/trace.ts).
    let span: Span | undefined;
    if (tracingEnabled() && tasks.length > 0) {
      span = startSpan('submit', { [ATTR.client]: clientId, [ATTR.tasks]: tasks.length }, undefined, { kind: SpanKind.PRODUCER });
      const traceParent = traceparentOf(span);
      for (const t of tasks) t.traceParent = traceParent;
    }
    try {
      const max = transport.maxPayloadBytes;
      // Streamed: the stream the tasks sent early went in, or a new one for a big batch.
      const stream = open?.stream ?? (tasks.length >= STREAM_TASKS_MIN ? new PieceStream(this.streamIo()) : undefined);
      if (stream !== undefined) {
        await stream.finish(stream.cut(tasks), wants, missing);
      } else {
        const msg = max !== undefined && tasks.length > 1 && argsOver(tasks, max) ? undefined : this.submitMessage(tasks, wants, missing);
        const whole = msg === undefined ? undefined : encodeMessage(msg);
        // Traced submissions go the coordinator's way: its spans are the trace's middle.
        const direct = span === undefined && sent.length === 1 && msg !== undefined ? this.options.direct?.routeFor(msg, sent[0]!.state) : undefined;
        if (whole !== undefined && (max === undefined || whole.byteLength <= max)) await this.request(whole, timeoutMs, direct);
        else await new PieceStream(this.streamIo()).finish([tasks], wants, missing); // cut there by size
      }
    } catch (error) {
      if (span !== undefined) recordFailure(span, toErrorInfo(error, 'INTERNAL'));
      failAll(sent, error);
      if (open !== undefined) failAll(open.tasks, error);
      const wantedStates = wants.map((k) => this.options.lookup(k)).filter((s) => s !== undefined);
      failAll(wantedStates.map((state) => ({ state }) as QueuedTask), error);
    } finally {
      span?.end();
    }
  }

  private streamIo(): StreamIo {
    const { transport, timeoutMs } = this.options;
    return {
      encode: (tasks, wants, missing) => this.encodeSubmit(tasks, wants, missing),
      request: (payload) => this.request(payload, timeoutMs),
      release: (keys) => this.options.releaseKeys(keys),
      maxBytes: transport.maxPayloadBytes,
    };
  }

  private encodeSubmit(tasks: TaskSpec[], wants: string[], missing: MissingResult[]): Uint8Array {
    return encodeMessage(this.submitMessage(tasks, wants, missing));
  }

  /** A submission of this client (with the next request id); Client.put sends one of its own. */
  submitMessage(tasks: TaskSpec[], wants: string[], missing: MissingResult[]): WireOf<'submit'> {
    this.requestSeq += 1;
    const requestId = String(this.requestSeq);
    const progress = this.options.wantsProgress();
    const { clientId } = this.options;
    const named = this.options.incarnation?.known;
    return {
      type: 'submit', clientId, requestId, tasks, wants, missing, ...(progress ? { progress } : {}),
      ...(named === undefined ? {} : { coordinatorIncarnation: named }),
    };
  }

  /** `direct`: a worker's way, tried first (client/direct.ts). */
  private async request(payload: Uint8Array, timeoutMs: number, direct?: DirectRoute): Promise<void> {
    const { transport, subject } = this.options;
    let accepted = false;
    try {
      checkSubmitAnswer(await requestWithRetry(transport, subject, payload, timeoutMs, direct), this.options.incarnation);
      accepted = true;
    } finally {
      direct?.answered(accepted);
    }
  }
}

function failAll(tasks: QueuedTask[], error: unknown): void {
  const floeError = asFloeError(error);
  for (const task of tasks) task.state.fail(floeError);
}
