/**
 * Two builds of floe measured side by side: a local cluster of each (nats-server,
 * coordinator, 2 workers × 1 thread) up at once, and the same measurement on one, then the
 * other, alternating (A B B A ...), so that both see the same machine. On a shared machine
 * whose speed drifts by half within minutes, this is how a change is measured: two runs of
 * `floe bench` an hour (or a minute) apart compare the machine, not the builds.
 *
 *   node --import=tsx bench/side-by-side.ts DIR_A DIR_B [latency|throughput|task-lag|tree-reduce] [reps]
 *
 * Each DIR is a floe checkout with `npm run build` done (its dist/ is what runs), e.g. the
 * commit before a change in a worktree: `git worktree add ../before HEAD~1`, then
 * `npm ci && npm run build` there. latency: `reps` sequential no-op round trips on each
 * (default 2,000, after 2,000 of warm-up); throughput: `reps` runs of 10k no-ops (default
 * 12, after 3); task-lag: `reps` runs of linear-100x10 (default 12, after 15; the shape
 * can follow as a fifth argument); tree-reduce: `reps` sums of 10k numbers by a tree of
 * add tasks, seconds each (default 12, after 3). Prints each side's median, p90 and p99,
 * B / A of the medians, and B / A run by run: the median of the paired ratios with a 95%
 * interval (stats.ts pairedRatio), which says whether the runs can tell the builds apart
 * at all. throughput also prints each side's CPU per task by process, summed over its
 * timed runs: its cluster's processes from /proc, and this process's own CPU while that side
 * ran as its client (the two clients share this process, and run one at a time).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as LocalClusterModule from '../cluster/local-cluster.ts';
import type * as IndexModule from '../src/index.ts';
import { clusterProcesses, cpuSeconds, type BenchProcess } from './cpu.ts';
import { pairedRatio, quantile } from './stats.ts';
import type * as StatsModule from './stats.ts';
import type * as TaskLagModule from './scenarios/task-lag.ts';
import type * as TasksModule from './tasks.ts';
import type * as TreeReduceModule from './scenarios/tree-reduce.ts';

type Measure = 'latency' | 'throughput' | 'task-lag' | 'tree-reduce';
const MEASURES: Measure[] = ['latency', 'throughput', 'task-lag', 'tree-reduce'];

const [dirA, dirB, measureArg = 'latency', repsArg, shapeArg = 'linear-100x10'] = process.argv.slice(2);
if (dirA === undefined || dirB === undefined) {
  console.error('usage: node --import=tsx bench/side-by-side.ts DIR_A DIR_B [latency|throughput|task-lag|tree-reduce] [reps] [shape]');
  process.exit(2);
}
const measure = measureArg as Measure;
if (!MEASURES.includes(measure)) throw new Error(`unknown measurement ${measureArg} (${MEASURES.join(', ')})`);
const DEFAULT_REPS: Record<Measure, number> = { latency: 2000, throughput: 12, 'task-lag': 12, 'tree-reduce': 12 };
const WARMUP: Record<Measure, number> = { latency: 2000, throughput: 3, 'task-lag': 15, 'tree-reduce': 3 };
const reps = Number(repsArg ?? DEFAULT_REPS[measure]);
const THROUGHPUT_TASKS = 10_000;
const TREE_NUMBERS = 10_000;

/**
 * One build: its own modules (imported from its dist/), cluster and client. The runs below
 * are written out here rather than taken from the scenarios, so that a build from before
 * any helper existed can still be measured.
 */
interface Side {
  dir: string;
  /** One measurement: ms for a round trip, tasks/s, or seconds of total lag. */
  once(i: number): Promise<number>;
  stop(): Promise<void>;
  values: number[];
  /** Its cluster's processes and this one (as 'client'). */
  processes: BenchProcess[];
  /** CPU seconds by process name over the timed runs. */
  cpu: Map<string, number>;
  tasks: number;
}

