// The reliable link layer over a faulty in-process network: in-order, exactly-once
// delivery through loss, duplication, reordering, partitions, reconnects and restarts of
// either side; bounded state; no timers left behind. Time is driven by hand (ManualTimers)
// so a run is a function of its seed: replay a failure with FLOE_SEED=<seed>.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import { ReliableEndpoint, type ReliableOptions } from '../../src/transport/reliable.ts';
import type { Transport } from '../../src/transport/transport.ts';
import { LossyBus, ManualTimers, prng, testSeed } from '../helpers/lossy-bus.ts';

const SUBJECT = 'floe.t.coord.events';

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
function fromU32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}

function endpoint(transport: Transport, timers: ManualTimers, id: string, extra: Partial<ReliableOptions> = {}): ReliableEndpoint {
  return new ReliableEndpoint({
    transport,
    ackSubject: `floe.t.ack.${id}`,
    sessionId: `session-${id}`,
    timers,
    ackDelayMs: 1,
    retransmitMs: 5,
    ...extra,
  });
}

/** Collects delivered u32 payloads per sender session. */
function collector(rx: ReliableEndpoint, subject = SUBJECT): Map<string, number[]> {
  const got = new Map<string, number[]>();
  rx.listen(subject, (payload, sender) => {
    let list = got.get(sender.session);
    if (list === undefined) got.set(sender.session, (list = []));
    list.push(fromU32(payload));
  });
  return got;
}

