// The reliable link layer over a faulty in-process network: in-order, exactly-once
// delivery through loss, duplication, reordering, partitions, reconnects and restarts of
// either side. Time is driven by hand (ManualTimers) so a run is a function of its seed:
// replay a failure with FLOE_SEED=<seed>. Its limits, bad input and closing:
// reliable-limits.test.ts.
import t from 'tap';
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import { ReliableEndpoint } from '../../src/transport/reliable.ts';
import { LossyBus, ManualTimers, prng, testSeed } from '../helpers/lossy-bus.ts';
import { collector, endpoint, firstDifference, fromU32, range, SUBJECT, u32, until } from '../helpers/reliable-harness.ts';

t.test('10k messages from each of 3 senders over a lossy link arrive in order exactly once', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (replay: FLOE_SEED=${seed})`);
  const bus = new LossyBus({ seed, dropRate: 0.3, duplicateRate: 0.1, reorderRate: 0.3 });
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord');
  const got = collector(rx);
  const senders = [0, 1, 2].map((i) => endpoint(bus.connect(), timers, `w${i}`));
  const N = 10_000;
  for (let i = 0; i < N; i += 250) {
    for (const s of senders) for (const n of range(i, Math.min(N, i + 250))) s.send(SUBJECT, u32(n));
    await timers.advance(1);
  }
  await until(timers, () => senders.every((s) => s.pending() === 0));
  for (const s of senders) {
    const list = got.get(s.session);
    t.equal(firstDifference(list, range(0, N)), -1, `${s.session}: all ${N} in order, no duplicates (seed ${seed})`);
  }
  const rs = rx.stats();
  t.equal(rs.delivered, 3 * N);
  t.ok(bus.counts.dropped > 0 && bus.counts.duplicated > 0 && bus.counts.reordered > 0, 'the link did lose, duplicate and reorder');
  t.ok(rs.duplicates > 0 && rs.buffered > 0, 'the receiver saw duplicates and frames ahead of a hole');
  t.ok(senders.every((s) => s.stats().retransmitted > 0), 'every sender retransmitted');
  t.comment(`bus ${JSON.stringify(bus.counts)}; receiver ${JSON.stringify(rs)}; simulated ${timers.now} ms`);
  for (const e of [rx, ...senders]) e.close();
  t.equal(timers.active, 0, 'no timers left');
});

/** One seeded run: its counters, which must be a function of the seed alone. */
async function lossyRun(seed: number, n: number): Promise<string> {
  const bus = new LossyBus({ seed, dropRate: 0.3, duplicateRate: 0.1, reorderRate: 0.3 });
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord');
  collector(rx);
  const senders = [0, 1].map((i) => endpoint(bus.connect(), timers, `w${i}`));
  for (const s of senders) for (const i of range(0, n)) s.send(SUBJECT, u32(i));
  await until(timers, () => senders.every((s) => s.pending() === 0));
  for (const e of [rx, ...senders]) e.close();
  return JSON.stringify({ bus: bus.counts, rx: rx.stats(), tx: senders.map((s) => s.stats()), ms: timers.now });
}

t.test('a run is reproducible from its seed', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed}`);
  t.equal(await lossyRun(seed, 500), await lossyRun(seed, 500));
});

t.test('random partitions and reconnects during a stream lose nothing', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (replay: FLOE_SEED=${seed})`);
  const bus = new LossyBus({ seed, dropRate: 0.05, duplicateRate: 0.05, reorderRate: 0.2 });
  const chaos = prng(seed ^ 0x5eed);
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord');
  const got = collector(rx);
  const senders = [0, 1].map((i) => endpoint(bus.connect(), timers, `w${i}`, { retransmitMs: 20 }));
  const N = 3000;
  for (let i = 0; i < N; i += 30) {
    for (const s of senders) for (const n of range(i, i + 30)) s.send(SUBJECT, u32(n));
    const roll = chaos();
    if (roll < 0.05) bus.partition(true);
    else if (roll < 0.15) bus.partition(false);
    else if (roll < 0.2) bus.simulateReconnect();
    await timers.advance(1 + Math.floor(chaos() * 10));
  }
  bus.partition(false);
  await until(timers, () => senders.every((s) => s.pending() === 0));
  for (const s of senders) t.equal(firstDifference(got.get(s.session), range(0, N)), -1, `${s.session} (seed ${seed})`);
  t.ok(bus.counts.partitioned > 0);
  for (const e of [rx, ...senders]) e.close();
});

t.test('with real timers: partition, heal, and flush() resolves once all is acknowledged', async (t) => {
  const bus = new LossyBus({ seed: 5 });
  const rx = new ReliableEndpoint({ transport: bus.connect(), ackSubject: 'floe.t.ack.coord', retransmitMs: 5, retransmitMaxMs: 10 });
  const got = collector(rx);
  const tx = new ReliableEndpoint({ transport: bus.connect(), ackSubject: 'floe.t.ack.w', retransmitMs: 5, retransmitMaxMs: 10 });
  bus.partition(true);
  for (const n of range(0, 100)) tx.send(SUBJECT, u32(n));
  // "A while": until the sender has tried again twice, checked once per turn.
  while (tx.stats().retransmitted < 200) await new Promise((resolve) => setImmediate(resolve));
  t.equal(tx.pending(), 100);
  bus.partition(false);
  t.equal(await tx.flush(60_000), true);
  t.equal(tx.pending(), 0);
  t.same(got.get(tx.session), range(0, 100));
  rx.close();
  tx.close();
});

t.test('pure go-back-N (reorderMax 0) also delivers everything', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed}`);
  const bus = new LossyBus({ seed, dropRate: 0.2, duplicateRate: 0.1, reorderRate: 0.2 });
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord', { reorderMax: 0 });
  const got = collector(rx);
  const tx = endpoint(bus.connect(), timers, 'w');
  for (const n of range(0, 300)) tx.send(SUBJECT, u32(n));
  await until(timers, () => tx.pending() === 0);
  t.equal(firstDifference(got.get(tx.session), range(0, 300)), -1);
  t.equal(rx.stats().buffered, 0);
  t.ok(rx.stats().gaps > 0);
  rx.close();
  tx.close();
});

