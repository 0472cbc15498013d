/**
 * Throughput of independent no-op tasks on a local cluster (nats-server, coordinator, 2
 * workers × 1 thread) with each process's CPU per task, read from /proc/<pid>/stat
 * (Linux): which process a change made cheaper. Medians over the reps after a warm-up rep.
 *
 *   node --import=tsx bench/cpu-per-task.ts [tasks] [reps]     (default 10000 tasks, 5 reps)
 */
// First: runs this tool again with the bench client's V8 flags (see as-client.ts).
import './as-client.ts';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { Client } from '../src/index.ts';
import { clusterProcesses, CpuMeter } from './cpu.ts';
import { median } from './stats.ts';
import { noop } from './tasks.ts';

const n = Number(process.argv[2] ?? 10_000);
const reps = Number(process.argv[3] ?? 5);

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore' });
const client = await Client.connect({ nats: handle.url, cluster: handle.cluster });
const processes = clusterProcesses(handle);
const rates: number[] = [];
const usPerTask: Record<string, number[]> = Object.fromEntries(processes.map((p) => [p.name, []]));
try {
  for (let rep = 0; rep <= reps; rep++) {
    const meter = new CpuMeter(processes);
    const t0 = performance.now();
    const futures = Array.from({ length: n }, (_, i) => client.submit(noop, i));
    const values = await client.gather(futures);
    const seconds = (performance.now() - t0) / 1000;
    for (const f of futures) f.release();
    if (values[n - 1] !== n - 1) throw new Error('wrong result');
    if (rep === 0) continue; // warm-up
    rates.push(n / seconds);
    for (const [name, us] of Object.entries(meter.usPerTask(n))) usPerTask[name]!.push(us);
  }
} finally {
  await client.close();
  await handle.stop();
}
console.log(`${n} no-op tasks × ${reps} reps: ${Math.round(median(rates))} tasks/s (median; ${rates.map((r) => Math.round(r)).join(' ')})`);
console.log(`CPU µs per task: ${Object.entries(usPerTask).map(([k, v]) => `${k} ${median(v).toFixed(0)}`).join(', ')}`);
