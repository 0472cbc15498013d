// The reliable link layer's limits and edges: malformed input dropped, unackedMax and
// payload limits, forget(), batched acks, a throwing listener, bounded sessions, option
// validation, and close() leaving no timers or handles behind. Delivery through faults:
// reliable.test.ts.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import { ReliableEndpoint, type ReliableOptions } from '../../src/transport/reliable.ts';
import type { Transport } from '../../src/transport/transport.ts';
import { LossyBus, ManualTimers, testSeed } from '../helpers/lossy-bus.ts';
import { collector, endpoint, fromU32, range, SUBJECT, u32, until } from '../helpers/reliable-harness.ts';

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

t.test('while frames keep coming, acks go at most once per ack interval; after a quiet interval, ackDelayMs after the next frame', async (t) => {
  const bus = new InprocBus();
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord', { ackDelayMs: 5, ackIntervalMs: 40 });
  collector(rx);
  const tx = endpoint(bus.connect(), timers, 'w', { retransmitMs: 1000 });
  const acks = (): number => rx.stats().acksSent;
  tx.send(SUBJECT, u32(0));
  await timers.advance(5);
  t.equal(acks(), 1, 'a frame after a quiet spell: acked after ackDelayMs');
  // A frame every 10 ms for 100 ms: acked at the end of each interval, not 5 ms after each.
  for (let i = 1; i <= 10; i++) {
    tx.send(SUBJECT, u32(i));
    await timers.advance(10);
  }
  t.equal(acks(), 3, 'two more acks in 100 ms of frames (at 45 and 85 ms), against ten at most once per 5 ms');
  t.equal(tx.pending(), 2, 'the two frames after the last ack (at 85 and 95 ms) wait for the next one');
  await timers.advance(20);
  t.same([acks(), tx.pending()], [4, 0], 'at the end of the interval');
  await timers.advance(100);
  t.equal(acks(), 4, 'nothing due: no ack, and the endpoint is idle again');
  tx.send(SUBJECT, u32(11));
  await timers.advance(5);
  t.same([acks(), tx.pending()], [5, 0], 'acked ackDelayMs after the next frame');
  for (const e of [rx, tx]) e.close();
});

t.test('the ack interval is at least ackDelayMs, and by default a quarter of retransmitMs when that is below 40 ms', async (t) => {
  const bus = new InprocBus();
  const refused = t.throws(() => new ReliableEndpoint({ transport: bus.connect(), ackSubject: 'a', ackDelayMs: 10, ackIntervalMs: 5 }));
  t.match(refused, { code: 'INVALID_OPTION', message: /ackIntervalMs must be an integer >= 10/ });
  const timers = new ManualTimers();
  const rx = endpoint(bus.connect(), timers, 'coord', { ackDelayMs: 1, retransmitMs: 20 });
  collector(rx);
  const tx = endpoint(bus.connect(), timers, 'w', { retransmitMs: 20 });
  for (let i = 0; i < 4; i++) {
    tx.send(SUBJECT, u32(i));
    await timers.advance(5);
  }
  t.equal(rx.stats().acksSent, 4, 'with retransmitMs 20, acks every 5 ms: each frame acked');
  t.equal(tx.stats().retransmitted, 0, 'nothing resent');
  for (const e of [rx, tx]) e.close();
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
