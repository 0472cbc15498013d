// Stragglers in the pool (worker/stragglers.ts, worker/pool-batch.ts): which batches one
// look finds stuck, and which runs are taken back from them.
import t from 'tap';
import { BATCH_DONE, BATCH_SKIPPED, BATCH_STARTED, BATCH_WAITING } from '../../src/runtime/protocol.ts';
import type { ThreadResponse } from '../../src/runtime/protocol.ts';
import { RETURNED, type BatchRun } from '../../src/worker/executor.ts';
import { PendingBatch } from '../../src/worker/pool-batch.ts';
import { PoolBalancer, RUN_ALONE } from '../../src/worker/pool-balancer.ts';
import { StragglerWatch, type Straggler } from '../../src/worker/stragglers.ts';
import { threadRequest } from '../helpers/thread-request.ts';

function batch(cells: number[], settled: ThreadResponse[] = []): PendingBatch {
  const runs: BatchRun[] = cells.map((_, i) => ({ req: threadRequest('inc', [i]), opts: {} }));
  const b = new PendingBatch(runs, () => {}, (i, res) => settled.push(res), 0);
  cells.forEach((c, i) => Atomics.store(b.cells, i, c));
  return b;
}

const { WAITING: W, STARTED: S, DONE: D } = { WAITING: BATCH_WAITING, STARTED: BATCH_STARTED, DONE: BATCH_DONE };

interface Stuck {
  stragglers: Straggler[];
  stalled: PendingBatch[];
  lone?: BatchRun[];
}

function watch(batches: PendingBatch[]): { watch: StragglerWatch; stuck: Stuck[] } {
  const stuck: Stuck[] = [];
  const onStraggling = (stragglers: Straggler[], stalled: PendingBatch[], lone: BatchRun[]): void => {
    stuck.push(lone.length === 0 ? { stragglers, stalled } : { stragglers, stalled, lone });
  };
  return { watch: new StragglerWatch(() => batches, onStraggling), stuck };
}

t.test('a batch stuck on a started run, with runs waiting: found at the second look without progress, with the batches stalled', async (t) => {
  const a = batch([D, S, W, W]);
  const b = batch([W, W]);
  const { watch: w, stuck } = watch([a, b]);
  t.equal(w.look(), true, 'batches are pending');
  t.same(stuck, [], 'the first look has nothing to compare with');
  Atomics.store(a.cells, 1, D);
  Atomics.store(a.cells, 2, S);
  w.look();
  t.same(stuck, [], 'a moved on; b waits, but nothing straggles');
  w.look();
  t.equal(stuck.length, 1);
  t.same(
    stuck[0]!.stragglers.map((s) => [s.batch === a, s.index]),
    [[true, 2]],
    'the run a started and did not finish between the looks',
  );
  t.same(stuck[0]!.stalled, [a, b], 'every batch that did not move and has runs waiting');
});

t.test('the pool balancer keeps a thread given a run alone out of ties until it is seen idle', async (t) => {
  const balancer = new PoolBalancer(64);
  type PiscinaTask = Parameters<PoolBalancer['balance']>[0];
  type PiscinaWorker = Parameters<PoolBalancer['balance']>[1][number];
  const thread = (id: number, currentUsage: number): PiscinaWorker => ({ id, currentUsage, isRunningAbortableTask: currentUsage > 0 }) as PiscinaWorker;
  const task = (name: string): PiscinaTask => ({ taskId: 1, filename: 'thread.js', name, created: 0, isAbortable: true }) as unknown as PiscinaTask;
  const pick = (name: string, threads: PiscinaWorker[]): number | undefined => balancer.balance(task(name), threads)?.id;
  t.equal(pick(RUN_ALONE, [thread(1, 1), thread(2, 1)]), 1, 'a tie: the first thread');
  t.equal(pick('default', [thread(1, 1), thread(2, 1)]), 2, 'a batch does not queue behind the run alone');
  t.equal(pick(RUN_ALONE, [thread(1, 1), thread(2, 1)]), 2, 'nor does another run alone');
  t.equal(pick('default', [thread(1, 1), thread(2, 1)]), 1, 'both held: the first one, as before');
  t.equal(pick('default', [thread(1, 0), thread(2, 1)]), 1, 'an idle thread');
  t.equal(pick('default', [thread(1, 1), thread(2, 1)]), 1, 'thread 2 still holds its run alone, thread 1 was seen idle');
  t.equal(pick('default', [thread(1, 1), thread(2, 0)]), 2);
  t.equal(pick('default', [thread(1, 1), thread(2, 1)]), 1, 'both seen idle since: the first wins a tie again');
});