/** CPU seconds used so far by `p`: this process's own from process.cpuUsage(), which reads finer than /proc's 10 ms ticks. */
function cpuNow(p: BenchProcess): number {
  if (p.pid !== process.pid) return cpuSeconds(p.pid) ?? Number.NaN;
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** One timed run of `side`, its CPU added up by process when `tasks` > 0. */
async function timed(side: Side, i: number, tasks: number): Promise<number> {
  if (tasks === 0) return side.once(i);
  const before = side.processes.map(cpuNow);
  const value = await side.once(i);
  side.processes.forEach((p, k) => side.cpu.set(p.name, (side.cpu.get(p.name) ?? 0) + cpuNow(p) - before[k]!));
  side.tasks += tasks;
  return value;
}

async function load<T>(dir: string, path: string): Promise<T> {
  return (await import(pathToFileURL(resolve(dir, 'dist', path)).href)) as T;
}

async function startSide(dir: string): Promise<Side> {
  const { startLocalCluster } = await load<typeof LocalClusterModule>(dir, 'cluster/local-cluster.js');
  const { Client } = await load<typeof IndexModule>(dir, 'src/index.js');
  const { noop, stamp } = await load<typeof TasksModule>(dir, 'bench/tasks.js');
  const { lagShape, taskLag } = await load<typeof StatsModule>(dir, 'bench/stats.js');
  const { flatten } = await load<typeof TaskLagModule>(dir, 'bench/scenarios/task-lag.js');
  const { sumTree } = await load<typeof TreeReduceModule>(dir, 'bench/scenarios/tree-reduce.js');
  const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore' });
  const client = await Client.connect({ nats: handle.url, cluster: handle.cluster }).catch(async (error: unknown) => {
    await handle.stop();
    throw error;
  });
  const items = Array.from({ length: THROUGHPUT_TASKS }, (_, i) => i);
  const graph = flatten(lagShape(shapeArg as Parameters<typeof lagShape>[0], 1));
  const now = (): number => performance.timeOrigin + performance.now();
  const runs: Record<Measure, (i: number) => Promise<number>> = {
    latency: async (i) => {
      const t0 = performance.now();
      const f = client.submit(noop, i);
      await f.result();
      const ms = performance.now() - t0;
      f.release();
      return ms;
    },
    throughput: async () => {
      const t0 = performance.now();
      const futures = client.map(noop, items);
      await client.gather(futures);
      const seconds = (performance.now() - t0) / 1000;
      for (const f of futures) f.release();
      return THROUGHPUT_TASKS / seconds;
    },
    'task-lag': async () => {
      const futures: IndexModule.Future<TasksModule.Stamp>[] = [];
      const submitMs = now();
      for (const node of graph) futures.push(client.submit(stamp, node.deps.map((d) => futures[d]!)));
      const stamps = await client.gather(futures);
      for (const f of futures) f.release();
      return taskLag(graph.map((node, i) => ({ deps: node.deps, startMs: stamps[i]!.s, endMs: stamps[i]!.e })), submitMs).totalS;
    },
    'tree-reduce': async () => {
      const { seconds, ok } = await sumTree(client, TREE_NUMBERS);
      if (!ok) throw new Error('tree-reduce: wrong sum');
      return seconds;
    },
  };
  return {
    dir,
    once: runs[measure],
    stop: async () => {
      await client.close();
      await handle.stop();
    },
    values: [],
    processes: clusterProcesses(handle),
    cpu: new Map(),
    tasks: 0,
  };
}

const sides: Side[] = [];
try {
  for (const dir of [dirA, dirB]) sides.push(await startSide(dir));
  for (let i = 0; i < WARMUP[measure]; i++) for (const side of sides) await side.once(i);
  for (let i = 0; i < reps; i++) {
    // A B, then B A: neither side always goes first.
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) side.values.push(await timed(side, i, measure === 'throughput' ? THROUGHPUT_TASKS : 0));
  }
} finally {
  for (const side of sides) await side.stop();
}
const UNITS: Record<Measure, string> = { latency: 'ms', throughput: 'tasks/s', 'task-lag': `s total lag (${shapeArg})`, 'tree-reduce': 's per 10k sum' };
const unit = UNITS[measure];
for (const [name, side] of [['A', sides[0]!], ['B', sides[1]!]] as const) {
  const [p50, p90, p99] = [0.5, 0.9, 0.99].map((q) => quantile(side.values, q));
  console.log(`${name} ${side.dir}: median ${p50!.toFixed(3)}  p90 ${p90!.toFixed(3)}  p99 ${p99!.toFixed(3)}  ${unit}, ${side.values.length} runs`);
}
for (const [name, side] of [['A', sides[0]!], ['B', sides[1]!]] as const) {
  if (side.tasks === 0) continue;
  const rows = [...side.cpu].map(([proc, s]) => `${proc} ${((s * 1e6) / side.tasks).toFixed(1)}`);
  const all = [...side.cpu.values()].reduce((a, b) => a + b, 0);
  console.log(`${name} CPU µs per task: ${rows.join(', ')}; all ${((all * 1e6) / side.tasks).toFixed(1)}`);
}
console.log(`B / A median: ${(quantile(sides[1]!.values, 0.5) / quantile(sides[0]!.values, 0.5)).toFixed(3)}`);
const paired = pairedRatio(sides[0]!.values, sides[1]!.values);
const verdict = paired.low <= 1 && paired.high >= 1 ? 'cannot tell them apart' : paired.high < 1 ? 'B lower' : 'B higher';
console.log(
  `B / A paired: median ${paired.median.toFixed(3)}, 95% interval ${paired.low.toFixed(3)}–${paired.high.toFixed(3)} (${verdict}); B lower in ${paired.bLower} of ${paired.n} pairs`,
);
