/**
 * Where each process of a local cluster (nats-server, coordinator, 2 workers × 1 thread,
 * and this process as the client) spends its CPU under a steady load of no-op tasks: what
 * kind of code (JavaScript, V8 builtins, garbage collection, the optimizing compiler, the
 * kernel, other native code) and the busiest functions by self time.
 *
 * It samples with `perf record -e cpu-clock`, which counts only time on a CPU. A
 * `node --cpu-prof` profile samples wall-clock time instead: on 2 cores shared by five
 * processes, its samples land on whatever code was preempted (a socket write, a pool
 * hand-over) and show it as busy. Linux only; needs perf (`apt-get install -y linux-perf`)
 * and the right to use it (root, or kernel.perf_event_paranoid ≤ 1). The cluster first
 * warms up (bench/warm-up.ts) so that the profile is the steady state.
 *
 *   node --perf-basic-prof --logfile=+ --no-logfile-per-isolate dist/bench/cpu-profile.js [seconds] [warm-up seconds] [--sequential]
 *
 * With --sequential the load is one no-op round trip at a time (the latency scenario's)
 * instead of rounds of 10,000 tasks: where a round trip's CPU goes, on and off its path.
 * With --lag SHAPE it is rounds of one task-lag shape (linear-100x10, linear-10x100 or
 * tree-100x10: 1,000 tasks with their dependencies, submitted at once, as the task-lag
 * scenario runs them).
 *
 * (default 10 s and 20 s). --perf-basic-prof names this process's own JavaScript frames
 * (the cluster's processes get it anyway, PERF_FLAGS); without the other two flags, it also
 * writes a V8 log per isolate into the working directory.
 */
// First: runs this tool again with the bench client's V8 flags (see as-client.ts).
import './as-client.ts';
import { execFileSync, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { Client } from '../src/index.ts';
import { clusterProcesses } from './cpu.ts';
import { hasPerf, parsePerfScript, PERF_MISSING, SAMPLE_KINDS } from './perf-script.ts';
import { flatten, submitShape } from './scenarios/task-lag.ts';
import { LAG_SHAPES, lagShape, type LagShape } from './stats.ts';
import { noop } from './tasks.ts';
import { warmCluster } from './warm-up.ts';

const sequential = process.argv.includes('--sequential');
const lagAt = process.argv.indexOf('--lag');
const shape = lagAt < 0 ? undefined : (process.argv[lagAt + 1] as LagShape);
if (shape !== undefined && !LAG_SHAPES.includes(shape)) throw new Error(`--lag: unknown shape ${shape} (${LAG_SHAPES.join(', ')})`);
const positional = process.argv.slice(2).filter((a, i, all) => a !== '--sequential' && a !== '--lag' && all[i - 1] !== '--lag');
const seconds = Number(positional[0] ?? 10);
const warmupSeconds = Number(positional[1] ?? 20);
const FREQUENCY_HZ = 999;
/** Symbol maps for perf (/tmp/perf-PID.map), and V8's log that comes with them sent to a temporary file. */
const PERF_FLAGS = ['--perf-basic-prof', '--logfile=+', '--no-logfile-per-isolate'];
const ROUND_TASKS = 10_000;

if (!hasPerf()) {
  console.error(`cpu-profile: ${PERF_MISSING}`);
  process.exit(2);
}

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore', nodeFlags: PERF_FLAGS });
const processes = clusterProcesses(handle);
const data = join(tmpdir(), `floe-cpu-profile-${process.pid}.data`);
let client: Client | undefined;
try {
  client = await Client.connect({ nats: handle.url, cluster: handle.cluster });
  console.error(`warm-up: ${warmupSeconds} s`);
  await warmCluster(client, warmupSeconds);
  let loading = true;
  let tasks = 0;
  const items = Array.from({ length: ROUND_TASKS }, (_, i) => i);
  const c = client;
  const load = (async () => {
    while (loading && sequential) {
      const f = c.submit(noop, tasks);
      await f.result();
      f.release();
      tasks += 1;
    }
    const graph = shape === undefined ? [] : flatten(lagShape(shape, 1));
    while (loading && shape !== undefined) {
      const futures = submitShape(c, graph);
      await c.gather(futures);
      for (const f of futures) f.release();
      tasks += graph.length;
    }
    while (loading) {
      const futures = c.map(noop, items);
      await c.gather(futures);
      for (const f of futures) f.release();
      tasks += ROUND_TASKS;
    }
  })();
  console.error(`recording ${seconds} s of ${processes.map((p) => p.name).join(', ')}`);
  const pids = processes.map((p) => p.pid).join(',');
  await new Promise<void>((resolve, reject) => {
    const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', String(FREQUENCY_HZ), '-p', pids, '-o', data, '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    perf.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    perf.on('error', reject);
    perf.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`perf record exited with ${code}: ${stderr.trim()}`))));
  });
  loading = false;
  await load;
  const script = execFileSync('perf', ['script', '-i', data, '-F', 'pid,tid,ip,sym,dso'], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const names = new Map(processes.map((p) => [p.pid, p.name]));
  const profiles = parsePerfScript(script, new Set(names.keys()));
  const pct = (n: number, of: number): string => `${((100 * n) / Math.max(1, of)).toFixed(0)}%`.padStart(5);
  console.log(`${tasks} ${shape === undefined ? 'no-op' : shape} tasks while recording ${seconds} s at ${FREQUENCY_HZ} Hz; CPU s and its share by kind of code, per process`);
  console.log(`${'process'.padEnd(12)} ${'CPU s'.padStart(6)} ${'main'.padStart(5)} ${SAMPLE_KINDS.map((k) => k.padStart(9)).join('')}`);
  for (const p of profiles) {
    const kinds = SAMPLE_KINDS.map((k) => pct(p.kinds[k], p.samples).padStart(9)).join('');
    console.log(`${names.get(p.pid)!.padEnd(12)} ${(p.samples / FREQUENCY_HZ).toFixed(2).padStart(6)} ${pct(p.mainThread, p.samples)} ${kinds}`);
  }
  for (const p of profiles) {
    console.log(`\n${names.get(p.pid)}: busiest functions (self)`);
    for (const { symbol, samples } of p.top) console.log(`${pct(samples, p.samples)}  ${symbol.slice(0, 150)}`);
  }
} finally {
  await client?.close();
  await handle.stop();
  // --perf-basic-prof leaves a symbol map per process in /tmp (this one's too, when given).
  const maps = processes.filter((p) => p.name !== 'nats-server').map((p) => `/tmp/perf-${p.pid}.map`);
  await Promise.all([data, ...maps].map((f) => rm(f, { force: true })));
}
