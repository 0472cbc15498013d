/**
 * The client's submit path on a local cluster (nats-server, coordinator, 2 workers × 1
 * thread): the linear-100x10 task-lag shape (1,000 tasks) submitted in a synchronous loop,
 * `reps` times. Per rep: the loop, the time until the submission leaves the client (its
 * request handed to the transport), the wall time until all results are in, the client's
 * CPU per task, and the GC pauses of this process before the submission left and in all.
 *
 *   node --import=tsx bench/submit.ts [reps]          (default 30; reps 0-7 are warm-up)
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { Client } from '../src/index.ts';
import type { Transport } from '../src/transport/transport.ts';
import { flatten, submitShape } from './scenarios/task-lag.ts';
import { lagShape, summarize } from './stats.ts';

const reps = Number(process.argv[2] ?? 30);
const WARMUP_REPS = 8;

const gcs: Array<{ startMs: number; ms: number }> = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ startMs: e.startTime, ms: e.duration });
}).observe({ entryTypes: ['gc'] });

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore' });
const client = await Client.connect({ nats: handle.url, cluster: handle.cluster });
// The moment a submission leaves: when its request reaches the transport.
const transport = (client as unknown as { conn: { transport: Transport } }).conn.transport;
const request = transport.request.bind(transport);
let sentAtMs: number | undefined;
transport.request = (subject, data, options) => {
  sentAtMs ??= performance.now();
  return request(subject, data, options);
};

const graph = flatten(lagShape('linear-100x10', 1));
const rows: Record<string, number>[] = [];
try {
  for (let rep = 0; rep < reps; rep++) {
    sentAtMs = undefined;
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const futures = submitShape(client, graph);
    const loopMs = performance.now() - t0;
    await client.gather(futures);
    const t1 = performance.now();
    const used = process.cpuUsage(cpu);
    for (const f of futures) f.release();
    // GC entries are reported after the pause: let them arrive.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const sentMs = (sentAtMs ?? NaN) - t0;
    const mine = gcs.filter((g) => g.startMs >= t0 && g.startMs <= t1);
    rows.push({
      loopMs,
      sentMs,
      wallMs: t1 - t0,
      cpuUsPerTask: (used.user + used.system) / graph.length,
      gcBeforeSentMs: mine.filter((g) => g.startMs <= t0 + sentMs).reduce((sum, g) => sum + g.ms, 0),
      gcMs: mine.reduce((sum, g) => sum + g.ms, 0),
    });
  }
} finally {
  await client.close();
  await handle.stop();
}

const keys = ['loopMs', 'sentMs', 'wallMs', 'cpuUsPerTask', 'gcBeforeSentMs', 'gcMs'];
console.log(`rep ${keys.join(' ')}`);
rows.forEach((row, i) => console.log(`${i} ${keys.map((k) => row[k]!.toFixed(2)).join(' ')}`));
const steady = rows.slice(WARMUP_REPS);
console.log(`reps ${WARMUP_REPS}+: median [p25..p75]`);
for (const k of keys) {
  const s = summarize(steady.map((row) => row[k]!));
  console.log(`  ${k.padEnd(15)} ${s.median.toFixed(2)} [${s.p25.toFixed(2)}..${s.p75.toFixed(2)}]`);
}
