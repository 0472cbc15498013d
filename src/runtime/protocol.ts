/**
 * Messages between a worker's main thread and its pool threads (one request, one response
 * per task; Piscina keys them by its own task id).
 */
import type { ContextPort } from './mux-port.ts';
import type { ErrorInfo } from '../errors.ts';
import type { SerializerRef } from '../graph/spec.ts';

/** A dependency result as stored: bytes plus the serializer that made them. */
export interface ThreadDep {
  key: string;
  serializer: SerializerRef;
  bytes: Uint8Array;
  /**
   * Made by an earlier request of the same batch (a chain assigned early, worker/batching.ts):
   * its index there. `bytes` and `serializer` are filled in by the thread from that run's
   * result; if there is none (that run failed, was cancelled, or is -1: it never made it
   * into the batch), this run fails with RESULT_UNAVAILABLE (the scheduler, told of the
   * first failure, has taken it back already). See runtime/run-batch.ts.
   */
  from?: number;
}

export interface ThreadRequest {
  taskKey: string;
  name: string;
  /** URL of the task module ('floe:builtin' for floe's own tasks). */
  module: string;
  exportName: string;
  /** Arguments encoded by serde/args.ts. */
  args: Uint8Array;
  deps: ThreadDep[];
  /** Serializer for the result. */
  serializer: SerializerRef;
  /** 0 for the first run, then 1, 2... for retries. */
  attempt: number;
  /**
   * W3C traceparent of the worker's run span: the task function runs with it as the
   * active context, so spans a task opens nest under floe's run span. Absent when untraced.
   */
  traceParent?: string;
  /**
   * The run's end of a channel to the worker's main thread, for the task's context
   * (subtasks, actor calls; see runtime/context.ts). Transferred with the request
   * (actor threads, inline runs).
   */
  port?: ContextPort;
  /**
   * Pool runs instead carry a number: a task that calls getContext() opens a channel for
   * it on its thread's shared port (runtime/pool-port.ts). Absent: the run has no context.
   */
  contextRef?: number;
}

interface Timing {
  /** `performance.timeOrigin + performance.now()` when the task started: comparable across threads. */
  startedAtMs: number;
  durationMs: number;
}

export type ThreadResponse =
  | ({ type: 'ok'; bytes: Uint8Array; serializer: SerializerRef; /** Time spent serializing, the end of the run. */ serializeMs?: number } & Timing)
  | ({ type: 'error'; error: ErrorInfo } & Timing);

/**
 * Several tasks in one pool dispatch (worker/batching.ts): the thread runs them one after
 * another and posts each result on its own port (runtime/pool-port.ts) as a
 * PackedResults (runtime/results-pack.ts); the dispatch itself resolves to null once all
 * have finished. The batch itself crosses to the thread packed (runtime/batch-pack.ts).
 */
export interface ThreadBatch {
  batchId: number;
  reqs: ThreadRequest[];
  /**
   * One cell per request, on shared memory: the thread claims a request WAITING →
   * STARTED before it runs it (and marks it DONE after), the main thread a cancelled one
   * WAITING → SKIPPED, so both agree on whether it ran. A result not posted yet when the
   * thread ends is lost with it; DONE says the run can go again. One more cell after them:
   * the thread writes its threadId there when it takes the batch up, so that the main
   * thread knows which thread a stuck batch holds (worker/stragglers.ts).
   */
  cells: Int32Array;
}

export const BATCH_WAITING = 0;
export const BATCH_STARTED = 1;
export const BATCH_SKIPPED = 2;
export const BATCH_DONE = 3;

/**
 * This thread's `performance.timeOrigin`, read once: it never changes, and reading it
 * (a getter on the global `performance`) cost as much as reading the clock, per task.
 */
export const TIME_ORIGIN_MS = performance.timeOrigin;

/** Wall-clock ms comparable across threads of one process. */
export function nowMs(): number {
  return TIME_ORIGIN_MS + performance.now();
}