t.test('a partition loses everything for a while; after healing all is delivered, with backoff meanwhile', async (t) => {
  const bus = new LossyBus({ seed: 1 });
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord');
  const got = collector(rx);
  const tx = endpoint(bus.connect(), timers, 'w', { retransmitMaxMs: 40 });
  for (const n of range(0, 50)) tx.send(SUBJECT, u32(n));
  await timers.advance(2);
  t.equal(tx.pending(), 0);
  bus.partition(true);
  for (const n of range(50, 150)) tx.send(SUBJECT, u32(n));
  await timers.advance(1000);
  t.equal(tx.pending(), 100);
  // 1000 ms at 5 ms per check with backoff up to 8 checks: ~25 rounds, not 200.
  t.ok(tx.stats().retransmitted <= 100 * 30, `backed off (${tx.stats().retransmitted} frames resent)`);
  bus.partition(false);
  await until(timers, () => tx.pending() === 0, 100);
  t.same(got.get(tx.session), range(0, 150));
  rx.close();
  tx.close();
});

t.test('a reconnect resends at once, without waiting for the retransmit timer', async (t) => {
  const bus = new LossyBus({ seed: 2 });
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord');
  const got = collector(rx);
  const tx = endpoint(bus.connect(), timers, 'w', { retransmitMs: 60_000 });
  bus.partition(true);
  for (const n of range(0, 10)) tx.send(SUBJECT, u32(n));
  await timers.advance(1);
  bus.partition(false);
  bus.simulateReconnect();
  await timers.advance(1); // the ack delay, far below retransmitMs
  t.equal(tx.pending(), 0);
  t.same(got.get(tx.session), range(0, 10));
  tx.close();
  bus.simulateReconnect(); // a closed endpoint ignores it
  rx.close();
});

t.test('the same sender restarted (new session) is delivered from its first frame', async (t) => {
  const bus = new InprocBus();
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord');
  const seen: [string, number][] = [];
  rx.listen(SUBJECT, (payload, sender) => seen.push([sender.session, fromU32(payload)]));
  const first = endpoint(bus.connect(), timers, 'w', { sessionId: 'one' });
  for (const n of range(0, 5)) first.send(SUBJECT, u32(n));
  await timers.advance(2);
  first.close();
  const second = endpoint(bus.connect(), timers, 'w', { sessionId: 'two' }); // same ack subject
  for (const n of range(100, 103)) second.send(SUBJECT, u32(n));
  await timers.advance(2);
  t.same(seen, [...range(0, 5).map((n) => ['one', n]), ...range(100, 103).map((n) => ['two', n])]);
  t.equal(second.pending(), 0);
  second.close();
  rx.close();
});

t.test("a new session's frames arriving out of order are still all delivered, in order", async (t) => {
  const bus = new InprocBus();
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord');
  const got = collector(rx);
  const raw = bus.connect();
  const { encodeFrame } = await import('../../src/transport/reliable/frame-codec.ts');
  for (const seq of [3, 1, 2]) {
    raw.publish(SUBJECT, encodeFrame({ session: 'fresh', seq, ackSubject: 'floe.t.ack.raw', payload: u32(seq), acked: 0 }));
  }
  await timers.advance(2);
  t.same(got.get('fresh'), [1, 2, 3]);
  rx.close();
});

t.test('a restarted receiver resumes at the oldest unacked frame (no loss, no replay of acked ones)', async (t) => {
  const bus = new LossyBus({ seed: 3 });
  const timers = new ManualTimers();
  const rx1 = endpoint(bus.connect(), timers, 'coord-1');
  const got1 = collector(rx1);
  const tx = endpoint(bus.connect(), timers, 'w');
  // 0..4 arrive; 5..7 are lost. All eight frames say acked = 0.
  for (const n of range(0, 5)) tx.send(SUBJECT, u32(n));
  bus.partition(true);
  for (const n of range(5, 8)) tx.send(SUBJECT, u32(n));
  bus.partition(false);
  await timers.advance(2); // 0..4 acked
  t.equal(tx.pending(), 3);
  rx1.close();
  const rx2 = endpoint(bus.connect(), timers, 'coord-2');
  const got2 = collector(rx2);
  await until(timers, () => tx.pending() === 0, 100);
  t.same(got1.get(tx.session), range(0, 5));
  t.same(got2.get(tx.session), range(5, 8), 'the resent oldest frame told the new receiver where to start');
  tx.close();
  rx2.close();
});
