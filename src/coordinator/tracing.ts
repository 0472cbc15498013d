/**
 * The coordinator's spans: schedule (handling one submission, under the client's submit
 * span) and queue (one per run: from the task's arrival until it is assigned to a
 * worker). The queue span's traceparent rides on the Assign message and parents the
 * worker's spans for that run. Nothing is kept for untraced tasks.
 */
import type { TaskSpec } from '../graph/spec.ts';
import { ATTR, SpanKind, contextFromTraceparent, startSpan, traceparentOf, tracingEnabled, type Span } from '../telemetry/trace.ts';

/** Arrival times kept at once; past it they are dropped (queue spans then start at assignment). */
const QUEUED_MAX = 1_000_000;

export class CoordinatorTracing {
  /** Task id -> when it arrived (ms since the epoch), until its first assignment. */
  private readonly arrivedAt = new Map<string, number>();

  /** Opens the schedule span of a submission whose tasks are traced (undefined otherwise). */
  submitted(clientId: string, tasks: readonly TaskSpec[], nowMs: number): Span | undefined {
    const traceParent = tasks[0]?.traceParent;
    if (traceParent === undefined || traceParent === '' || !tracingEnabled()) return undefined;
    if (this.arrivedAt.size + tasks.length > QUEUED_MAX) this.arrivedAt.clear();
    for (const t of tasks) if (t.traceParent !== undefined && t.traceParent !== '') this.arrivedAt.set(`${clientId}/${t.key}`, nowMs);
    return startSpan('schedule', { [ATTR.client]: clientId, [ATTR.tasks]: tasks.length }, contextFromTraceparent(traceParent), { kind: SpanKind.CONSUMER });
  }

  /** A run goes to a worker: records its queue span and returns the traceparent for the Assign ('' untraced). */
  assigned(id: string, spec: TaskSpec, workerId: string, attempt: number, nowMs: number): string {
    if (spec.traceParent === undefined || spec.traceParent === '' || !tracingEnabled()) return '';
    const startTime = this.arrivedAt.get(id) ?? nowMs;
    this.arrivedAt.delete(id);
    const span = startSpan(
      'queue',
      { [ATTR.taskKey]: spec.key, [ATTR.taskName]: spec.name, [ATTR.worker]: workerId, [ATTR.attempt]: attempt },
      contextFromTraceparent(spec.traceParent),
      { startTime },
    );
    span.end(nowMs);
    return traceparentOf(span);
  }

  /** A task left without running (cancelled, released): forget its arrival. */
  forget(id: string): void {
    this.arrivedAt.delete(id);
  }
}
