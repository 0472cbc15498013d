/**
 * A `perf sched record` of the whole machine around some work, read back as `perf sched
 * timehist` text (bench/sched-timehist.ts reads it). Used by bench/sched-wait.ts and
 * bench/latency-tail.ts. Linux only; needs perf (`apt-get install -y linux-perf`) and root
 * (it traces every CPU).
 */
import { execFileSync, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** perf has no word for "recording now"; it is given this long to start before the work. */
const PERF_START_MS = 500;

/** Seconds on CLOCK_MONOTONIC, the clock `perf sched record -k mono` stamps its events with. */
export const monoSeconds = (): number => Number(process.hrtime.bigint()) / 1e9;

/** Runs `work` under `perf sched record`; its result, and the trace as `perf sched timehist` prints it. */
export async function recordSched<T>(work: () => Promise<T>): Promise<{ result: T; timehist: string }> {
  const data = join(tmpdir(), `floe-perf-sched-${process.pid}.data`);
  const perf = spawn('perf', ['sched', 'record', '-k', 'mono', '-o', data], { stdio: ['ignore', 'ignore', 'pipe'] });
  let perfErr = '';
  perf.stderr.on('data', (chunk: Buffer) => (perfErr += chunk.toString()));
  // Stopped by SIGINT, perf writes its data and exits 0, or of the signal.
  const exited = new Promise<boolean>((resolve) => perf.on('exit', (code, signal) => resolve(code === 0 || signal === 'SIGINT')));
  try {
    await delay(PERF_START_MS);
    const result = await work();
    perf.kill('SIGINT');
    if (!(await exited)) throw new Error(`perf sched record failed: ${perfErr.trim()}`);
    const timehist = execFileSync('perf', ['sched', 'timehist', '-i', data], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    return { result, timehist };
  } finally {
    if (perf.exitCode === null && perf.signalCode === null) {
      perf.kill('SIGINT');
      await exited;
    }
    await rm(data, { force: true });
  }
}
