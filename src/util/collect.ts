/**
 * Memory a thread lets go of that its garbage collector does not see coming.
 *
 * A big result a worker stores, or a task's inputs in a pool thread, are memory outside
 * the thread's heap: a SharedArrayBuffer (a worker receives inputs into shared memory so
 * that its pool threads read them without a copy, dataplane.ts FetchOptions.sharedMemory),
 * a batch's packed bytes, a run's cloned arguments. Once let go of, the memory is freed
 * only when every thread that saw it has collected its garbage, and V8 takes no hint from
 * shared memory: a worker that received a 32 MiB input again and again grew by 32 MiB per
 * task (100 MiB per task up to 1-1.9 GB in the transfer scenario, 2026-12-06) while its
 * store held nothing, until both its main thread and its pool thread had collected. A pool
 * thread allocates almost nothing of its own between tasks, so it may not collect for
 * hundreds of them; the main thread promotes the buffer's handle to the old generation
 * while the bytes arrive and does not run a full collection for a while either.
 *
 * So a thread counts what it let go of, and once that reaches COLLECT_AFTER_BYTES it runs
 * a full collection. Measured on 2 cores, moving 100 MiB to a worker 18 times on one
 * cluster: without it the receiver grew to 1.9 GB and the later moves ran at 300 MB/s
 * instead of 800-1,000; with it the receiver stayed at 260 MB and every move ran at
 * 790-1,010 MB/s. Each collection took 10-20 ms of wall time, against the 100 ms the bytes
 * took to arrive: about 5 ms of collecting and the rest freeing the 100 MiB (8 ms), which
 * the last thread to let go of them pays in any case. A pool thread collects when a run
 * ends, before it answers (runtime/thread.ts); an actor thread when its next call comes
 * (runtime/actor-thread.ts: collecting on the turn after a call, or at once after its
 * reply, the thread went on growing by an input per call in some runs). Either keeps at most
 * the inputs of its last runs. A minor collection would skip the 5 ms but not free an
 * input whose handle the task's own allocations moved to the old generation.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Bytes let go of since this thread last collected that make it collect. */
export const COLLECT_AFTER_BYTES = 32 * 2 ** 20;

let letGoBytes = 0;
let collect: (() => void) | undefined;
let scheduled = false;

/**
 * A full collection, by V8's collector as `--expose-gc` gives it. The flag is on only
 * while a fresh context takes the function, so no task's globals change (a process
 * started with the flag already has it). A runtime that will not give it (V8's flags
 * frozen, code generation from strings disallowed) collects nothing here: memory is then
 * freed when V8 collects on its own, as before, and no task fails for it.
 */
export function collectNow(): void {
  collector()();
}

/** What V8's exposed collector may be asked for: the kind of collection, and whether the call waits for it. */
export interface GcOptions {
  type: 'minor' | 'major';
  execution: 'sync' | 'async';
}

/** V8's collector as `--expose-gc` gives it: a full collection without options, a minor one with `{ type: 'minor' }`. */
export type ExposedGc = (options?: GcOptions) => void;

/** V8's collector, when the process was started with `--expose-gc` (util/idle-gc.ts needs that; collectNow does not). */
export function exposedGc(): ExposedGc | undefined {
  const gc: unknown = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as ExposedGc) : undefined;
}

function collector(): () => void {
  if (collect !== undefined) return collect;
  const exposed = exposedGc();
  if (exposed !== undefined) return (collect = exposed);
  collect = noCollector;
  try {
    setFlagsFromString('--expose-gc');
    try {
      const gc: unknown = runInNewContext('gc');
      if (typeof gc === 'function') collect = gc as () => void;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  } catch {
    // noCollector stands
  }
  return collect;
}

function noCollector(): void {}

function due(bytes: number): boolean {
  letGoBytes += bytes;
  if (letGoBytes < COLLECT_AFTER_BYTES) return false;
  letGoBytes = 0;
  return true;
}

/**
 * Counts `bytes` let go of and collects at once when they add up. For a pool thread,
 * which blocks between tasks and would run nothing scheduled for later, and an actor
 * thread, which does it when its next call comes.
 */
export function letGoNow(bytes: number): void {
  if (due(bytes)) collectNow();
}

/**
 * Counts `bytes` let go of and, when they add up, collects once the current work is done
 * (what it still holds is garbage by then). For threads with an event loop.
 */
export function letGoSoon(bytes: number): void {
  if (!due(bytes) || scheduled) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    collectNow();
  }).unref();
}
