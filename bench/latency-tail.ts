/**
 * Why the slowest round trips of the latency scenario are slow. On a local cluster
 * (nats-server, coordinator, 2 workers × 1 thread, this process as the client), after a
 * warm-up, it times sequential no-op round trips as the latency scenario does, under a
 * `perf sched` trace of the whole machine, and prints for the slowest of them what ran on
 * each CPU meanwhile and which of floe's threads were ready but waited for a CPU.
 *
 * It found why the scenario's p99 was over 2 ms with a warm-up of 2,000 round trips: V8
 * was still compiling the path on its background threads (a process's threads other than
 * its main one), and a main or pool thread woken for the next hop waited 3 to 4.5 ms for
 * the core such a job held, with the other core idle (scenarios/latency.ts).
 *
 *   node dist/bench/latency-tail.js [round trips] [warm-up round trips] [slowest]   (default 3000, LATENCY_WARMUP_COUNT, 10)
 *
 * Linux only; needs perf (`apt-get install -y linux-perf`) and root (it traces every CPU).
 */
// First: runs this tool again with the bench client's V8 flags (see as-client.ts).
import './as-client.ts';
import { availableParallelism } from 'node:os';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { Client } from '../src/index.ts';
import { clusterProcesses } from './cpu.ts';
import { hasPerf, PERF_MISSING } from './perf-script.ts';
import { monoSeconds, recordSched } from './perf-sched.ts';
import { LATENCY_WARMUP_COUNT } from './scenarios/latency.ts';
import { parseTimehist, windowView } from './sched-timehist.ts';
import { quantile } from './stats.ts';
import { noop } from './tasks.ts';

const [count, warmup, slowest] = [3000, LATENCY_WARMUP_COUNT, 10].map((fallback, i) => Number(process.argv[2 + i] ?? fallback)) as [number, number, number];

if (!hasPerf()) {
  console.error(`latency-tail: ${PERF_MISSING}`);
  process.exit(2);
}

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore' });
const client = await Client.connect({ nats: handle.url, cluster: handle.cluster });
try {
  /** Sequential no-op round trips, each as [start, end] on CLOCK_MONOTONIC (seconds). */
  const roundTrips = async (n: number): Promise<Array<[number, number]>> => {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < n; i++) {
      const start = monoSeconds();
      const f = client.submit(noop, i);
      const v = await f.result();
      out.push([start, monoSeconds()]);
      f.release();
      if (v !== i) throw new Error(`latency-tail: wrong result ${v} for ${i}`);
    }
    return out;
  };
  await roundTrips(warmup);
  const { result: windows, timehist } = await recordSched(() => roundTrips(count));

  const events = parseTimehist(timehist);
  const names = new Map(clusterProcesses(handle).map((p) => [p.pid, p.name]));
  const ms = windows.map(([a, b]) => (b - a) * 1000);
  console.log(`${count} round trips after ${warmup}: median ${quantile(ms, 0.5).toFixed(3)} ms, p99 ${quantile(ms, 0.99).toFixed(3)} ms`);
  console.log(`the ${slowest} slowest: per CPU, who ran (ms), then the threads that waited for a CPU ("thread N": a thread other than the main one)`);
  const order = ms.map((m, i) => [m, i] as const).sort((a, b) => b[0] - a[0]).slice(0, slowest);
  for (const [m, i] of order) {
    const view = windowView(events, names, windows[i]!, availableParallelism());
    console.log(`${m.toFixed(2)} ms`);
    for (const [cpu, runs] of [...view.cpus].sort((a, b) => a[0] - b[0])) {
      console.log(`  cpu ${cpu}: ${runs.map((r) => `${r.who} ${r.ms.toFixed(2)}`).join(', ')}`);
    }
    console.log(`  waited: ${view.waits.map((w) => `${w.who} ${w.ms.toFixed(2)}`).join(', ') || 'none'}`);
  }
} finally {
  await client.close();
  await handle.stop();
}
