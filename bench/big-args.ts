/**
 * What big task arguments cost on a local cluster (nats-server, a coordinator, 2 workers ×
 * 1 thread). An argument travels inside its task's submission: client → nats-server →
 * coordinator (which keeps the spec for recomputation) → nats-server → worker, so every
 * byte passes the coordinator, and one bigger than NATS max_payload is refused with a
 * clear error. A task's result, by contrast, goes from worker to worker over gRPC.
 *
 * For each size, `tasks` tasks that each take their own copy of a Uint8Array from the client
 * and check it (consumeBytes, bench/tasks.ts), submitted at once: MB of arguments per second
 * from the first submit call to the last result, and the CPU each process spent per MB.
 * Medians of `reps` rounds after 3 unmeasured ones.
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
try {
  console.log(`big-args: ${tasks} tasks at once, each with its own argument of the size; medians of ${reps} rounds after ${WARMUP_ROUNDS}`);
  for (const mib of SIZES_MIB) {
    const bytes = patterned(mib * MIB);
    const rates: number[] = [];
    let meter: CpuMeter | undefined;
    for (let round = 0; round < WARMUP_ROUNDS + reps; round++) {
      if (round === WARMUP_ROUNDS) meter = new CpuMeter(clusterProcesses(handle));
      const t0 = performance.now();
      const futures = Array.from({ length: tasks }, () => client.submit(consumeBytes, bytes, SEED));
      const results = await client.gather(futures);
      const seconds = (performance.now() - t0) / 1000;
      for (const f of futures) f.release();
      if (results.some((r) => r.bad !== 0 || r.length !== bytes.length)) throw new Error(`big-args: an argument of ${mib} MiB arrived damaged`);
      if (round >= WARMUP_ROUNDS) rates.push((tasks * mib) / seconds);
    }
    // usPerTask over MiB instead of tasks: µs of CPU per MiB of arguments, so ms per MiB / 1000.
    const cpu = meter!.usPerTask(reps * tasks * mib);
    const perProcess = Object.entries(cpu).map(([name, us]) => `${name} ${(us / 1000).toFixed(1)}`).join(', ');
    console.log(`  ${mib} MiB: ${median(rates).toFixed(0)} MiB/s; CPU ms per MiB: ${perProcess}`);
  }
} finally {
  await client.close();
  await handle.stop();
}
