/**
 * What big task arguments cost on a local cluster (nats-server, a coordinator, 2 workers ×
 * 1 thread). An argument travels inside its task's submission: client → nats-server →
 * coordinator (which keeps the spec for recomputation) → nats-server → worker, so every
 * byte passes the coordinator, and one bigger than NATS max_payload is refused with a
 * clear error. A task's result, by contrast, goes from worker to worker over gRPC.
 *
 * `client.put` takes the coordinator and NATS off that path: the value goes from the client
 * to one worker over gRPC, and its future is the task's argument.
 *
 * For each size and each way (the bytes as the argument, or put first and its future as the
 * argument), `tasks` tasks that each take their own copy of a Uint8Array from the client and
 * check it (consumeBytes, bench/tasks.ts), submitted at once (put at once): MB per second
 * from the first call to the last result, and the CPU each process spent per MB. Medians of
 * `reps` rounds after 3 unmeasured ones, the two ways alternating.
 *
 *   node --import=tsx bench/big-args.ts [tasks] [reps]   (default 8 tasks, 5 reps)
 */
import './as-client.ts';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { Client } from '../src/index.ts';
import { clusterProcesses, CpuMeter } from './cpu.ts';
import { median } from './stats.ts';
import { consumeBytes } from './tasks.ts';

const MIB = 1024 * 1024;
const SIZES_MIB = [0.25, 1, 4];
const WARMUP_ROUNDS = 3;
const SEED = 7;

const tasks = Number(process.argv[2] ?? 8);
const reps = Number(process.argv[3] ?? 5);

/** The pattern consumeBytes checks. */
function patterned(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + SEED) % 251;
  return out;
}

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore' });
const client = await Client.connect({ nats: handle.url, cluster: handle.cluster });
type Way = 'argument' | 'put';
const WAYS: Way[] = ['argument', 'put'];

/** One round: seconds from the first call to the last result. */
async function round(way: Way, bytes: Uint8Array): Promise<number> {
  const t0 = performance.now();
  const inputs = way === 'argument' ? Array.from({ length: tasks }, () => bytes) : await Promise.all(Array.from({ length: tasks }, () => client.put(bytes, { serializer: 'raw' })));
  const futures = inputs.map((input) => client.submit(consumeBytes, input, SEED));
  const results = await client.gather(futures);
  const seconds = (performance.now() - t0) / 1000;
  for (const f of [...futures, ...inputs]) if (!(f instanceof Uint8Array)) f.release();
  if (results.some((r) => r.bad !== 0 || r.length !== bytes.length)) throw new Error(`big-args: ${bytes.length} bytes (${way}) arrived damaged`);
  return seconds;
}

try {
  console.log(`big-args: ${tasks} tasks at once, each with its own argument of the size, or its own value put; medians of ${reps} rounds after ${WARMUP_ROUNDS}`);
  for (const mib of SIZES_MIB) {
    const bytes = patterned(mib * MIB);
    const rates = new Map<Way, number[]>(WAYS.map((w) => [w, []]));
    /** µs of CPU by process over the measured rounds, per way. */
    const cpu = new Map<Way, Record<string, number>>(WAYS.map((w) => [w, {}]));
    for (let r = 0; r < WARMUP_ROUNDS + reps; r++) {
      for (const way of WAYS) {
        const meter = new CpuMeter(clusterProcesses(handle));
        const seconds = await round(way, bytes);
        if (r < WARMUP_ROUNDS) continue;
        rates.get(way)!.push((tasks * mib) / seconds);
        const total = cpu.get(way)!;
        for (const [name, us] of Object.entries(meter.usPerTask(1))) total[name] = (total[name] ?? 0) + us;
      }
    }
    for (const way of WAYS) {
      const mibs = reps * tasks * mib;
      const perProcess = Object.entries(cpu.get(way)!).map(([name, us]) => `${name} ${(us / 1000 / mibs).toFixed(1)}`).join(', ');
      console.log(`  ${mib} MiB, ${way === 'put' ? 'put first' : 'as argument'}: ${median(rates.get(way)!).toFixed(0)} MiB/s; CPU ms per MiB: ${perProcess}`);
    }
  }
} finally {
  await client.close();
  await handle.stop();
}
