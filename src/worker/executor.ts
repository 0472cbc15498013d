/**
 * Executors run tasks for the worker: {@link PoolExecutor} (executor-pool.ts) on a Piscina
 * thread pool, {@link InlineExecutor} in the calling thread for tests and debugging.
 *
 * `run()` never rejects for anything that can happen to a task: timeouts, cancellation and
 * crashed threads come back as `{ type: 'error' }` responses, like the task's own failures,
 * so the driver has one path. Only invalid `opts` (a driver bug) reject, with INVALID_ARGUMENT.
 */
import { setMaxListeners } from 'node:events';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { FloeError, toErrorInfo } from '../errors.ts';
import type { ContextPort } from '../runtime/mux-port.ts';
import type { ErrorCode } from '../errors.ts';
import { nowMs } from '../runtime/protocol.ts';
import { handOver, hasHandoffs, isResponse, madeBy } from '../runtime/handoff.ts';
import type { ThreadRequest, ThreadResponse } from '../runtime/protocol.ts';
import { runTask } from '../runtime/run-task.ts';

/**
 * What executors use of a cancel signal: an AbortSignal is one; the worker's runs use a
 * lighter one (worker/cancel.ts). Listeners are added with `{ once: true }` semantics.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface RunOptions {
  /** Aborting it cancels the task: CANCELLED. */
  signal?: CancelSignal;
  /** Stop waiting (and, in a pool, stop the thread) after this many ms: TASK_TIMEOUT. 0 or absent: none. */
  timeoutMs?: number;
  /**
   * Gives the task a context (runtime/context.ts): the executor makes a channel for the
   * run, passes one end to the task and this callback the other; it closes it when the
   * run ends (listen for 'close'). Called as a method of the options (it may be one).
   */
  context?: (port: ContextPort) => void;
  /**
   * A run of a kind learned short (worker/batching.ts): run alone, a pool tells
   * `onStraggling` when it runs far longer (worker/stragglers.ts).
   */
  short?: boolean;
}

/** The request with a fresh context channel, when the run asks for one. */
export function withContext(req: ThreadRequest, opts: RunOptions): { req: ThreadRequest; port: MessagePort | undefined; transferList: MessagePort[] } {
  if (opts.context === undefined) return { req, port: undefined, transferList: [] };
  const channel = new MessageChannel();
  opts.context(channel.port1);
  return { req: { ...req, port: channel.port2 }, port: channel.port1, transferList: [channel.port2] };
}

/** One run of a batch. */
export interface BatchRun {
  req: ThreadRequest;
  opts: RunOptions;
}

/** The responses of a batch as promises, in the order of `runs` (for callers that await them). */
export function batchResponses(executor: Executor, runs: readonly BatchRun[]): Promise<ThreadResponse>[] {
  const resolvers: ((res: ThreadResponse) => void)[] = [];
  const out = runs.map(() => new Promise<ThreadResponse>((resolve) => resolvers.push(resolve)));
  executor.runBatch(runs, (i, res) => resolvers[i]!(res));
  return out;
}

export interface Executor {
  /** How many tasks it runs at once. */
  readonly threads: number;
  run(req: ThreadRequest, opts?: RunOptions): Promise<ThreadResponse>;
  /**
   * Runs these one after another in one thread (worker/batching.ts). Each run's response
   * goes to `onResult` once, with the run's index in `runs`, never before runBatch has
   * returned; `onResult` must not throw. Each run keeps its own cancel signal and context;
   * a run with a timeout runs alone.
   */
  runBatch(runs: readonly BatchRun[], onResult: (index: number, res: ThreadResponse) => void): void;
  /**
   * Set by the worker: called when the pool found runs it made no progress on for a while
   * (stragglers, worker/stragglers.ts: in batches, and runs alone of a kind learned short),
   * or took back runs queued behind a run that held its thread. Those were taken back
   * first: each went to its batch's `onResult` as RETURNED. Only the pool executor queues
   * runs, and it looks for stragglers only while this is set.
   */
  onStraggling?: ((stragglers: readonly BatchRun[]) => void) | undefined;
  /** Stops the executor; tasks still running resolve as CANCELLED. */
  close(): Promise<void>;
}

/**
 * The response of a batch run taken back before it started (see Executor.onStraggling):
 * it did not run, and goes to the worker again. One object, told apart by identity.
 */
