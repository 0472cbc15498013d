/**
 * One BullMQ worker process of `floe bench --vs-bullmq`: a Worker with concurrency 1 on the
 * bench queue (two of these match floe's 2 workers × 1 thread). Prints "ready" once
 * connected and exits when its stdin closes.
 *   node bench/bullmq-worker.js '{"port":6379,"queue":"floe-bench"}'
 *
 * Clock: the same epoch milliseconds as bench/tasks.ts, so stamps compare with the
 * producer's submit time and with other workers' stamps.
 */
import { Worker } from 'bullmq';
import type { BullmqJobData, BullmqStamp } from './bullmq.ts';

const { port, queue } = JSON.parse(process.argv[2] ?? '{}') as { port: number; queue: string };
const now = (): number => performance.timeOrigin + performance.now();

const worker = new Worker(
  queue,
  async (job): Promise<number | BullmqStamp> => {
    const data = job.data as BullmqJobData;
    if (data.kind === 'noop') return data.i;
    const s = now();
    return { i: data.i, s, e: now() };
  },
  { connection: { host: '127.0.0.1', port, maxRetriesPerRequest: null }, concurrency: 1 },
);
worker.on('error', (error) => process.stderr.write(`[bullmq-worker ${process.pid}] ${error.message}\n`));
await worker.waitUntilReady();
process.stdin.on('close', () => void worker.close().finally(() => process.exit(0))).resume();
process.stdout.write('ready\n');
