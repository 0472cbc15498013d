/** throughput: N independent no-op tasks, submitted at once; tasks/s from submit to last result. */
import type { Scenario } from '../harness.ts';
import { noop } from '../tasks.ts';

export interface ThroughputRaw {
  runs: Array<{ n: number; seconds: number }>;
}

export const sizeLabel = (n: number): string => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));

const sizes = (quick: boolean): number[] => (quick ? [2000] : [10_000, 100_000]);

export const throughputScenario: Scenario<ThroughputRaw> = {
  name: 'throughput',
  title: 'Throughput: independent no-op tasks, submit to last result',
  warmup: true,
  reps: (quick) => (quick ? 2 : 3),
  note: (quick) => (quick ? 'quick size: 2k tasks (full: 10k and 100k)' : '10k and 100k tasks'),
  dask: true,
  params: (quick) => ({ sizes: sizes(quick) }),
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
    for (const n of ctx.warmup ? [1000] : sizes(ctx.quick)) {
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