/** Advances time in small steps until `cond` holds; fails after `msMax` simulated ms. */
async function until(timers: ManualTimers, cond: () => boolean, msMax = 60_000): Promise<void> {
  const start = timers.now;
  while (!cond()) {
    if (timers.now - start > msMax) throw new Error(`condition still false after ${msMax} simulated ms`);
    await timers.advance(1);
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** First index where `got` differs from `want`, or -1: keeps failure output small for long runs. */
function firstDifference(got: number[] | undefined, want: number[]): number {
  if (got === undefined) return 0;
  for (let i = 0; i < Math.max(got.length, want.length); i++) if (got[i] !== want[i]) return i;
  return -1;
}

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

t.test('malformed input on a listened subject or an ack subject is dropped, never a crash', async (t) => {
  const bus = new InprocBus();
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord');
  const got = collector(rx);
  const tx = endpoint(bus.connect(), timers, 'w');
  const raw = bus.connect();
  const { encodeFrame, encodeAck } = await import('../../src/transport/reliable/frame-codec.ts');
  const bad: Uint8Array[] = [
    new Uint8Array([0xff, 0xff, 0xff]),
    new Uint8Array([0x0a, 0x05, 0x61]), // truncated string
    encodeFrame({ session: '', seq: 1, ackSubject: 'a', payload: u32(1), acked: 0 }),
    encodeFrame({ session: 's', seq: 0, ackSubject: 'a', payload: u32(1), acked: 0 }),
    encodeFrame({ session: 's', seq: 3, ackSubject: 'a', payload: u32(1), acked: 3 }),
    encodeFrame({ session: 's', seq: 1, ackSubject: '', payload: u32(1), acked: 0 }),
    encodeFrame({ session: 's', seq: 2 ** 60, ackSubject: 'a', payload: u32(1), acked: 0 }),
  ];
  const seeded = testSeed();
  let x = seeded;
  for (let i = 0; i < 50; i++) {
    const junk = new Uint8Array(1 + (i % 40));
    for (let j = 0; j < junk.length; j++) junk[j] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
    bad.push(junk);
  }
  for (const b of bad) {
    raw.publish(SUBJECT, b);
    raw.publish('floe.t.ack.w', b);
  }
  raw.publish('floe.t.ack.w', encodeAck({ session: 'session-w', seq: 99, subject: SUBJECT })); // beyond what was sent
  await timers.advance(2);
  tx.send(SUBJECT, u32(7));
  await timers.advance(2);
  t.same(got.get(tx.session), [7], 'still works');
  t.equal(tx.pending(), 0);
  t.ok(rx.stats().malformed >= 7, `${rx.stats().malformed} malformed frames counted`);
  t.ok(tx.stats().malformed >= 2, `${tx.stats().malformed} malformed acks counted`);
  rx.close();
  tx.close();
});

t.test('unackedMax: send throws LIMIT_EXCEEDED, per destination, until acks make room', async (t) => {
  const bus = new InprocBus();
  const timers = new ManualTimers();
  const tx = endpoint(bus.connect(), timers, 'w', { unackedMax: 10 });
  for (const n of range(0, 10)) tx.send(SUBJECT, u32(n));
  t.throws(() => tx.send(SUBJECT, u32(10)), { code: 'LIMIT_EXCEEDED' });
  t.equal(tx.pending(SUBJECT), 10);
  tx.send('floe.t.other', u32(0)); // another destination has its own budget
  const rx = endpoint(bus.connect(), timers, 'coord');
  const got = collector(rx);
  await until(timers, () => tx.pending(SUBJECT) === 0, 100);
  tx.send(SUBJECT, u32(10));
  await timers.advance(2);
  t.same(got.get(tx.session), range(0, 11));
  tx.forget('floe.t.other');
  tx.close();
  rx.close();
});

t.test('a frame larger than the transport accepts is LIMIT_EXCEEDED at send, not resent forever', async (t) => {
  const bus = new InprocBus();
  const timers = new ManualTimers();
  const transport: Transport = Object.assign(Object.create(bus.connect()) as Transport, { maxPayloadBytes: 100 });
  const tx = endpoint(transport, timers, 'w');
  tx.send(SUBJECT, new Uint8Array(10));
  t.throws(() => tx.send(SUBJECT, new Uint8Array(100)), { code: 'LIMIT_EXCEEDED' });
  t.equal(tx.pending(), 1);
  tx.close();
});

t.test('forget() stops retransmission, and a live receiver skips what was forgotten', async (t) => {
  const bus = new LossyBus({ seed: 4 });
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord');
  const got = collector(rx);
  const tx = endpoint(bus.connect(), timers, 'w');
  tx.send(SUBJECT, u32(0));
  await timers.advance(2);
  bus.partition(true);
  for (const n of range(1, 4)) tx.send(SUBJECT, u32(n));
  await timers.advance(50);
  t.ok(tx.stats().retransmitted > 0);
  tx.forget(SUBJECT);
  t.equal(tx.pending(), 0);
  t.equal(timers.active, 0, 'no retransmit timer while nothing is pending');
  const published = bus.counts.published;
  await timers.advance(1000);
  t.equal(bus.counts.published, published, 'nothing resent after forget');
  bus.partition(false);
  tx.send(SUBJECT, u32(4));
  await until(timers, () => tx.pending() === 0, 100);
  t.same(got.get(tx.session), [0, 4], '1..3 forgotten; 4 is not taken for a duplicate');
  rx.close();
  tx.close();
});

t.test('acks are batched: one per (listened subject, sender session) per ack interval', async (t) => {
  const bus = new InprocBus();
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord', { ackDelayMs: 5 });
  collector(rx);
  const senders = [0, 1, 2].map((i) => endpoint(bus.connect(), timers, `w${i}`));
  for (const s of senders) for (const n of range(0, 100)) s.send(SUBJECT, u32(n));
  await timers.advance(5);
  t.equal(rx.stats().acksSent, 3);
  t.ok(senders.every((s) => s.pending() === 0 && s.stats().acksReceived === 1));
  for (const e of [rx, ...senders]) e.close();
});

t.test('a listener that throws still gets each payload once; later ones keep coming', async (t) => {
  const bus = new InprocBus();
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord');
  const seen: number[] = [];
  rx.listen(SUBJECT, (payload) => {
    const n = fromU32(payload);
    seen.push(n);
    if (n === 1) throw new Error('boom');
  });
  const tx = endpoint(bus.connect(), timers, 'w');
  for (const n of range(0, 3)) tx.send(SUBJECT, u32(n));
  await timers.advance(20);
  t.same(seen, [0, 1, 2]);
  t.equal(rx.stats().handlerErrors, 1);
  t.equal(tx.pending(), 0);
  rx.close();
  tx.close();
});

t.test('receiversMax bounds remembered sessions per subject', async (t) => {
  const bus = new InprocBus();
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord', { receiversMax: 2 });
  const got = collector(rx);
  const senders = [0, 1, 2].map((i) => endpoint(bus.connect(), timers, `w${i}`));
  for (const s of senders) s.send(SUBJECT, u32(1));
  await timers.advance(2);
  for (const s of senders) s.send(SUBJECT, u32(2));
  await timers.advance(2);
  t.ok(rx.stats().evicted >= 1);
  for (const s of senders) t.same(got.get(s.session), [1, 2]);
  for (const e of [rx, ...senders]) e.close();
});

t.test('options and arguments are validated', async (t) => {
  const transport = new InprocBus().connect();
  const bad: Partial<ReliableOptions>[] = [
    { ackSubject: '' },
    { retransmitMs: 0 },
    { ackDelayMs: -1 },
    { unackedMax: 1.5 },
    { receiversMax: 0 },
    { retransmitMs: 100, retransmitMaxMs: 50 },
    { sessionId: '' },
  ];
  for (const b of bad) {
    t.throws(
      () => new ReliableEndpoint({ transport, ackSubject: 'a', ...b }),
      { code: 'INVALID_OPTION' },
      JSON.stringify(b),
    );
  }
  const ep = new ReliableEndpoint({ transport, ackSubject: 'a' });
  ep.listen('x', () => undefined);
  t.throws(() => ep.listen('x', () => undefined), { code: 'INVALID_ARGUMENT' });
  ep.close();
});

t.test('close(): idempotent, no timers left, pending flush() resolves false, send refuses', async (t) => {
  const bus = new InprocBus();
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord', { ackDelayMs: 50 });
  collector(rx);
  const tx = endpoint(bus.connect(), timers, 'w');
  tx.send(SUBJECT, u32(1)); // rx will owe an ack
  tx.send('floe.t.nobody', u32(1)); // never acked
  await timers.advance(1);
  const flushed = tx.flush(10_000);
  t.ok(timers.active >= 3, 'ack timer, retransmit timer, flush timer');
  rx.close();
  await timers.advance(1);
  t.equal(tx.pending(SUBJECT), 0, 'close() sent the ack it owed');
  tx.close();
  tx.close();
  t.equal(await flushed, false);
  t.equal(timers.active, 0);
  t.throws(() => tx.send(SUBJECT, u32(2)), { code: 'CLIENT_CLOSED' });
  t.equal(await tx.flush(), true, 'nothing pending after close');
});

t.test('close() leaves nothing that keeps the process alive', async (t) => {
  const src = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
  // The flush() timer is ref'd and 10 minutes long: only close() can let this process end.
  const script = `
    import { ReliableEndpoint } from ${JSON.stringify(src('../../src/transport/reliable.ts'))};
    import { InprocBus } from ${JSON.stringify(src('../../src/transport/inproc/bus.ts'))};
    const bus = new InprocBus();
    const rx = new ReliableEndpoint({ transport: bus.connect(), ackSubject: 'a.rx', retransmitMs: 5 });
    rx.listen('x', () => {});
    const tx = new ReliableEndpoint({ transport: bus.connect(), ackSubject: 'a.tx', retransmitMs: 5 });
    tx.send('x', new Uint8Array(3));
    tx.send('nobody', new Uint8Array(3));
    const flushed = tx.flush(600000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    rx.close();
    tx.close();
    console.log('flushed', await flushed);
  `;
  const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  t.equal(code, 0);
  t.equal(out.trim(), 'flushed false');
});
