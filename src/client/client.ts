/**
 * The Client: submit tasks, map, gather, run flows, cancel; turning task calls into
 * queued tasks is in submission-builder.ts, reading results in results.ts. The same class
 * talks to an embedded cluster (`Client.local()`) or a NATS cluster; it only sees a
 * Transport and a DataPlane.
 */
import { randomUUID } from 'node:crypto';
import { FloeError, fromErrorInfo } from '../errors.ts';
import type { DataPlane, FetchedObject } from '../dataplane/dataplane.ts';
import type { TaskOptions } from '../graph/options.ts';
import { subjects, type KeyUpdate } from '../transport/messages.ts';
import type { Transport } from '../transport/transport.ts';
import type { Args, TaskDef, Tail } from './task.ts';
import { isFuture, type Future, type KeyState, type FutureOwner, type Resolved } from './future.ts';
import { Submitter, type QueuedTask } from './submitter.ts';
import { SubmissionBuilder } from './submission-builder.ts';
import { runFlow, type FlowDef } from './flow.ts';
import type { LocalOptions } from './local.ts';
import type { ConnectOptions } from './connect.ts';
import { ProgressHub, type ProgressListener } from './progress.ts';
import { DirectTarget } from './direct.ts';
import { Results } from './results.ts';
import { Gathering } from './gather.ts';
import { withTimeout, type WaitOptions } from './wait-timeout.ts';
import { CoordinatorLink, heartbeatInterval } from './coordinator-link.ts';
import { CoordinatorIncarnation } from './incarnation.ts';
import { requestClusterStatus, requestWhoHas, type ClusterStatus } from './cluster-status.ts';
import { createActor, type ActorHandle } from './actor.ts';
import { Putter, type PutOptions } from './put.ts';
import { putMany } from './put-many.ts';
import { replicate, type ReplicateOptions } from './replicate.ts';
import type { ActorClassDef, ActorConstructor } from './actor-def.ts';
import { ChurnMap } from '../util/churn-map.ts';

export interface ClientConnection {
  transport: Transport;
  dataPlane: DataPlane;
  cluster: string;
  /** How long to wait for the coordinator to accept a graph. Default 30 s. */
  submitTimeoutMs?: number;
  /** Lone tasks straight to a worker (ConnectOptions.directSubmit, client/direct.ts). Default true. */
  directSubmit?: boolean;
  /** How often an idle client says it is alive (the coordinator drops one silent past its client timeout, 60 s by default). 0: never. Default 2 s. */
  heartbeatIntervalMs?: number;
  /** Called on close (e.g. to stop an embedded cluster). */
  onClose?: () => Promise<void>;
}

function droppedError(): FloeError {
  return new FloeError(
    'CLIENT_DROPPED',
    'the coordinator dropped this client (it heard nothing from it for longer than its client timeout, or it restarted): its tasks and results are gone; connect a new client',
  );
}

export class Client implements FutureOwner {
  readonly clientId = `c${randomUUID().slice(0, 8)}`;
  private readonly keys = new ChurnMap<string, KeyState>();
  private readonly submitter: Submitter;
  /** Turns task calls and maps into queued tasks (client/submission-builder.ts). */
  private readonly builder: SubmissionBuilder;
  private readonly subjects: ReturnType<typeof subjects>;
  private readonly control: CoordinatorLink;
  private releases = new Set<string>();
  private releaseQueued = false;
  private closed = false;
  /** Set when the coordinator dropped this client: it takes no more work (CLIENT_DROPPED). */
  private dropped = false;
  /** @internal Progress listeners and the flow runs tracked for them (flow.ts uses it). */
  readonly progress = new ProgressHub();
  private readonly results: Results;
  /** Where lone tasks go directly (client/direct.ts). */
  private readonly direct: DirectTarget;
  /** The coordinator incarnation this client works with: another one means it was dropped (client/incarnation.ts). */
  private readonly incarnation = new CoordinatorIncarnation(() => this.onDropped());
  /** Puts values on workers (client/put.ts). */
  private readonly putter: Putter;

