/**
 * A worker node: the networked shell around WorkerState. It joins the cluster (registers,
 * sends heartbeats, retires, starts over when the coordinator asks), serves its results
 * to peers over the DataPlane, and turns WorkerBatch messages into events. The state
 * machine's commands (runs on the Executor, a Piscina pool; fetches of inputs; reports to
 * the coordinator, in batches) are carried out by worker/commands.ts.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { FloeError } from '../errors.ts';
import type { DataPlane } from '../dataplane/dataplane.ts';
import { decodeMessage } from '../transport/codec.ts';
import { subjects, workerEvents, type WireAssign, type WireMetrics, type WireMessage } from '../transport/messages.ts';
import type { Subscription, Transport, TransportMessage } from '../transport/transport.ts';
import { ReliableEndpoint } from '../transport/reliable.ts';
import { encodeWithin } from '../transport/split.ts';
import { oneWayMessage } from '../transport/reliable-message.ts';
import { silentLogger, type Logger } from '../util/logger.ts';
import type { Executor } from './executor.ts';
import { ActorHost } from './actor-host.ts';
import { ContextServer } from './context-server.ts';
import { memoryPolicyOf, shouldPause, type MemoryPolicy } from './memory.ts';
import { SpillDirectory } from './spill.ts';
import { ObjectStore } from './store.ts';
import { Reports } from './reports.ts';
import { ClientLinks } from './client-links.ts';
import { WorkerState, type WorkerEvent } from './state.ts';
import { WorkerCommands } from './commands.ts';
import { controlEvents } from './control-events.ts';
import { WorkerTracing } from './tracing.ts';
import { Runs } from './runs.ts';
import { DirectSubmissions } from './direct.ts';
import { WorkerPuts } from './puts.ts';
import { DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS } from './heartbeat.ts';
import { WorkerMetrics } from '../telemetry/metrics.ts';
import { DEFAULT_INLINE_BYTES_MAX, type WorkerCounters, type WorkerNodeOptions } from './node-options.ts';

export { DEFAULT_INLINE_BYTES_MAX, type WorkerCounters, type WorkerNodeOptions } from './node-options.ts';

export class WorkerNode {
  readonly workerId: string;
  readonly counters: WorkerCounters = { executed: 0, failed: 0, fetched: 0, fetchedBytes: 0, returned: 0 };
  readonly store: ObjectStore;
  /** Whether a result is held here (for tracing): made once, not per assignment (see worker/batching.ts Making). */
  private readonly isHeld = (id: string): boolean => this.store.has(id);
  private state: WorkerState;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** The coordinator is reached through a reliable link (NATS alone may drop messages). */
  private readonly link: ReliableEndpoint;
  private readonly transport: Transport;
  private readonly executor: Executor;
  private readonly dataPlane: DataPlane;
  private readonly subjects: ReturnType<typeof subjects>;
  private readonly inlineBytesMax: number;
  private readonly log: Logger;
  private sub: Subscription | undefined;
  /** Lone tasks clients send here directly (worker/direct.ts). */
  readonly direct: DirectSubmissions;
  /** Values clients put here (worker/puts.ts). */
  readonly puts: WorkerPuts;
  private address = '';
  /** Set while `retire()` waits for the coordinator's go-ahead. */
  private onRetired: (() => void) | undefined;
  /** Reports to the coordinator, sent as one WorkerEvents message per turn. */
  private readonly reports = new Reports({
    busy: () => this.state.executingCount > 0,
    send: (out) => this.sendEvents(out),
    tell: (updates) => this.clientLinks.send(updates),
  });
  /** Clients told of their results directly (WireAssign.tellClient). */
  private readonly clientLinks: ClientLinks;
  private stimulusSeq = 0;
  private epochNow = 1;
  private closed = false;
  /** Actor instances living on this worker, each in a thread of its own. */
  private readonly actors = new ActorHost();
  /** Subtasks and actor calls made by running tasks (their context). */
  private readonly context: ContextServer;
  private readonly memory: MemoryPolicy | undefined;
  private readonly tracing: WorkerTracing;
  private readonly telemetry: WorkerMetrics;
  /** Runs of tasks: executor calls, results into the store, outcomes back as events. */
  private readonly runs: Runs;
  /** Carries out the state machine's commands. */
  private readonly commands: WorkerCommands;

  constructor(private readonly options: WorkerNodeOptions) {
    this.workerId = options.workerId ?? `w-${randomUUID().slice(0, 8)}`;
    if (this.workerId.includes('.') || this.workerId.includes('/')) {
      throw new FloeError('INVALID_OPTION', `options.workerId must not contain '.' or '/' (got ${this.workerId})`);
    }
    this.transport = options.transport;
    this.executor = options.executor;
    this.dataPlane = options.dataPlane;
    this.subjects = subjects(options.cluster);
    // An inline result must leave room in a message for others (NATS max_payload may be small).
    const payloadMax = this.transport.maxPayloadBytes ?? Number.POSITIVE_INFINITY;
    this.inlineBytesMax = Math.min(options.inlineBytesMax ?? DEFAULT_INLINE_BYTES_MAX, Math.floor(payloadMax / 8));
    this.log = options.logger ?? silentLogger;
    this.tracing = new WorkerTracing(this.workerId);
    this.link = new ReliableEndpoint({
      transport: this.transport,
      ackSubject: this.subjects.ack(`worker.${this.workerId}`),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    this.clientLinks = new ClientLinks({
      link: this.link,
      inbox: (clientId) => this.subjects.clientInbox(clientId),
      maxPayloadBytes: () => this.transport.maxPayloadBytes,
      log: this.log,
    });
    // Memory limit and spilling (worker/memory.ts, store.ts, spilling.ts).
    this.memory = memoryPolicyOf(options);
    this.store = this.newStore(this.memory);
    this.state = this.newState();
    this.telemetry = new WorkerMetrics(this.workerId, {
      queueLength: () => this.state.taskCount - this.state.executingCount,
      memoryBytes: () => this.store.bytes,
      spilledBytes: () => this.store.spilledBytes,
    });
    this.context = new ContextServer({
      connection: () => ({ transport: this.transport, dataPlane: this.dataPlane, cluster: options.cluster }),
      onSlot: (id, runId, seceded) => {
        if (!this.closed) this.handle({ type: seceded ? 'seceded' : 'rejoined', stimulusId: this.nextStimulus(), id, runId });
      },
      logger: this.log,
    });
    this.runs = new Runs({
      executor: this.executor,
      actors: this.actors,
      store: this.store,
      context: this.context,
      tracing: this.tracing,
      telemetry: this.telemetry,
      counters: this.counters,
      log: this.log,
      closed: () => this.closed,
      executed: (event) => this.handle(event),
    });
    const direct = { transport: this.transport, submitSubject: this.subjects.submit, workerId: this.workerId, log: this.log };
    this.direct = new DirectSubmissions({ ...direct, epoch: () => this.epochNow, tryStart: (assign) => this.tryStartDirect(assign), report: () => this.sendEvents({}) });
    this.puts = new WorkerPuts({
      store: this.store,
      open: () => this.takesWork(),
      knows: (id) => this.state.knows(id),
      startedHere: (wire, replyTo, count) => this.direct.startedHere(wire, replyTo, count),
      stored: (id, runId, serializer, bytes, replica) =>
        this.handle({ type: 'put', stimulusId: this.nextStimulus(), id, runId, nbytes: bytes.byteLength, serializer, bytes, startedAtMs: Date.now(), replica }),
    });
    this.commands = this.newCommands();
  }

  private newCommands(): WorkerCommands {
    return new WorkerCommands({
      store: this.store,
      runs: this.runs,
      reports: this.reports,
      actors: this.actors,
      dataPlane: this.dataPlane,
      tracing: this.tracing,
      telemetry: this.telemetry,
      counters: this.counters,
      log: this.log,
      inlineBytesMax: this.inlineBytesMax,
      workerId: this.workerId,
      address: () => this.address,
      handle: (event) => this.handle(event),
      tellDirect: (clientId, update) => this.direct.tell(clientId, update),
    });
  }

  /** The results held here: without a memory limit, all in memory; with one, spilling to disk past its target. */
  private newStore(memory: MemoryPolicy | undefined): ObjectStore {
    if (memory === undefined) return new ObjectStore({});
    const { spillDir } = this.options;
    const spill = new SpillDirectory({ prefix: this.workerId, ...(spillDir === undefined ? {} : { parentDir: spillDir }) });
    return new ObjectStore({
      bytesMax: memory.limitBytes,
      targetBytes: memory.targetBytes,
      spill,
      onChange: () => this.onMemoryChanged(),
      onSpillError: (err, id) => this.log.error({ id, err }, 'could not spill a result to disk; it stays in memory'),
    });
  }

  private newState(): WorkerState {
    return new WorkerState({
      threads: this.options.executor.threads || availableParallelism(),
      transfersMax: this.options.transfersMax ?? 4,
    });
  }

  /** This incarnation: 1 at start, one more each time the coordinator had it start over. */
  get epoch(): number {
    return this.epochNow;
  }

  /** Current numbers, sent with every heartbeat (and shown by `floe status`). */
  metrics(): WireMetrics {
    return {
      executing: this.state.executingCount,
      tasks: this.state.taskCount,
      held: this.store.size,
      heldBytes: this.store.bytes,
      rssBytes: process.memoryUsage.rss(),
      executed: this.counters.executed,
      fetched: this.counters.fetched,
      fetchedBytes: this.counters.fetchedBytes,
    };
  }

  /** Serves the data plane, listens for work and registers with the coordinator. */
  async start(): Promise<void> {
    this.dataPlane.acceptDirect?.((stream) => this.direct.accept(stream));
    this.dataPlane.acceptPuts?.((put) => this.puts.accept(put));
    this.address = await this.dataPlane.serve(this.workerId, this.store);
    const subject = this.subjects.worker(this.workerId);
    this.sub = this.link.listen(subject, (data) => this.onMessage(oneWayMessage(subject, data)));
    this.register();
    this.direct.listen(this.subjects.direct(this.workerId));
    const every = this.heartbeatIntervalMs();
    if (every > 0) {
      this.heartbeatTimer = setInterval(() => this.sendEvents({ heartbeat: true, metrics: this.metrics() }), every);
      this.heartbeatTimer.unref();
    }
    await this.transport.flush();
  }

  private heartbeatIntervalMs(): number {
    return this.options.heartbeatIntervalMs ?? DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS;
  }

  private register(): void {
    this.sendEvents({
      register: {
        threads: this.executor.threads,
        resources: this.options.resources ?? {},
        address: this.address,
        name: this.options.name ?? this.workerId,
        heartbeatIntervalMs: this.heartbeatIntervalMs(),
      },
    });
  }

  /**
   * The coordinator does not count on anything this worker has (it was declared lost, or
   * the coordinator is new): drop all runs and results and join again as a new worker.
   */
  private reset(): void {
    this.epochNow++;
    this.log.warn({ workerId: this.workerId, epoch: this.epochNow }, 'coordinator asked this worker to register again: starting over');
    this.runs.abortAll();
    this.tracing.clear();
    this.reports.clear();
    for (const id of [...this.store.keys()]) this.store.delete(id);
    this.actors.reset();
    this.context.reset();
    this.state = this.newState();
    this.register();
  }

  /**
   * Leaves the cluster without losing anything (like Dask's retire_workers): the
   * coordinator moves this worker's queued tasks and needed results elsewhere, then
   * says `retired`. Resolves true when it did, false after `timeoutMs`. Call close() after.
   */
  async retire(timeoutMs = 30_000): Promise<boolean> {
    if (this.closed) return false;
    const retired = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.onRetired = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    this.sendEvents({ retiring: true });
    const ok = await retired;
    this.onRetired = undefined;
    if (ok) this.retired = true;
    return ok;
  }

  /** Retired: the coordinator no longer counts on it, so close() needs no goodbye. */
  private retired = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    this.sub?.unsubscribe();
    this.direct.close(); // what clients sent here still reaches the coordinator
    this.runs.abortAll();
    this.reports.flush();
    if (!this.retired) this.sendEvents({ goodbye: true });
    await this.link.flush(1000);
    this.link.close();
    await this.actors.close();
    await this.context.close();
    await this.transport.flush();
    await this.executor.close();
    await this.dataPlane.close();
    await this.store.close(); // removes the spill directory
  }

  /** Pauses or resumes taking new work as held bytes cross the pause threshold. */
  private onMemoryChanged(): void {
    if (this.memory === undefined || this.closed) return;
    const paused = shouldPause(this.memory, this.store.bytes);
    if (paused === this.state.isPaused) return;
    this.log.info({ workerId: this.workerId, heldBytes: this.store.bytes, pauseBytes: this.memory.pauseBytes, paused }, paused ? 'memory: paused' : 'memory: resumed');
    this.handle({ type: 'paused', stimulusId: this.nextStimulus(), paused });
  }

  private onMessage(msg: TransportMessage): void {
    if (this.closed) return;
    let wire: WireMessage;
    try {
      wire = decodeMessage(msg.data);
    } catch (error) {
      this.log.warn({ subject: msg.subject, err: error }, 'rejected malformed control message');
      return;
    }
    if (wire.type !== 'workerBatch') {
      this.log.warn({ subject: msg.subject, type: wire.type }, 'worker ignores unexpected message type');
      return;
    }
    if (wire.reregister) {
      if (wire.epoch === this.epochNow) {
        // Whatever else the batch holds was for this incarnation, which the coordinator wrote off.
        this.reset();
        return;
      }
      // Stale messages of one incarnation can bring several requests to start over; the
      // first one did it. Starting over again would lose the work given to the new one,
      // which may be in this very batch.
      this.log.info({ workerId: this.workerId, epoch: this.epochNow, asked: wire.epoch }, 'ignored a request to start over: already done');
    }
    for (const a of wire.assign) this.tracing.assigned(a, this.isHeld);
    for (const event of controlEvents(wire, this.nextStimulus())) this.handle(event);
    for (const clientId of wire.clientsGone) {
      this.reports.dropClient(clientId);
      this.clientLinks.left(clientId);
      this.direct.left(clientId);
    }
    if (wire.retired) this.onRetired?.();
  }

  /**
   * Starts a lone task a client sent here directly, if it starts at once (worker/direct.ts):
   * never while retiring (the coordinator moves work away) or closing.
   */
  private tryStartDirect(assign: WireAssign): boolean {
    if (!this.takesWork()) return false;
    if (!this.state.startsAtOnce(assign.id) || this.store.has(assign.id)) return false;
    this.tracing.assigned(assign, this.isHeld);
    this.handle({ type: 'assigned', stimulusId: this.nextStimulus(), tasks: [assign] });
    return true;
  }

  /** Whether work may start here that the coordinator did not assign (direct runs, puts): not while retiring or closing. */
  private takesWork(): boolean {
    return !this.closed && !this.retired && this.onRetired === undefined;
  }

  private handle(event: WorkerEvent): void {
    for (const command of this.state.handle(event)) this.commands.dispatch(command);
  }

  private nextStimulus(): string {
    return `${this.workerId}-${++this.stimulusSeq}`;
  }

  /** Sends the coordinator a workerEvents message from this incarnation. */
  private sendEvents(fields: Parameters<typeof workerEvents>[2]): void {
    // Submissions passed on from clients go in it, handled first: the coordinator must know
    // a direct run's task before it hears of the run (worker/direct.ts).
    const msg = workerEvents(this.workerId, this.epochNow, { ...fields, relayed: this.direct.takeHeld() });
    for (const piece of encodeWithin(msg, this.transport.maxPayloadBytes)) this.link.send(this.subjects.events, piece);
  }
}
