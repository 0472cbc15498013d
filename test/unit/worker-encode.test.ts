// The hand-written workerBatch encoder writes exactly the bytes protobufjs' generated
// encoder writes for the same message; an assignment whose spec came in a submit message
// carries that spec's bytes as they came; either way the worker decodes what was sent.
import t from 'tap';
import { lookup, reference, sameAsProtobufjs } from '../helpers/encode-check.ts';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { type WireAssign, type WireOf } from '../../src/transport/messages.ts';
import { receivedSpecBytes } from '../../src/transport/spec-bytes.ts';
import { encodeWorkerBatchMessage } from '../../src/transport/worker-encode.ts';

type Batch = WireOf<'workerBatch'>;



const spec: TaskSpec = {
  key: 'stamp-1', name: 'stamp', module: 'file:///bench/tasks.js', exportName: 'stamp', args: new Uint8Array([0x91, 0xc0]), deps: [],
  serializer: { id: 'msgpack', module: '' }, priority: 0, retries: 0, retryDelayMs: 0, retryBackoff: 2, timeoutMs: 0, resources: {},
};

const assign = (over: Partial<WireAssign> = {}): WireAssign => ({ id: 'c1/stamp-1', runId: 1, attempt: 0, spec, deps: [], ...over });

const empty: Batch = { type: 'workerBatch', assign: [], cancel: [], release: [], steal: [], replicate: [], retired: false, reregister: false, clientsGone: [], epoch: 0 };

const cases: Array<[string, Batch]> = [
  ['empty', empty],
  ['flags', { ...empty, retired: true, reregister: true, epoch: 2 ** 32 - 1 }],
  ['a request to start over', { ...empty, reregister: true, epoch: 5 }],
  ['one assignment', { ...empty, assign: [assign()] }],
  ['every field set, numbers past 2^32', {
    ...empty,
    assign: [assign({
      runId: 2 ** 40 + 3, attempt: 7, order: 2 ** 33 + 1, tellClient: true, traceParent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01',
      spec: { ...spec, deps: ['a', 'b'], resources: { gpu: 1 }, actor: 'c0/x-1', restartsMax: 3, holdsActors: ['c0/y-2'], priority: -1.5 },
      deps: [
        { id: 'c1/a', holders: [{ workerId: 'w1', address: '127.0.0.1:4000' }, { workerId: 'w2', address: '' }], nbytes: 5 * 2 ** 30, serializer: { id: 'json', module: 'file:///s.js' }, inline: undefined },
        { id: 'c1/b', holders: [], nbytes: 3, serializer: { id: 'msgpack', module: '' }, inline: new Uint8Array([1, 2, 3]) },
      ],
    })],
    cancel: [{ id: 'c1/x', runId: 4 }, { id: 'c1/neg', runId: -1 }], release: ['c1/y', 'ключ'], steal: [{ id: 'c1/z', runId: 2 ** 35 }],
    replicate: [{ id: 'c1/r', holders: [{ workerId: 'w3', address: 'a:1' }], nbytes: 10, serializer: { id: 'msgpack', module: '' } }],
    retired: false, reregister: false, clientsGone: ['c2', 'c3'],
  }],
  ['an assignment the worker tells no client of', { ...empty, assign: [assign({ tellClient: false })] }],
  ['many assignments (multi-byte lengths)', {
    ...empty,
    assign: Array.from({ length: 1500 }, (_, i) => assign({ id: `c1/stamp-${i}`, runId: i + 1, order: i, spec: { ...spec, key: `stamp-${i}`, deps: i === 0 ? [] : [`stamp-${i - 1}`] } })),
  }],
];

for (const [name, msg] of cases) {
  t.test(name, async (t) => {
    sameAsProtobufjs(t, msg, encodeWorkerBatchMessage(msg, lookup), reference(msg));
  });
}