t.test('nothing is stalled while every batch moves; a run started in a batch that does not move straggles all the same', async (t) => {
  const seceded = batch([D, S, D, D]); // a run that waits on subtasks while its batch went on
  const moving = batch([S, W]);
  const { watch: w, stuck } = watch([seceded, moving]);
  w.look();
  Atomics.store(moving.cells, 0, D);
  Atomics.store(moving.cells, 1, S);
  w.look();
  t.same(
    stuck.map((s) => [s.stragglers.map((x) => [x.batch === seceded, x.index]), s.stalled.length]),
    [[[[true, 1]], 0]],
    'its thread is reported (the pool sends it nothing more while another thread is free), but nothing waits behind it',
  );
  Atomics.store(moving.cells, 1, D);
  w.look();
  t.equal(stuck.length, 2, 'at every look');
  t.same(stuck[1]!.stalled, []);
  const empty = watch([]);
  t.equal(empty.watch.look(), false, 'no batch pending: the timer stops');
});

t.test('taking back: a tail of the runs still waiting, from the last one, never past a run the thread started', async (t) => {
  const settled: ThreadResponse[] = [];
  const a = batch([D, S, W, W], settled);
  t.same(a.takeBackWaiting(), [2, 3]);
  t.same([...a.cells].slice(0, 4), [D, S, BATCH_SKIPPED, BATCH_SKIPPED], 'the thread will skip them');
  const b = batch([W, W, W], settled);
  b.settle(2, RETURNED); // settled here already (a cancel, say): left alone
  t.same(b.takeBackWaiting(), [0, 1]);
  t.same([...b.cells].slice(0, 3), [BATCH_SKIPPED, BATCH_SKIPPED, W]);
  t.equal(a.progress(), D + S + 2 * BATCH_SKIPPED, 'progress is the sum of the cells');
});

t.test('runs finished without their results posted come back too, unless a run the thread started took them as inputs', async (t) => {
  const a = batch([D, D, D, S, W]);
  // Run 3 (started) takes run 2's result, which takes run 1's; run 0 stands alone.
  a.runs[3]!.req.deps = [{ key: 'k2', serializer: { id: 'msgpack', module: '' }, bytes: new Uint8Array(), from: 2 }];
  a.runs[2]!.req.deps = [{ key: 'k1', serializer: { id: 'msgpack', module: '' }, bytes: new Uint8Array(), from: 1 }];
  t.same(a.finishedUnposted(), [0]);
  a.settle(0, RETURNED);
  t.same(a.finishedUnposted(), [], 'settled ones are not counted again');
  t.same(batch([D, D, S]).finishedUnposted(), [0, 1]);
});

t.test('a run alone still running at the second look comes with the batches stalled then, whatever its kind', async (t) => {
  const behind = batch([W, W]);
  const { watch: w, stuck } = watch([behind]);
  t.teardown(() => w.stop());
  const long: BatchRun = { req: threadRequest('inc', [1]), opts: {} }; // not known to be short
  w.watch(long);
  w.look();
  w.look();
  t.equal(stuck.length, 1);
  t.same(stuck[0]!.stalled, [behind], 'the batch queued behind it');
  t.ok(stuck[0]!.lone?.[0] === long, 'the run (the executor tells the worker only of a short kind)');
});

t.test('a run alone is found straggling at the second look while it runs, once; one that ended is not', async (t) => {
  const { watch: w, stuck } = watch([]);
  t.teardown(() => w.stop());
  const slow: BatchRun = { req: threadRequest('inc', [1]), opts: { short: true } };
  const quick: BatchRun = { req: threadRequest('inc', [2]), opts: { short: true } };
  w.watch(slow);
  w.watch(quick);
  t.equal(w.look(), true, 'runs alone are pending');
  t.same(stuck, [], 'the first look: they may have just started');
  w.unwatch(quick);
  w.look();
  t.equal(stuck.length, 1);
  t.same(stuck[0]!.stragglers, []);
  t.ok(stuck[0]!.lone?.length === 1 && stuck[0]!.lone[0] === slow, 'the run still running at the second look');
  w.look();
  t.equal(stuck.length, 1, 'not again');
  w.unwatch(slow);
  t.equal(w.look(), false, 'nothing pending: the timer stops');
});
