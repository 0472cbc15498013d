/**
 * Throughput of independent no-op tasks on a local cluster (nats-server, coordinator, 2
 * workers × 1 thread) with each process's CPU per task, read from /proc/<pid>/stat
 * (Linux): which process a change made cheaper. Medians over the reps after a warm-up rep.
 *
 *   node --import=tsx bench/cpu-per-task.ts [tasks] [reps]     (default 10000 tasks, 5 reps)
 */
import { readFileSync } from 'node:fs';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { Client } from '../src/index.ts';
import { median } from './stats.ts';
import { noop } from './tasks.ts';

const n = Number(process.argv[2] ?? 10_000);
const reps = Number(process.argv[3] ?? 5);
/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat on Linux. */
const CLOCK_TICKS_PER_S = 100;

/** User + system CPU seconds of a process so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore' });
const client = await Client.connect({ nats: handle.url, cluster: handle.cluster });
const pids: Record<string, number> = {
  'nats-server': handle.nats?.pid ?? 0,
  coordinator: handle.coordinator.pid ?? 0,
  'worker 0': handle.workers[0]!.pid ?? 0,
  'worker 1': handle.workers[1]!.pid ?? 0,
  client: process.pid,
};
const rates: number[] = [];
const usPerTask: Record<string, number[]> = Object.fromEntries(Object.keys(pids).map((k) => [k, []]));
try {
  for (let rep = 0; rep <= reps; rep++) {
    const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
    const t0 = performance.now();
    const futures = Array.from({ length: n }, (_, i) => client.submit(noop, i));
    const values = await client.gather(futures);
    const seconds = (performance.now() - t0) / 1000;
    for (const f of futures) f.release();
    if (values[n - 1] !== n - 1) throw new Error('wrong result');
    if (rep === 0) continue; // warm-up
    rates.push(n / seconds);
    for (const [k, pid] of Object.entries(pids)) usPerTask[k]!.push(((cpuSeconds(pid) - before[k]!) * 1e6) / n);
  }
} finally {
  await client.close();
  await handle.stop();
}
console.log(`${n} no-op tasks × ${reps} reps: ${Math.round(median(rates))} tasks/s (median; ${rates.map((r) => Math.round(r)).join(' ')})`);
console.log(`CPU µs per task: ${Object.entries(usPerTask).map(([k, v]) => `${k} ${median(v).toFixed(0)}`).join(', ')}`);