t.test('a spec that came in a submit message goes on in the bytes it came in', async (t) => {
  const specs = [spec, { ...spec, key: 'stamp-2', deps: ['stamp-1'], name: 'naïve 🎉' }];
  const submitted = encodeMessage({ type: 'submit', clientId: 'c1', requestId: '1', tasks: specs, wants: [] });
  // An unknown field inside the second TaskSpec (field 99, varint 5): kept only if the
  // spec's bytes are copied as they came (a decoder skips it).
  const unknown = Buffer.from([0x98, 0x06, 0x05]);
  const withUnknown = withExtraInLastSpec(submitted, unknown);
  const decoded = decodeMessage(withUnknown) as WireOf<'submit'>;
  t.same(decoded.tasks.map((s) => s.key), ['stamp-1', 'stamp-2']);
  t.ok(receivedSpecBytes(decoded.tasks[1]!), 'the coordinator keeps the bytes of each spec');

  const msg: Batch = { ...empty, assign: decoded.tasks.map((s, i) => assign({ id: `c1/${s.key}`, runId: i + 1, spec: s })) };
  const mine = encodeMessage(msg);
  t.ok(Buffer.from(mine).includes(Buffer.concat([Buffer.from(receivedSpecBytes(decoded.tasks[1]!)!)])), 'the spec bytes are in the batch');
  t.ok(Buffer.from(mine).includes(unknown), 'as they came, unknown field included');
  const back = decodeMessage(mine) as Batch;
  t.same(back.assign.map((a) => a.spec), decoded.tasks, 'the worker decodes the specs the client sent');
  t.same(back, decodeMessage(reference(msg)), 'the same message as protobufjs would send');
});

t.test('a spec built here (no received bytes) is written field by field', async (t) => {
  const own = { ...spec, key: 'local' };
  t.equal(receivedSpecBytes(own), undefined);
  const msg: Batch = { ...empty, assign: [assign({ spec: own })] };
  t.same(Buffer.from(encodeMessage(msg)), Buffer.from(reference(msg)));
});

/**
 * The submit envelope with `extra` appended to its last TaskSpec (every enclosing length
 * grows by extra.length; all lengths here stay one or two varint bytes).
 */
function withExtraInLastSpec(envelope: Uint8Array, extra: Uint8Array): Uint8Array {
  // Parse: [08 01] [52 len(body)] body; body: fields..., tasks as [1a len spec].
  const bytes = Buffer.from(envelope);
  let pos = 2;
  if (bytes[pos++] !== 0x52) throw new Error('not a submit envelope');
  const [bodyLen, bodyLenBytes] = readVarint(bytes, pos);
  const bodyStart = pos + bodyLenBytes;
  let p = bodyStart;
  let last: { tagAt: number; lenAt: number; len: number; lenBytes: number } | undefined;
  while (p < bodyStart + bodyLen) {
    const tag = bytes[p]!;
    const [len, lb] = readVarint(bytes, p + 1);
    if (tag === 0x1a) last = { tagAt: p, lenAt: p + 1, len, lenBytes: lb };
    p += 1 + lb + len;
  }
  if (last === undefined) throw new Error('no task');
  const specStart = last.lenAt + last.lenBytes;
  const specEnd = specStart + last.len;
  const newSpec = Buffer.concat([bytes.subarray(specStart, specEnd), extra]);
  const newTask = Buffer.concat([Buffer.from([0x1a]), varint(newSpec.length), newSpec]);
  const newBody = Buffer.concat([bytes.subarray(bodyStart, last.tagAt), newTask, bytes.subarray(specEnd, bodyStart + bodyLen)]);
  return Buffer.concat([bytes.subarray(0, 2), Buffer.from([0x52]), varint(newBody.length), newBody]);
}

function readVarint(bytes: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let shift = 0;
  let n = 0;
  for (;;) {
    const b = bytes[pos + n++]!;
    value |= (b & 127) << shift;
    if (b < 128) return [value, n];
    shift += 7;
  }
}

function varint(value: number): Buffer {
  const out: number[] = [];
  while (value > 127) {
    out.push((value & 127) | 128);
    value >>>= 7;
  }
  out.push(value);
  return Buffer.from(out);
}
