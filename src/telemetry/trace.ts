/**
 * floe's tracing helpers. The library depends on `@opentelemetry/api` only: with no SDK
 * registered every helper here returns early, before allocating a span or formatting a
 * traceparent, so tracing costs one provider lookup per call site when it is off.
 *
 * Trace context crosses process boundaries as a W3C `traceparent` string carried in the
 * control messages themselves (TaskSpec.trace_parent, Assign.trace_parent in
 * proto/floe.proto) rather than in NATS headers: control messages travel inside the
 * reliable links' frames, which have no headers, and a task's context belongs to the task,
 * not to the batch it happens to travel in. gRPC fetches carry it in call metadata.
 */
import {
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';

export const TRACER_NAME = 'floe';

/** Attribute names floe sets on its spans. */
export const ATTR = {
  taskKey: 'floe.task.key',
  taskName: 'floe.task.name',
  flow: 'floe.flow',
  worker: 'floe.worker',
  bytes: 'floe.bytes',
  attempt: 'floe.attempt',
  serializer: 'floe.serializer',
  tasks: 'floe.tasks',
  client: 'floe.client',
  peer: 'floe.peer',
} as const;

const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * True when an OpenTelemetry SDK registered a tracer provider in this realm. Cheap (no
 * allocation), so hot paths check it before doing any tracing work.
 */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** Starts a span under `parent` (the active context by default). Callers check tracingEnabled() first. */
export function startSpan(
  name: string,
  attributes: Attributes,
  parent: Context = context.active(),
  options: { kind?: SpanKind; startTime?: number } = {},
): Span {
  return tracer().startSpan(name, { attributes, kind: options.kind ?? SpanKind.INTERNAL, ...(options.startTime === undefined ? {} : { startTime: options.startTime }) }, parent);
}

/** Marks a span failed with an exception and message (the task's error). */
export function recordFailure(span: Span, error: { code?: string; message: string; stack?: string; name?: string }): void {
  span.recordException({ name: error.code ?? error.name ?? 'Error', message: error.message, ...(error.stack ? { stack: error.stack } : {}) });
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

// ---- W3C traceparent: "00-<32 hex trace id>-<16 hex span id>-<2 hex flags>" ----------

/** The traceparent of a span ('' when it is not valid, e.g. a non-recording no-op span). */
export function traceparentOf(span: Span | undefined): string {
  if (span === undefined) return '';
  return formatTraceparent(span.spanContext());
}

/** The traceparent of the span active in `ctx`, or ''. */
export function activeTraceparent(ctx: Context = context.active()): string {
  if (!tracingEnabled()) return '';
  return traceparentOf(trace.getSpan(ctx));
}

export function formatTraceparent(sc: SpanContext): string {
  if (!isSpanContextValid(sc)) return '';
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${sc.traceId}-${sc.spanId}-${flags}`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A context whose parent is the remote span named by `traceparent` (ROOT_CONTEXT for '' or garbage). */
export function contextFromTraceparent(traceparent: string, base: Context = ROOT_CONTEXT): Context {
  if (traceparent === '') return base;
  const m = TRACEPARENT.exec(traceparent);
  if (m === null) return base;
  const sc: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
  if (!isSpanContextValid(sc)) return base;
  return trace.setSpanContext(base, sc);
}

/** Runs `fn` with `span` active (so spans opened inside it, and the logs it writes, refer to it). */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

export { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace, type Context, type Span };
