/** tree-reduce: the sum of N numbers by a binary tree of add tasks (N − 1 tasks), submitted at once. */
import type { Client, Future } from '../../src/index.ts';
import type { Scenario } from '../harness.ts';
import { add } from '../tasks.ts';
import { sizeLabel } from './throughput.ts';

export interface TreeReduceRaw {
  n: number;
  seconds: number;
  ok: boolean;
}

const size = (quick: boolean): number => (quick ? 2000 : 10_000);

/** The warm-up's trees (on floe, Dask and BullMQ alike; see THROUGHPUT_WARMUP_SIZES). */
export const TREE_WARMUP_SIZES = [2000, 2000];

export const treeReduceScenario: Scenario<TreeReduceRaw> = {
  name: 'tree-reduce',
  title: 'Tree reduction: sum of N numbers by pairwise add tasks',
  warmup: true,
  reps: (quick) => (quick ? 2 : 5),
  note: (quick) => `${quick ? 'quick size: 2k numbers (full: 10k)' : '10k numbers, 9,999 tasks'}; warm-up: ${TREE_WARMUP_SIZES.length} × 2k`,
  dask: true,
  params: (quick) => ({ n: size(quick), warmupSizes: TREE_WARMUP_SIZES }),
  metrics: (quick) => [{ key: `${sizeLabel(size(quick))} sum`, unit: 's', better: 'lower', target: { value: 0.5, text: '≤ 0.5 s (10k)' } }],
  async run(ctx) {
    const client = await ctx.client();
    if (ctx.warmup) {
      for (const n of TREE_WARMUP_SIZES) if (!(await sumTree(client, n)).ok) throw new Error('tree-reduce: wrong sum in the warm-up');
    }
    return sumTree(client, size(ctx.quick));
  },
  measure(raw) {
    if (!raw.ok) throw new Error(`tree-reduce: wrong sum for ${raw.n} numbers`);
    return { values: { [`${sizeLabel(raw.n)} sum`]: raw.seconds } };
  },
};

export async function sumTree(client: Client, n: number): Promise<TreeReduceRaw> {
  const t0 = performance.now();
  let level: Future<number>[] = [];
  for (let i = 0; i + 1 < n; i += 2) level.push(client.submit(add, i, i + 1));
  if (n % 2 === 1) level.push(client.submit(add, n - 1, 0));
  while (level.length > 1) {
    const next: Future<number>[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(client.submit(add, level[i]!, level[i + 1]!));
    const carried = level.length % 2 === 1 ? level[level.length - 1]! : undefined;
    // A level is dropped once the next one is submitted (a submitted task keeps its
    // inputs), as the Dask script drops its references: only the sum is wanted in the end.
    for (const f of level) if (f !== carried) f.release();
    if (carried !== undefined) next.push(carried);
    level = next;
  }
  const total = await level[0]!.result();
  const seconds = (performance.now() - t0) / 1000;
  level[0]!.release();
  return { n, seconds, ok: total === (n * (n - 1)) / 2 };
}
