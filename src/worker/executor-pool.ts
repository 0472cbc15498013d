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
import { MuxEndpoint, type ContextPort } from '../runtime/mux-port.ts';
import { isPoolPortMessage } from '../runtime/pool-port.ts';
import { nowMs } from '../runtime/protocol.ts';
import type { ThreadRequest, ThreadResponse } from '../runtime/protocol.ts';
import { packageRoot } from '../util/package-root.ts';
import { errorResponse, timeoutMessage, validateTimeout } from './executor.ts';
import type { Executor, RunOptions } from './executor.ts';

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

type Balancer = NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer'];

/**
 * Piscina's default balancer gives a thread running an abortable task (ours all are: they
 * can be cancelled) nothing else. Tasks waiting on subtasks must share their thread, so
 * this one counts such a thread as holding one task and picks the least busy thread. The
 * worker's state machine keeps the number of tasks actually running to `threads`.
 */
function leastBusy(tasksPerThreadMax: number): Balancer {
  return (_task, workers) => {
    let best: (typeof workers)[number] | null = null;
    let bestUsage = tasksPerThreadMax;
    for (const w of workers) {
      const usage = w.isRunningAbortableTask ? 1 : w.currentUsage;
      if (usage < bestUsage) {
        best = w;
        bestUsage = usage;
        if (usage === 0) break;
      }
    }
    return best;
  };
}

export class PoolExecutor implements Executor {
  readonly threads: number;
  readonly #pool: Piscina<ThreadRequest, ThreadResponse>;
  /** Aborts every running task on close(), so their run() calls resolve. */
  readonly #running = new Set<(why: AbortReason) => void>();
  /** Context callbacks of running runs, by ThreadRequest.contextRef. */
  readonly #contexts = new Map<number, (port: ContextPort) => void>();
  /** Each thread's shared port, once the thread has sent it (runtime/pool-port.ts). */
  readonly #threadPorts = new Set<MuxEndpoint>();
  #contextSeq = 0;
  #closed = false;

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
    this.#pool = new Piscina<ThreadRequest, ThreadResponse>({
      filename,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: tasksPerThreadMax,
      loadBalancer: leastBusy(tasksPerThreadMax),
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
        const attach = this.#contexts.get(ref);
        if (attach === undefined) vp.close();
        else attach(vp);
      },
    });
    port.unref(); // the pool's own threads keep the process alive, not this port
    this.#threadPorts.add(endpoint);
    port.once('close', () => this.#threadPorts.delete(endpoint));
  }

  async run(req: ThreadRequest, opts: RunOptions = {}): Promise<ThreadResponse> {
    const startedAtMs = nowMs();
    validateTimeout(opts.timeoutMs);
    if (this.#closed) return errorResponse('CANCELLED', `task "${req.taskKey}": executor is closed`, req, startedAtMs);
    if (opts.signal?.aborted === true) return errorResponse('CANCELLED', `task "${req.taskKey}" was cancelled`, req, startedAtMs);

    const controller = new AbortController();
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
    let request = req;
    let contextRef: number | undefined;
    if (opts.context !== undefined) {
      contextRef = ++this.#contextSeq;
      this.#contexts.set(contextRef, opts.context);
      request = { ...req, contextRef };
    }
    try {
      return await this.#pool.run(request, { signal: controller.signal });
    } catch (e) {
      switch (reason) {
        case 'timeout':
          return errorResponse('TASK_TIMEOUT', timeoutMessage(req, timeoutMs), req, startedAtMs, e);
        case 'cancel':
          return errorResponse('CANCELLED', `task "${req.taskKey}" was cancelled`, req, startedAtMs, e);
        case 'close':
          return errorResponse('CANCELLED', `task "${req.taskKey}" was cancelled: executor closed`, req, startedAtMs, e);
        default:
          // The thread died under the task (process.exit() in a thread, out of memory, a
          // native crash): like a lost worker, retryable, and a task that keeps doing it
          // runs out of retries.
          return errorResponse(
            'WORKER_LOST',
            `pool thread running task "${req.taskKey}" died: ${e instanceof Error ? e.message : String(e)}`,
            req,
            startedAtMs,
            e,
          );
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (contextRef !== undefined) this.#contexts.delete(contextRef);
      opts.signal?.removeEventListener('abort', onCancel);
      this.#running.delete(abort);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const abort of this.#running) abort('close');
    await this.#pool.destroy();
    for (const endpoint of this.#threadPorts) endpoint.close();
    this.#threadPorts.clear();
  }
}
