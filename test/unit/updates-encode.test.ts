// The hand-written clientUpdates encoder writes exactly the bytes protobufjs' generated
// encoder writes for the same message, and the client decodes what was sent.
import t from 'tap';
import { lookup, reference, sameAsProtobufjs } from '../helpers/encode-check.ts';
import type { ErrorInfo } from '../../src/errors.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { type KeyUpdate, type WireOf } from '../../src/transport/messages.ts';
import { encodeClientUpdatesMessage, encodeSubmitReplyMessage } from '../../src/transport/updates-encode.ts';

type Updates = WireOf<'clientUpdates'>;



const update = (over: Partial<KeyUpdate> = {}): KeyUpdate => ({
  key: 'stamp-1',
  status: 'memory',
  workerId: 'w1',
  address: '127.0.0.1:4000',
  nbytes: 12,
  serializer: { id: 'msgpack', module: '' },
  inline: new Uint8Array([0x82, 0xa1, 0x73, 0x01]),
  error: undefined,
  ...over,
});

const error: ErrorInfo = { code: 'TASK_ERROR', message: 'boom: ошибка', retryable: false, stack: 'Error: boom\n    at f (file:///t.js:1:1)', taskKey: 'stamp-2', originalName: 'TypeError' };

const cases: Array<[string, Updates]> = [
  ['empty', { type: 'clientUpdates', updates: [] }],
  ['the client was dropped', { type: 'clientUpdates', updates: [], dropped: true }],
  ['from a coordinator (its incarnation)', { type: 'clientUpdates', updates: [update()], dropped: true, incarnation: 'kT9_x-3vQ2ab' }],
  ['one inline result', { type: 'clientUpdates', updates: [update()] }],
  ['a result held by a worker (not inline), past 2^32 bytes', { type: 'clientUpdates', updates: [update({ inline: undefined, nbytes: 5 * 2 ** 32 + 7, serializer: { id: 'json', module: 'file:///s.js' } })] }],
  ['erred and cancelled, with errors', {
    type: 'clientUpdates',
    updates: [
      update({ key: 'stamp-2', status: 'erred', workerId: '', address: '', nbytes: 0, inline: undefined, error }),
      update({ key: 'ключ', status: 'cancelled', workerId: '', address: '', nbytes: 0, inline: undefined, error: { ...error, code: 'CANCELLED', stack: '', taskKey: '', originalName: '' } }),
    ],
  }],
  ['progress only', { type: 'clientUpdates', updates: [], progress: [{ key: 'a', kind: 'running' }, { key: 'b', kind: 'done' }, { key: 'c', kind: 'failed' }] }],
  ['many updates with progress (multi-byte lengths)', {
    type: 'clientUpdates',
    updates: Array.from({ length: 1500 }, (_, i) => update({ key: `stamp-${i}`, inline: new Uint8Array(i % 300).fill(i & 0xff), nbytes: i % 300 })),
    progress: Array.from({ length: 300 }, (_, i) => ({ key: `stamp-${i}`, kind: 'done' as const })),
  }],
];

for (const [name, msg] of cases) {
  t.test(name, async (t) => {
    sameAsProtobufjs(t, msg, encodeClientUpdatesMessage(msg, lookup), reference(msg));
  });
}

t.test('the client reads back what the coordinator said', async (t) => {
  const msg: Updates = { type: 'clientUpdates', updates: [update(), update({ key: 'x', status: 'erred', inline: undefined, error })], progress: [{ key: 'x', kind: 'failed' }] };
  const back = decodeMessage(encodeMessage(msg)) as Updates;
  t.equal(back.updates.length, 2);
  t.match(back.updates[0], { key: 'stamp-1', status: 'memory', workerId: 'w1', address: '127.0.0.1:4000', nbytes: 12, serializer: { id: 'msgpack', module: '' } });
  t.same(Buffer.from(back.updates[0]!.inline!), Buffer.from(update().inline!));
  t.match(back.updates[1], { key: 'x', status: 'erred', inline: undefined, error: { code: 'TASK_ERROR', message: 'boom: ошибка', taskKey: 'stamp-2' } });
  t.same(back.progress, [{ key: 'x', kind: 'failed' }]);
  t.notOk('incarnation' in back, 'no incarnation when none was said (a worker\'s updates)');
  const named = decodeMessage(encodeMessage({ ...msg, incarnation: 'kT9_x-3vQ2ab' })) as Updates;
  t.equal(named.incarnation, 'kT9_x-3vQ2ab', "the coordinator's incarnation");
});

t.test('the answer to an accepted submission is written as protobufjs writes it; a refusal goes through protobufjs', async (t) => {
  const accepted: WireOf<'submitReply'>[] = [
    { type: 'submitReply', requestId: '1', error: undefined, incarnation: 'Xq3-_9aB' },
    { type: 'submitReply', requestId: '', error: undefined },
    { type: 'submitReply', requestId: 'ключ-🎉'.repeat(30), error: undefined, incarnation: '' },
  ];
  for (const msg of accepted) sameAsProtobufjs(t, msg, encodeSubmitReplyMessage(msg), reference(msg));
  const refused: WireOf<'submitReply'> = { type: 'submitReply', requestId: '2', error, incarnation: 'i' };
  t.same(Buffer.from(encodeMessage(refused)), Buffer.from(reference(refused)), 'a refusal: the same bytes as protobufjs');
  t.same(decodeMessage(encodeMessage(refused)), refused, 'and it decodes to what was sent');
  t.throws(() => encodeSubmitReplyMessage(refused), { code: 'INTERNAL' }, 'the direct encoder is not given refusals');
});
