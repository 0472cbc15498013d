/**
 * tracing: the cost of tracing. The same flow of N no-op tasks on an embedded cluster
 * (2 workers × 1 pool thread, in this process whatever --mode says: tracing is switched on
 * and off by registering the SDK in this process) with no SDK registered ("off": floe's
 * helpers return before doing anything) and with the SDK registered in the main thread and
 * the pool threads, spans batched to an exporter that drops them ("on").
 */
import { fileURLToPath } from 'node:url';
import { extname } from 'node:path';
import { Client, flow } from '../../src/index.ts';
import type { Scenario } from '../harness.ts';
import { noop } from '../tasks.ts';
import { droppingExporter, registerBenchSdk } from '../tracing-setup.ts';
import { sizeLabel } from './throughput.ts';
import { CoordinatorTracing } from '../../src/coordinator/tracing.ts';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { WorkerMetrics } from '../../src/telemetry/metrics.ts';
import { activeTraceparent, tracingEnabled } from '../../src/telemetry/trace.ts';
import type { WireAssign } from '../../src/transport/messages.ts';
import { WorkerTracing } from '../../src/worker/tracing.ts';

export interface TracingRaw {
  n: number;
  off: number;
  on: number;
  spans: number;
  /** ns per task spent in floe's tracing and metrics calls with no SDK (a tight loop of them). */
  offPathNs: number;
}

const size = (quick: boolean): number => (quick ? 2000 : 20_000);
const threadSetup = new URL(`../tracing-setup${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;

async function flowSeconds(n: number, traced: boolean): Promise<number> {
  const client = await Client.local({ workers: 2, threads: 1, ...(traced ? { threadSetup } : {}) });
  try {
    const noops = flow('bench-noops', () => Array.from({ length: n }, (_, i) => noop(i)));
    await client.run(noops); // warm: threads started, module loaded
    const t0 = performance.now();
    const results = await client.run(noops);
    const seconds = (performance.now() - t0) / 1000;
    if (results[n - 1] !== n - 1) throw new Error(`tracing: wrong result ${String(results[n - 1])}`);
    return seconds;
  } finally {
    await client.close();
  }
}

export const tracingScenario: Scenario<TracingRaw> = {
  name: 'tracing',
  title: 'Tracing overhead: a flow of no-op tasks with no SDK (off) and with the SDK recording every span (on)',
  warmup: false,
  reps: (quick) => (quick ? 2 : 3),
  note: (quick) => `${sizeLabel(size(quick))} no-op tasks in one flow, embedded (2 workers × 1 thread), spans batched to a dropping exporter`,
  dask: false,
  metrics: () => [
    { key: 'off', unit: 'tasks/s', better: 'higher' as const },
    { key: 'on', unit: 'tasks/s', better: 'higher' as const },
    { key: 'overhead', unit: '%', better: 'lower' as const },
    { key: 'spans per task', unit: 'spans', better: 'lower' as const },
    { key: 'off path per task', unit: 'ns', better: 'lower' as const },
    { key: 'off path share', unit: '%', better: 'lower' as const },
  ],
  run: (ctx) => measureOnce(size(ctx.quick)),
  measure: (raw) => ({
    values: {
      off: raw.n / raw.off,
      on: raw.n / raw.on,
      overhead: ((raw.on - raw.off) / raw.off) * 100,
      // main-thread spans (the pool threads' go to their own exporters), over both runs
      'spans per task': raw.spans / (2 * raw.n),
      'off path per task': raw.offPathNs,
      // of one task's time at the "off" throughput
      'off path share': (raw.offPathNs / 1e9 / (raw.off / raw.n)) * 100,
    },
  }),
};

/**
 * What floe's per-task tracing and metrics calls cost with no SDK: each call a task meets on
 * its way (submit, schedule, assign, arrival at the worker, run, gRPC serve check, metrics),
 * in a loop.
 */
export function offPathNs(iterations = 200_000): number {
  const coordinator = new CoordinatorTracing();
  const worker = new WorkerTracing('w-bench');
  const workerMetrics = new WorkerMetrics('w-bench', { queueLength: () => 0, memoryBytes: () => 0, spilledBytes: () => 0 });
  const spec = { key: 'k', name: 'noop', serializer: { id: 'msgpack', module: '' } } as TaskSpec;
  const assign = { id: 'c/k', runId: 1, attempt: 1, spec, deps: [] } as unknown as WireAssign;
  const isLocal = (): boolean => false;
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    if (tracingEnabled()) sink++; // submitter
    if (coordinator.submitted('c', [spec], 0) !== undefined) sink++;
    sink += coordinator.assigned('c/k', spec, 'w', 1, 0).length;
    worker.assigned(assign, isLocal);
    if (worker.startRun(assign, []) !== undefined) sink++;
    sink += activeTraceparent().length; // gRPC fetch metadata
    workerMetrics.taskFinished('noop', 1, true);
  }
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  if (sink !== 0) throw new Error('tracing: the off path recorded something');
  return ns;
}

/** Off, then on, with the same flow. */
export async function measureOnce(n: number): Promise<TracingRaw> {
  if (tracingEnabled()) throw new Error('tracing: an SDK is already registered in this process; "off" would not be off');
  const offPath = offPathNs();
  const off = await flowSeconds(n, false);
  const exporter = droppingExporter();
  const unregister = registerBenchSdk(exporter);
  let on: number;
  try {
    on = await flowSeconds(n, true);
  } finally {
    await unregister();
  }
  return { n, off, on, spans: exporter.exported, offPathNs: offPath };
}
