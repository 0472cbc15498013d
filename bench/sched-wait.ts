/**
 * How long each process of a local cluster (nats-server, coordinator, 2 workers × 1 thread,
 * and this process as the client) runs, and how long it waits for a CPU while ready to run,
 * during task-lag rounds: the rounds' windows (submit to the last result's arrival) cut out
 * of a `perf sched` trace of the whole machine. On 2 cores, a round keeps five processes and
 * their helper threads busy at once, and a message waits for its reader to get a CPU at
 * every hop; this says how much of a round that is.
 *
 * With --to-last-root the windows end when the round's last root task starts instead: the
 * part of the round the total lag of the shapes with 100 roots depends on (their lag is
 * almost all roots' start − submit, bench/lag-breakdown.ts), and what every process spent
 * in it, whatever it was for (on 2026-12-06 the CPUs were busy for 93% of it).
 *
 *   node --import=tsx bench/sched-wait.ts [shape] [rounds] [--to-last-root]   (default linear-100x10, 10 rounds)
 *
 * Linux only; needs perf (`apt-get install -y linux-perf`) and root (it traces every CPU).
 * Rounds run after as many warm-up rounds as bench/lag-breakdown.ts runs.
 */
// First: runs this tool again with the bench client's V8 flags (see as-client.ts).
import './as-client.ts';
import { availableParallelism } from 'node:os';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { Client } from '../src/index.ts';
import { clusterProcesses } from './cpu.ts';
import { hasPerf, PERF_MISSING } from './perf-script.ts';
import { monoSeconds, recordSched } from './perf-sched.ts';
import { parseTimehist, timeInWindows } from './sched-timehist.ts';
import { flatten, submitShape, timedTasks, WARMUP_SHAPE_ROUNDS } from './scenarios/task-lag.ts';
import { lagShape, lagShapeArg, median, rootStartsMs, taskLag } from './stats.ts';
import { systemClock } from '../src/util/clock.ts';

const toLastRoot = process.argv.includes('--to-last-root');
const [shapeArg, roundsArg] = process.argv.slice(2).filter((a) => a !== '--to-last-root');
const shape = lagShapeArg(shapeArg);
const rounds = Number(roundsArg ?? 10);
if (!hasPerf()) {
  console.error(`sched-wait: ${PERF_MISSING}`);
  process.exit(2);
}

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore' });
const client = await Client.connect({ nats: handle.url, cluster: handle.cluster });
try {
  const graph = flatten(lagShape(shape, 1));
  const round = async (): Promise<{ window: [number, number]; lagS: number }> => {
    const start = monoSeconds();
    const submitMs = systemClock.now();
    const futures = submitShape(client, graph);
    const stamps = await client.gather(futures);
    const end = monoSeconds();
    for (const f of futures) f.release();
    const tasks = timedTasks(graph, stamps);
    const lag = taskLag(tasks, submitMs);
    if (!toLastRoot) return { window: [start, end], lagS: lag.totalS };
    const lastRootMs = Math.max(0, ...rootStartsMs(tasks, submitMs));
    return { window: [start, start + lastRootMs / 1000], lagS: lag.totalS };
  };
  for (let i = 0; i < WARMUP_SHAPE_ROUNDS; i++) await round();

  const { result: done, timehist: text } = await recordSched(async () => {
    const out: Array<{ window: [number, number]; lagS: number }> = [];
    for (let i = 0; i < rounds; i++) out.push(await round());
    return out;
  });

  const names = new Map(clusterProcesses(handle).map((p) => [p.pid, p.name]));
  const times = timeInWindows(parseTimehist(text), names, done.map((r) => r.window));
  const n = done.length;
  const wallMs = done.reduce((s, r) => s + (r.window[1] - r.window[0]) * 1000, 0) / n;
  console.log(`${shape}: ${n} rounds after ${WARMUP_SHAPE_ROUNDS} warm-up; per round: ${toLastRoot ? "submit to the last root's start" : "wall"} ${wallMs.toFixed(1)} ms, total lag median ${median(done.map((r) => r.lagS)).toFixed(3)} s`);
  console.log(`ms per round, submit to ${toLastRoot ? "the last root's start" : 'the last result'}: CPU time (all threads, main thread) and time ready but waiting for a CPU (all threads, main thread, the main thread's longest wait)`);
  console.log(`${'process'.padEnd(12)} ${'run'.padStart(7)} ${'main'.padStart(7)} ${'wait'.padStart(7)} ${'main'.padStart(7)} ${'longest'.padStart(8)}`);
  let run = 0;
  let wait = 0;
  for (const [name, p] of times) {
    run += p.runMs;
    wait += p.waitMs;
    const cells = [p.runMs, p.mainRunMs, p.waitMs, p.mainWaitMs].map((ms) => (ms / n).toFixed(1).padStart(7));
    console.log(`${name.padEnd(12)} ${cells.join(' ')} ${p.mainWaitMaxMs.toFixed(1).padStart(8)}`);
  }
  console.log(`${'all'.padEnd(12)} ${(run / n).toFixed(1).padStart(7)} ${''.padStart(7)} ${(wait / n).toFixed(1).padStart(7)}`);
  console.log(`CPU time available per round on ${availableParallelism()} cores: ${(wallMs * availableParallelism()).toFixed(1)} ms`);
} finally {
  await client.close();
  await handle.stop();
}
