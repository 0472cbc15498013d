// The direct decoders (submit-decode.ts, worker-decode.ts, events-decode.ts,
// updates-decode.ts) give exactly what the protobufjs path gives (codec-decode.ts, kept as
// decodeMessageViaProtobufjs): the same values, classes, key order, shared objects, and for
// submitted specs the same received byte ranges (spec-bytes.ts). Messages are hand-built
// (every field, optional ones, unicode and long strings, numbers past 2^32) and seeded
// random, written both by the hand-written encoders and by protobufjs' own.
import t from 'tap';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { decodeMessage, decodeMessageViaProtobufjs, encodeMessage } from '../../src/transport/codec.ts';
import type { WireMessage, WireOf } from '../../src/transport/messages.ts';
import { receivedSpecBytes } from '../../src/transport/spec-bytes.ts';
import { reference } from '../helpers/encode-check.ts';
import { diff, Gen, sameBothWays } from './direct-decode-gen.ts';

const SEED = Number(process.env.FLOE_SEED ?? 20261204);

const long = `${'a-long-key-'.repeat(5)}ключ🎉`;
const error = { code: 'TASK_ERROR' as const, message: 'boom 🎉', retryable: true, stack: `Error: boom\n${long}`, taskKey: 'k', originalName: 'TypeError' };
const spec: TaskSpec = {
  key: 'stamp-1', name: 'stamp', module: 'file:///bench/tasks.js', exportName: 'stamp', args: new Uint8Array([0x91, 0xc0]), deps: [],
  serializer: { id: 'msgpack', module: '' }, priority: 0, retries: 0, retryDelayMs: 0, retryBackoff: 2, timeoutMs: 0, resources: {},
};
const full: TaskSpec = {
  ...spec, key: long, name: 'naïve', deps: ['a', 'ключ', long], args: new Uint8Array(300).fill(7), serializer: { id: 'json', module: 'file:///s.js' },
  priority: -1.5, retries: 2 ** 32 - 1, retryDelayMs: 0.25, retryBackoff: 1e300, timeoutMs: Number.POSITIVE_INFINITY,
  resources: { gpu: 1, memory: 2 ** 40, '10': 3, '2': -0 }, traceParent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01',
  actor: 'c0/counter-1', restartsMax: 7, holdsActors: ['c0/a-1', 'c9/🎉-2'],
};

