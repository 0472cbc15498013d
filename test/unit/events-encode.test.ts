// The workerEvents encoder (completions written by hand, the rest by protobufjs) writes
// exactly the bytes protobufjs' generated encoder writes for the same message, and the
// coordinator decodes what was sent.
import t from 'tap';
import type { ErrorInfo } from '../../src/errors.ts';
import { decodeMessage } from '../../src/transport/codec.ts';
import { encodeWorkerEventsMessage } from '../../src/transport/events-encode.ts';
import { workerEvents, type WireFinished, type WireOf } from '../../src/transport/messages.ts';
import { lookup, reference, sameAsProtobufjs } from '../helpers/encode-check.ts';

type Events = WireOf<'workerEvents'>;



const finished = (over: Partial<WireFinished> = {}): WireFinished => ({
  id: 'c1/stamp-1',
  runId: 1,
  nbytes: 24,
  serializer: { id: 'msgpack', module: '' },
  inline: new Uint8Array([0x82, 0xa1, 0x73, 0xcb]),
  durationMs: 0.0123,
  startedAtMs: 1796306288310.814,
  ...over,
});

const error: ErrorInfo = { code: 'TASK_ERROR', message: 'boom', retryable: false, stack: 'Error: boom', taskKey: 'stamp-2', originalName: 'Error' };

const cases: Array<[string, Events]> = [
  ['heartbeat only', workerEvents('w1', 1, { heartbeat: true })],
  ['one completion', workerEvents('w1', 2, { finished: [finished()] })],
  ['a completion held here (not inline), numbers past 2^32, no start time', workerEvents('w1', 300, {
    finished: [finished({ inline: undefined, nbytes: 5 * 2 ** 32 + 1, runId: 2 ** 40 + 5, startedAtMs: undefined as unknown as number, serializer: { id: 'json', module: 'file:///s.js' } })],
  })],
  ['every field', workerEvents('worker-ключ', 2 ** 32 - 1, {
    register: { threads: 4, resources: { gpu: 2, mem: 0.5 }, address: '127.0.0.1:4000', name: 'worker-0', heartbeatIntervalMs: 500 },
    finished: [finished(), finished({ id: 'c1/stamp-2', runId: 2, inline: new Uint8Array(300).fill(7), nbytes: 300 })],
    failed: [{ id: 'c1/x', runId: 3, error, durationMs: 1.5 }],
    heartbeat: true,
    goodbye: true,
    stolen: [{ id: 'c1/s', runId: 4 }],
    stealRefused: [{ id: 'c1/r', runId: 5 }],
    replicated: ['c1/a', 'c1/b'],
    replicateFailed: ['c1/f'],
    retiring: true,
    metrics: { executing: 1, tasks: 2, held: 3, heldBytes: 2 ** 33, rssBytes: 123456789, executed: 10, fetched: 1, fetchedBytes: 99 },
    missing: [{ id: 'c1/m', runId: 6, depId: 'c1/d' }],
    seceded: [{ id: 'c1/p', runId: 7 }],
    rejoined: [{ id: 'c1/q', runId: 8 }],
  })],
  ['many completions (multi-byte lengths)', workerEvents('w2', 1, {
    finished: Array.from({ length: 1500 }, (_, i) => finished({ id: `c1/stamp-${i}`, runId: i + 1, inline: new Uint8Array(i % 200).fill(i & 0xff), nbytes: i % 200 })),
  })],
];

for (const [name, msg] of cases) {
  t.test(name, async (t) => {
    sameAsProtobufjs(t, msg, encodeWorkerEventsMessage(msg, lookup), reference(msg));
  });
}

t.test('the coordinator reads back what the worker reported', async (t) => {
  const msg = workerEvents('w1', 7, { finished: [finished()], failed: [{ id: 'c1/x', runId: 3, error, durationMs: 1.5 }], heartbeat: true });
  const back = decodeMessage(encodeWorkerEventsMessage(msg, lookup)) as Events;
  t.equal(back.workerId, 'w1');
  t.equal(back.epoch, 7);
  t.match(back.finished[0], { id: 'c1/stamp-1', runId: 1, nbytes: 24, serializer: { id: 'msgpack', module: '' }, durationMs: 0.0123, startedAtMs: 1796306288310.814 });
  t.same(Buffer.from(back.finished[0]!.inline!), Buffer.from(finished().inline!));
  t.match(back.failed[0], { id: 'c1/x', runId: 3, error: { code: 'TASK_ERROR', message: 'boom' } });
  t.equal(back.heartbeat, true);
});
