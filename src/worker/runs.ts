/**
 * Runs of tasks on a worker: the I/O half of the state machine's `execute` and
 * `executeBatch` commands (worker/node.ts dispatches them here). Loads a run's inputs from
 * the store, runs it on the executor (or its actor's thread), stores its result and feeds
 * the outcome back as an `executed` event. Whatever happens becomes such an event, never a
 * rejection; a cancelled run ends silently (the state machine forgot it already).
 */
import { FloeError, toErrorInfo } from '../errors.ts';
import { ACTOR_CREATE, isActorSpec } from '../graph/spec.ts';
import type { ContextPort } from '../runtime/mux-port.ts';
import type { ThreadDep, ThreadRequest, ThreadResponse } from '../runtime/protocol.ts';
import { ownBytes } from '../serde/bytes.ts';
import type { WorkerMetrics } from '../telemetry/metrics.ts';
import { traceparentOf } from '../telemetry/trace.ts';
import type { WireAssign } from '../transport/messages.ts';
import type { Logger } from '../util/logger.ts';
import type { ActorHost } from './actor-host.ts';
import { actorOf } from './actor-queues.ts';
import { RunCancel } from './cancel.ts';
import type { ContextServer } from './context-server.ts';
import { RETURNED, type BatchRun, type CancelSignal, type Executor, type RunOptions } from './executor.ts';
import type { WorkerEvent } from './state.ts';
import type { RunRef } from './state-types.ts';
import type { ObjectStore } from './store.ts';
import type { WorkerTracing } from './tracing.ts';
import { keyOf } from '../graph/task-id.ts';
import { ChurnMap } from '../util/churn-map.ts';

export interface RunsDeps {
  executor: Executor;
  actors: ActorHost;
  store: ObjectStore;
  context: ContextServer;
  tracing: WorkerTracing;
  telemetry: WorkerMetrics;
  counters: { executed: number; returned: number };
  log: Logger;
  closed(): boolean;
  /** Feeds a run's outcome (or runs the pool gave back) to the worker's state machine. */
  executed(event: Extract<WorkerEvent, { type: 'executed' | 'returned' }>): void;
}

/**
 * A run started here, found by its task's id until it ends (`#active`). It is also the
 * run's cancel signal and its options for the executor: one object per run where there
 * were four (the run, its signal, its options and their context callback), each an
 * allocation per short task.
 */
class ActiveRun extends RunCancel implements RunOptions {
  readonly timeoutMs: number | undefined;

  constructor(
    readonly assign: WireAssign,
    private readonly contexts: ContextServer,
    /** Of a kind learned short: a pool watches it when it runs alone (RunOptions.short). */
    readonly short: boolean,
  ) {
    super();
    this.timeoutMs = assign.spec.timeoutMs > 0 ? assign.spec.timeoutMs : undefined;
  }

  get signal(): CancelSignal {
    return this;
  }

  context(port: ContextPort): void {
    this.contexts.attach(port, this.assign.id, this.assign.runId);
  }
}

/** A run's request to the executor (a BatchRun) and its trace span. */
interface PreparedRun {
  req: ThreadRequest;
  opts: RunOptions;
  span: ReturnType<WorkerTracing['startRun']>;
}

export class Runs {
  /**
   * The latest run of each task id started here, for abort(). A worker runs one run of a
   * task at a time: a newer run of it is assigned only after the older one was aborted, so
   * an older run still winding down is never looked up again (and must not unregister the
   * newer one: #ended).
   */
  readonly #active = new ChurnMap<string, ActiveRun>();
  /** Runs the pool gave back (RETURNED) since it last told of stragglers (#straggling). */
  #returned: RunRef[] = [];
  #stragglingSeq = 0;

  constructor(private readonly deps: RunsDeps) {
    deps.executor.onStraggling = (stragglers) => this.#straggling(stragglers);
  }

