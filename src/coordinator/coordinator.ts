/**
 * The coordinator process around the pure scheduler: wire messages in -> scheduler
 * events; scheduler commands -> wire messages out, batched per destination and sent
 * once per event-loop turn. It owns the only timer the scheduler needs (wakeAt). What
 * concerns clients as such is in client-side.ts, workers as such in worker-side.ts.
 */
import { randomBytes } from 'node:crypto';
import { FloeError, assertNever, toErrorInfo } from '../errors.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import type { SchedulerCommand, SchedulerConfig, SchedulerEvent } from '../scheduler/types.ts';
import { decodeMessage, encodeMessage } from '../transport/codec.ts';
import { subjects, type WireMessage, type WireClusterStatus } from '../transport/messages.ts';
import type { Subscription, Transport, TransportMessage } from '../transport/transport.ts';
import { ReliableEndpoint } from '../transport/reliable.ts';
import { oneWayMessage, passedOnRequest } from '../transport/reliable-message.ts';
import type { Clock } from '../util/clock.ts';
import { systemClock, TIMER_MAX_MS } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { Outbox } from './outbox.ts';
import { clusterStatus, whoHasReply, wireAssign, wireKeyUpdate } from './translate.ts';
import { WorkerRegistry } from './worker-registry.ts';
import { ClientSide } from './client-side.ts';
import { WorkerSide } from './worker-side.ts';
import { Probes, probedClients, probedWorkers } from './probes.ts';
import { Liveness } from './liveness.ts';
import { silentLogger } from '../util/logger.ts';
import { TurnBatcher } from '../util/turn-batcher.ts';
import { CoordinatorTracing } from './tracing.ts';
import { ProgressReporter } from './progress.ts';
import { CoordinatorMetrics } from '../telemetry/metrics.ts';
import { ChurnMap } from '../util/churn-map.ts';

export interface CoordinatorOptions {
  transport: Transport;
  cluster: string;
  scheduler?: Partial<SchedulerConfig>;
  clock?: Clock;
  logger?: Logger;
  /**
   * A worker silent for longer than this is lost: its running tasks are rescheduled and
   * results only it held are recomputed when needed. 0 disables the check. Default 15 s.
   */
  heartbeatTimeoutMs?: number;
  /**
   * A client silent for longer than this is dropped: its keys are released as if it had
   * closed, and if it comes back it is told so (its futures fail with CLIENT_DROPPED).
   * Clients send a heartbeat every 2 s by default. 0 disables the check. Default 60 s.
   */
  clientTimeoutMs?: number;
  /**
   * Probe workers and clients silent for one and a half heartbeat intervals, so that one
   * whose process is gone is lost or dropped within seconds, not after its timeout
   * (probes.ts). Workers are not probed with a heartbeat timeout of 0, clients not with a
   * client timeout of 0. Default true.
   */
  probes?: boolean;
  /** This coordinator's incarnation (see client-registry.ts); random by default (tests set it). */
  incarnation?: string;
}

export class Coordinator {
  readonly scheduler: Scheduler;
  /** Named in what it sends clients, so that the clients of a coordinator before it know they were dropped. */
  readonly incarnation: string;
  private readonly transport: Transport;
  /** Workers and clients are reached through reliable links (NATS alone may drop messages). */
  private readonly link: ReliableEndpoint;
  private readonly subjects: ReturnType<typeof subjects>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly subs: Subscription[] = [];
  private readonly pendingSubmits = new ChurnMap<string, TransportMessage>();
  private readonly workers = new WorkerRegistry();
  private readonly addressOf = (workerId: string): string => this.workers.address(workerId);
  private readonly clients: ClientSide;
  private readonly workerSide: WorkerSide;
  private readonly liveness: Liveness;
  /** Workers silent for a little while, or that a peer could not reach, are probed (none: probes off). */
  private readonly workerProbes: Probes | undefined;
  private readonly outbox: Outbox;
  /** Task progress for clients that asked for it (submit with `progress`). */
  private readonly progress = new ProgressReporter();
  private readonly batcher = new TurnBatcher(() => this.flush());
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAtMs = Infinity;
  private stimulusSeq = 0;
  private closed = false;
  private readonly tracing = new CoordinatorTracing();
  private readonly metrics: CoordinatorMetrics;

