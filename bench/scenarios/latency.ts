/** latency: one tiny task, submitted and awaited, many times in sequence. */
import type { Scenario } from '../harness.ts';
import { natsRoundTrips } from '../nats-floor.ts';
import { quantile } from '../stats.ts';
import { noop } from '../tasks.ts';

export interface LatencyRaw {
  roundTripsMs: number[];
  /** NATS request/reply between two processes, same count (local mode only). */
  natsRoundTripsMs?: number[];
}

const count = (quick: boolean): number => (quick ? 200 : 1000);

/**
 * The warm-up, on floe, Dask and BullMQ alike (see THROUGHPUT_WARMUP_SIZES): this many round
 * trips, or LATENCY_WARMUP_MAX_MS, whichever ends first.
 *
 * A sequential round trip runs code that rounds of many tasks leave cold (a lone task goes
 * straight to a worker), and V8 goes on optimizing it long after the median has settled: on
 * a fresh local cluster, its coordinator and workers finished 376, 300, 108, 52, 24, 32, 6
 * and 16 optimizations in the first eight thousands of round trips (`--trace-opt`), each a
 * job of 0.3 to 15 ms on one of V8's background threads. On 2 cores, a thread woken for the
 * next hop then waits for the core such a job holds, even with the other core idle
 * (`perf sched`: in the slowest round trips, the client's main thread, a worker's, or its
 * pool thread waited 3 to 4.5 ms), and the p99 measured the warm-up. With 2,000 round
 * trips of warm-up the p99 was 2.23 to 2.46 ms, with 8,000 0.91 to 1.27 (three alternated
 * pairs of `floe bench latency`, 2026-12-06); the NATS floor measured after it fell as much
 * (0.72 to 1.22 ms against 0.19 to 0.21), being measured beside the cluster.
 */
export const LATENCY_WARMUP_COUNT = 8000;
/** The warm-up's limit in time: Dask's round trip is 40 times floe's. */
export const LATENCY_WARMUP_MAX_MS = 20_000;

/** Whether a warm-up that made `done` round trips since `startedMs` (performance.now()) goes on. */
export function warmingUp(done: number, startedMs: number, count = LATENCY_WARMUP_COUNT, maxMs = LATENCY_WARMUP_MAX_MS): boolean {
  return done < count && performance.now() - startedMs < maxMs;
}

export const latencyScenario: Scenario<LatencyRaw> = {
  name: 'latency',
  title: 'Latency: one no-op task round trip, sequential',
  warmup: true,
  reps: (quick) => (quick ? 2 : 3),
  note: (quick) =>
    `${count(quick)} sequential round trips${quick ? ' (full: 1,000)' : ''}; warm-up: ${LATENCY_WARMUP_COUNT} or ${LATENCY_WARMUP_MAX_MS / 1000} s, whichever ends first; ` +
    `NATS floor: a request answered by another process (2 hops; floe's path is 2 and a pool thread: each task is submitted directly to the worker of the last result), local mode`,
  dask: true,
  params: (quick) => ({ count: count(quick), warmupCount: LATENCY_WARMUP_COUNT, warmupMaxMs: LATENCY_WARMUP_MAX_MS }),
  metrics: () => [
    { key: 'round trip median', unit: 'ms', better: 'lower', target: { value: 0.75, text: '≤ 0.75 ms' }, reference: 'BullMQ 6.7 (2 cores): 1.1–1.4 ms' },
    { key: 'round trip p99', unit: 'ms', better: 'lower', target: { value: 2, text: '≤ 2 ms' } },
    { key: 'NATS floor median', unit: 'ms', better: 'lower', reference: 'floe: 2 hops + a pool thread' },
    { key: 'NATS floor p99', unit: 'ms', better: 'lower' },
  ],
  async run(ctx) {
    const client = await ctx.client();
    const roundTripsMs: number[] = [];
    const n = count(ctx.quick);
    const startedMs = performance.now();
    for (let i = 0; ctx.warmup ? warmingUp(i, startedMs) : i < n; i++) {
      const t0 = performance.now();
      const f = client.submit(noop, i);
      const v = await f.result();
      roundTripsMs.push(performance.now() - t0);
      f.release();
      if (v !== i) throw new Error(`latency: wrong result ${v} for ${i}`);
    }
    if (ctx.warmup || ctx.mode !== 'local') return { roundTripsMs };
    return { roundTripsMs, natsRoundTripsMs: await natsRoundTrips(n, LATENCY_WARMUP_COUNT) };
  },
  measure: (raw) => ({
    values: {
      'round trip median': quantile(raw.roundTripsMs, 0.5),
      'round trip p99': quantile(raw.roundTripsMs, 0.99),
      ...(raw.natsRoundTripsMs === undefined
        ? {}
        : { 'NATS floor median': quantile(raw.natsRoundTripsMs, 0.5), 'NATS floor p99': quantile(raw.natsRoundTripsMs, 0.99) }),
    },
    series: { 'round trip': raw.roundTripsMs },
  }),
};
