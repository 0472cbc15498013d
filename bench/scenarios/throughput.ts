/** throughput: N independent no-op tasks, submitted at once; tasks/s from submit to last result. */
import type { Scenario } from '../harness.ts';
import { noop } from '../tasks.ts';

export interface ThroughputRaw {
  runs: Array<{ n: number; seconds: number }>;
}

export const sizeLabel = (n: number): string => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));

const sizes = (quick: boolean): number[] => (quick ? [2000] : [10_000, 100_000]);

/**
 * The warm-up's runs (on floe, Dask and BullMQ alike): enough for V8 to have compiled the
 * hot paths of every floe process. A fresh cluster's first 2k no-ops ran at 4,300/s, at
 * 13,000/s once warm (2 cores); the table is the warm figure.
 */
export const THROUGHPUT_WARMUP_SIZES = [2000, 2000, 2000, 2000, 2000];

export const throughputScenario: Scenario<ThroughputRaw> = {
  name: 'throughput',
  title: 'Throughput: independent no-op tasks, submit to last result',
  warmup: true,
  reps: (quick) => (quick ? 2 : 3),
  note: (quick) => `${quick ? 'quick size: 2k tasks (full: 10k and 100k)' : '10k and 100k tasks'}; warm-up: ${THROUGHPUT_WARMUP_SIZES.length} × 2k`,
  dask: true,
  params: (quick) => ({ sizes: sizes(quick), warmupSizes: THROUGHPUT_WARMUP_SIZES }),
  metrics: (quick) =>
    sizes(quick).map((n) => ({
      key: `${sizeLabel(n)} no-op`,
      unit: 'tasks/s',
      better: 'higher' as const,
      target: { value: 50_000, text: '≥ 50,000/s' },
      reference: 'BullMQ 6.7 (2 cores): 2,950–5,130/s',
    })),
  async run(ctx) {
    const client = await ctx.client();
    const runs: ThroughputRaw['runs'] = [];
    for (const n of ctx.warmup ? THROUGHPUT_WARMUP_SIZES : sizes(ctx.quick)) {
      const items = Array.from({ length: n }, (_, i) => i);
      const t0 = performance.now();
      const futures = client.map(noop, items);
      const results = await client.gather(futures);
      const seconds = (performance.now() - t0) / 1000;
      for (const f of futures) f.release();
      if (results[n - 1] !== n - 1) throw new Error(`throughput: wrong result ${results[n - 1]}`);
      runs.push({ n, seconds });
    }
    return { runs };
  },
  measure: (raw) => ({ values: Object.fromEntries(raw.runs.map((r) => [`${sizeLabel(r.n)} no-op`, r.n / r.seconds])) }),
};
