/**
 * Runs tasks on a Piscina thread pool. Threads start with `execArgv: []` and load the
 * compiled thread entry (dist/src/runtime/thread.js): a thread that inherits `--import tsx`
 * from a tsx-run parent gets a half-working tsx; the runtime registers tsx itself in each
 * thread when it meets a TypeScript task module.
 *
 * A timeout or cancel aborts the Piscina task, and Piscina terminates the thread that runs
 * it (then starts a fresh one to keep `threads` threads): even a CPU-bound loop is stopped.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { FloeError } from '../errors.ts';
import { MuxEndpoint } from '../runtime/mux-port.ts';
import { isPoolPortMessage } from '../runtime/pool-port.ts';
import { nowMs } from '../runtime/protocol.ts';
import type { ThreadRequest, ThreadResponse } from '../runtime/protocol.ts';
import { unpackResults, type PackedResults } from '../runtime/results-pack.ts';
import { packBatch, type PackedBatch } from '../runtime/batch-pack.ts';
import { ownBytes } from '../serde/bytes.ts';
import { packageRoot } from '../util/package-root.ts';
import { errorResponse, notRun, timeoutMessage, validateTimeout } from './executor.ts';
import { RETURNED, type BatchRun, type Executor, type RunOptions } from './executor.ts';
import { PendingBatch } from './pool-batch.ts';
import { RunCancel } from './cancel.ts';
import { StragglerWatch, type Straggler } from './stragglers.ts';
import { PoolBalancer, RUN_ALONE } from './pool-balancer.ts';
import { handOver, hasHandoffs, isResponse, madeBy } from '../runtime/handoff.ts';
import { ChurnMap, ChurnSet } from '../util/churn-map.ts';

export interface PoolExecutorOptions {
  /** Number of pool threads. Default: `os.availableParallelism()`. */
  threads?: number;
  /**
   * URL of a module each pool thread imports before its first task, e.g. one that
   * registers an OpenTelemetry SDK in the thread so spans opened by task code are
   * recorded (threads do not share the main thread's tracer provider). Default: none.
   */
  threadSetup?: string;
  /**
   * Tasks one thread may hold at once. Above 1 so that tasks waiting on their subtasks
   * (seceded, see runtime/context.ts) share a thread with the tasks that run meanwhile;
   * the worker's state machine still starts only `threads` non-waiting tasks at a time.
   * Default 64.
   */
  tasksPerThreadMax?: number;
}

/** Path of the compiled thread entry inside the floe package. */
export function threadEntryPath(): string {
  return join(packageRoot(), 'dist', 'src', 'runtime', 'thread.js');
}

type AbortReason = 'timeout' | 'cancel' | 'close';

/**
 * The thread died under the task (process.exit() in a thread, out of memory, a native
 * crash, or a sibling in its batch was cancelled while it ran): like a lost worker,
 * retryable, and a task that keeps doing it runs out of retries.
 */
function threadLost(req: ThreadRequest, startedAtMs: number, e: unknown): ThreadResponse {
  return errorResponse('WORKER_LOST', `pool thread running task "${req.taskKey}" died: ${e instanceof Error ? e.message : String(e)}`, req, startedAtMs, e);
}

