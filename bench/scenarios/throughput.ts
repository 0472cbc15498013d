/** throughput: N independent no-op tasks, submitted at once; tasks/s from submit to last result. */
import { CpuMeter } from '../cpu.ts';
import type { MetricSpec, Scenario } from '../harness.ts';
import { untilLetGo } from '../let-go.ts';
import { noop } from '../tasks.ts';

export interface ThroughputRaw {
  runs: Array<{ n: number; seconds: number }>;
  /** µs of CPU per task over all the timed runs, by process (floe only; see bench/cpu.ts). */
  cpu?: Record<string, number>;
}

export const sizeLabel = (n: number): string => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));

const sizes = (quick: boolean): number[] => (quick ? [2000] : [10_000, 100_000]);

/**
 * The warm-up's runs (on floe, Dask and BullMQ alike): enough for V8 to have compiled the
 * hot paths of every floe process. A fresh cluster's first 2k no-ops ran at 4,300/s, at
 * 13,000/s once warm (2 cores); the table is the warm figure.
 */
export const THROUGHPUT_WARMUP_SIZES = [2000, 2000, 2000, 2000, 2000];

/**
 * CPU per task, all processes together and by role (the workers summed). On 2 cores, C µs
 * of CPU per task allow at most 2,000,000 / C tasks/s: the target of 50,000/s needs C ≤ 40.
 */
const CPU_ROWS: Array<{ key: string; of: (name: string) => boolean }> = [
  { key: 'CPU, all processes', of: () => true },
  { key: 'CPU, coordinator', of: (name) => name === 'coordinator' },
  { key: 'CPU, workers', of: (name) => name.startsWith('worker') },
  { key: 'CPU, nats-server', of: (name) => name === 'nats-server' },
  { key: 'CPU, client', of: (name) => name === 'client' },
];

function cpuMetrics(): MetricSpec[] {
  return CPU_ROWS.map(({ key }) => ({ key, unit: 'µs/task', better: 'lower' as const }));
}

/** The CPU rows of one run: sums of the per-process figures. */
export function cpuValues(cpu: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { key, of } of CPU_ROWS) {
    const names = Object.keys(cpu).filter(of);
    if (names.length > 0) out[key] = names.reduce((sum, name) => sum + cpu[name]!, 0);
  }
  return out;
}

export const throughputScenario: Scenario<ThroughputRaw> = {
  name: 'throughput',
  title: 'Throughput: independent no-op tasks, submit to last result',
  warmup: true,
  reps: (quick) => (quick ? 2 : 3),
  note: (quick) =>
    `${quick ? 'quick size: 2k tasks (full: 10k and 100k)' : '10k and 100k tasks'}; warm-up: ${THROUGHPUT_WARMUP_SIZES.length} × 2k; ` +
    'each run once the cluster has let go of the one before; ' +
    `CPU per task by process from /proc, in steps of ${quick ? '5' : '0.1'} µs (10 ms ticks)`,
  dask: true,
  params: (quick) => ({ sizes: sizes(quick), warmupSizes: THROUGHPUT_WARMUP_SIZES }),
  metrics: (quick) => [
    ...sizes(quick).map((n) => ({
      key: `${sizeLabel(n)} no-op`,
      unit: 'tasks/s',
      better: 'higher' as const,
      target: { value: 50_000, text: '≥ 50,000/s' },
      reference: 'BullMQ 6.7 (2 cores): 2,950–5,130/s',
    })),
    ...cpuMetrics(),
  ],
  async run(ctx) {
    const client = await ctx.client();
    const runs: ThroughputRaw['runs'] = [];
    const meter = new CpuMeter(await ctx.processes());
    for (const n of ctx.warmup ? THROUGHPUT_WARMUP_SIZES : sizes(ctx.quick)) {
      const items = Array.from({ length: n }, (_, i) => i);
      const t0 = performance.now();
      const futures = client.map(noop, items);
      const results = await client.gather(futures);
      const seconds = (performance.now() - t0) / 1000;
      for (const f of futures) f.release();
      if (results[n - 1] !== n - 1) throw new Error(`throughput: wrong result ${results[n - 1]}`);
      runs.push({ n, seconds });
      await untilLetGo(client, 'throughput');
    }
    // The CPU per task includes letting go of the released tasks and results.
    return { runs, cpu: meter.usPerTask(runs.reduce((k, r) => k + r.n, 0)) };
  },
  measure: (raw) => ({
    values: { ...Object.fromEntries(raw.runs.map((r) => [`${sizeLabel(r.n)} no-op`, r.n / r.seconds])), ...cpuValues(raw.cpu ?? {}) },
  }),
};

