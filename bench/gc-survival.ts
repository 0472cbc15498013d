/**
 * How much of what each process of a local cluster (coordinator, 2 workers × 1 thread, and
 * this process as the client) allocates survives its scavenges, under rounds of a task-lag
 * shape or of 10,000 no-ops, after the warm-up of bench/warm-up.ts. A scavenge costs in
 * proportion to what survives it, and what survives two is promoted, to be collected by a
 * full collection (see src/util/churn-map.ts for what kept 44% of a worker's allocation
 * alive).
 *
 * The coordinator and workers run with V8's --trace-gc-nvp, read from their stdout: per
 * isolate (the main thread's, and each pool thread's), the scavenges, their pauses and
 * the time helper threads spent in them, what survived them and what was allocated, and
 * the full collections and their pauses. The client's main isolate is read with
 * v8.GCProfiler (no helper threads' time there).
 *
 *   node dist/bench/gc-survival.js [shape | noop] [rounds] [warm-up seconds]
 *   (linear-100x10 | linear-10x100 | tree-100x10 | noop; default linear-100x10, 200 rounds, 15 s)
 */
// First: runs this tool again with the bench client's V8 flags (see as-client.ts).
import './as-client.ts';
import { createInterface } from 'node:readline';
import { GCProfiler } from 'node:v8';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { Client, type Future } from '../src/index.ts';
import { addTraceLine, emptyGcSums, type GcSums } from './gc-trace.ts';
import { pad } from './render.ts';
import { flatten, submitShape } from './scenarios/task-lag.ts';
import { LAG_SHAPES, lagShape, type LagShape } from './stats.ts';
import { noop } from './tasks.ts';
import { warmCluster } from './warm-up.ts';

const [kindArg = 'linear-100x10', roundsArg = '200', warmupArg = '15'] = process.argv.slice(2);
const kind = kindArg as LagShape | 'noop';
if (kind !== 'noop' && !LAG_SHAPES.includes(kind)) throw new Error(`unknown shape ${kind} (${LAG_SHAPES.join(', ')}, noop)`);
const rounds = Number(roundsArg);
const NOOPS = 10_000;

/** The --trace-gc-nvp lines of one child, summed per isolate while `counting()`. */
function readTrace(child: { stdout: NodeJS.ReadableStream | null }, counting: () => boolean): Map<string, GcSums> {
  const byIsolate = new Map<string, GcSums>();
  if (child.stdout === null) throw new Error('gc-survival: a child without a stdout pipe');
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (counting()) addTraceLine(byIsolate, line, performance.now());
  });
  return byIsolate;
}

/**
 * This process's main isolate, from a GCProfiler's report: the scavenges, their pauses,
 * what they promoted (what the old spaces gained) and what was allocated (what the young
 * generation gained between collections). What survived in the young generation is not
 * told apart from its free space there.
 */
function clientSums(report: ReturnType<GCProfiler['stop']>): GcSums {
  const sums = emptyGcSums();
  sums.survivedMB = NaN;
  const used = (side: { heapSpaceStatistics: Array<{ spaceName: string; spaceUsedSize: number }> }, names: readonly string[]): number =>
    side.heapSpaceStatistics.filter((s) => names.includes(s.spaceName)).reduce((n, s) => n + s.spaceUsedSize, 0);
  const young = ['new_space', 'new_large_object_space'];
  const old = ['old_space', 'large_object_space'];
  let youngAfter = 0;
  for (const gc of report?.statistics ?? []) {
    sums.allocatedMB += (used(gc.beforeGC, young) - youngAfter) / 1e6;
    youngAfter = used(gc.afterGC, young);
    if (gc.gcType === 'Scavenge') {
      sums.scavenges++;
      sums.pauseMs += gc.cost / 1000;
      sums.promotedMB += (used(gc.afterGC, old) - used(gc.beforeGC, old)) / 1e6;
    } else {
      sums.fullGCs++;
      sums.fullPauseMs += gc.cost / 1000;
    }
  }
  return sums;
}

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore', stdout: 'pipe', nodeFlags: ['--trace-gc-nvp'] });
let counting = false;
const traced = [
  { name: 'coordinator', sums: readTrace(handle.coordinator, () => counting) },
  ...handle.workers.map((w, i) => ({ name: `worker ${i}`, sums: readTrace(w, () => counting) })),
];
const client = await Client.connect({ nats: handle.url, cluster: handle.cluster });
let report: ReturnType<GCProfiler['stop']>;
try {
  await warmCluster(client, Number(warmupArg));
  const graph = kind === 'noop' ? [] : flatten(lagShape(kind, 1));
  const items = Array.from({ length: NOOPS }, (_, i) => i);
  const profiler = new GCProfiler();
  counting = true;
  profiler.start();
  for (let r = 0; r < rounds; r++) {
    const futures: Future<unknown>[] = kind === 'noop' ? client.map(noop, items) : submitShape(client, graph);
    await client.gather(futures);
    for (const f of futures) f.release();
  }
  report = profiler.stop();
  // Let the children's last trace lines arrive.
  await new Promise((resolve) => setTimeout(resolve, 200));
  counting = false;
} finally {
  await client.close();
  await handle.stop();
}

const tasks = rounds * (kind === 'noop' ? NOOPS : flatten(lagShape(kind, 1)).length);
console.log(`${rounds} rounds of ${kind} (${tasks} tasks); per isolate, while they ran:`);
const header = ['process', 'isolate', 'scavenges', 'pause ms', 'helpers ms', 'survived MB', 'promoted MB', 'allocated MB', 'survived %', 'full GCs', 'full pause ms'];
const rows: string[][] = [];
const row = (name: string, isolate: string, s: GcSums): void => {
  rows.push([
    name,
    isolate,
    String(s.scavenges),
    s.pauseMs.toFixed(0),
    name === 'client' ? '-' : s.helpersMs.toFixed(0),
    Number.isNaN(s.survivedMB) ? '-' : s.survivedMB.toFixed(1),
    s.promotedMB.toFixed(1),
    s.allocatedMB.toFixed(0),
    s.allocatedMB > 0 && !Number.isNaN(s.survivedMB) ? ((100 * s.survivedMB) / s.allocatedMB).toFixed(1) : '-',
    String(s.fullGCs),
    s.fullPauseMs.toFixed(0),
  ]);
};
for (const { name, sums } of traced) {
  const isolates = [...sums.entries()].sort((a, b) => a[1].startedMs - b[1].startedMs);
  isolates.forEach(([, s], i) => row(name, i === 0 ? 'main' : `other ${i}`, s));
}
row('client', 'main', clientSums(report));
for (const line of pad([header, ...rows])) console.log(line);
