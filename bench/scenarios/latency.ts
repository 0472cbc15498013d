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

/** Round trips of the warm-up (on floe, Dask and BullMQ alike; see THROUGHPUT_WARMUP_SIZES). */
export const LATENCY_WARMUP_COUNT = 2000;

export const latencyScenario: Scenario<LatencyRaw> = {
  name: 'latency',
  title: 'Latency: one no-op task round trip, sequential',
  warmup: true,
  reps: (quick) => (quick ? 2 : 3),
  note: (quick) =>
    `${count(quick)} sequential round trips${quick ? ' (full: 1,000)' : ''}; warm-up: ${LATENCY_WARMUP_COUNT}; ` +
    `NATS floor: a request answered by another process (2 hops; floe's path is 2 and a pool thread: each task is submitted directly to the worker of the last result), local mode`,
  dask: true,
  params: (quick) => ({ count: count(quick), warmupCount: LATENCY_WARMUP_COUNT }),
  metrics: () => [
    { key: 'round trip median', unit: 'ms', better: 'lower', target: { value: 0.75, text: '≤ 0.75 ms' }, reference: 'BullMQ 6.7 (2 cores): 1.1–1.4 ms' },
    { key: 'round trip p99', unit: 'ms', better: 'lower', target: { value: 2, text: '≤ 2 ms' } },
    { key: 'NATS floor median', unit: 'ms', better: 'lower', reference: 'floe: 2 hops + a pool thread' },
    { key: 'NATS floor p99', unit: 'ms', better: 'lower' },
  ],
  async run(ctx) {
    const client = await ctx.client();
    const roundTripsMs: number[] = [];
    const n = ctx.warmup ? LATENCY_WARMUP_COUNT : count(ctx.quick);
    for (let i = 0; i < n; i++) {
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