export const RETURNED: ThreadResponse = Object.freeze({
  type: 'error',
  error: Object.freeze({ code: 'CANCELLED', message: 'taken back from the pool before it started', retryable: true, stack: '', taskKey: '', originalName: 'FloeError' }),
  startedAtMs: 0,
  durationMs: 0,
});

/** An error response for a failure outside the task's own code. */
export function errorResponse(
  code: ErrorCode,
  message: string,
  req: ThreadRequest,
  startedAtMs: number,
  cause?: unknown,
): ThreadResponse {
  const error = new FloeError(code, message, { taskKey: req.taskKey, cause });
  return { type: 'error', error: toErrorInfo(error, code, req.taskKey), startedAtMs, durationMs: nowMs() - startedAtMs };
}

/** The response of a run the executor could not start (its promise rejected): the error as it is, INTERNAL when it has no code. */
export function notRun(req: ThreadRequest, error: unknown): ThreadResponse {
  return { type: 'error', error: toErrorInfo(error, 'INTERNAL', req.taskKey), startedAtMs: nowMs(), durationMs: 0 };
}

export function timeoutMessage(req: ThreadRequest, timeoutMs: number): string {
  return `task "${req.taskKey}" timed out after ${timeoutMs} ms`;
}

export function validateTimeout(timeoutMs: number | undefined): void {
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
    throw new FloeError('INVALID_ARGUMENT', 'opts.timeoutMs must be a non-negative number');
  }
}

/**
 * Runs tasks in the calling thread, one promise each (no concurrency limit; `threads` is 1
 * for reporting). A timeout or abort only stops the *wait*: JavaScript cannot interrupt
 * code running in its own thread, so the task keeps running in the background, and a
 * CPU-bound task blocks the thread (and the timer) until it yields. Use PoolExecutor when
 * timeouts must really stop tasks.
 */
export class InlineExecutor implements Executor {
  readonly threads = 1;
  #closed = false;
  readonly #closing = new AbortController();

  constructor() {
    // Every running task listens for close (and stops listening when it ends): many
    // concurrent runs are normal here, not a leak.
    setMaxListeners(0, this.#closing.signal);
  }

  async run(req: ThreadRequest, opts: RunOptions = {}): Promise<ThreadResponse> {
    const startedAtMs = nowMs();
    validateTimeout(opts.timeoutMs);
    if (this.#closed) return errorResponse('CANCELLED', `task "${req.taskKey}": executor is closed`, req, startedAtMs);
    if (opts.signal?.aborted === true) return errorResponse('CANCELLED', `task "${req.taskKey}" was cancelled`, req, startedAtMs);

    const cleanups: (() => void)[] = [];
    const interrupted = new Promise<ThreadResponse>((resolve) => {
      const timeoutMs = opts.timeoutMs ?? 0;
      if (timeoutMs > 0) {
        const timer = setTimeout(() => resolve(errorResponse('TASK_TIMEOUT', timeoutMessage(req, timeoutMs), req, startedAtMs)), timeoutMs);
        cleanups.push(() => clearTimeout(timer));
      }
      for (const [signal, why] of [
        [opts.signal, 'was cancelled'],
        [this.#closing.signal, 'was cancelled: executor closed'],
      ] as const) {
        if (signal === undefined) continue;
        const onAbort = (): void => resolve(errorResponse('CANCELLED', `task "${req.taskKey}" ${why}`, req, startedAtMs));
        signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => signal.removeEventListener('abort', onAbort));
      }
    });
    const { req: request, port } = withContext(req, opts);
    try {
      return await Promise.race([runTask(request), interrupted]);
    } finally {
      for (const c of cleanups) c();
      port?.close();
    }
  }

  /**
   * Inline runs are not batched: each is a promise of its own; one taking an earlier run's
   * result (ThreadDep.from) starts once that run is done, with its result.
   */
  runBatch(runs: readonly BatchRun[], onResult: (index: number, res: ThreadResponse) => void): void {
    const out: Promise<ThreadResponse>[] = [];
    const done: (ThreadResponse | undefined)[] = [];
    runs.forEach((r, i) => {
      const run = !hasHandoffs(r.req)
        ? this.run(r.req, r.opts)
        : Promise.all(out).then(() => {
            const req = handOver(r.req, (index) => madeBy(done[index]));
            return isResponse(req) ? req : this.run(req, r.opts);
          });
      out.push(run.then((res) => (done[i] = res)));
    });
    out.forEach((p, i) => void p.then((res) => onResult(i, res), (e: unknown) => onResult(i, notRun(runs[i]!.req, e))));
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    return Promise.resolve();
  }
}
