// Malformed input to the direct decoders is a FloeError (MALFORMED_MESSAGE, or
// UNSUPPORTED_VERSION), never another exception, a hang or a crash; and whatever the
// protobufjs path refuses, the direct one refuses too. The reverse does not quite hold:
// the direct decoders refuse three things protobufjs lets pass (proto-read.ts) — a known
// field of the wrong wire type (protobufjs reads it as its declared type anyway), a string
// longer than what is left of its message (protobufjs cuts it short), and a uint64 varint
// cut off at the end of its message (protobufjs returns its first four bytes). None of
// them comes from a protobuf encoder; the fuzz below checks that every input only the
// direct decoder refuses is refused for one of these reasons.
import t, { type Test } from 'tap';
import { isFloeError } from '../../src/errors.ts';
import { decodeMessage, decodeMessageViaProtobufjs, encodeMessage, MESSAGE_BYTES_MAX } from '../../src/transport/codec.ts';
import type { WireMessage } from '../../src/transport/messages.ts';
import { reference } from '../helpers/encode-check.ts';
import { diff, Gen } from './direct-decode-gen.ts';
import { lenField, tag, type, varint } from './direct-decode-wire.ts';

const SEED = Number(process.env.FLOE_SEED ?? 99);

const envelopeOf = (field: number, body: Uint8Array): Buffer => Buffer.concat([Buffer.from([8, 1]), lenField(field, body)]);

/** Why the direct decoders may refuse what protobufjs reads (see above). */
const STRICTER = /has wire type|length past the end|truncated varint/;

type Verdict = 'same' | 'both refuse' | 'only direct refuses';

/** Decodes `bytes` both ways; fails the test unless the outcomes agree as promised. */
function check(t: Test, bytes: Uint8Array, label: string): Verdict {
  let expected: WireMessage | undefined;
  let expectedError: unknown;
  try {
    expected = decodeMessageViaProtobufjs(bytes);
  } catch (error) {
    expectedError = error;
  }
  let actual: WireMessage | undefined;
  try {
    actual = decodeMessage(bytes);
  } catch (error) {
    if (!isFloeError(error) || (error.code !== 'MALFORMED_MESSAGE' && error.code !== 'UNSUPPORTED_VERSION')) {
      t.fail(`${label}: untyped error ${String(error)}`);
      return 'both refuse';
    }
    if (expectedError !== undefined) return 'both refuse';
    if (!STRICTER.test(error.message)) t.fail(`${label}: only the direct decoder refuses it: ${error.message}`);
    return 'only direct refuses';
  }
  if (expectedError !== undefined) {
    t.fail(`${label}: the protobufjs path refuses it (${(expectedError as Error).message}), the direct one does not`);
    return 'both refuse';
  }
  const d = diff(actual, expected);
  if (d !== '') t.fail(`${label}: ${d}`);
  return 'same';
}

function tally(verdicts: Verdict[]): string {
  const count = (v: Verdict): number => verdicts.filter((x) => x === v).length;
  return `${count('same')} decoded alike, ${count('both refuse')} refused by both, ${count('only direct refuses')} by the direct decoder only`;
}

const BODY_FIELD = { submit: 10, clientUpdates: 13, workerBatch: 14, workerEvents: 15 } as const;

t.test('cut short at every byte, each kind of message: the message, and its body in a whole envelope', async (t) => {
  const g = new Gen(SEED);
  const messages = [g.submit(6), g.workerBatch(4), g.workerEvents(5), g.clientUpdates(6)];
  for (const msg of messages) {
    for (const bytes of [encodeMessage(msg), reference(msg)]) {
      const verdicts: Verdict[] = [];
      for (let end = 0; end < bytes.length; end++) verdicts.push(check(t, bytes.subarray(0, end), `${msg.type} cut at ${end}`));
      // The body cut short inside an envelope that says so: what is left may still parse.
      const body = bytes.subarray(bytes.length - bodyLength(bytes));
      for (let end = 0; end < body.length; end++) {
        verdicts.push(check(t, envelopeOf(BODY_FIELD[msg.type], body.subarray(0, end)), `${msg.type} body cut at ${end}`));
      }
      t.pass(`${msg.type}, ${bytes.length} bytes: ${tally(verdicts)}`);
    }
  }
});

/** Bytes of the body of a plain envelope as the encoders write it: [08 01] [tag] [length] body. */
function bodyLength(bytes: Uint8Array): number {
  let len = 0;
  for (let pos = 3, shift = 0; ; pos++, shift += 7) {
    len += (bytes[pos]! & 127) * 2 ** shift;
    if (bytes[pos]! < 128) return len;
  }
}

