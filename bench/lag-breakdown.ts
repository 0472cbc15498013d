/**
 * Where the task lag of one Airflow shape comes from, on a local cluster (nats-server,
 * coordinator, 2 workers × 1 thread): per rep, the total lag split into roots (start −
 * submit) and the rest (start − upstream end), the submit loop, when the first and the
 * last root started after the submit call, and the non-root lag's median and p99.
 * Medians over the reps after as many warm-up reps as the task-lag scenario's warm-up runs
 * (WARMUP_ROUNDS rounds of the three shapes).
 *
 * With --where the tasks also name their worker (bench/tasks.ts placedStamp), and each
 * worker's pool thread is followed through the round: runs less than POOL_GAP_MS apart are
 * one stretch of work; `poolRunMs` is the time a thread spent in stretches and `poolWaitMs`
 * the time between them, from its first start to its last end (means of the two workers).
 *
 *   node --import=tsx bench/lag-breakdown.ts [shape] [reps] [--where]   (linear-100x10 | linear-10x100 | tree-100x10; default 5 reps)
 */
// First: runs this tool again with the bench client's V8 flags (see as-client.ts).
import './as-client.ts';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { Client } from '../src/index.ts';
import { flatten, submitShape, timedTasks, WARMUP_SHAPE_ROUNDS } from './scenarios/task-lag.ts';
import { lagShape, lagShapeArg, median, quantile, rootStartsMs, stretchesByPid, stretchTimes, taskLag } from './stats.ts';
import { placedStamp, stamp, type PlacedStamp } from './tasks.ts';
import { systemClock } from '../src/util/clock.ts';

const where = process.argv.includes('--where');
const [shapeArg, repsArg] = process.argv.slice(2).filter((a) => a !== '--where');
const shape = lagShapeArg(shapeArg);
const reps = Number(repsArg ?? 5);
/** Runs of one pool thread less than this apart (ms) are one stretch of work. */
const POOL_GAP_MS = 0.1;

/** Time in stretches of work and between them, per worker (see --where), averaged over the workers. */
function poolTimes(stamps: readonly PlacedStamp[]): { poolRunMs: number; poolWaitMs: number } {
  const { runMs, waitMs } = stretchTimes(stretchesByPid(stamps, POOL_GAP_MS));
  return { poolRunMs: runMs, poolWaitMs: waitMs };
}

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore' });
const client = await Client.connect({ nats: handle.url, cluster: handle.cluster });
const graph = flatten(lagShape(shape, 1));
const rows: Record<string, number>[] = [];
try {
  for (let rep = 0; rep < WARMUP_SHAPE_ROUNDS + reps; rep++) {
    const submitMs = systemClock.now();
    const futures = submitShape(client, graph, where ? placedStamp : stamp);
    const loopMs = systemClock.now() - submitMs;
    const stamps = await client.gather(futures);
    for (const f of futures) f.release();
    if (rep < WARMUP_SHAPE_ROUNDS) continue;
    const tasks = timedTasks(graph, stamps);
    const lag = taskLag(tasks, submitMs);
    const rootStarts = rootStartsMs(tasks, submitMs);
    const nonRoot = lag.lagsMs.filter((_, i) => tasks[i]!.deps.length > 0);
    const rootS = rootStarts.reduce((a, b) => a + Math.max(0, b), 0) / 1000;
    rows.push({
      totalS: lag.totalS,
      rootS,
      nonRootS: nonRoot.reduce((a, b) => a + b, 0) / 1000,
      loopMs,
      firstRootMs: Math.min(...rootStarts),
      lastRootMs: Math.max(...rootStarts),
      nonRootMedianMs: median(nonRoot),
      nonRootP99Ms: quantile(nonRoot, 0.99),
      wallS: lag.wallS,
      ...(where ? poolTimes(stamps as PlacedStamp[]) : {}),
    });
  }
} finally {
  await client.close();
  await handle.stop();
}
console.log(`${shape}: medians of ${reps} reps after ${WARMUP_SHAPE_ROUNDS} warm-up`);
for (const key of Object.keys(rows[0] ?? {})) console.log(`  ${key.padEnd(16)} ${median(rows.map((r) => r[key]!)).toFixed(3)}`);
