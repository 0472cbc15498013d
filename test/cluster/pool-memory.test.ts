// A worker whose tasks (or actor calls) take big inputs does not keep them once they are
// done: the thread that ran them and the worker's main thread let go of their handles to
// the inputs' memory, although they allocate little of their own and would otherwise not
// collect for a long time (src/util/collect.ts).
import t, { type Test } from 'tap';
import { clusterClient, localCluster } from '../helpers/cluster.ts';
import { procStatusBytes } from '../../bench/scenarios/scale.ts';
import type { Client } from '../../src/index.ts';
import { DstChecker, makeBytes, verifyBytes } from '../fixtures/cluster-tasks.ts';

const MiB = 2 ** 20;
const SIZE = 32 * MiB;
const MOVES = 16;

/** Resident memory of a process, from Linux's /proc. */
function rssBytes(pid: number): number {
  const bytes = procStatusBytes(pid, 'VmRSS');
  if (Number.isNaN(bytes)) throw new Error(`no VmRSS for process ${pid}`);
  return bytes;
}

async function startPair(t: Test): Promise<{ client: Client; receiver: number }> {
  const cluster = await localCluster(t, {
    workers: 2,
    threads: 1,
    workerArgs: (i) => ['--resources', i === 0 ? 'src=1' : 'dst=1'],
  });
  return { client: await clusterClient(t, cluster), receiver: cluster.workers[1]!.pid! };
}

/**
 * Kept, the inputs would add SIZE per move (15 × 32 MiB here), at every move; the last
 * ones a thread took may still be held (it lets go when its next run comes), so the most
 * the receiver grew at any move must stay under 4 inputs.
 */
function assertBounded(t: Test, rss: number[]): void {
  const growth = Math.max(...rss) - rss[0]!;
  t.ok(growth < 4 * SIZE, `the receiver grew at most ${(growth / MiB).toFixed(0)} MiB over ${MOVES - 1} moves of ${SIZE / MiB} MiB (RSS MiB: ${rss.map((b) => (b / MiB).toFixed(0)).join(' ')})`);
}

t.test('moving big results to a worker again and again does not grow its memory by what it received', async (t) => {
  const { client, receiver } = await startPair(t);
  const rss: number[] = [];
  for (let i = 0; i < MOVES; i++) {
    const made = client.submitWithOptions(makeBytes, { resources: { src: 1 } }, SIZE, i);
    const used = client.submitWithOptions(verifyBytes, { resources: { dst: 1 } }, made, i);
    const r = await used.result();
    t.same({ length: r.length, bad: r.bad, pid: r.pid }, { length: SIZE, bad: 0, pid: receiver }, `move ${i}: all bytes right, on the receiver`);
    made.release();
    used.release();
    rss.push(rssBytes(receiver));
  }
  assertBounded(t, rss);
});

t.test('an actor given big inputs again and again: its worker does not keep them either', async (t) => {
  const { client, receiver } = await startPair(t);
  const checker = client.actor(DstChecker);
  const rss: number[] = [];
  for (let i = 0; i < MOVES; i++) {
    const made = client.submitWithOptions(makeBytes, { resources: { src: 1 } }, SIZE, i);
    const used = checker.check(made, i);
    const r = await used.result();
    t.same(r, { length: SIZE, bad: 0, pid: receiver }, `call ${i}: all bytes right, on the receiver`);
    made.release();
    used.release();
    rss.push(rssBytes(receiver));
  }
  assertBounded(t, rss);
});
