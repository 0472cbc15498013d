/**
 * The CLI's OpenTelemetry setup: with `--otlp URL` (or OTEL_EXPORTER_OTLP_ENDPOINT) a
 * command registers a tracer provider (with an AsyncLocalStorage context manager) and a
 * meter provider that export over OTLP/HTTP (protobuf) to URL/v1/traces and
 * URL/v1/metrics, as service floe-coordinator, floe-worker or floe-client. The library
 * itself only uses @opentelemetry/api; the SDK is set up in otlp-sdk.ts, which is loaded
 * only when a command exports: loading the SDK and its exporters took about 0.3 s of CPU
 * at every start of a coordinator or worker (a profile of a worker's start), traced or not.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FloeError } from '../src/errors.ts';

export type ServiceName = 'floe-coordinator' | 'floe-worker' | 'floe-client';

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

/**
 * Starts telemetry for a CLI command when `url` is set (undefined: nothing, and floe
 * records nothing). Pool threads started after this trace too (see telemetry-thread.ts).
 */
export async function startTelemetry(service: ServiceName, url: string | undefined): Promise<Telemetry | undefined> {
  if (url === undefined || url === '') return undefined;
  const base = otlpBaseUrl(url);
  const { registerSdk } = await import('./otlp-sdk.ts');
  const sdk = registerSdk(service, base);
  // Pool threads copy the environment when they start: this is how they learn where to export.
  process.env[THREAD_URL_ENV] = base;
  process.env[THREAD_SERVICE_ENV] = service;
  const threadSetup = new URL(`./telemetry-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
  return { threadSetup, shutdown: () => sdk.shutdown() };
}

export const THREAD_URL_ENV = 'FLOE_OTLP_THREAD_URL';
export const THREAD_SERVICE_ENV = 'FLOE_OTLP_THREAD_SERVICE';
