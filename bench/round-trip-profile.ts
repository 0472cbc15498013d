/**
 * Where a single-task round trip (the latency scenario) goes, on a local cluster (2 workers
 * × 1 thread) after a warm-up of round trips:
 *
 * 1. CPU per round trip of each process, its main thread (user, system) apart from its
 *    other threads (a worker's pool thread, V8's and libuv's helpers), from /proc.
 * 2. With perf (Linux; root or perf_event_paranoid ≤ 1), the round trip hop by hop: the
 *    socket writes and reads of every process traced with `perf record` (syscall
 *    tracepoints, CLOCK_MONOTONIC), split into steps by bench/syscall-trace.ts. Each step's
 *    median and p90, and their share of the whole.
 *
 * Between round trips it lets one turn pass, so that the previous result's release has left
 * before the next submission (the trace then holds only the round trip's own messages).
 *
 * The client submits each task directly to a worker (client/direct.ts), as clients do by
 * default; with `--via-coordinator` it sends them through the coordinator.
 *
 * `node dist/bench/round-trip-profile.js [round trips] [warm-up seconds] [--via-coordinator]`
 * (default 2000, 10).
 */
// First: runs this tool again with the bench client's V8 flags (see as-client.ts).
import './as-client.ts';
import { execFileSync, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { Client } from '../src/index.ts';
import { clusterProcesses, threadCpuSeconds, type ThreadCpu } from './cpu.ts';
import { quantile } from './stats.ts';
import { hasPerf, PERF_MISSING } from './perf-script.ts';
import { DIRECT_HOP_STEPS, directHopTimes, HOP_STEPS, hopTimes, parseSyscalls, type RoundTripWindow } from './syscall-trace.ts';
import { noop } from './tasks.ts';

const args = process.argv.slice(2);
const viaCoordinator = args.includes('--via-coordinator');
const [countArg, warmupArg] = args.filter((a) => a !== '--via-coordinator');
const count = Number(countArg ?? 2000);
const warmupSeconds = Number(warmupArg ?? 10);
if (!Number.isSafeInteger(count) || count < 1 || !Number.isFinite(warmupSeconds) || warmupSeconds < 0 || args.some((a) => a.startsWith('--') && a !== '--via-coordinator')) {
  console.error('usage: round-trip-profile.js [round trips ≥ 1] [warm-up seconds ≥ 0] [--via-coordinator]');
  process.exit(2);
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const handle = await startLocalCluster({ workers: 2, threads: 1, stderr: 'ignore' });
const processes = clusterProcesses(handle);
const data = join(tmpdir(), `floe-round-trip-${process.pid}.data`);
let client: Client | undefined;
try {
  client = await Client.connect({ nats: handle.url, cluster: handle.cluster, directSubmit: !viaCoordinator });
  const c = client;
  let seq = 0;
  const roundTrips = async (n: number, windows?: RoundTripWindow[]): Promise<number[]> => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = seq++;
      const startUs = nowUs();
      const f = c.submit(noop, x);
      const v = await f.result();
      const endUs = nowUs();
      if (v !== x) throw new Error(`round-trip-profile: wrong result ${String(v)} for ${x}`);
      ms.push((endUs - startUs) / 1000);
      windows?.push({ startUs, endUs });
      f.release();
      await turn();
    }
    return ms;
  };

  console.error(`warm-up: ${warmupSeconds} s of round trips`);
  const warmEnd = performance.now() + warmupSeconds * 1000;
  while (performance.now() < warmEnd) await roundTrips(100);

  const before = new Map(processes.map((p) => [p.name, threadCpuSeconds(p.pid)]));
  const ms = await roundTrips(count);
  const after = new Map(processes.map((p) => [p.name, threadCpuSeconds(p.pid)]));
  console.log(`${count} sequential no-op round trips (${viaCoordinator ? 'through the coordinator' : 'submitted directly to a worker'}): median ${quantile(ms, 0.5).toFixed(3)} ms, p90 ${quantile(ms, 0.9).toFixed(3)} ms`);
  console.log(`\nCPU µs per round trip${' '.repeat(4)}main user  main sys  other threads`);
  const us = (a: number, b: number): string => (((a - b) * 1e6) / count).toFixed(0).padStart(9);
  for (const p of processes) {
    const b = before.get(p.name);
    const a = after.get(p.name);
    if (a === undefined || b === undefined) continue;
    const d = (k: keyof ThreadCpu): string => us(a[k], b[k]);
    console.log(`${p.name.padEnd(25)}${d('mainUser')} ${d('mainSystem')} ${d('others').padStart(14)}`);
  }

  if (!hasPerf()) {
    console.log(`\nhop by hop: ${PERF_MISSING}`);
  } else {
    const pids = processes.map((p) => p.pid).join(',');
    const events = ['sys_enter_write', 'sys_enter_writev', 'sys_exit_read'].flatMap((e) => ['-e', `syscalls:${e}`]);
    const perf = spawn('perf', ['record', '-k', 'CLOCK_MONOTONIC', ...events, '-p', pids, '-o', data], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    perf.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<string>((resolve) => perf.once('exit', (code, signal) => resolve(signal ?? String(code))));
    // perf says nothing when it is ready: a few round trips go first, outside the windows.
    await roundTrips(200);
    const windows: RoundTripWindow[] = [];
    const traced = await roundTrips(count, windows);
    perf.kill('SIGINT');
    // perf stops on SIGINT, writes its data out, and ends as killed by it.
    const end = await exited;
    if (end !== '0' && end !== 'SIGINT') throw new Error(`perf record ended with ${end}: ${stderr.trim()}`);
    const script = execFileSync('perf', ['script', '--ns', '-i', data, '-F', 'pid,tid,time,event,trace'], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const byName = new Map(processes.map((p) => [p.name, p.pid]));
    const workers = processes.filter((p) => p.name.startsWith('worker')).map((p) => p.pid);
    const pidsOf = { client: process.pid, coordinator: byName.get('coordinator')!, workers };
    const syscalls = parseSyscalls(script);
    const { trips, skipped }: { trips: Record<string, number>[]; skipped: number } = viaCoordinator
      ? hopTimes(syscalls, pidsOf, windows)
      : directHopTimes(syscalls, pidsOf, windows);
    const steps: readonly string[] = viaCoordinator ? HOP_STEPS : DIRECT_HOP_STEPS;
    console.log(`\nhop by hop, traced (${count} round trips: median ${quantile(traced, 0.5).toFixed(3)} ms; ${trips.length} split, ${skipped} left out)`);
    const total = steps.reduce((sum, step) => sum + quantile(trips.map((t) => t[step]!), 0.5), 0);
    console.log(`${'step'.padEnd(56)}  median µs    p90 µs  share`);
    for (const step of steps) {
      const values = trips.map((t) => t[step]!);
      const median = quantile(values, 0.5);
      console.log(`${step.padEnd(56)} ${median.toFixed(0).padStart(10)} ${quantile(values, 0.9).toFixed(0).padStart(9)} ${`${((100 * median) / total).toFixed(0)}%`.padStart(6)}`);
    }
  }
} finally {
  await client?.close();
  await handle.stop();
  await rm(data, { force: true });
}
