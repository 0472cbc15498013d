/**
 * Imported by each pool thread of a traced process (PoolExecutorOptions.threadSetup):
 * registers the SDK in the thread, exporting to the same collector as its process, so
 * spans opened by task code are recorded under floe's run span. Threads do not share
 * their process's tracer provider.
 */
import { registerSdk } from './otlp-sdk.ts';
import { THREAD_SERVICE_ENV, THREAD_URL_ENV } from './telemetry.ts';

const url = process.env[THREAD_URL_ENV];
if (url !== undefined && url !== '') {
  registerSdk(process.env[THREAD_SERVICE_ENV] ?? 'floe-worker', url, { thread: true });
}
