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

// The direct codec against protobufjs, the reference: the same bytes written, the same
// fields read (or the same refusal).
const frameType = protoRoot().lookupType('floe.v1.Frame');
const ackType = protoRoot().lookupType('floe.v1.Ack');
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(String(v)));

function viaProtobufjs(bytes: Uint8Array): { session: string; seq: number; ackSubject: string; payload: number[]; acked: number } {
  const m = frameType.decode(bytes) as unknown as Record<string, unknown>;
  return { session: m.session as string, seq: num(m.seq), ackSubject: m.ackSubject as string, payload: [...(m.payload as Uint8Array)], acked: num(m.acked) };
}

const frames = [
  frame,
  { ...frame, seq: 1, acked: 0, payload: new Uint8Array(0) },
  { ...frame, seq: 2 ** 53 - 1, acked: 2 ** 32, payload: new Uint8Array(300).fill(7) },
  { session: 'sé', seq: 127, ackSubject: 'floe.ç.ack', payload: new Uint8Array([0]), acked: 126 },
];

t.test('frames and acks are written as protobufjs writes them', async (t) => {
  for (const [i, f] of frames.entries()) t.same([...encodeFrame(f)], [...frameType.encode(f).finish()], `frame ${i}`);
  for (const a of [{ session: 's', seq: 9, subject: 'floe.C.worker.w1' }, { session: 'sé', seq: 2 ** 40 + 3, subject: 'x' }]) {
    t.same([...encodeAck(a)], [...ackType.encode(a).finish()]);
  }
});

t.test('frames are read as protobufjs reads them', async (t) => {
  const unknownField = new Uint8Array([0x30, 0x05, 0x3a, 0x01, 0x61]); // field 6 varint, field 7 bytes
  const reordered = (f: (typeof frames)[number]): Uint8Array =>
    new Uint8Array([...frameType.encode({ acked: f.acked, payload: f.payload }).finish(), ...frameType.encode({ ackSubject: f.ackSubject, seq: f.seq, session: f.session }).finish()]);
  for (const [i, f] of frames.entries()) {
    for (const bytes of [encodeFrame(f), new Uint8Array([...encodeFrame(f), ...unknownField]), reordered(f)]) {
      const d = decodeFrame(bytes);
      t.same({ ...d, payload: [...d.payload] }, viaProtobufjs(bytes), `frame ${i}`);
    }
  }
});

t.test('a frame cut short anywhere is refused or read as protobufjs reads it', async (t) => {
  const whole = encodeFrame({ ...frame, seq: 300, acked: 299, payload: new Uint8Array([1, 2, 3, 4]) });
  for (let n = 0; n < whole.length; n++) {
    const cut = whole.subarray(0, n);
    let ours: unknown;
    try {
      const d = decodeFrame(cut);
      ours = { ...d, payload: [...d.payload] };
    } catch (error) {
      t.match(error, { code: 'MALFORMED_MESSAGE' }, `cut at ${n}`);
      continue;
    }
    t.same(ours, viaProtobufjs(cut), `cut at ${n}`);
  }
});
