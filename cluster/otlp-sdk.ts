/**
 * The OpenTelemetry SDK, registered for a process or a pool thread that exports over
 * OTLP/HTTP (protobuf). Loaded by telemetry.ts only when a command is given `--otlp`.
 */
import { metrics } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { otlpBaseUrl } from './telemetry.ts';

/** How often metrics are exported (ms); FLOE_METRICS_INTERVAL_MS overrides. */
const METRICS_INTERVAL_MS_DEFAULT = 10_000;
/** How long finished spans wait to be batched (ms). */
const SPANS_DELAY_MS = 500;

export function serviceResource(service: string): Resource {
  return resourceFromAttributes({ 'service.name': service, 'service.instance.id': `${service}-${process.pid}` });
}

/**
 * Registers the SDK in this process for `service`, exporting to `url`. In a pool thread
 * (`thread: true`) only traces, each span sent as it ends: Piscina terminates threads
 * without warning on close, so a thread must not hold spans back in a batch.
 */
export function registerSdk(service: string, url: string, options: { thread: boolean } = { thread: false }): { shutdown(): Promise<void> } {
  const base = otlpBaseUrl(url);
  const resource = serviceResource(service);
  const exporter = new OTLPTraceExporter({ url: `${base}/v1/traces` });
  const tracerProvider = new NodeTracerProvider({
    resource,
    spanProcessors: [options.thread ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter, { scheduledDelayMillis: SPANS_DELAY_MS })],
  });
  tracerProvider.register();
  if (options.thread) return { shutdown: () => tracerProvider.shutdown() }; // no metrics in pool threads
  const intervalEnv = Number(process.env.FLOE_METRICS_INTERVAL_MS);
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics` }),
        exportIntervalMillis: Number.isFinite(intervalEnv) && intervalEnv > 0 ? intervalEnv : METRICS_INTERVAL_MS_DEFAULT,
      }),
    ],
  });
  metrics.setGlobalMeterProvider(meterProvider);
  return {
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
