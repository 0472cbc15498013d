/**
 * Piscina worker entry. Must be loaded as compiled JS (dist/src/runtime/thread.js): the pool
 * starts threads with `execArgv: []`, without tsx, and run-task registers tsx itself when a
 * task module is TypeScript.
 */
import { Piscina, workerData } from 'piscina';
import { ownBytes } from '../serde/bytes.ts';
import { letGoNow } from '../util/collect.ts';
import { isPackedBatch, unpackBatch, type PackedBatch } from './batch-pack.ts';
import type { ThreadRequest, ThreadResponse } from './protocol.ts';
import { runBatch } from './run-batch.ts';
import { inputBytes, startTask, type RunHooks } from './run-task.ts';
import { loadModule } from './load-module.ts';
import { openPoolContext, postToPool } from './pool-port.ts';

/**
 * A module the pool imports in each thread before its first task (PoolExecutorOptions.
 * threadSetup): where a process traces, it registers an OpenTelemetry SDK in the thread so
 * spans opened by task code are recorded under floe's run span.
 */
let setup: Promise<unknown> | undefined;

function threadSetup(): Promise<unknown> | undefined {
  const url = (workerData as { threadSetup?: unknown } | undefined)?.threadSetup;
  if (typeof url !== 'string' || url === '') return undefined;
  setup ??= loadModule(url); // through the task-module loader: it may be TypeScript
  return setup;
}

/** A run's hooks: its context opens on this thread's shared port (see pool-port.ts). */
function hooksOf(req: ThreadRequest, onSeceded?: () => void): RunHooks {
  const { contextRef } = req;
  return { openContext: contextRef === undefined ? undefined : () => openPoolContext(contextRef), onSeceded };
}

/**
 * Results smaller than this are copied back to the main thread with the response; larger
 * ones are transferred. A transfer saves the copy but costs more than copying a few
 * kilobytes (lab, one thread, sequential no-ops: 135 against 117 µs per round trip with an
 * 8-byte result).
 */
const TRANSFER_FROM_BYTES = 16 * 1024;

/**
 * Synchronous when it can be: a task that returns a plain value is answered without a
 * promise of ours in between (Piscina awaits whatever this returns).
 */
export default function runInThread(req: ThreadRequest | PackedBatch): ThreadResponse | null | Promise<ThreadResponse | null> {
  const pending = threadSetup();
  if (pending !== undefined) return pending.then(() => runLoaded(req));
  return runLoaded(req);
}

/** The same, under the name the pool gives runs alone (worker/pool-balancer.ts RUN_ALONE), so that its balancer can tell them from batches. */
export { runInThread as alone };

function runLoaded(req: ThreadRequest | PackedBatch): ThreadResponse | null | Promise<ThreadResponse | null> {
  if (isPackedBatch(req)) {
    const done = runBatch(unpackBatch(req), (r, hooks) => startTask(r, hooksOf(r, hooks.onSeceded)), (results, transfer) => postToPool(results, transfer));
    const bytes = req.bytes.byteLength;
    return done instanceof Promise ? done.then((end) => afterInputs(bytes, end)) : afterInputs(bytes, done);
  }
  const bytes = inputBytes(req);
  const res = startTask(req, hooksOf(req));
  return res instanceof Promise ? res.then((r) => afterInputs(bytes, answer(r))) : afterInputs(bytes, answer(res));
}

/**
 * `answer`, once the thread has let go of the inputs of what ran (util/collect.ts). The
 * collection, when due, comes before the answer: the thread blocks between runs, and at
 * the start of the next run it would hold that run up instead, which may be a task that
 * has nothing to do with big inputs. It frees the inputs of the runs before this one; this
 * run's are still referenced here and go with the next collection.
 */
function afterInputs<T>(bytes: number, answer: T): T {
  letGoNow(bytes);
  return answer;
}

/** A run's response as posted: its result bytes own their buffer, transferred when large. */
function answer(res: ThreadResponse): ThreadResponse {
  if (res.type !== 'ok') return res;
  // Serializers return views into pooled buffers (msgpackr, Buffer): posted as they are,
  // the whole pool buffer would be copied, or detached if transferred.
  const bytes = ownBytes(res.bytes);
  const response: ThreadResponse = { ...res, bytes };
  if (bytes.byteLength < TRANSFER_FROM_BYTES) return response;
  const transferable = {
    get [Piscina.transferableSymbol]() {
      return [bytes.buffer];
    },
    get [Piscina.valueSymbol]() {
      return response;
    },
  };
  return Piscina.move(transferable as unknown as Parameters<typeof Piscina.move>[0]) as unknown as ThreadResponse;
}