  /** The pool found stragglers, and gave back the runs queued behind them: one event for the state machine. */
  #straggling(stragglers: readonly BatchRun[]): void {
    const runs = this.#returned;
    this.#returned = [];
    if (this.deps.closed()) return;
    const late = stragglers.flatMap(({ opts }) => (opts instanceof ActiveRun ? [{ id: opts.assign.id, runId: opts.assign.runId }] : []));
    this.deps.executed({ type: 'returned', stimulusId: `straggling-${++this.#stragglingSeq}`, stragglers: late, runs });
  }

  /** Cancels a run (its `executed` event never comes). */
  abort(id: string, runId: number): void {
    const run = this.#active.get(id);
    if (run !== undefined && run.assign.runId === runId) run.abort();
  }

  /** Cancels every run. */
  abortAll(): void {
    for (const run of this.#active.values()) run.abort();
    this.#active.clear();
  }

  /**
   * Runs one assignment; whatever happens becomes an `executed` event, never a rejection.
   * A run whose inputs need no loading reaches the executor before this returns (the body
   * of an async function runs synchronously up to its first await, and this one awaits
   * nothing before the executor unless inputs must be loaded): a lone task's pool thread
   * starts while the worker goes on with the rest of its turn (passing a direct submission
   * on, say), not after it.
   */
  async execute(assign: WireAssign, stimulusId: string, short = false): Promise<void> {
    const run = this.startRun(assign, short);
    const { spec } = assign;
    // Actor tasks reach their actor in the order they start here (loading inputs is async).
    const turn = isActorSpec(spec) ? this.deps.actors.turn(actorOf(assign)!) : undefined;
    try {
      const preparing = this.prepareRun(run);
      const prepared = preparing instanceof Promise ? await preparing : preparing;
      if (prepared === undefined) return;
      const response = isActorSpec(spec)
        ? await this.deps.actors.run(actorOf(assign)!, spec.actor === ACTOR_CREATE, prepared.req, prepared.opts, turn)
        : await this.deps.executor.run(prepared.req, prepared.opts);
      await this.finishRun(run, prepared, response, stimulusId);
    } catch (error) {
      this.runFailed(run, error, stimulusId);
    } finally {
      this.#ended(run);
      turn?.release();
    }
  }

  /** Runs assignments one after another in one pool thread (worker/batching.ts), like execute() each. */
  async executeBatch(assigns: WireAssign[], stimulusId: string): Promise<void> {
    // Only kinds learned short go in a batch: watched by the pool, should one be left alone.
    const runs = assigns.map((a) => this.startRun(a, true));
    // Inputs made by an earlier run of the batch are handed over in the thread (ThreadDep.from).
    const made = assigns.some((a) => a.deps.length > 0) ? new Set(assigns.map((a) => a.id)) : undefined;
    // Runs without inputs (short tasks usually) are prepared at once; only loading inputs waits.
    const prepared = new Array<PreparedRun | undefined>(runs.length);
    let loading: Promise<void>[] | undefined;
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      try {
        const p = this.prepareRun(run, made, true);
        if (!(p instanceof Promise)) prepared[i] = p;
        else (loading ??= []).push(p.then((value) => void (prepared[i] = value), (error: unknown) => this.runFailed(run, error, stimulusId)));
      } catch (error) {
        this.runFailed(run, error, stimulusId);
      }
    }
    if (loading !== undefined) await Promise.all(loading);
    const started: ActiveRun[] = [];
    const requests: PreparedRun[] = [];
    const indexOf = made === undefined ? undefined : new Map<string, number>();
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      const p = prepared[i];
      if (p === undefined) {
        this.#ended(run);
        continue;
      }
      if (indexOf !== undefined) {
        // req.deps are in the order of assign.deps.
        p.req.deps.forEach((dep, k) => {
          if (dep.from !== undefined) dep.from = indexOf.get(run.assign.deps[k]!.id) ?? -1;
        });
        indexOf.set(run.assign.id, started.length);
      }
      started.push(run);
      requests.push(p);
    }
    this.deps.executor.runBatch(requests, (i, response) => this.batchRunDone(started[i]!, requests[i]!, response, stimulusId));
  }

  /**
   * A batch run's response, as the executor hands it over: handled at once, in the
   * executor's callback, so it must not throw; whatever fails becomes the run's failure.
   */
  private batchRunDone(run: ActiveRun, prepared: PreparedRun, response: ThreadResponse, stimulusId: string): void {
    if (response === RETURNED) {
      // Not run: it goes back to the state machine (#straggling), and runs again from the start.
      if (prepared.span !== undefined) this.deps.tracing.endRun(prepared.span, response);
      this.#ended(run);
      this.deps.counters.returned += 1;
      this.#returned.push({ id: run.assign.id, runId: run.assign.runId });
      return;
    }
    let stored: Promise<void> | undefined;
    try {
      stored = this.finishRun(run, prepared, response, stimulusId);
    } catch (error) {
      this.runFailed(run, error, stimulusId);
    }
    if (stored === undefined) {
      this.#ended(run);
      return;
    }
    stored.then(
      () => this.#ended(run),
      (error: unknown) => {
        this.#ended(run);
        this.runFailed(run, error, stimulusId);
      },
    );
  }

  /** Registers a run so that an `abort` command can cancel it. */
  private startRun(assign: WireAssign, short: boolean): ActiveRun {
    const run = new ActiveRun(assign, this.deps.context, short);
    this.#active.set(assign.id, run);
    return run;
  }

  /** A run is over: it is no longer found (unless a newer run of its task took its place). */
  #ended(run: ActiveRun): void {
    if (this.#active.get(run.assign.id) === run) this.#active.delete(run.assign.id);
  }

  private stopped(run: ActiveRun): boolean {
    return run.aborted || this.deps.closed();
  }

  /**
   * The request for a run, with its inputs; undefined when it was cancelled meanwhile. At
   * once for a run whose inputs need no loading (none, or all handed over in its batch:
   * `inBatch` has the ids the batch makes), a promise otherwise.
   */
  private prepareRun(run: ActiveRun, inBatch?: ReadonlySet<string>, batched = false): PreparedRun | undefined | Promise<PreparedRun | undefined> {
    const deps = run.assign.deps;
    if (deps.length === 0 || (inBatch !== undefined && deps.every((d) => inBatch.has(d.id)))) {
      return this.stopped(run) ? undefined : this.request(run, deps.length === 0 ? NO_DEPS : deps.map(handedOver), batched);
    }
    return this.loadAndPrepare(run, inBatch, batched);
  }

  private async loadAndPrepare(run: ActiveRun, inBatch: ReadonlySet<string> | undefined, batched: boolean): Promise<PreparedRun | undefined> {
    const { assign } = run;
    let deps: ThreadDep[];
    try {
      // Inputs may be spilled: loading them back is async, and the run may be cancelled meanwhile.
      deps = await Promise.all(
        assign.deps.map(async (d): Promise<ThreadDep> => {
          if (inBatch?.has(d.id) === true) return handedOver(d);
          const object = await this.deps.store.get(d.id);
          if (object === undefined) throw new FloeError('INTERNAL', `input ${d.id} of ${assign.id} is not local`);
          return { key: keyOf(d.id), serializer: object.serializer, bytes: object.bytes };
        }),
      );
    } catch (error) {
      if (this.stopped(run)) return undefined;
      throw error;
    }
    if (this.stopped(run)) return undefined;
    return this.request(run, deps, batched);
  }

  /** `batched`: the request goes in a batch, whose bytes are copied into one buffer anyway (runtime/batch-pack.ts). */
  private request(run: ActiveRun, deps: ThreadRequest['deps'], batched: boolean): PreparedRun {
    const { assign } = run;
    const { spec } = assign;
    const span = this.deps.tracing.startRun(assign, deps);
    const req: ThreadRequest = {
      taskKey: spec.key,
      name: spec.name,
      module: spec.module,
      exportName: spec.exportName,
      // Decoded arguments are views into the whole message they came in: sent to a thread
      // as they are, that whole message would be copied with them.
      args: batched ? spec.args : ownBytes(spec.args),
      deps,
      serializer: spec.serializer,
      attempt: assign.attempt,
    };
    // Optional fields set only when present (not spread in: this runs once per task).
    if (span !== undefined) req.traceParent = traceparentOf(span);
    return { req, opts: run, span };
  }

  /** Stores a run's result and reports its outcome; a promise only when storing must wait. */
  private finishRun(run: ActiveRun, prepared: PreparedRun, response: ThreadResponse, stimulusId: string): Promise<void> | undefined {
    const { assign } = run;
    if (prepared.span !== undefined) this.deps.tracing.endRun(prepared.span, response);
    this.deps.telemetry.taskFinished(assign.spec.name, response.durationMs, response.type === 'ok');
    if (this.stopped(run)) return undefined;
    const { id, runId } = assign;
    const { durationMs } = response;
    if (response.type !== 'ok') {
      this.deps.executed({ type: 'executed', stimulusId, id, runId, outcome: { ok: false as const, error: response.error }, durationMs });
      return undefined;
    }
    this.deps.counters.executed += 1;
    const object = { serializer: response.serializer, bytes: response.bytes };
    if (this.deps.store.putNow(id, object)) {
      this.succeeded(id, runId, response, stimulusId, true);
      return undefined;
    }
    // Waits while older results spill to make room (memory limit).
    return this.deps.store.put(id, object).then((stored) => {
      if (this.stopped(run)) {
        if (stored) this.deps.store.delete(id); // cancelled meanwhile: the state machine forgot it
        return;
      }
      this.succeeded(id, runId, response, stimulusId, false);
    });
  }

  /** `inMemory`: the result was stored in memory at once, and its bytes go with the outcome. */
  private succeeded(id: string, runId: number, response: Extract<ThreadResponse, { type: 'ok' }>, stimulusId: string, inMemory: boolean): void {
    const { durationMs, startedAtMs, bytes, serializer } = response;
    const outcome = { ok: true as const, nbytes: bytes.byteLength, serializer, bytes: inMemory ? bytes : undefined };
    this.deps.executed({ type: 'executed', stimulusId, id, runId, outcome, durationMs, startedAtMs });
  }

  /** A failure in the worker's own code around a run: the run fails with INTERNAL. */
  private runFailed(run: ActiveRun, error: unknown, stimulusId: string): void {
    const { id, runId, spec } = run.assign;
    this.deps.log.error({ id, err: error }, 'task execution failed inside the worker');
    this.deps.executed({ type: 'executed', stimulusId, id, runId, outcome: { ok: false, error: toErrorInfo(error, 'INTERNAL', spec.key) } });
  }
}

const NO_BYTES = new Uint8Array(0);
/** The inputs of every run that takes none (never changed: only its elements ever are). */
const NO_DEPS: ThreadDep[] = [];

/** An input made by an earlier run of the same batch: the thread fills it in (ThreadDep.from; the index is set once the batch is known). */
function handedOver(d: WireAssign['deps'][number]): ThreadDep {
  return { key: keyOf(d.id), serializer: d.serializer, bytes: NO_BYTES, from: -1 };
}
