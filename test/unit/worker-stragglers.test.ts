// Stragglers in the pool (worker/stragglers.ts, worker/pool-batch.ts): which batches one
// look finds stuck, and which runs are taken back from them.
import t from 'tap';
import { BATCH_DONE, BATCH_SKIPPED, BATCH_STARTED, BATCH_WAITING } from '../../src/runtime/protocol.ts';
import type { ThreadResponse } from '../../src/runtime/protocol.ts';
import { RETURNED, type BatchRun } from '../../src/worker/executor.ts';
import { PendingBatch } from '../../src/worker/pool-batch.ts';
import { StragglerWatch, type Straggler } from '../../src/worker/stragglers.ts';
import { threadRequest } from '../helpers/thread-request.ts';

function batch(cells: number[], settled: ThreadResponse[] = []): PendingBatch {
  const runs: BatchRun[] = cells.map((_, i) => ({ req: threadRequest('inc', [i]), opts: {} }));
  const b = new PendingBatch(runs, () => {}, (i, res) => settled.push(res), 0);
  cells.forEach((c, i) => Atomics.store(b.cells, i, c));
  return b;
}

const { WAITING: W, STARTED: S, DONE: D } = { WAITING: BATCH_WAITING, STARTED: BATCH_STARTED, DONE: BATCH_DONE };

function watch(batches: PendingBatch[]): { watch: StragglerWatch; stuck: { stragglers: Straggler[]; stalled: PendingBatch[] }[] } {
  const stuck: { stragglers: Straggler[]; stalled: PendingBatch[] }[] = [];
  return { watch: new StragglerWatch(() => batches, (stragglers, stalled) => stuck.push({ stragglers, stalled })), stuck };
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
