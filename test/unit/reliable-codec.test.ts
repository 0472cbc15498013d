// Frame and Ack codecs of the reliable link: round trips, and bad input is
// MALFORMED_MESSAGE, never a crash or a silently wrong number.
import t from 'tap';
import { protoRoot } from '../../src/transport/codec.ts';
import { decodeAck, decodeFrame, encodeAck, encodeFrame } from '../../src/transport/reliable/frame-codec.ts';

const frame = { session: 'abc', seq: 2 ** 40, ackSubject: 'floe.C.ack.w1', payload: new Uint8Array([1, 2, 3]), acked: 2 ** 40 - 7 };

t.test('round trips', async (t) => {
  const f = decodeFrame(encodeFrame(frame));
  t.same({ ...f, payload: [...f.payload] }, { ...frame, payload: [1, 2, 3] });
  const empty = decodeFrame(encodeFrame({ ...frame, payload: new Uint8Array(0), seq: 1, acked: 0 }));
  t.equal(empty.payload.byteLength, 0);
  t.same(decodeAck(encodeAck({ session: 's', seq: 9, subject: 'floe.C.worker.w1' })), { session: 's', seq: 9, subject: 'floe.C.worker.w1' });
});

t.test('a later acked field wins, as protobuf merging says', async (t) => {
  const bytes = encodeFrame({ ...frame, seq: 10, acked: 3 });
  const patch = protoRoot().lookupType('floe.v1.Frame').encode({ acked: 9 }).finish();
  t.equal(decodeFrame(new Uint8Array([...bytes, ...patch])).acked, 9);
});

t.test('bad frames and acks are MALFORMED_MESSAGE', async (t) => {
  const frames = [
    new Uint8Array([0xff]),
    encodeFrame({ ...frame, session: '' }),
    encodeFrame({ ...frame, ackSubject: '' }),
    encodeFrame({ ...frame, seq: 0, acked: 0 }),
    encodeFrame({ ...frame, seq: 5, acked: 5 }),
    encodeFrame({ ...frame, seq: 2 ** 60, acked: 0 }),
  ];
  for (const [i, b] of frames.entries()) t.throws(() => decodeFrame(b), { code: 'MALFORMED_MESSAGE' }, `frame ${i}`);
  const acks = [new Uint8Array([0x12, 0x09]), encodeAck({ session: '', seq: 1, subject: 's' }), encodeAck({ session: 's', seq: 1, subject: '' })];
  for (const [i, b] of acks.entries()) t.throws(() => decodeAck(b), { code: 'MALFORMED_MESSAGE' }, `ack ${i}`);
});
