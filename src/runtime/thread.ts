/**
 * Piscina worker entry. Must be loaded as compiled JS (dist/src/runtime/thread.js): the pool
 * starts threads with `execArgv: []`, without tsx, and run-task registers tsx itself when a
 * task module is TypeScript.
 */
import { Piscina, workerData } from 'piscina';
import { ownBytes } from '../serde/bytes.ts';
import { isPackedBatch, unpackBatch, type PackedBatch } from './batch-pack.ts';
import type { ThreadRequest, ThreadResponse } from './protocol.ts';
import { runBatch } from './run-batch.ts';
import { runTask, startTask, type RunHooks } from './run-task.ts';
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

export default async function runInThread(req: ThreadRequest | PackedBatch): Promise<ThreadResponse | null> {
  const pending = threadSetup();
  if (pending !== undefined) await pending;
  if (isPackedBatch(req)) {
    return runBatch(unpackBatch(req), (r, hooks) => startTask(r, hooksOf(r, hooks.onSeceded)), (results, transfer) => postToPool(results, transfer));
  }
  const res = await runTask(req, hooksOf(req));
  if (res.type !== 'ok') return res;
  // Transfer the result instead of copying it. The array must own its whole buffer:
  // serializers return views into pooled buffers (msgpackr, Buffer), which must not be
  // detached.
  const bytes = ownBytes(res.bytes);
  const response: ThreadResponse = { ...res, bytes };
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
