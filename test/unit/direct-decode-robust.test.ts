// The direct decoders read what protobuf allows as protobufjs reads it: fields in any
// order, a field sent twice (the last wins; a sub-message is replaced, not merged),
// unknown fields of every wire type (groups too), longer varints than needed, numbers as
// protobufjs turns them into JavaScript. An envelope that is not plain (several bodies,
// another version) goes the protobufjs way, and gives what it gave.
import t from 'tap';
import { decodeMessage, decodeMessageViaProtobufjs, encodeMessage } from '../../src/transport/codec.ts';
import type { WireOf } from '../../src/transport/messages.ts';
import { plainEnvelopeBody } from '../../src/transport/proto-read.ts';
import { Gen, sameBothWays } from './direct-decode-gen.ts';
import { envelope, lenField, scramble, splitFields, tag, type, varint } from './direct-decode-wire.ts';

const SEED = Number(process.env.FLOE_SEED ?? 7);

const BODY = {
  submit: [10, 'SubmitGraph'], submitReply: [11, 'SubmitReply'], clientBatch: [12, 'ClientBatch'], clientUpdates: [13, 'ClientUpdates'],
  workerBatch: [14, 'WorkerBatch'], workerEvents: [15, 'WorkerEvents'],
} as const;

/** The body of an envelope as encodeMessage writes it (version first, then the body). */
function bodyOf(bytes: Uint8Array): Buffer {
  const [version, body] = splitFields(bytes);
  if (version?.field !== 1 || body === undefined) throw new Error('not a plain envelope');
  return body.payload;
}

t.test(`seeded messages, rewritten as protobuf allows (seed ${SEED}), decode alike both ways`, async (t) => {
  const g = new Gen(SEED);
  let direct = 0;
  for (let i = 0; i < 600; i++) {
    const msg = g.message(i % 20 === 0 ? 30 : 3);
    const [field, name] = BODY[msg.type];
    const bytes = envelope(g, field, scramble(g, type(name), bodyOf(encodeMessage(msg))));
    if (plainEnvelopeBody(bytes) !== undefined) direct++;
    sameBothWays(t, bytes, `case ${i} (${msg.type})`);
  }
  t.equal(direct, 600, 'all of them plain envelopes, read directly');
});

const spec = { key: 'k1', module: 'file:///m.js', exportName: 'f' };

t.test('an assignment with its spec twice: the last one counts, and only it is checked', async (t) => {
  const good = type('TaskSpec').encode(spec).finish();
  const bad = type('TaskSpec').encode({ key: 'k2' }).finish(); // no module, no export name
  const assign = (...specs: Uint8Array[]): Buffer => Buffer.concat([lenField(1, Buffer.from('c1/k1')), ...specs.map((s) => lenField(4, s))]);
  const batch = (a: Buffer): Buffer => Buffer.concat([Buffer.from([8, 1]), lenField(14, lenField(1, a))]);
  const first = sameBothWays(t, batch(assign(bad, good)), 'an incomplete spec, replaced') as WireOf<'workerBatch'>;
  t.equal(first.assign[0]!.spec.key, 'k1');
  t.throws(() => decodeMessage(batch(assign(good, bad))), { code: 'MALFORMED_MESSAGE' }, 'a complete spec replaced by an incomplete one');
  sameBothWays(t, batch(assign(good, bad)), 'as on the protobufjs path');
  sameBothWays(t, batch(assign()), 'no spec at all');
  // A serializer sent twice is replaced whole: the second's empty id reads as msgpack, not the first's json.
  const twice = Buffer.concat([good, lenField(7, lenField(1, Buffer.from('json'))), lenField(7, lenField(2, Buffer.from('file:///s.js')))]);
  const replaced = sameBothWays(t, batch(assign(twice)), 'a serializer sent twice') as WireOf<'workerBatch'>;
  t.same(replaced.assign[0]!.spec.serializer, { id: 'msgpack', module: 'file:///s.js' });
});

