/** bench/gc-trace.ts: V8's --trace-gc-nvp lines summed per isolate. */
import t from 'tap';
import { addTraceLine, type GcSums } from '../../bench/gc-trace.ts';

// Lines as V8 11 prints them (most fields left out).
const SCAVENGE =
  '[5238:0x341e9d70]     2072 ms: pause=2.4 mutator=64.7 gc=s reduce_memory=0 time_to_safepoint=0.00 scavenge=2.10 ' +
  'scavenge.parallel=1.20 background.scavenge.parallel=1.39 total_size_before=9000000 allocated=4836776 promoted=1000000 ' +
  'new_space_survived=454240 nodes_died_in_new=12 nodes_promoted=4 promotion_ratio=0.0%';
const MARK_COMPACT =
  '[5238:0x341e9d70]     3000 ms: pause=14.5 mutator=157.8 gc=mc reduce_memory=0 mark=10.1 background.mark=3.2 ' +
  'allocated=2000000 promoted=0 new_space_survived=0';
const POOL_THREAD = '[5238:0x7f0ed0000f00]      500 ms: pause=1.5 mutator=10.0 gc=s background.scavenge.parallel=0.5 allocated=1000000 new_space_survived=10000 promoted=0';

t.test('scavenges and full collections are summed per isolate', (t) => {
  const sums = new Map<string, GcSums>();
  addTraceLine(sums, SCAVENGE, 10_000);
  addTraceLine(sums, SCAVENGE, 10_100);
  addTraceLine(sums, MARK_COMPACT, 11_000);
  addTraceLine(sums, POOL_THREAD, 10_050);
  addTraceLine(sums, 'a line of something else', 10_000);
  addTraceLine(sums, '[5238:0x341e9d70]  Memory allocator,       used:  10000 KB', 10_000);
  t.same([...sums.keys()], ['0x341e9d70', '0x7f0ed0000f00']);
  const main = sums.get('0x341e9d70')!;
  t.equal(main.scavenges, 2);
  t.equal(main.pauseMs, 4.8);
  t.equal(main.helpersMs, 2.78, 'background.scavenge.parallel, not scavenge.parallel');
  t.equal(main.survivedMB, 0.90848);
  t.equal(main.promotedMB, 2);
  t.equal(main.allocatedMB, (2 * 4836776 + 2000000) / 1e6, 'allocated before scavenges and full collections');
  t.equal(main.fullGCs, 1);
  t.equal(main.fullPauseMs, 14.5);
  t.equal(main.startedMs, 7928, 'the earliest start the lines tell: read at 10,000 ms, 2,072 ms after it started');
  const pool = sums.get('0x7f0ed0000f00')!;
  t.equal(pool.scavenges, 1);
  t.equal(pool.startedMs, 9550, 'started later than the main isolate');
  t.end();
});