t.test(`seeded byte flips, insertions and deletions (seed ${SEED})`, async (t) => {
  const g = new Gen(SEED);
  const verdicts: Verdict[] = [];
  for (let i = 0; i < 6000; i++) {
    const msg = g.message(4);
    let bytes = Buffer.from(i % 2 === 0 ? encodeMessage(msg) : reference(msg));
    for (let m = 1 + g.int(3); m > 0 && bytes.length > 0; m--) {
      const at = g.int(bytes.length);
      const op = g.int(4);
      if (op < 2) bytes[at] = g.int(256);
      else if (op === 2) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([g.int(256)]), bytes.subarray(at)]);
      else bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    }
    verdicts.push(check(t, bytes, `seed ${SEED} case ${i}`));
  }
  t.pass(tally(verdicts));
  t.ok(verdicts.includes('both refuse') && verdicts.includes('same'), 'some inputs still decode, some are refused');
});

t.test('random bytes after a plain envelope header', async (t) => {
  const g = new Gen(SEED + 1);
  const verdicts: Verdict[] = [];
  for (let i = 0; i < 4000; i++) {
    const body = Buffer.from(Array.from({ length: g.int(48) }, () => g.int(256)));
    verdicts.push(check(t, Buffer.concat([Buffer.from([8, 1]), lenField(g.pick([10, 13, 14, 15]), body)]), `random body ${i}`));
  }
  t.pass(tally(verdicts));
});

t.test('a known field of the wrong wire type is MALFORMED_MESSAGE', async (t) => {
  const cases: Array<[string, Buffer]> = [
    ['submit.clientId as a varint', envelopeOf(10, Buffer.concat([tag(1, 0), varint(3)]))],
    ['a task as a varint', envelopeOf(10, Buffer.concat([lenField(1, Buffer.from('c1')), tag(3, 0), varint(0)]))],
    ['a spec priority as fixed32', envelopeOf(10, Buffer.concat([lenField(1, Buffer.from('c1')), lenField(3, Buffer.concat([tag(8, 5), Buffer.alloc(4)]))]))],
    ['workerBatch.epoch as a string', envelopeOf(14, lenField(9, Buffer.from('x')))],
    ['a run id as fixed64', envelopeOf(15, Buffer.concat([lenField(1, Buffer.from('w')), lenField(7, Buffer.concat([lenField(1, Buffer.from('r')), tag(2, 1), Buffer.alloc(8)]))]))],
    ['a key update status as a string', envelopeOf(13, lenField(1, Buffer.concat([lenField(1, Buffer.from('k')), lenField(2, Buffer.from([1]))])))],
  ];
  for (const [name, bytes] of cases) {
    t.throws(() => decodeMessage(bytes), { code: 'MALFORMED_MESSAGE' }, name);
    check(t, bytes, name);
  }
});

t.test('a string running past its message is refused (protobufjs cuts it short)', async (t) => {
  // A task whose key (its last field) claims 9 bytes of the 4 left in the spec.
  const spec = Buffer.concat([lenField(3, Buffer.from('m')), lenField(4, Buffer.from('f')), tag(1, 2), varint(9), Buffer.from('abcd')]);
  const bytes = envelopeOf(10, Buffer.concat([lenField(1, Buffer.from('c1')), lenField(3, spec)]));
  t.throws(() => decodeMessage(bytes), { code: 'MALFORMED_MESSAGE' });
  t.equal(check(t, bytes, 'cut-short string'), 'only direct refuses');
});

t.test('limits and versions', async (t) => {
  const big = Buffer.alloc(MESSAGE_BYTES_MAX + 1);
  t.throws(() => decodeMessage(big), { code: 'MALFORMED_MESSAGE' }, 'over MESSAGE_BYTES_MAX');
  const v2 = Buffer.concat([Buffer.from([8, 2]), lenField(14, Buffer.alloc(0))]);
  t.throws(() => decodeMessage(v2), { code: 'UNSUPPORTED_VERSION' }, 'another protocol version');
  const v2broken = Buffer.concat([Buffer.from([8, 2]), lenField(14, Buffer.from([0x0a, 0x05]))]);
  t.throws(() => decodeMessage(v2broken), { code: 'MALFORMED_MESSAGE' }, 'another version, and a body that does not parse: malformed first, as before');
  t.throws(() => decodeMessage(Buffer.concat([Buffer.from([8, 1]), tag(14, 2), varint(2 ** 32 - 1)])), { code: 'MALFORMED_MESSAGE' }, 'a body length past the end');
  t.throws(() => decodeMessage(envelopeOf(14, Buffer.from([0x48, 0x80, 0x80, 0x80, 0x80, 0x80]))), { code: 'MALFORMED_MESSAGE' }, 'a varint running off the end');
  const eleven = Buffer.concat([tag(2, 0), Buffer.alloc(10, 0x80), Buffer.from([0])]);
  const runRef = lenField(2, Buffer.concat([lenField(1, Buffer.from('r')), eleven]));
  t.throws(() => decodeMessage(envelopeOf(14, runRef)), { code: 'MALFORMED_MESSAGE' }, 'a uint64 varint of eleven bytes');
  check(t, envelopeOf(14, runRef), 'as protobufjs');
  t.ok(type('Envelope'), 'the schema loads');
});