t.test('envelopes that are not plain go through protobufjs, with its answer', async (t) => {
  const submit = type('SubmitGraph').encode({ clientId: 'c1', tasks: [spec] }).finish();
  const batch = type('WorkerBatch').encode({ release: ['x'] }).finish();
  const v1 = Buffer.from([8, 1]);
  const shapes: Array<[string, Buffer, boolean]> = [
    ['version after the body', Buffer.concat([lenField(10, submit), v1]), true],
    ['version twice, the last 1', Buffer.concat([Buffer.from([8, 2]), lenField(10, submit), v1]), true],
    ['version twice, the last 2', Buffer.concat([v1, lenField(10, submit), Buffer.from([8, 2])]), false],
    ['no version', lenField(10, submit), false],
    ['a long varint version', Buffer.concat([Buffer.from([8]), varint(1, 5), lenField(14, batch)]), true],
    ['two bodies', Buffer.concat([v1, lenField(10, submit), lenField(14, batch)]), false],
    ['one body twice', Buffer.concat([v1, lenField(14, batch), lenField(14, batch)]), false],
    ['three bodies, the first again last', Buffer.concat([v1, lenField(14, batch), lenField(10, submit), lenField(14, batch)]), false],
    ['a body of the wrong wire type', Buffer.concat([v1, tag(14, 0), varint(0)]), false],
    ['no body', v1, false],
    ['an empty body', Buffer.concat([v1, lenField(13, Buffer.alloc(0))]), true],
    ['unknown envelope fields', Buffer.concat([tag(5, 0), varint(7), v1, tag(9, 2), varint(2), Buffer.from('zz'), lenField(13, Buffer.alloc(0)), tag(300, 5), Buffer.alloc(4)]), true],
    ['the version field as a string', Buffer.concat([lenField(1, Buffer.from([1])), lenField(13, Buffer.alloc(0))]), false],
    ['a plain submitReply', Buffer.concat([v1, lenField(11, Buffer.alloc(0))]), true],
    ['a plain statusRequest (not read directly)', Buffer.concat([v1, lenField(17, Buffer.alloc(0))]), false],
  ];
  for (const [name, bytes, plain] of shapes) {
    const body = plainEnvelopeBody(bytes);
    t.equal(body !== undefined && [10, 11, 12, 13, 14, 15].includes(body.field), plain, `${name}: read directly: ${plain}`);
    sameBothWays(t, bytes, name);
  }
});

t.test('numbers decode as protobufjs decodes them', async (t) => {
  const update = (fields: Buffer): Buffer => Buffer.concat([Buffer.from([8, 1]), lenField(13, lenField(1, Buffer.concat([lenField(1, Buffer.from('k')), fields])))]);
  const status = (v: number | bigint, size = 1): Buffer => update(Buffer.concat([tag(2, 0), varint(v, size)]));
  const nbytes = (v: number | bigint, size = 1): Buffer => update(Buffer.concat([tag(2, 0), varint(1), tag(5, 0), varint(v, size)]));
  t.throws(() => decodeMessage(status(-1)), { code: 'MALFORMED_MESSAGE' }, 'a negative enum (ten bytes) is unknown');
  const low = sameBothWays(t, status(2n ** 32n + 1n), 'an enum past 32 bits: its low 32 bits') as WireOf<'clientUpdates'>;
  t.equal(low.updates[0]!.status, 'memory');
  sameBothWays(t, status(2, 5), 'an enum in a padded varint');
  for (const [v, size] of [[2n ** 64n - 1n, 1], [2n ** 53n + 1n, 1], [2n ** 32n, 1], [5n, 10], [0n, 10], [2n ** 63n, 1]] as const) {
    const got = sameBothWays(t, nbytes(v, size), `uint64 ${v} in ${varint(v, size).length} bytes`) as WireOf<'clientUpdates'>;
    t.equal(got.updates[0]!.nbytes, Number(v), 'as a number (rounded past 2^53)');
  }
  // uint32: protobufjs takes the low 32 bits, and past five bytes skips five more unread.
  const epoch = (raw: Buffer): Buffer => Buffer.concat([Buffer.from([8, 1]), lenField(14, Buffer.concat([tag(9, 0), raw, tag(6, 0), varint(1)]))]);
  const max = sameBothWays(t, epoch(varint(-1)), 'a uint32 sent as ten bytes') as WireOf<'workerBatch'>;
  t.equal(max.epoch, 2 ** 32 - 1);
  sameBothWays(t, epoch(varint(2n ** 35n + 9n)), 'a uint32 past 32 bits');
  sameBothWays(t, epoch(Buffer.from([0x85, 0x80, 0x80, 0x80, 0x80, 0x00])), 'a six-byte uint32 varint (protobufjs skips four bytes past it)');
  sameBothWays(t, epoch(Buffer.from([0x85, 0x80, 0x80, 0x80, 0x00])), 'a padded five-byte uint32');
});

