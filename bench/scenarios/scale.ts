/**
 * scale: one big graph (chains of 10 add tasks, only the tails returned) run as one flow on a
 * local cluster of its own; wall time and the coordinator's peak RSS (VmHWM of its process,
 * from /proc, since the coordinator does not report its own memory).
 */
import { readFileSync } from 'node:fs';
import { flow, type Future } from '../../src/index.ts';
import type { Scenario } from '../harness.ts';
import { add } from '../tasks.ts';
import { sizeLabel } from './throughput.ts';

export interface ScaleRaw {
  tasks: number;
  seconds: number;
  coordinatorPeakRssBytes: number;
  coordinatorStartRssBytes: number;
  ok: boolean;
}

const CHAIN = 10;
const size = (quick: boolean): number => (quick ? 10_000 : 1_000_000);

/** A /proc/<pid>/status field in bytes (Linux); NaN elsewhere. */
export function procStatusBytes(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? Number.NaN : Number(m[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

const chains = flow('bench-scale', (tasks: number): Future<number>[] => {
  const tails: Future<number>[] = [];
  for (let c = 0; c < tasks / CHAIN; c++) {
    let f = add(c, 0);
    for (let j = 1; j < CHAIN; j++) f = add(f, 1);
    tails.push(f);
  }
  return tails;
});

export const scaleScenario: Scenario<ScaleRaw> = {
  name: 'scale',
  title: 'Scale: one big graph on the local cluster (chains of 10)',
  warmup: false,
  reps: () => 1,
  note: (quick) =>
    quick
      ? `quick size: ${sizeLabel(size(true))} tasks (full: 1M, about 100 s on 2 cores)`
      : '1M tasks; own local cluster; one run',
  dask: false,
  metrics: (quick) => [
    { key: `${sizeLabel(size(quick))} tasks wall`, unit: 's', better: 'lower' },
    { key: 'tasks/s', unit: 'tasks/s', better: 'higher' },
    { key: 'coordinator peak RSS', unit: 'MB', better: 'lower', target: { value: 2000, text: '< 2 GB (1M)' } },
    { key: 'coordinator RSS at start', unit: 'MB', better: 'lower' },
  ],
  async run(ctx) {
    const tasks = size(ctx.quick);
    const cluster = await ctx.startCluster({});
    try {
      const pid = cluster.handle.coordinator.pid;
      const coordinatorStartRssBytes = procStatusBytes(pid, 'VmRSS');
      const t0 = performance.now();
      const tails = await cluster.client.run(chains, tasks);
      const seconds = (performance.now() - t0) / 1000;
      const coordinatorPeakRssBytes = procStatusBytes(pid, 'VmHWM');
      const ok = tails.length === tasks / CHAIN && tails.every((v, c) => v === c + CHAIN - 1);
      return { tasks, seconds, coordinatorPeakRssBytes, coordinatorStartRssBytes, ok };
    } finally {
      await cluster.stop();
    }
  },
  measure(raw) {
    if (!raw.ok) throw new Error('scale: wrong results');
    return {
      values: {
        [`${sizeLabel(raw.tasks)} tasks wall`]: raw.seconds,
        'tasks/s': raw.tasks / raw.seconds,
        'coordinator peak RSS': raw.coordinatorPeakRssBytes / 1e6,
        'coordinator RSS at start': raw.coordinatorStartRssBytes / 1e6,
      },
    };
  },
};
