/**
 * Hand-offs inside a batch: a request whose input is the result of an earlier request of
 * the same batch (ThreadDep.from; a chain assigned early, worker/batching.ts addFollowers)
 * gets that result directly, without it going through the worker's store first. Used in
 * pool threads (run-batch.ts) and by the worker's own executors for batches they run
 * themselves or run again.
 */
import { FloeError, toErrorInfo } from '../errors.ts';
import type { SerializerRef } from '../graph/spec.ts';
import { nowMs } from './protocol.ts';
import type { ThreadDep, ThreadRequest, ThreadResponse } from './protocol.ts';

export interface Made {
  serializer: SerializerRef;
  bytes: Uint8Array;
}

/** Whether a request takes inputs from earlier requests of its batch. */
export function hasHandoffs(req: ThreadRequest): boolean {
  for (const dep of req.deps) if (dep.from !== undefined) return true;
  return false;
}

/** The result a response carries, for the requests after it. */
export function madeBy(res: ThreadResponse | undefined): Made | undefined {
  return res?.type === 'ok' ? { serializer: res.serializer, bytes: res.bytes } : undefined;
}

/**
 * `req` with its batch inputs filled in from `made(index)`, or an error response
 * (RESULT_UNAVAILABLE) when one was not made: the run that makes it failed, was
 * cancelled, or never made it into the batch (-1). The scheduler, told of that first,
 * has taken this run back already, so the error only closes the run here.
 * `inPlace`: fills in `req` itself (a pool thread's own copy of its batch, run once)
 * rather than a copy (a batch the worker may run again).
 */
export function handOver(req: ThreadRequest, made: (index: number) => Made | undefined, inPlace = false): ThreadRequest | ThreadResponse {
  if (!hasHandoffs(req)) return req;
  const deps: ThreadDep[] = inPlace ? req.deps : [];
  for (let k = 0; k < req.deps.length; k++) {
    const dep = req.deps[k]!;
    if (dep.from === undefined) {
      deps[k] = dep;
      continue;
    }
    const input = dep.from >= 0 ? made(dep.from) : undefined;
    if (input === undefined) {
      const message = `input "${dep.key}" of task "${req.taskKey}" was not made: the run that makes it failed or was cancelled`;
      const error = new FloeError('RESULT_UNAVAILABLE', message, { taskKey: req.taskKey });
      return { type: 'error', error: toErrorInfo(error), startedAtMs: nowMs(), durationMs: 0 };
    }
    deps[k] = { key: dep.key, serializer: input.serializer, bytes: input.bytes };
  }
  return inPlace ? req : { ...req, deps };
}

/** Whether `x` (from handOver) is an error response rather than a request. */
export function isResponse(x: ThreadRequest | ThreadResponse): x is ThreadResponse {
  return (x as Partial<ThreadResponse>).type !== undefined;
}