export class PoolExecutor implements Executor {
  readonly threads: number;
  readonly #pool: Piscina<ThreadRequest | PackedBatch, ThreadResponse | null>;
  /**
   * Aborts every running task on close(), so their run() calls resolve. A ChurnSet: a
   * batch's abort shares runBatch's closure context, which holds the whole batch, and a Set's
   * old tables kept every batch alive through scavenges (util/churn-map.ts).
   */
  readonly #running = new ChurnSet<(why: AbortReason) => void>();
  /** Options (with their context callback) of runs alone, by ThreadRequest.contextRef (a batch run's are found through its batch: #contextOf). */
  readonly #contexts = new ChurnMap<number, RunOptions>();
  /** Each thread's shared port, once the thread has sent it (runtime/pool-port.ts). */
  readonly #threadPorts = new Map<MessagePort, MuxEndpoint>();
  /** Whether the thread ports keep the process alive (see #holdPorts). */
  #portsHeld = false;
  /** Batches whose results are still coming, by ThreadBatch.batchId. */
  readonly #batches = new ChurnMap<number, PendingBatch>();
  #contextSeq = 0;
  #batchSeq = 0;
  #closed = false;
  onStraggling: ((stragglers: readonly BatchRun[]) => void) | undefined;
  readonly #balancer: PoolBalancer;
  readonly #stragglers = new StragglerWatch(
    () => this.#batches.values(),
    (stragglers, stalled, lone) => this.#straggling(stragglers, stalled, lone),
  );

  constructor(options: PoolExecutorOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new FloeError('INVALID_OPTION', 'options must be an object');
    }
    const threads = options.threads ?? availableParallelism();
    if (!Number.isSafeInteger(threads) || threads < 1) {
      throw new FloeError('INVALID_OPTION', 'options.threads must be a positive integer');
    }
    const filename = threadEntryPath();
    if (!existsSync(filename)) {
      throw new FloeError('INTERNAL', `floe is not built: run npm run build (missing ${filename})`);
    }
    if (options.threadSetup !== undefined && (typeof options.threadSetup !== 'string' || !URL.canParse(options.threadSetup))) {
      throw new FloeError('INVALID_OPTION', 'options.threadSetup must be a module URL (file:///...)');
    }
    const tasksPerThreadMax = options.tasksPerThreadMax ?? 64;
    if (!Number.isSafeInteger(tasksPerThreadMax) || tasksPerThreadMax < 1) {
      throw new FloeError('INVALID_OPTION', 'options.tasksPerThreadMax must be a positive integer');
    }
    this.threads = threads;
    this.#balancer = new PoolBalancer(tasksPerThreadMax);
    this.#pool = new Piscina<ThreadRequest | PackedBatch, ThreadResponse | null>({
      filename,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: tasksPerThreadMax,
      loadBalancer: this.#balancer.balance,
      execArgv: [],
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: { threadSetup: options.threadSetup ?? '' },
      // An idle thread normally blocks in Atomics.wait, so its event loop stands still
      // between tasks; a thread set up to export telemetry must keep it running, or its
      // spans would leave only when the next task arrives.
      ...(options.threadSetup === undefined ? {} : { atomics: 'disabled' as const }),
    });
    this.#pool.on('message', (msg: unknown) => {
      if (isPoolPortMessage(msg)) this.#attachThreadPort(msg.port);
    });
  }

  #attachThreadPort(port: MessagePort): void {
    const endpoint = new MuxEndpoint(port, {
      // A context opened after its run ended finds no callback: it is closed at once.
      onOpen: (vp, ref) => {
        const opts = this.#contextOf(ref);
        if (opts?.context === undefined) vp.close();
        else opts.context(vp);
      },
      onData: (data) => this.#onBatchResults(data as PackedResults),
    });
    if (!this.#portsHeld) port.unref();
    this.#threadPorts.set(port, endpoint);
    port.once('close', () => this.#threadPorts.delete(port));
  }

  /** The options of the run with this context ref, while it runs (alone or in a batch); their context callback is called as their method. */
  #contextOf(ref: number): RunOptions | undefined {
    const alone = this.#contexts.get(ref);
    if (alone !== undefined) return alone;
    for (const batch of this.#batches.values()) {
      const i = ref - batch.contextBase;
      if (i >= 0 && i < batch.runs.length) return batch.isSettled(i) ? undefined : batch.runs[i]!.opts;
    }
    return undefined;
  }

  /**
   * The thread ports keep the process alive while batch results are due on them, and not
   * otherwise. A batch's Piscina task ends once its results are posted, but the two come
   * on different ports in no set order: without this, the process could find nothing left
   * to wait for and exit with the last results still queued.
   */
  #holdPorts(): void {
    const hold = this.#batches.size > 0;
    if (hold === this.#portsHeld) return;
    this.#portsHeld = hold;
    for (const port of this.#threadPorts.keys()) {
      if (hold) port.ref();
      else port.unref();
    }
  }

  async run(req: ThreadRequest, opts: RunOptions = {}): Promise<ThreadResponse> {
    const startedAtMs = nowMs();
    validateTimeout(opts.timeoutMs);
    if (this.#closed) return errorResponse('CANCELLED', `task "${req.taskKey}": executor is closed`, req, startedAtMs);
    if (opts.signal?.aborted === true) return errorResponse('CANCELLED', `task "${req.taskKey}" was cancelled`, req, startedAtMs);

    // Piscina only listens for 'abort': a RunCancel does, without an AbortController's cost.
    const controller = new RunCancel();
    let reason: AbortReason | undefined;
    const abort = (why: AbortReason): void => {
      reason ??= why;
      controller.abort();
    };
    const timeoutMs = opts.timeoutMs ?? 0;
    const timer = timeoutMs > 0 ? setTimeout(() => abort('timeout'), timeoutMs) : undefined;
    const onCancel = (): void => abort('cancel');
    opts.signal?.addEventListener('abort', onCancel, { once: true });
    this.#running.add(abort);
    const watched = this.onStraggling !== undefined ? { req, opts } : undefined;
    if (watched !== undefined) this.#stragglers.watch(watched);
    // Arguments that are a view into a bigger buffer (a batch's request falling back to a
    // run alone, worker/runs.ts) are copied: posted as they are, all of it would be.
    let request = req.args.byteLength === req.args.buffer.byteLength ? req : { ...req, args: ownBytes(req.args) };
    let contextRef: number | undefined;
    if (opts.context !== undefined) {
      contextRef = ++this.#contextSeq;
      this.#contexts.set(contextRef, opts);
      request = { ...request, contextRef };
    }
    try {
      // Never null: that is the answer to a batch.
      return (await this.#pool.run(request, { signal: controller, name: RUN_ALONE }))!;
    } catch (e) {
      switch (reason) {
        case 'timeout':
          return errorResponse('TASK_TIMEOUT', timeoutMessage(req, timeoutMs), req, startedAtMs, e);
        case 'cancel':
          return errorResponse('CANCELLED', `task "${req.taskKey}" was cancelled`, req, startedAtMs, e);
        case 'close':
          return errorResponse('CANCELLED', `task "${req.taskKey}" was cancelled: executor closed`, req, startedAtMs, e);
        default:
          return threadLost(req, startedAtMs, e);
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (contextRef !== undefined) this.#contexts.delete(contextRef);
      if (watched !== undefined) this.#stragglers.unwatch(watched);
      opts.signal?.removeEventListener('abort', onCancel);
      this.#running.delete(abort);
    }
  }

  runBatch(runs: readonly BatchRun[], onResult: (index: number, res: ThreadResponse) => void): void {
    if (runs.length < 2 || this.#closed || runs.some((r) => (r.opts.timeoutMs ?? 0) > 0)) {
      // Alone, a run cannot take a result from the batch it came in (handOver answers it).
      runs.forEach((r, i) => {
        const req = handOver(r.req, () => undefined);
        // Never at once: the caller is still starting the batch.
        if (isResponse(req)) queueMicrotask(() => onResult(i, req));
        else void this.run(req, r.opts).then((res) => onResult(i, res), (e: unknown) => onResult(i, notRun(req, e)));
      });
      return;
    }
    const startedAtMs = nowMs();
    const batchId = ++this.#batchSeq;
    // The runs' context refs are a block, base + index, found through the batch (#contextOf).
    const contextBase = this.#contextSeq + 1;
    this.#contextSeq += runs.length;
    const contextRefs = runs.map((r, i) => (r.opts.context === undefined ? undefined : contextBase + i));
    const cancels: ((() => void) | undefined)[] = new Array<(() => void) | undefined>(runs.length);
    const batch = new PendingBatch(
      runs,
      (i) => {
        const onCancel = cancels[i];
        if (onCancel !== undefined) runs[i]!.opts.signal!.removeEventListener('abort', onCancel);
        if (!batch.done) return;
        this.#balancer.batchDone(batch);
        this.#batches.delete(batchId);
        this.#holdPorts();
      },
      onResult,
      contextBase,
    );
    this.#batches.set(batchId, batch);
    this.#holdPorts();
    if (this.onStraggling !== undefined) this.#stragglers.arm();

    const controller = new RunCancel();
    let reason: AbortReason | undefined;
    const abort = (why: AbortReason): void => {
      reason ??= why;
      controller.abort();
    };
    for (let i = 0; i < runs.length; i++) {
      const { req, opts: { signal } } = runs[i]!;
      if (signal === undefined) continue;
      if (signal.aborted) {
        // Taken back before the thread sees the batch; answered once runBatch has returned.
        batch.skip(i);
        queueMicrotask(() => batch.settle(i, errorResponse('CANCELLED', `task "${req.taskKey}" was cancelled`, req, startedAtMs)));
        continue;
      }
      const onCancel = (): void => {
        if (batch.isSettled(i)) return;
        const skipped = batch.skip(i);
        batch.settle(i, errorResponse('CANCELLED', `task "${req.taskKey}" was cancelled`, req, startedAtMs));
        // Running: stop its thread, as for a task alone; what had not started runs again.
        if (!skipped) abort('cancel');
      };
      signal.addEventListener('abort', onCancel, { once: true });
      cancels[i] = onCancel;
    }
    this.#running.add(abort);
    const { packed, transfer } = packBatch(batchId, runs.map((r) => r.req), batch.cells, contextRefs);
    this.#pool.run(packed, { signal: controller, transferList: [transfer] }).then(
      // Every result was posted on the thread's port before this answer; they settle the runs.
      () => this.#running.delete(abort),
      (e: unknown) => {
        this.#running.delete(abort);
        this.#batchEnded(batch, reason, startedAtMs, e);
      },
    );
  }

  #onBatchResults(data: PackedResults): void {
    const batch = this.#batches.get(data.batchId);
    if (batch === undefined) return; // settled meanwhile (cancelled, or its thread was lost)
    unpackResults(data, (index, response) => batch.settle(index, response));
  }

  /**
   * A batch's thread stopped (a running task was cancelled, the executor closed, or the
   * thread died). Unless the executor is closing, runs it had not started, and runs it
   * finished whose results had not been posted yet, go again in a new batch; those it was
   * running are lost with it.
   */
  #batchEnded(batch: PendingBatch, reason: AbortReason | undefined, startedAtMs: number, e: unknown): void {
    const again: number[] = [];
    for (const i of batch.unsettled()) {
      const { req } = batch.runs[i]!;
      if (reason === 'close') batch.settle(i, errorResponse('CANCELLED', `task "${req.taskKey}" was cancelled: executor closed`, req, startedAtMs, e));
      else if (batch.skip(i) || batch.finished(i)) again.push(i);
      else batch.settle(i, threadLost(req, startedAtMs, e));
    }
    if (again.length === 0) return;
    this.runBatch(
      again.map((i) => rebatched(batch, again, i)),
      (k, res) => batch.settle(again[k]!, res),
    );
  }

  /**
   * The stragglers' threads get no more batches while others can take them; the runs of
   * stalled batches that have not started go back to the worker, and so do the runs a
   * straggling batch finished without posting their results yet: they run again (a result
   * the thread posts later is dropped, as for any run settled already), rather than wait
   * for the straggler. Then the worker is told, unless nothing changed since the last look
   * (runs alone are found once, and told of only if of a kind learned short: worker/stragglers.ts).
   */
  #straggling(stragglers: Straggler[], stalled: PendingBatch[], alone: BatchRun[]): void {
    const onStraggling = this.onStraggling;
    if (onStraggling === undefined || this.#closed) return;
    const lone = alone.filter((run) => run.opts.short === true);
    let news = lone.length > 0;
    for (const batch of new Set(stragglers.map((s) => s.batch))) {
      if (this.#balancer.stuck(batch)) news = true;
      const unposted = batch.finishedUnposted();
      for (const i of unposted) batch.settle(i, RETURNED);
      news ||= unposted.length > 0;
    }
    for (const batch of stalled) {
      const waiting = batch.takeBackWaiting();
      for (const i of waiting) batch.settle(i, RETURNED);
      news ||= waiting.length > 0;
    }
    if (news) onStraggling([...stragglers.map(({ batch, index }) => batch.runs[index]!), ...lone]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stragglers.stop();
    for (const abort of this.#running) abort('close');
    await this.#pool.destroy();
    for (const endpoint of this.#threadPorts.values()) endpoint.close();
    this.#threadPorts.clear();
  }
}

/**
 * Run `i` of a batch going again in a new one made of the runs `again`: inputs it takes
 * from runs that go again point to their new places; those from runs already done are
 * filled in from their results (or marked not made).
 */
function rebatched(batch: PendingBatch, again: readonly number[], i: number): BatchRun {
  const run = batch.runs[i]!;
  if (!hasHandoffs(run.req)) return run;
  const deps = run.req.deps.map((dep) => {
    if (dep.from === undefined || dep.from < 0) return dep;
    const at = again.indexOf(dep.from);
    if (at >= 0) return { ...dep, from: at };
    const made = madeBy(batch.response(dep.from));
    return made === undefined ? { ...dep, from: -1 } : { key: dep.key, serializer: made.serializer, bytes: made.bytes };
  });
  return { ...run, req: { ...run.req, deps } };
}
