/**
 * The OpenTelemetry SDK as the tracing benchmark registers it, in the main thread and (as
 * a pool thread's setup module) in each pool thread: real tracer providers, context
 * managers and batch span processors, with an exporter that drops what it gets, so the
 * benchmark measures floe's tracing work and the SDK's, not a network.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-node';

export interface DroppingExporter extends SpanExporter {
  exported: number;
}

export function droppingExporter(): DroppingExporter {
  const exporter: DroppingExporter = {
    exported: 0,
    export(spans, done) {
      exporter.exported += spans.length;
      done({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
  };
  return exporter;
}

/** Registers the SDK; returns a function that flushes it and unregisters it. */
export function registerBenchSdk(exporter: SpanExporter = droppingExporter()): () => Promise<void> {
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  return async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
  };
}

// As a pool thread's setup module (workerData marks a thread), register at import.
const { isMainThread } = await import('node:worker_threads');
if (!isMainThread) registerBenchSdk();
