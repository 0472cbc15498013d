/**
 * The pool thread of bench/stage-costs.ts: runs the packed batches it is sent through
 * floe's thread entry (dist/src/runtime/thread.js, as a worker's pool thread does), and
 * answers each round with its own CPU time as the round's batches arrived.
 *
 * The CPU is /proc/thread-self/schedstat (Linux; undefined elsewhere). The kernel brings it
 * up to date when the thread sleeps, and the thread sleeps between rounds, so the difference
 * between two such readings is exactly one round's work here: taking the batches in,
 * running them, posting their results and the answer.
 */
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { PackedBatch } from '../src/runtime/batch-pack.ts';

function threadCpuUs(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}

const { default: runInThread } = (await import(new URL('../src/runtime/thread.js', import.meta.url).href)) as {
  default: (batch: PackedBatch) => unknown;
};

parentPort!.on('message', (msg: { batches: PackedBatch[] }) => {
  const cpuUs = threadCpuUs();
  void (async () => {
    for (const batch of msg.batches) await runInThread(batch);
    parentPort!.postMessage({ cpuUs });
  })();
});