const cases: Array<[string, WireMessage]> = [
  ['submit: one plain task', { type: 'submit', clientId: 'c1', requestId: '1', tasks: [spec], wants: [] }],
  ['submit: every field', {
    type: 'submit', clientId: 'c-ключ', requestId: long, tasks: [full, spec, { ...spec, key: 'stamp-2', args: new Uint8Array(0) }],
    wants: ['stamp-1', long], missing: [{ key: 'k0', workerId: 'w1' }, { key: long, workerId: 'w🎉' }], progress: true,
    direct: { workerId: 'w1', epoch: 3, runId: 2 ** 52 + 1 }, coordinatorIncarnation: 'Xq3-_9aB🎉',
  }],
  ['submit: nothing but a client id', { type: 'submit', clientId: 'c1', requestId: '', tasks: [], wants: [], missing: [], progress: false }],
  ['submit: many tasks (multi-byte lengths)', {
    type: 'submit', clientId: 'c1', requestId: '9', wants: ['stamp-1999'],
    tasks: Array.from({ length: 2000 }, (_, i) => ({ ...spec, key: `stamp-${i}`, deps: i === 0 ? [] : [`stamp-${i - 1}`] })),
  }],
  // A chain's input is the task before it: the readers take it as the string they read
  // there when the bytes are the same (proto-read.ts stringAsMarked); near misses read anew.
  ['workerBatch: a chain, and inputs that nearly name the assignment before', (() => {
    const dep = (id: string): WireOf<'workerBatch'>['assign'][number]['deps'][number] => ({ id, holders: [], nbytes: 0, serializer: { id: 'msgpack', module: '' }, inline: undefined });
    const named = [['k-10', []], ['k-11', ['k-10']], ['k-12', ['k-19']], ['k-13', ['k-1']], ['k-14', ['k-12', 'k-13']], ['ключ-1', ['k-14']], ['ключ-2', ['ключ-1', '']]] as const;
    return {
      type: 'workerBatch' as const, cancel: [], release: [], steal: [], replicate: [], retired: false, reregister: false, clientsGone: [], epoch: 1,
      assign: named.map(([key, deps]) => ({ id: `c1/${key}`, runId: 1, attempt: 0, spec: { ...spec, key, deps: [...deps] }, deps: deps.map((d) => dep(`c1/${d}`)) })),
    };
  })()],
  ['workerBatch: empty', { type: 'workerBatch', assign: [], cancel: [], release: [], steal: [], replicate: [], retired: false, reregister: false, clientsGone: [], epoch: 0 }],
  ['workerBatch: every field, numbers past 2^32', {
    type: 'workerBatch',
    assign: [
      {
        id: 'c1/stamp-1', runId: 2 ** 40 + 3, attempt: 7, order: 2 ** 33 + 1, tellClient: true, traceParent: full.traceParent!, spec: full,
        deps: [
          { id: 'c1/a', holders: [{ workerId: 'w1', address: '127.0.0.1:4000' }, { workerId: 'w2', address: '' }], nbytes: 5 * 2 ** 30, serializer: { id: 'json', module: 'file:///s.js' }, inline: undefined },
          { id: 'c1/b', holders: [], nbytes: 3, serializer: { id: 'msgpack', module: '' }, inline: new Uint8Array([1, 2, 3]) },
          { id: 'c1/c', holders: [], nbytes: 0, serializer: { id: 'msgpack', module: '' }, inline: new Uint8Array(0) },
        ],
      },
      { id: 'c1/stamp-2', runId: 1, attempt: 0, spec, deps: [], tellClient: false, order: 0, traceParent: '' },
    ],
    cancel: [{ id: 'c1/x', runId: 4 }, { id: 'c1/neg', runId: -1 }], release: ['c1/y', 'ключ', long], steal: [{ id: 'c1/z', runId: 2 ** 53 - 1 }],
    replicate: [{ id: 'c1/r', holders: [{ workerId: 'w3', address: 'a:1' }], nbytes: 2 ** 35, serializer: { id: 'json', module: '' } }],
    retired: true, reregister: true, clientsGone: ['c2', long], epoch: 2 ** 32 - 1,
  }],
  ['workerEvents: every field', {
    type: 'workerEvents', workerId: 'w-🎉',
    register: { threads: 4, resources: { gpu: 2, memory: 2 ** 34 }, address: 'inproc://w1', name: long, heartbeatIntervalMs: 2 ** 32 - 1 },
    finished: [
      { id: 'c1/k1', runId: 2 ** 45, nbytes: 2 ** 33, serializer: { id: 'json', module: 'file:///s.js' }, inline: new Uint8Array([9, 8]), durationMs: 1.5, startedAtMs: 1.7e12 },
      { id: 'c1/k2', runId: 2, nbytes: 0, serializer: { id: 'msgpack', module: '' }, inline: new Uint8Array(0), durationMs: 0, startedAtMs: 0 },
      { id: long, runId: 3, nbytes: 7, serializer: { id: 'msgpack', module: '' }, inline: undefined, durationMs: -0, startedAtMs: Number.NaN },
    ],
    failed: [{ id: 'c1/k3', runId: 3, error, durationMs: 2 }, { id: 'c1/k4', runId: 4, error: { ...error, code: 'NOPE' as 'INTERNAL' }, durationMs: 0 }],
    heartbeat: true, goodbye: true, stolen: [{ id: 'c1/k7', runId: 1 }], stealRefused: [{ id: 'c1/k8', runId: 2 ** 50 }], replicated: ['c1/k9', long], replicateFailed: ['c1/k10'],
    retiring: true,
    metrics: { executing: 1, tasks: 2, held: 3, heldBytes: 2 ** 41, rssBytes: 5 * 2 ** 30, executed: 6, fetched: 7, fetchedBytes: 2 ** 52 },
    missing: [{ id: 'c1/k10', runId: 3, depId: 'c1/k11' }], seceded: [{ id: 'c1/k12', runId: 4 }], rejoined: [{ id: 'c1/k13', runId: 5 }], straggling: [{ id: 'c1/k14', runId: 6 }], epoch: 4,
    relayed: [{ replyTo: '_INBOX.x.1', submit: new Uint8Array([10, 2, 8, 1]) }, { replyTo: long, submit: new Uint8Array(0) }],
  }],
  ['workerEvents: a heartbeat', {
    type: 'workerEvents', workerId: 'w1', register: { threads: 0, resources: {}, address: '', name: '', heartbeatIntervalMs: 0 }, finished: [], failed: [], heartbeat: true,
    goodbye: false, stolen: [], stealRefused: [], replicated: [], replicateFailed: [], retiring: false, metrics: undefined, missing: [], seceded: [], rejoined: [], straggling: [], epoch: 1, relayed: [],
  }],
  ['clientUpdates: every field', {
    type: 'clientUpdates',
    updates: [
      { key: 'k1', status: 'memory', workerId: 'w1', address: 'inproc://w1', nbytes: 2 ** 36, serializer: { id: 'json', module: 'file:///s.js' }, inline: new Uint8Array([9]), error: undefined },
      { key: long, status: 'erred', workerId: '', address: '', nbytes: 0, serializer: { id: 'msgpack', module: '' }, inline: undefined, error },
      { key: 'k3', status: 'cancelled', workerId: 'w🎉', address: long, nbytes: 1, serializer: { id: 'msgpack', module: '' }, inline: new Uint8Array(0), error: undefined },
    ],
    progress: [{ key: 'k1', kind: 'running' }, { key: 'k1', kind: 'done' }, { key: long, kind: 'failed' }],
    dropped: true, incarnation: long,
  }],
  ['clientUpdates: empty', { type: 'clientUpdates', updates: [] }],
  ['clientBatch: every field', {
    type: 'clientBatch', clientId: 'c-🎉', release: ['k1', long, 'ключ'], cancel: [long, 'k2'], hello: true, bye: true, coordinatorIncarnation: long,
    heartbeatIntervalMs: 2 ** 32 - 1,
  }],
  ['clientBatch: a hello with its heartbeat interval', { type: 'clientBatch', clientId: 'c1', release: [], cancel: [], hello: true, bye: false, heartbeatIntervalMs: 2000 }],
  ['clientBatch: a heartbeat', { type: 'clientBatch', clientId: 'c1', release: [], cancel: [], hello: false, bye: false }],
  ['submitReply: accepted', { type: 'submitReply', requestId: '17', error: undefined, incarnation: 'Xq3-_9aB' }],
  ['submitReply: accepted, by an older coordinator', { type: 'submitReply', requestId: long, error: undefined }],
  ['submitReply: refused', { type: 'submitReply', requestId: '', error, incarnation: long }],
];

