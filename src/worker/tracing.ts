/**
 * The worker's spans: fetch-inputs (from an assignment's arrival until its inputs are
 * local), one transfer.fetch per input pulled from a peer, run (around the executor) and
 * serialize (timed inside the pool thread, recorded here). Parents come from the
 * traceparent the coordinator put on the assignment; nothing is kept or allocated for an
 * assignment without one, or when no SDK is registered.
 */
import type { WireAssign } from '../transport/messages.ts';
import type { ThreadResponse } from '../runtime/protocol.ts';
import {
  ATTR,
  ROOT_CONTEXT,
  SpanKind,
  contextFromTraceparent,
  recordFailure,
  startSpan,
  trace,
  tracingEnabled,
  type Context,
  type Span,
} from '../telemetry/trace.ts';
import { keyOf } from '../graph/task-id.ts';

interface TracedRun {
  parent: Context;
  fetchInputs: Span;
}

/** Runs and inputs tracked at once; past it the oldest traces are dropped (a limit on everything). */
const TRACKED_MAX = 100_000;

export class WorkerTracing {
  private readonly runs = new Map<string, TracedRun>();
  /** Input id -> context of the fetch-inputs span of the first run waiting for it. */
  private readonly inputParents = new Map<string, Context>();

  constructor(private readonly workerId: string) {}

  /** An assignment arrived: opens its fetch-inputs span. */
  assigned(assign: WireAssign, isLocal: (id: string) => boolean): void {
    if (assign.traceParent === undefined || assign.traceParent === '' || !tracingEnabled()) return;
    const parent = contextFromTraceparent(assign.traceParent);
    const fetchInputs = startSpan('fetch-inputs', this.taskAttributes(assign), parent);
    const ctx = trace.setSpan(parent, fetchInputs);
    if (this.runs.size >= TRACKED_MAX) this.clear();
    this.runs.set(runKey(assign.id, assign.runId), { parent, fetchInputs });
    for (const dep of assign.deps) {
      if (dep.inline === undefined && !isLocal(dep.id) && !this.inputParents.has(dep.id)) this.inputParents.set(dep.id, ctx);
    }
  }

  /** Opens the client side of a peer-to-peer transfer of `id`, if a traced run waits for it. */
  startTransfer(id: string, address: string): { span: Span; ctx: Context } | undefined {
    const parent = this.inputParents.get(id);
    if (parent === undefined) return undefined;
    this.inputParents.delete(id);
    const span = startSpan('transfer.fetch', { [ATTR.taskKey]: keyOf(id), [ATTR.worker]: this.workerId, [ATTR.peer]: address }, parent, { kind: SpanKind.CLIENT });
    return { span, ctx: trace.setSpan(parent, span) };
  }

  /** Inputs are local: ends fetch-inputs and opens run. Its traceparent goes to the pool thread. */
  startRun(assign: WireAssign, inputs: readonly { bytes: Uint8Array }[]): Span | undefined {
    if (this.runs.size === 0) return undefined;
    const key = runKey(assign.id, assign.runId);
    const traced = this.runs.get(key);
    if (traced === undefined) return undefined;
    this.runs.delete(key);
    traced.fetchInputs.setAttribute(ATTR.bytes, inputs.reduce((n, d) => n + d.bytes.byteLength, 0));
    traced.fetchInputs.end();
    return startSpan('run', this.taskAttributes(assign), traced.parent);
  }

  /** Ends run, with a serialize child timed by the thread and the task's error if it failed. */
  endRun(span: Span, response: ThreadResponse): void {
    if (response.type === 'ok') {
      const serializeEnd = response.startedAtMs + response.durationMs;
      const serialize = startSpan(
        'serialize',
        { [ATTR.serializer]: response.serializer.id, [ATTR.bytes]: response.bytes.byteLength },
        trace.setSpan(ROOT_CONTEXT, span),
        { startTime: serializeEnd - (response.serializeMs ?? 0) },
      );
      serialize.end(serializeEnd);
      span.setAttribute(ATTR.bytes, response.bytes.byteLength);
    } else {
      recordFailure(span, response.error);
    }
    span.end();
  }

  /** The run will not execute here (stolen, cancelled, reset): its open span ends. */
  dropped(id: string, runId: number): void {
    const key = runKey(id, runId);
    this.runs.get(key)?.fetchInputs.end();
    this.runs.delete(key);
  }

  clear(): void {
    for (const traced of this.runs.values()) traced.fetchInputs.end();
    this.runs.clear();
    this.inputParents.clear();
  }

  private taskAttributes(assign: WireAssign): Record<string, string | number> {
    return {
      [ATTR.taskKey]: assign.spec.key,
      [ATTR.taskName]: assign.spec.name,
      [ATTR.worker]: this.workerId,
      [ATTR.attempt]: assign.attempt,
      [ATTR.serializer]: assign.spec.serializer.id,
    };
  }
}

function runKey(id: string, runId: number): string {
  return `${id}#${runId}`;
}