  constructor(private readonly conn: ClientConnection) {
    const heartbeatIntervalMs = heartbeatInterval(conn.heartbeatIntervalMs);
    this.subjects = subjects(conn.cluster);
    const dataPlane = conn.dataPlane;
    this.direct = new DirectTarget({
      enabled: conn.directSubmit ?? true,
      subjectOf: (workerId) => this.subjects.direct(workerId),
      ...(dataPlane.openDirect === undefined ? {} : { open: dataPlane.openDirect.bind(dataPlane) }),
      onUpdates: (wire) => this.onUpdates(wire.updates),
      askAgain: (state) => this.submitter.askAgain(state),
    });
    this.submitter = new Submitter({
      transport: conn.transport,
      subject: this.subjects.submit,
      clientId: this.clientId,
      timeoutMs: conn.submitTimeoutMs ?? 30_000,
      isSubmitted: (key) => this.keys.get(key)?.submitted ?? false,
      lookup: (key) => this.keys.get(key),
      unpin: (states) => {
        for (const state of states) this.releaseRef(state);
      },
      releaseKeys: (keys) => this.sendReleases(keys),
      wantsProgress: () => this.progress.listening,
      direct: this.direct,
      incarnation: this.incarnation,
    });
    this.builder = new SubmissionBuilder({
      owner: this,
      keys: this.keys,
      submitter: this.submitter,
      checkOpen: () => this.checkOpen(),
      maxMessageBytes: () => conn.transport.maxPayloadBytes,
      // A task outside a flow that takes a future of the flow being built: that flow's graph goes out now.
      flushFlows: (keys) => {
        if (this.flowFlushers.size === 0) return;
        for (const flush of this.flowFlushers) for (const key of keys) flush(key);
      },
    });
    this.putter = new Putter({
      transport: conn.transport,
      dataPlane,
      submitter: this.submitter,
      incarnation: this.incarnation,
      submitTimeoutMs: conn.submitTimeoutMs ?? 30_000,
      directSubject: (workerId) => this.subjects.direct(workerId),
      submitSubject: this.subjects.submit,
      status: () => this.status(),
      register: (name) => this.builder.register(name),
    });
    this.results = new Results({
      submitter: this.submitter,
      flowFlushers: this.flowFlushers,
      fetch: (address, key) => conn.dataPlane.fetch(address, `${this.clientId}/${key}`),
      closed: () => this.closed,
      dropped: () => (this.dropped ? droppedError() : undefined),
    });
    this.control = new CoordinatorLink({
      transport: conn.transport,
      cluster: conn.cluster,
      clientId: this.clientId,
      heartbeatIntervalMs,
      incarnation: this.incarnation,
      onUpdates: (wire) => {
        this.incarnation.heard(wire.incarnation);
        this.onUpdates(wire.updates);
        if (wire.progress !== undefined) this.progress.report(wire.progress);
        if (wire.dropped === true) this.onDropped();
      },
    });
  }

  /** An embedded cluster in this process (coordinator, worker, Piscina pool) and a client of it: the default, nothing to install. */
  static async local(options: LocalOptions = {}): Promise<Client> {
    const { startLocal } = await import('./local.ts');
    return startLocal(options);
  }

  /** A client of a running cluster (`floe local`, or `floe coordinator` + `floe worker`s): `Client.connect({ nats: URL })`. */
  static async connect(options: ConnectOptions): Promise<Client> {
    const { connectClient } = await import('./connect.ts');
    return connectClient(options);
  }

  /**
   * Listens to the progress of flows run on this client (`client.run`): a FlowProgress (done /
   * total, failed, running) as tasks start, finish or fail, and a last one with `ended: true`.
   * Only flows started while a listener is attached are tracked.
   */
  on(event: 'progress', listener: ProgressListener): this {
    if (event !== 'progress') throw new FloeError('INVALID_ARGUMENT', `client.on: unknown event ${JSON.stringify(event)}`);
    if (typeof listener !== 'function') throw new FloeError('INVALID_ARGUMENT', 'client.on: listener must be a function');
    this.progress.addListener(listener);
    return this;
  }

  off(event: 'progress', listener: ProgressListener): this {
    if (event !== 'progress') throw new FloeError('INVALID_ARGUMENT', `client.off: unknown event ${JSON.stringify(event)}`);
    this.progress.removeListener(listener);
    return this;
  }

  /** Runs a flow: builds its graph, submits it as one, and resolves its returned futures. */
  run<P extends unknown[], R>(def: FlowDef<P, R>, ...params: P): Promise<Resolved<Awaited<R>>> {
    return runFlow(this, def, ...params);
  }

  /** Submits one task; arguments are values or futures (also inside arrays). Options are checked now (INVALID_OPTION). */
  submit<A extends unknown[], R>(def: TaskDef<A, R>, ...args: Args<A>): Future<Awaited<R>> {
    return this.builder.submit(def, {}, args, true) as Future<Awaited<R>>;
  }

  /** Like `submit`, with per-call options (e.g. a key, a priority). */
  submitWithOptions<A extends unknown[], R>(def: TaskDef<A, R>, options: TaskOptions, ...args: Args<A>): Future<Awaited<R>> {
    return this.builder.submit(def, options, args, true) as Future<Awaited<R>>;
  }

