/**
 * What direct submission (client/direct.ts) is worth, measured on one local cluster
 * (nats-server, a coordinator, 2 workers × 1 thread): two clients, one submitting lone
 * tasks directly to a worker and one through the coordinator (`directSubmit: false`), take
 * turns at sequential no-op round trips, so that both see the same machine.
 *
 *   node dist/bench/direct-vs-coordinator.js [round trips each] [warm-up round trips each]
 *
 * (default 4,000 and 2,000). Prints each client's median, p90 and p99, and their ratio.
 */
// First: runs this tool again with the bench client's V8 flags (see as-client.ts).
import './as-client.ts';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { Client } from '../src/index.ts';
import { quantile } from './stats.ts';
import { noop } from './tasks.ts';

const count = Number(process.argv[2] ?? 4000);
const warmup = Number(process.argv[3] ?? 2000);
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(warmup) || warmup < 0) {
  console.error('usage: direct-vs-coordinator.js [round trips each ≥ 1] [warm-up round trips each ≥ 0]');
  process.exit(2);
}

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore' });
const clients: Client[] = [];
try {
  const direct = await Client.connect({ nats: handle.url, cluster: handle.cluster });
  clients.push(direct);
  const through = await Client.connect({ nats: handle.url, cluster: handle.cluster, directSubmit: false });
  clients.push(through);
  let seq = 0;
  const roundTrip = async (client: Client): Promise<number> => {
    const x = seq++;
    const t0 = performance.now();
    const f = client.submit(noop, x);
    const v = await f.result();
    const ms = performance.now() - t0;
    if (v !== x) throw new Error(`direct-vs-coordinator: wrong result ${String(v)} for ${x}`);
    f.release();
    return ms;
  };
  for (let i = 0; i < warmup; i++) {
    await roundTrip(direct);
    await roundTrip(through);
  }
  const a: number[] = [];
  const b: number[] = [];
  // Alternating which goes first, so that neither always follows the other's release.
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      a.push(await roundTrip(direct));
      b.push(await roundTrip(through));
    } else {
      b.push(await roundTrip(through));
      a.push(await roundTrip(direct));
    }
  }
  const show = (ms: number[]): string => [0.5, 0.9, 0.99].map((q) => quantile(ms, q).toFixed(3)).join(' / ');
  console.log(`${count} no-op round trips each, alternating (median / p90 / p99 ms)`);
  console.log(`direct to a worker:       ${show(a)}`);
  console.log(`through the coordinator:  ${show(b)}`);
  console.log(`direct / coordinator median: ${(quantile(a, 0.5) / quantile(b, 0.5)).toFixed(3)}`);
} finally {
  for (const c of clients) await c.close();
  await handle.stop();
}
