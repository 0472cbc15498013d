// bench/syscall-trace.ts: a round trip split into its hops from traced socket writes and reads.
import t from 'tap';
import { DIRECT_HOP_STEPS, directHopTimes, HOP_STEPS, hopTimes, parseSyscalls } from '../../bench/syscall-trace.ts';

// client 10, nats-server 20, coordinator 30, workers 40 (pool thread 41) and 50.
const w = (pid: number, tid: number, s: string, bytes: number): string =>
  `${pid}/${tid} ${s}:    syscalls:sys_enter_write: fd: 0x00000012, buf: 0x2346c070, count: 0x${bytes.toString(16).padStart(8, '0')}`;
const r = (pid: number, tid: number, s: string, ret: string): string => `${pid}/${tid} ${s}:    syscalls:sys_exit_read: ${ret}`;

const TRIP = [
  w(10, 10, '100.000100000', 227), // the submission
  r(20, 22, '100.000150000', '0xe3'), // nats-server, not one of ours
  r(30, 30, '100.000300000', '0xe5'), // the coordinator reads it
  r(30, 30, '100.000310000', '0xfffffffffffffff5'), // EAGAIN: not a read
  w(30, 30, '100.000350000', 59), // its reply to the client
  w(30, 30, '100.000400000', 262), // the assignment
  r(10, 10, '100.000450000', '0x3d'), // the client reads the reply
  r(40, 40, '100.000500000', '0x108'), // the worker reads the assignment
  w(40, 41, '100.000800000', 8), // its pool thread is done: eventfd
  r(40, 40, '100.000810000', '0x8'), // the main thread's wake-up, not a message
  w(40, 40, '100.000900000', 366), // the result
  `40/40 100.000905000:    syscalls:sys_enter_writev: fd: 0x00000012, vec: 0x1, vlen: 0x00000002`, // and its report
  r(10, 10, '100.001000000', '0xb1'), // the client reads the result
].join('\n');

const PIDS = { client: 10, coordinator: 30, workers: [40, 50] };

t.test('syscall lines: writes, writev and successful reads, by time', async (t) => {
  const events = parseSyscalls(['not a line', TRIP.split('\n').reverse().join('\n'), ''].join('\n'));
  t.equal(events.length, 12, 'the EAGAIN read is left out');
  t.same(events[0], { pid: 10, tid: 10, us: 100_000_100, kind: 'write', bytes: 227 });
  t.ok(events.every((e, i) => i === 0 || events[i - 1]!.us <= e.us), 'oldest first');
  t.same(events.find((e) => e.bytes === -1), { pid: 40, tid: 40, us: 100_000_905, kind: 'write', bytes: -1 }, 'writev: size unknown');
  t.same(
    parseSyscalls(r(1, 1, '25214.253184707', '0x340')).map((e) => e.us),
    [25_214_253_184.707],
    'nanoseconds kept: times compare with process.hrtime',
  );
});

t.test('a round trip split into steps that add up to it', async (t) => {
  const { trips, skipped } = hopTimes(parseSyscalls(TRIP), PIDS, [{ startUs: 100_000_050, endUs: 100_001_030 }]);
  t.equal(skipped, 0);
  t.same(Object.keys(trips[0]!), [...HOP_STEPS], 'every step, in order');
  t.same(trips[0], {
    'client: submit() to the message written': 50,
    'hop: client -> coordinator': 200,
    'coordinator: submission read to assignment written': 100, // to the assignment, not the reply
    'hop: coordinator -> worker': 100,
    'worker: assignment read to the pool thread done': 300,
    'worker: pool thread done to the result written': 100,
    'hop: worker -> client': 100, // to the result, not the reply read before it
    'client: result read to the caller': 30,
  });
  const sum = HOP_STEPS.reduce((s, step) => s + trips[0]![step], 0);
  t.equal(sum, 980, 'the whole window');
});

t.test('windows without every step are left out, the others still split', async (t) => {
  const events = parseSyscalls(TRIP);
  const noWorker = events.filter((e) => e.pid !== 40);
  t.same(hopTimes(noWorker, PIDS, [{ startUs: 100_000_050, endUs: 100_001_030 }]), { trips: [], skipped: 1 });
  const noThread = events.filter((e) => e.tid !== 41);
  t.equal(hopTimes(noThread, PIDS, [{ startUs: 100_000_050, endUs: 100_001_030 }]).skipped, 1, 'no pool thread wake-up');
  const later = parseSyscalls(TRIP.replace(/100\.000/g, '100.500').replace(/100\.001/g, '100.501'));
  const { trips, skipped } = hopTimes([...events, ...later], PIDS, [
    { startUs: 100_000_050, endUs: 100_001_030 },
    { startUs: 100_200_000, endUs: 100_300_000 }, // nothing in it
    { startUs: 100_500_050, endUs: 100_501_030 },
  ]);
  t.equal(trips.length, 2);
  t.equal(skipped, 1);
  t.equal(trips[1]!['hop: worker -> client'], 100);
});

// A round trip submitted directly to a worker (client/direct.ts): the worker passes the
// submission on to the coordinator while its pool thread runs the task.
const DIRECT_TRIP = [
  w(10, 10, '100.000100000', 227), // the submission, to the worker
  r(50, 50, '100.000250000', '0xe5'), // worker 50 reads it
  w(50, 50, '100.000300000', 240), // and passes it on to the coordinator
  r(30, 30, '100.000400000', '0xf0'), // the coordinator reads that
  w(50, 51, '100.000500000', 8), // the pool thread is done
  w(30, 30, '100.000520000', 59), // the coordinator's answer to the client
  w(50, 50, '100.000600000', 366), // the result
  r(10, 10, '100.000620000', '0x3d'), // the client reads the answer
  r(10, 10, '100.000700000', '0xb1'), // and then the result
].join('\n');

t.test('a direct round trip split into its steps, the coordinator off its path', async (t) => {
  const { trips, skipped } = directHopTimes(parseSyscalls(DIRECT_TRIP), PIDS, [{ startUs: 100_000_050, endUs: 100_000_720 }]);
  t.equal(skipped, 0);
  t.same(Object.keys(trips[0]!), [...DIRECT_HOP_STEPS], 'every step, in order');
  t.same(trips[0], {
    'client: submit() to the message written': 50,
    'hop: client -> worker': 150,
    'worker: submission read to the pool thread done': 250,
    'worker: pool thread done to the result written': 100, // the result, not the submission passed on before
    'hop: worker -> client': 100, // to the result, not the answer read before it
    'client: result read to the caller': 20,
  });
  t.equal(DIRECT_HOP_STEPS.reduce((s, step) => s + trips[0]![step], 0), 670, 'the whole window');
  const viaCoordinator = parseSyscalls(TRIP);
  t.same(directHopTimes(viaCoordinator, PIDS, [{ startUs: 100_000_050, endUs: 100_001_030 }]), { trips: [], skipped: 1 }, 'a trip through the coordinator is not one');
  const noThread = parseSyscalls(DIRECT_TRIP).filter((e) => e.tid !== 51);
  t.equal(directHopTimes(noThread, PIDS, [{ startUs: 100_000_050, endUs: 100_000_720 }]).skipped, 1, 'no pool thread wake-up');
});
