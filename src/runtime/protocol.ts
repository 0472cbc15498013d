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

/** Wall-clock ms comparable across threads of one process. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