t.test('unknown fields: every wire type, groups, field 0, numbers up to 2^29 - 1, varints past ten bytes', async (t) => {
  const tail = (extra: Buffer): Buffer => Buffer.concat([Buffer.from([8, 1]), lenField(15, Buffer.concat([extra, lenField(1, Buffer.from('w1'))]))]);
  const cases: Array<[string, Buffer]> = [
    ['varint', Buffer.concat([tag(99, 0), varint(5)])],
    ['varint of fourteen bytes', Buffer.concat([tag(99, 0), varint(5, 14)])],
    ['fixed64', Buffer.concat([tag(99, 1), Buffer.alloc(8)])],
    ['length-delimited', lenField(99, Buffer.from('skip me'))],
    ['fixed32', Buffer.concat([tag(99, 5), Buffer.alloc(4)])],
    ['a group', Buffer.concat([tag(99, 3), tag(1, 0), varint(1), lenField(2, Buffer.from('x')), tag(99, 4)])],
    ['nested groups, ended by other field numbers', Buffer.concat([tag(99, 3), tag(7, 3), tag(8, 4), tag(5, 4)])],
    ['field 0', Buffer.concat([tag(0, 0), varint(3)])],
    ['field 2^29 - 1', Buffer.concat([tag(2 ** 29 - 1, 2), varint(1), Buffer.from('z')])],
    ['a tag in a padded varint', Buffer.concat([tag(99, 0, 5), varint(1)])],
  ];
  for (const [name, extra] of cases) {
    const msg = sameBothWays(t, tail(extra), name) as WireOf<'workerEvents'> | undefined;
    t.equal(msg?.workerId, 'w1', `${name}: skipped`);
  }
  sameBothWays(t, tail(Buffer.concat([tag(99, 4)])), 'an end-group tag with no group (both refuse)');
  sameBothWays(t, tail(Buffer.concat([tag(99, 3), tag(1, 0), varint(1)])), 'a group never ended (both refuse)');
  sameBothWays(t, tail(Buffer.concat([tag(99, 6)])), 'wire type 6 (both refuse)');
});

t.test('groups nest as deep as protobufjs allows, and no deeper', async (t) => {
  // In the body of an envelope (one message deep) and in a spec (two deep, in a submission).
  const nested = (depth: number): Buffer => Buffer.concat([...Array.from({ length: depth }, () => tag(99, 3)), ...Array.from({ length: depth }, () => tag(99, 4))]);
  const inBody = (depth: number): Buffer => Buffer.concat([Buffer.from([8, 1]), lenField(15, Buffer.concat([nested(depth), lenField(1, Buffer.from('w1'))]))]);
  const inSpec = (depth: number): Buffer => {
    const s = Buffer.concat([type('TaskSpec').encode(spec).finish(), nested(depth)]);
    return Buffer.concat([Buffer.from([8, 1]), lenField(10, Buffer.concat([lenField(1, Buffer.from('c1')), lenField(3, s)]))]);
  };
  for (const make of [inBody, inSpec]) {
    let deepest = 0;
    for (let depth = 95; depth <= 102; depth++) {
      sameBothWays(t, make(depth), `${make.name}: ${depth} groups`);
      try {
        decodeMessageViaProtobufjs(make(depth));
        deepest = depth;
      } catch {
        // deeper than protobufjs reads
      }
    }
    t.ok(deepest >= 95 && deepest < 102, `${make.name}: protobufjs reads up to ${deepest} and so does the direct decoder`);
  }
});

t.test('a field sent twice: the last value wins, repeated fields add up', async (t) => {
  const body = Buffer.concat([
    lenField(1, Buffer.from('c0')), lenField(1, Buffer.from('c1')), lenField(4, Buffer.from('a')), tag(6, 0), varint(1),
    lenField(2, Buffer.from('r1')), lenField(4, Buffer.from('b')), tag(6, 0), varint(0),
  ]);
  const msg = sameBothWays(t, Buffer.concat([Buffer.from([8, 1]), lenField(10, body)]), 'submit') as WireOf<'submit'>;
  t.same([msg.clientId, msg.requestId, msg.wants, 'progress' in msg], ['c1', 'r1', ['a', 'b'], false]);
});
