/**
 * The CLI's OpenTelemetry setup: with `--otlp URL` (or OTEL_EXPORTER_OTLP_ENDPOINT) a
 * command registers a tracer provider (with an AsyncLocalStorage context manager) and a
 * meter provider that export over OTLP/HTTP (protobuf) to URL/v1/traces and
 * URL/v1/metrics, as service floe-coordinator, floe-worker or floe-client. The library
 * itself only uses @opentelemetry/api; this file is the only place the SDK is set up.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { metrics } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { FloeError } from '../src/errors.ts';

export type ServiceName = 'floe-coordinator' | 'floe-worker' | 'floe-client';

/** How often metrics are exported (ms); FLOE_METRICS_INTERVAL_MS overrides. */
const METRICS_INTERVAL_MS_DEFAULT = 10_000;
/** How long finished spans wait to be batched (ms). */
const SPANS_DELAY_MS = 500;

export interface Telemetry {
  /** Module URL for PoolExecutorOptions.threadSetup: traces task code in pool threads. */
  readonly threadSetup: string;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** Checks an OTLP base URL (http or https) and drops a trailing slash. */
export function otlpBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FloeError('INVALID_OPTION', `--otlp must be an http(s) URL such as http://127.0.0.1:4318 (got ${JSON.stringify(url)})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new FloeError('INVALID_OPTION', `--otlp must be an http(s) URL (got ${JSON.stringify(url)})`);
  }
  return url.replace(/\/+$/, '');
}

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

/**
 * Starts telemetry for a CLI command when `url` is set (undefined: nothing, and floe
 * records nothing). Pool threads started after this trace too (see telemetry-thread.ts).
 */
export function startTelemetry(service: ServiceName, url: string | undefined): Telemetry | undefined {
  if (url === undefined || url === '') return undefined;
  const sdk = registerSdk(service, url);
  // Pool threads copy the environment when they start: this is how they learn where to export.
  process.env[THREAD_URL_ENV] = otlpBaseUrl(url);
  process.env[THREAD_SERVICE_ENV] = service;
  const threadSetup = new URL(`./telemetry-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
  return { threadSetup, shutdown: () => sdk.shutdown() };
}

export const THREAD_URL_ENV = 'FLOE_OTLP_THREAD_URL';
export const THREAD_SERVICE_ENV = 'FLOE_OTLP_THREAD_SERVICE';