  /**
   * One task per item (its first argument; `rest`, if any, are its other arguments, the
   * same for every item, as `task.map` takes them in a flow); with a future of a list, the
   * fan-out happens once the list exists.
   */
  map<A extends unknown[], R>(def: TaskDef<A, R>, items: Future<readonly A[0][]>, ...rest: Args<Tail<A>>): Future<Awaited<R>[]>;
  map<A extends unknown[], R>(def: TaskDef<A, R>, items: readonly unknown[], ...rest: Args<Tail<A>>): Future<Awaited<R>>[];
  map(def: TaskDef<unknown[], unknown>, items: unknown, ...rest: unknown[]): unknown {
    return this.builder.map(def, items, rest, true);
  }

  /**
   * Places an actor (an instance of a class made with `actorClass()`) on a worker that has
   * the resources it asks for and returns its typed handle: `handle.method(...args)`
   * returns a future; calls run one at a time (or `concurrency` at once) in call order.
   */
  actor<C extends ActorConstructor>(def: ActorClassDef<C>, ...args: ConstructorParameters<C>): ActorHandle<InstanceType<C>> {
    this.checkOpen();
    return createActor(this, def, args);
  }

  /** Puts a value on a worker, resolving to its future (Dask's `scatter`, Ray's `put`); its bytes never pass the coordinator. See client/put.ts. */
  async put<T>(value: T, options?: PutOptions): Promise<Future<T>> {
    this.checkOpen();
    return (await this.putter.put(value, options)) as Future<T>;
  }

  /** Each value put, dealt to the workers in turn, a few uploads per worker (Dask's `scatter` of a list); all or nothing. See client/put-many.ts. */
  async putMany<T>(values: readonly T[], options?: PutOptions): Promise<Future<T>[]> {
    this.checkOpen();
    return (await putMany(this.putter, values, options)) as Future<T>[];
  }

  /** The coordinator's snapshot of the cluster: workers, tasks by state, clients (what `floe status` prints). */
  status(timeoutMs = 5000): Promise<ClusterStatus> {
    this.checkOpen();
    return requestClusterStatus(this.conn.transport, this.subjects.status, timeoutMs);
  }

  /** Results of many futures, in order; rejects with the first error, or WAIT_TIMEOUT after `timeoutMs` (the tasks go on). */
  async gather<T extends readonly Future<unknown>[]>(futures: T, options?: WaitOptions): Promise<Resolved<T>> {
    checkFutures('gather(futures)', futures);
    const gathering = new Gathering(this.results, futures, this).promise;
    const notIn = (): string => `${futures.filter((f) => f.status === 'pending').length} of ${futures.length} results did not come`;
    return (await (options === undefined ? gathering : withTimeout(gathering, options, notIn))) as Resolved<T>;
  }

  /** Cancels futures (a list, or one) of this client and everything depending on them. */
  async cancel(futures: readonly Future<unknown>[] | Future<unknown>): Promise<void> {
    const list = isFuture(futures) ? [futures] : futures;
    await this.cancelKeys(this.ownKeys('cancel', list));
  }

  /** Copies of the futures' results on `n` workers each (default: all), as Dask's `replicate`; resolves once they are there. */
  async replicate(futures: readonly Future<unknown>[], options?: ReplicateOptions): Promise<void> {
    this.checkOpen();
    this.ownKeys('replicate', futures);
    await replicate({ transport: this.conn.transport, statusSubject: this.subjects.status, clientId: this.clientId }, futures, options);
  }

  /** Which workers hold each future's result, by worker id (Dask's `who_has`); none for one not made yet, released or lost. */
  async whoHas(futures: readonly Future<unknown>[], timeoutMs = 5000): Promise<Map<string, string[]>> {
    this.checkOpen();
    return requestWhoHas(this.conn.transport, this.subjects.status, this.clientId, this.ownKeys('whoHas', futures), timeoutMs);
  }

  /** The keys of futures of this client: another client's future would name a task of this one by its key. */
  private ownKeys(call: string, futures: readonly Future<unknown>[]): string[] {
    checkFutures(`${call}(futures)`, futures);
    const foreign = futures.find((f) => f.owner !== this);
    if (foreign !== undefined) throw new FloeError('FOREIGN_FUTURE', `${call}: future ${foreign.key} belongs to client ${foreign.owner.clientId}, not ${this.clientId}`);
    return futures.map((f) => f.key);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.submitter.drain();
    await this.control.close();
    this.direct.close();
    const closedError = new FloeError('CLIENT_CLOSED', 'the client was closed');
    for (const state of [...this.keys.values()]) state.fail(closedError, 'cancelled');
    await this.conn.onClose?.();
  }