for (const [name, msg] of cases) {
  t.test(name, async (t) => {
    sameBothWays(t, encodeMessage(msg), 'as the hand-written encoder writes it');
    sameBothWays(t, reference(msg), 'as protobufjs writes it');
  });
}

t.test(`seeded random messages (seed ${SEED}) decode alike both ways`, async (t) => {
  const g = new Gen(SEED);
  let refused = 0;
  for (let i = 0; i < 400; i++) {
    const msg = g.message(i % 10 === 0 ? 40 : 4);
    for (const [how, bytes] of [['ours', encodeMessage(msg)], ['protobufjs', reference(msg)]] as const) {
      if (sameBothWays(t, bytes, `case ${i} (${msg.type}, written by ${how})`) === undefined) refused++;
    }
  }
  t.ok(refused < 200, `most random messages are valid (${refused} of 800 refused)`);
});

t.test('each submitted spec keeps the range of the message it came in, as rememberSpecBytes recorded it', async (t) => {
  const msg: WireOf<'submit'> = { type: 'submit', clientId: 'c1', requestId: '1', tasks: [full, spec, { ...spec, key: 'k3' }], wants: [] };
  // As NATS hands it over: a Uint8Array view into a larger buffer, not at offset 0.
  const encoded = encodeMessage(msg);
  const backing = new Uint8Array(encoded.length + 16);
  backing.set(encoded, 7);
  const bytes = backing.subarray(7, 7 + encoded.length);
  const direct = decodeMessage(bytes) as WireOf<'submit'>;
  const old = decodeMessageViaProtobufjs(bytes) as WireOf<'submit'>;
  t.equal(diff(direct, old), '', 'the same specs, and the same ranges (compared by diff)');
  for (let i = 0; i < msg.tasks.length; i++) {
    const got = receivedSpecBytes(direct.tasks[i]!);
    t.ok(got !== undefined && got.buffer === backing.buffer, `spec ${i}: a view of the message received, not a copy`);
    t.notOk(Buffer.isBuffer(got), 'of the message as it was handed over (a plain Uint8Array here)');
    t.same(got, receivedSpecBytes(old.tasks[i]!));
  }
  t.ok(direct.tasks[0]!.args.buffer === backing.buffer, 'args are a view of the message too');
});

t.test('what decoded specs share is shared as on the protobufjs path', async (t) => {
  const tasks = [{ ...spec, key: 'a' }, { ...spec, key: 'b', serializer: { ...spec.serializer } }];
  const msg = decodeMessage(encodeMessage({ type: 'submit', clientId: 'c1', requestId: '1', tasks, wants: [] })) as WireOf<'submit'>;
  const [a, b] = msg.tasks as [TaskSpec, TaskSpec];
  t.equal(a.serializer, b.serializer, 'one serializer object for equal serializers');
  t.ok(Object.isFrozen(a.resources) && a.resources === b.resources, 'one frozen object for "no resources"');
  t.notOk('traceParent' in a || 'actor' in a || 'restartsMax' in a || 'holdsActors' in a, 'optional fields absent when not set');
  const events = decodeMessage(encodeMessage(cases.find(([n]) => n === 'workerEvents: a heartbeat')![1])) as WireOf<'workerEvents'>;
  t.notOk(Object.isFrozen(events.register!.resources), "a worker's resources are its own object, as before");
});
