/**
 * How long each process of a local cluster (nats-server, coordinator, 2 workers × 1 thread,
 * and this process as the client) runs, and how long it waits for a CPU while ready to run,
 * during task-lag rounds: the rounds' windows (submit to the last task's end) cut out of a
 * `perf sched` trace of the whole machine. On 2 cores, a round keeps five processes and
 * their helper threads busy at once, and a message waits for its reader to get a CPU at
 * every hop; this says how much of a round that is.
 *
 *   node --import=tsx bench/sched-wait.ts [shape] [rounds]   (default linear-100x10, 10 rounds)
 *
 * Linux only; needs perf (`apt-get install -y linux-perf`) and root (it traces every CPU).
 * Rounds run after as many warm-up rounds as bench/lag-breakdown.ts runs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { Client } from '../src/index.ts';
import { clusterProcesses } from './cpu.ts';
import { hasPerf, PERF_MISSING } from './perf-script.ts';
import { parseTimehist, timeInWindows } from './sched-timehist.ts';
import { flatten, submitShape, timedTasks, WARMUP_ROUNDS } from './scenarios/task-lag.ts';
import { LAG_SHAPES, lagShape, median, taskLag, type LagShape } from './stats.ts';

const shape = (process.argv[2] ?? 'linear-100x10') as LagShape;
if (!LAG_SHAPES.includes(shape)) throw new Error(`unknown shape ${shape} (${LAG_SHAPES.join(', ')})`);
const rounds = Number(process.argv[3] ?? 10);
/** perf has no word for "recording now"; it is given this long to start before the rounds. */
const PERF_START_MS = 500;

if (!hasPerf()) {
  console.error(`sched-wait: ${PERF_MISSING}`);
  process.exit(2);
}

/** Seconds on CLOCK_MONOTONIC, the clock `perf record -k mono` stamps its events with. */
const mono = (): number => Number(process.hrtime.bigint()) / 1e9;
const wallNow = (): number => performance.timeOrigin + performance.now();

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore' });
const data = join(tmpdir(), `floe-sched-wait-${process.pid}.data`);
const client = await Client.connect({ nats: handle.url, cluster: handle.cluster });
try {
  const graph = flatten(lagShape(shape, 1));
  const round = async (): Promise<{ window: [number, number]; lagS: number }> => {
    const start = mono();
    const submitMs = wallNow();
    const futures = submitShape(client, graph);
    const stamps = await client.gather(futures);
    const end = mono();
    for (const f of futures) f.release();
    const lag = taskLag(timedTasks(graph, stamps), submitMs);
    return { window: [start, end], lagS: lag.totalS };
  };
  for (let i = 0; i < 3 * WARMUP_ROUNDS; i++) await round();

  const perf = spawn('perf', ['sched', 'record', '-k', 'mono', '-o', data], { stdio: ['ignore', 'ignore', 'pipe'] });
  let perfErr = '';
  perf.stderr.on('data', (chunk: Buffer) => (perfErr += chunk.toString()));
  // Stopped by SIGINT, perf writes its data and exits 0, or of the signal.
  const exited = new Promise<boolean>((resolve) => perf.on('exit', (code, signal) => resolve(code === 0 || signal === 'SIGINT')));
  await delay(PERF_START_MS);
  const done: Array<{ window: [number, number]; lagS: number }> = [];
  for (let i = 0; i < rounds; i++) done.push(await round());
  perf.kill('SIGINT');
  if (!(await exited)) throw new Error(`perf sched record failed: ${perfErr.trim()}`);

  const text = execFileSync('perf', ['sched', 'timehist', '-i', data], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const names = new Map(clusterProcesses(handle).map((p) => [p.pid, p.name]));
  const times = timeInWindows(parseTimehist(text), names, done.map((r) => r.window));
  const n = done.length;
  const wallMs = done.reduce((s, r) => s + (r.window[1] - r.window[0]) * 1000, 0) / n;
  console.log(`${shape}: ${n} rounds after ${3 * WARMUP_ROUNDS} warm-up; per round: wall ${wallMs.toFixed(1)} ms, total lag median ${median(done.map((r) => r.lagS)).toFixed(3)} s`);
  console.log('ms per round, submit to last end: CPU time (all threads, main thread) and time ready but waiting for a CPU (all threads, main thread, the main thread\'s longest wait)');
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
  await rm(data, { force: true });
}
