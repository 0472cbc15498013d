/**
 * The cluster warm-up: before the first scenario, a fresh cluster runs a mix of the
 * scenarios' shapes (independent no-ops, a tree reduction, chains of dependent tasks)
 * again and again until it has worked for a given time, so that the scenarios measure a
 * cluster in its steady state, as a long-running one is, and not V8 still compiling.
 *
 * Why time, and this long: on 2 cores, the share of each floe process's CPU that goes to
 * V8's optimizing compiler falls from 25-35% in the first 5 s of sustained load to 1-3%
 * only after 25-30 s (measured with `perf record -e cpu-clock` and `--perf-basic-prof` on
 * a local cluster running 20k-task rounds), and each scenario's own warm-up is a second or
 * two. The peers get the same time of warm-up work (bench/dask_bench.py, bench/bullmq.ts).
 */
import type { Client, Future } from '../src/index.ts';
import { flatten } from './scenarios/task-lag.ts';
import { sumTree } from './scenarios/tree-reduce.ts';
import { lagShape } from './stats.ts';
import { noop, stamp, type Stamp } from './tasks.ts';

/** Seconds of warm-up work when `floe bench` is not told otherwise (--warm-up). */
export const DEFAULT_WARMUP_SECONDS = { full: 20, quick: 5 } as const;

const NOOPS = 5000;
const TREE_NUMBERS = 2000;

/** Runs the mix until `seconds` have passed (at least one round unless `seconds` ≤ 0); returns the tasks run. */
export async function warmCluster(client: Client, seconds: number): Promise<number> {
  if (!(seconds > 0)) return 0;
  const until = performance.now() + seconds * 1000;
  const items = Array.from({ length: NOOPS }, (_, i) => i);
  const chains = flatten(lagShape('linear-100x10', 1));
  let tasks = 0;
  do {
    const futures = client.map(noop, items);
    const values = await client.gather(futures);
    for (const f of futures) f.release();
    if (values[NOOPS - 1] !== NOOPS - 1) throw new Error('warm-up: wrong no-op result');
    if (!(await sumTree(client, TREE_NUMBERS)).ok) throw new Error('warm-up: wrong tree sum');
    const stamped: Future<Stamp>[] = [];
    for (const node of chains) stamped.push(client.submit(stamp, node.deps.map((d) => stamped[d]!)));
    await client.gather(stamped);
    for (const f of stamped) f.release();
    tasks += NOOPS + (TREE_NUMBERS - 1) + chains.length;
  } while (performance.now() < until);
  return tasks;
}