  constructor(options: CoordinatorOptions) {
    this.transport = options.transport;
    this.subjects = subjects(options.cluster);
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    this.scheduler = new Scheduler(options.scheduler);
    if (options.incarnation !== undefined && (typeof options.incarnation !== 'string' || options.incarnation === '')) {
      throw new FloeError('INVALID_OPTION', 'options.incarnation must be a non-empty string (empty names none on the wire)');
    }
    this.incarnation = options.incarnation ?? randomBytes(9).toString('base64url');
    this.link = new ReliableEndpoint({
      transport: this.transport,
      ackSubject: this.subjects.ack('coordinator'),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    this.outbox = new Outbox({
      link: this.link,
      workerSubject: (workerId) => this.subjects.worker(workerId),
      clientSubject: (clientId) => this.subjects.clientInbox(clientId),
      maxPayloadBytes: () => this.transport.maxPayloadBytes,
      incarnation: this.incarnation,
    });
    this.metrics = new CoordinatorMetrics({
      counts: () => this.scheduler.counts,
      workersConnected: () => this.scheduler.workerInfo().length,
    });
    this.clients = new ClientSide({
      incarnation: this.incarnation,
      outbox: this.outbox,
      progress: this.progress,
      tracing: this.tracing,
      log: this.log,
      workerIds: () => this.workers.ids(),
      inbox: (clientId) => this.subjects.clientInbox(clientId),
      forgetLater: (subject) => this.forgetLater(subject),
      handle: (...events) => this.handle(...events),
      nextStimulus: (kind) => this.nextStimulus(kind),
    });
    this.workerSide = new WorkerSide({
      scheduler: this.scheduler,
      workers: this.workers,
      outbox: this.outbox,
      progress: this.progress,
      metrics: this.metrics,
      log: this.log,
      workerSubject: (workerId) => this.subjects.worker(workerId),
      // Answered to the client like a request to the submit subject; unanswered, the client asks again.
      relayed: (replyTo, submit) => {
        const failed = (err: unknown): void => this.log.warn({ err, replyTo }, 'could not answer a submission passed on by a worker');
        this.onMessage(passedOnRequest(this.transport, this.subjects.submit, submit, replyTo, failed), 'submit');
      },
      forgetLater: (subject) => this.forgetLater(subject),
      suspect: (workerId) => this.workerProbes?.suspect(workerId),
      handle: (...events) => this.handle(...events),
      nextStimulus: (kind) => this.nextStimulus(kind),
    });
    const probing = options.probes !== false;
    const common = { transport: this.transport, clock: this.clock, log: this.log };
    const lost = (workerId: string, epoch: number, nowMs: number): void => this.workerSide.lost([{ workerId, epoch }], nowMs);
    const dropped = (clientId: string, nowMs: number): void => this.clients.drop(clientId, nowMs, 'client-gone');
    this.workerProbes = probing ? new Probes(common, probedWorkers(this.workers, (id) => this.subjects.worker(id), lost)) : undefined;
    const clientProbes = probing ? new Probes(common, probedClients(this.clients.registry, (id) => this.subjects.clientInbox(id), dropped)) : undefined;
    this.liveness = new Liveness({
      clock: this.clock,
      log: this.log,
      workers: this.workers,
      clients: this.clients.registry,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      clientTimeoutMs: options.clientTimeoutMs,
      ...(this.workerProbes === undefined ? {} : { workerProbes: this.workerProbes }),
      ...(clientProbes === undefined ? {} : { clientProbes }),
      workersLost: (lost, nowMs) => this.workerSide.lost(lost, nowMs),
      clientDropped: (clientId, nowMs) => this.clients.drop(clientId, nowMs),
    });
  }

  start(): void {
    this.transport.onReconnect?.(() => this.liveness.reconnected());
    this.subs.push(
      this.transport.subscribe(this.subjects.submit, (m) => this.onMessage(m)),
      this.link.listen(this.subjects.client, (data) => this.onMessage(oneWayMessage(this.subjects.client, data))),
      this.link.listen(this.subjects.events, (data) => this.onMessage(oneWayMessage(this.subjects.events, data))),
      this.transport.subscribe(this.subjects.status, (m) => this.onMessage(m)),
    );
    this.liveness.start();
  }

  /** Drops a departed peer's link once this turn's messages to it went out (see flush). */
  private forgetLater(subject: string): void {
    this.outbox.forget(subject);
    this.batcher.request();
  }

  /** A snapshot for `floe status`. */
  status(): WireClusterStatus {
    return clusterStatus(this.scheduler, this.workers, this.clients.registry.size, this.clock.now());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const sub of this.subs) sub.unsubscribe();
    clearTimeout(this.wakeTimer);
    this.liveness.stop();
    this.flush();
    await this.link.flush(1000);
    this.link.close();
    await this.transport.flush();
  }

  /** Feeds events to the scheduler and dispatches what it decides. */
  handle(...events: SchedulerEvent[]): void {
    const commands = this.scheduler.handle(...events);
    for (const command of commands) this.dispatch(command);
    this.batcher.request();
  }

  private nextStimulus(kind: string): string {
    this.stimulusSeq += 1;
    return `${kind}-${this.stimulusSeq}`;
  }

  /** `only`: the one type of message `msg` may be (else it is malformed). */
  private onMessage(msg: TransportMessage, only?: WireMessage['type']): void {
    if (this.closed) return;
    let wire: WireMessage;
    try {
      wire = decodeMessage(msg.data);
      if (only !== undefined && wire.type !== only) throw new FloeError('MALFORMED_MESSAGE', `expected ${only}, not ${wire.type}`);
    } catch (error) {
      this.log.warn({ subject: msg.subject, err: error }, 'rejected malformed control message');
      if (msg.expectsReply) msg.respond(encodeMessage({ type: 'error', error: toErrorInfo(error, 'MALFORMED_MESSAGE') }));
      return;
    }
    try {
      this.onWire(wire, msg);
    } catch (error) {
      this.log.error({ subject: msg.subject, err: error }, 'failed to handle control message');
      if (msg.expectsReply) msg.respond(encodeMessage({ type: 'error', error: toErrorInfo(error, 'INTERNAL') }));
    }
  }

  private onWire(wire: WireMessage, msg: TransportMessage): void {
    const nowMs = this.clock.now();
    switch (wire.type) {
      case 'submit': {
        if (!msg.expectsReply) throw new FloeError('MALFORMED_MESSAGE', 'submit must be a request');
        if (!this.clients.admits(wire, msg, nowMs)) return;
        const requestId = `${wire.clientId}:${wire.requestId}`;
        this.pendingSubmits.set(requestId, msg);
        if (wire.progress === true) this.progress.listen(wire.clientId);
        const { clientId, tasks, wants, missing, direct } = wire;
        // The client could not fetch these from their holders: one may be gone.
        for (const m of missing ?? []) this.workerProbes?.suspect(m.workerId);
        const span = this.tracing.submitted(clientId, tasks, nowMs);
        // Passed on by a worker that may have started the task already (client/direct.ts):
        // only its registered incarnation's run counts.
        const started = direct !== undefined && direct.runId !== 0 && this.workers.seen(direct.workerId, direct.epoch, nowMs) === 'current';
        const startedOn = started ? { workerId: direct.workerId, runId: direct.runId } : undefined;
        this.handle({
          type: 'graphSubmitted', stimulusId: this.nextStimulus('submit'), nowMs, clientId, requestId, tasks, wants, missing,
          ...(startedOn === undefined ? {} : { startedOn }),
        });
        span?.end();
        return;
      }
      case 'clientBatch':
        this.clients.onBatch(wire, nowMs);
        return;
      case 'workerEvents':
        this.workerSide.onEvents(wire, nowMs);
        return;
      case 'statusRequest':
        if (msg.expectsReply) msg.respond(encodeMessage({ type: 'clusterStatus', ...this.status() }));
        return;
      case 'whoHasRequest':
        if (msg.expectsReply) msg.respond(encodeMessage(whoHasReply(this.scheduler, wire)));
        return;
      case 'replicateRequest': {
        const { clientId, keys, n } = wire;
        this.handle({ type: 'replicateRequested', stimulusId: this.nextStimulus('replicate'), nowMs, clientId, keys, n });
        if (msg.expectsReply) msg.respond(encodeMessage({ type: 'replicateReply', keys: this.scheduler.replicaTargets(clientId, keys, n) }));
        return;
      }
      case 'clusterStatus':
      case 'whoHasReply':
      case 'replicateReply':
      case 'submitReply':
      case 'clientUpdates':
      case 'workerBatch':
      case 'error':
        throw new FloeError('MALFORMED_MESSAGE', `coordinator does not accept ${wire.type} messages on ${msg.subject}`);
    }
  }

  private dispatch(command: SchedulerCommand): void {
    switch (command.type) {
      case 'submitReply': {
        const msg = this.pendingSubmits.get(command.requestId);
        this.pendingSubmits.delete(command.requestId);
        const requestId = command.requestId.slice(command.clientId.length + 1);
        msg?.respond(encodeMessage({ type: 'submitReply', requestId, error: command.error, incarnation: this.incarnation }));
        return;
      }
      case 'assign': {
        // Untraced (most tasks): '' without reading the clock, a call per task.
        const { traceParent: traced = '' } = command.spec;
        const traceParent = traced === '' ? '' : this.tracing.assigned(command.id, command.spec, command.workerId, command.attempt, this.clock.now());
        this.outbox.worker(command.workerId).assign.push(wireAssign(command, traceParent, this.addressOf));
        if (this.progress.active) this.progress.report(command.id, 'running');
        return;
      }
      case 'cancelRun':
        this.outbox.worker(command.workerId).cancel.push({ id: command.id, runId: command.runId });
        return;
      case 'releaseData':
        this.outbox.worker(command.workerId).release.push(command.id);
        return;
      case 'notifyClient':
        if (!command.byWorker) this.outbox.client(command.clientId).push(wireKeyUpdate(command, this.workers.address(command.workerId)));
        return;
      case 'wakeAt':
        this.scheduleWake(command.atMs);
        return;
      case 'steal':
        this.outbox.worker(command.workerId).steal.push({ id: command.id, runId: command.runId });
        return;
      case 'replicate':
        this.outbox.worker(command.workerId).replicate.push({
          id: command.id,
          holders: command.holders.map((workerId) => ({ workerId, address: this.workers.address(workerId) })),
          nbytes: command.nbytes,
          serializer: command.serializer,
        });
        return;
      case 'retired':
        this.log.info({ workerId: command.workerId }, 'worker retired: its results live elsewhere');
        this.workerSide.retired(command.workerId);
        return;
      default:
        assertNever(command, 'scheduler command');
    }
  }

  private scheduleWake(atMs: number): void {
    if (atMs >= this.wakeAtMs || this.closed) return;
    clearTimeout(this.wakeTimer);
    this.wakeAtMs = atMs;
    this.wakeTimer = setTimeout(() => {
      this.wakeAtMs = Infinity;
      this.handle({ type: 'tick', stimulusId: this.nextStimulus('tick'), nowMs: this.clock.now() });
      // Past TIMER_MAX_MS it fires early: the scheduler, with nothing due, asks again.
    }, Math.min(TIMER_MAX_MS, Math.max(0, Math.ceil(atMs - this.clock.now()))));
  }

  /** Batching: everything decided during this turn goes out in one message per peer. */
  private flush(): void {
    this.outbox.send(this.progress.take());
  }
}