  // ---- internals used by futures and flows ---------------------------------------------

  /** @internal One task (see SubmissionBuilder.submit). */
  submitWith(...call: Parameters<SubmissionBuilder['submit']>): Future<unknown> {
    return this.builder.submit(...call);
  }

  /** @internal A map over a list or a future of one (see SubmissionBuilder.map). */
  mapWith(...call: Parameters<SubmissionBuilder['map']>): unknown {
    return this.builder.map(...call);
  }

  /** @internal Sends tasks a flow collected with `deferTo`, as one batch. */
  submitDeferred(tasks: QueuedTask[], wantAll = false): void {
    this.submitter.enqueueAll(tasks, wantAll);
  }

  /** @internal Flows being built: when a flow body awaits one of its own tasks, its graph so far goes out first (flow.ts). */
  readonly flowFlushers = new Set<(key: string) => void>();

  private checkOpen(): void {
    if (this.closed) throw new FloeError('CLIENT_CLOSED', 'the client is closed');
    if (this.dropped) throw droppedError();
  }

  /** The coordinator dropped this client and released its keys: every future still waiting fails. */
  private onDropped(): void {
    if (this.closed || this.dropped) return;
    this.dropped = true;
    this.control.leave();
    const error = droppedError();
    for (const state of [...this.keys.values()]) state.fail(error);
  }

  private onUpdates(updates: KeyUpdate[]): void {
    // A failure that reaches dependents is only seen here (those never ran).
    if (this.progress.tracking) this.progress.report(updates.map((u) => ({ key: u.key, kind: u.status === 'memory' ? 'done' : 'failed' })));
    for (const update of updates) {
      const state = this.keys.get(update.key);
      if (state === undefined) continue;
      this.direct.settled(state);
      if (update.status === 'memory') {
        this.direct.noteWorker(update.workerId, update.address);
        state.finish(update);
      }
      else if (update.error !== undefined) state.fail(fromErrorInfo(update.error), update.status === 'cancelled' ? 'cancelled' : 'error');
      else state.fail(new FloeError('INTERNAL', `key ${update.key} ${update.status} without an error`));
    }
  }

  /** @internal A key's result, deserialized (see results.ts). */
  resultOf(state: KeyState, flushFlows = true, keep?: object): Promise<unknown> {
    return this.results.resultOf(state, flushFlows, keep);
  }

  /** @internal A result as stored: its bytes and serializer (not deserialized). */
  resultObjectOf(state: KeyState, flushFlows = true): Promise<FetchedObject> {
    return this.results.resultObjectOf(state, flushFlows);
  }

  /** @internal */
  async cancelKeys(keys: string[]): Promise<void> {
    this.checkOpen();
    await this.submitter.drain();
    this.control.send([], keys);
  }

  /** @internal */
  retain(state: KeyState): void {
    state.refs += 1;
  }

  /** @internal */
  releaseRef(state: KeyState): void {
    state.refs -= 1;
    if (state.refs > 0 || this.closed) return;
    this.keys.delete(state.key);
    if (!state.wanted) return;
    this.releases.add(state.key);
    if (this.releaseQueued) return;
    this.releaseQueued = true;
    // Releases go out after pending submissions, so they never overtake the key they release.
    void this.submitter.drain().then(() => {
      this.releaseQueued = false;
      const release = [...this.releases];
      this.releases.clear();
      this.sendReleases(release);
    });
  }

  /** @internal */
  releaseKeyRef(key: string): void {
    const state = this.keys.get(key);
    if (state !== undefined) this.releaseRef(state);
  }

  /** @internal */
  prepareWait(state: KeyState): void {
    this.results.prepareWait(state, true);
  }

  private sendReleases(release: string[]): void {
    if (this.closed || this.dropped || release.length === 0) return;
    this.control.send(release, []);
  }
}

/** Throws INVALID_ARGUMENT unless `futures` is an array of futures, naming the call and what it got. */
function checkFutures(call: string, futures: unknown): asserts futures is readonly Future<unknown>[] {
  if (!Array.isArray(futures)) {
    const got = isFuture(futures) ? 'one future (use future.result(), or pass [future])' : futures === null ? 'null' : typeof futures;
    throw new FloeError('INVALID_ARGUMENT', `${call}: futures must be an array of futures (got ${got})`);
  }
  for (let i = 0; i < futures.length; i++) {
    const f: unknown = futures[i];
    if (!isFuture(f)) throw new FloeError('INVALID_ARGUMENT', `${call}: element ${i} is not a future (got ${f === null ? 'null' : typeof f})`);
  }
}
