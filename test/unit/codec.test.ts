// The protobuf codec: every message type round-trips; bad input is a typed error
// (MALFORMED_MESSAGE / UNSUPPORTED_VERSION), never a crash, including seeded random
// bytes and mutations of valid messages.
import t from 'tap';
import { decodeMessage, encodeMessage, protoRoot } from '../../src/transport/codec.ts';
import type { WireMessage, WireOf } from '../../src/transport/messages.ts';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { isFloeError } from '../../src/errors.ts';

const serializer = { id: 'json', module: 'file:///s.ts' };
const error = { code: 'TASK_ERROR' as const, message: 'boom', retryable: true, stack: 'Error: boom\n at x', taskKey: 'k', originalName: 'TypeError' };
const spec = {
  key: 'k1', name: 'add', module: 'file:///m.ts', exportName: 'add', args: new Uint8Array([1, 2, 3]), deps: ['k0'],
  serializer, priority: -2, retries: 3, retryDelayMs: 50, retryBackoff: 2, timeoutMs: 1000, resources: { gpu: 1, memory: 2 ** 31 },
};

const samples: WireMessage[] = [
  { type: 'submit', clientId: 'c1', requestId: '7', tasks: [spec, { ...spec, key: 'k2', actor: 'c0/counter-1', restartsMax: 2, holdsActors: ['c0/a-1', 'c9/b-2'] }], wants: ['k1'], missing: [{ key: 'k0', workerId: 'w1' }] },
  { type: 'submitReply', requestId: '7', error: undefined },
  { type: 'submitReply', requestId: '8', error },
  { type: 'submitReply', requestId: '9', error: undefined, incarnation: 'kT9_x-3vQ2ab' },
  { type: 'submit', clientId: 'c1', requestId: '10', tasks: [], wants: ['k1'], missing: [], coordinatorIncarnation: 'kT9_x-3vQ2ab' },
  { type: 'clientBatch', clientId: 'c1', release: ['a'], cancel: ['b'], hello: false, bye: true },
  { type: 'clientBatch', clientId: 'c1', release: [], cancel: [], hello: false, bye: false, coordinatorIncarnation: 'kT9_x-3vQ2ab' },
  { type: 'clientBatch', clientId: 'c1', release: [], cancel: [], hello: true, bye: false, heartbeatIntervalMs: 2000 },
  { type: 'clientUpdates', updates: [], dropped: true },
  { type: 'clientUpdates', updates: [], dropped: true, incarnation: 'kT9_x-3vQ2ab' },
  {
    type: 'clientUpdates',
    updates: [
      { key: 'k1', status: 'memory', workerId: 'w1', address: 'inproc://w1', nbytes: 3, serializer, inline: new Uint8Array([9]), error: undefined },
      { key: 'k2', status: 'erred', workerId: '', address: '', nbytes: 0, serializer: { id: 'msgpack', module: '' }, inline: undefined, error },
    ],
  },
  {
    type: 'workerBatch',
    assign: [{ id: 'c1/k1', runId: 2 ** 40, attempt: 2, order: 12345, tellClient: true, spec, deps: [{ id: 'c1/k0', holders: [{ workerId: 'w2', address: 'a:1' }], nbytes: 5, serializer, inline: undefined }] }],
    cancel: [{ id: 'c1/k3', runId: 4 }],
    release: ['c1/k4'],
    steal: [{ id: 'c1/k5', runId: 6 }],
    replicate: [{ id: 'c1/k6', holders: [{ workerId: 'w3', address: 'b:2' }], nbytes: 7, serializer }],
    retired: true,
    reregister: false,
    clientsGone: ['c7', 'c8'],
    epoch: 0,
  },
  {
    type: 'workerEvents',
    workerId: 'w1',
    register: { threads: 4, resources: { gpu: 2 }, address: 'inproc://w1', name: 'one', heartbeatIntervalMs: 1000 },
    finished: [{ id: 'c1/k1', runId: 2, nbytes: 0, serializer, inline: new Uint8Array(), durationMs: 1.5, startedAtMs: 1e12 }],
    failed: [{ id: 'c1/k2', runId: 3, error, durationMs: 2 }],
    heartbeat: true,
    goodbye: false,
    stolen: [{ id: 'c1/k7', runId: 1 }],
    stealRefused: [{ id: 'c1/k8', runId: 2 }],
    replicated: ['c1/k9'],
    replicateFailed: ['c1/k10'],
    retiring: true,
    metrics: { executing: 1, tasks: 2, held: 3, heldBytes: 4, rssBytes: 5, executed: 6, fetched: 7, fetchedBytes: 8 },
    missing: [{ id: 'c1/k10', runId: 3, depId: 'c1/k11' }],
    seceded: [{ id: 'c1/k12', runId: 4 }],
    rejoined: [{ id: 'c1/k13', runId: 5 }],
    straggling: [{ id: 'c1/k14', runId: 6 }],
    epoch: 4,
    relayed: [{ replyTo: '_INBOX.a.1', submit: new Uint8Array([1, 2, 3]) }],
  },
  { type: 'statusRequest' },
  {
    type: 'clusterStatus',
    workers: [{ id: 'w1', name: 'one', address: 'a:1', threads: 2, processing: 1, held: 4, resources: { gpu: 1 }, metrics: undefined, metricsAgeMs: 1250, retiring: false, epoch: 3 }],
    tasks: { memory: 3, queued: 1 },
    waiting: [{ id: 'c1/k', reason: 'needs gpu=1; no worker has it' }],
    clients: 2,
  },
  { type: 'whoHasRequest', clientId: 'c1', keys: ['k1', 'put-2'] },
  { type: 'whoHasReply', keys: [{ key: 'k1', workers: ['w1', 'w2'] }, { key: 'put-2', workers: [] }] },
  { type: 'replicateRequest', clientId: 'c1', keys: ['k1'], n: 2 },
  { type: 'replicateReply', keys: [{ key: 'k1', holders: 2 }, { key: 'gone', holders: 0 }] },
  { type: 'error', error },
];

t.test('every message type round-trips', async (t) => {
  for (const msg of samples) {
    const back = decodeMessage(encodeMessage(msg));
    t.same(normalize(back), normalize(msg), msg.type);
  }
});

t.test('an empty inline result stays distinguishable from no inline result', async (t) => {
  const msg = samples.find((m) => m.type === 'workerEvents') as Extract<WireMessage, { type: 'workerEvents' }>;
  const back = decodeMessage(encodeMessage(msg)) as typeof msg;
  t.ok(back.finished[0]!.inline instanceof Uint8Array);
  t.equal(back.finished[0]!.inline!.byteLength, 0);
});

t.test('empty task arguments decode as an empty Uint8Array', async (t) => {
  const msg: WireMessage = { type: 'submit', clientId: 'c1', requestId: '1', tasks: [{ ...spec, args: new Uint8Array() }], wants: [], missing: [] };
  const back = decodeMessage(encodeMessage(msg)) as typeof msg;
  t.ok(back.tasks[0]!.args instanceof Uint8Array);
  t.equal(back.tasks[0]!.args.byteLength, 0);
});

t.test('decoded specs share what repeats from task to task (a big graph holds a spec per task)', async (t) => {
  const plain = { ...spec, resources: {} };
  const tasks = Array.from({ length: 3 }, (_, i) => ({ ...plain, key: `k${i}`, serializer: { ...serializer } }));
  const msg = decodeMessage(encodeMessage({ type: 'submit', clientId: 'c1', requestId: '1', tasks, wants: [] }));
  if (msg.type !== 'submit') throw new Error('not a submit');
  const [a, b, c] = msg.tasks as [TaskSpec, TaskSpec, TaskSpec];
  t.same(msg.tasks, tasks, 'the same specs');
  t.equal(a.serializer, b.serializer, 'one serializer object for equal serializers');
  t.equal(b.serializer, c.serializer);
  t.ok(Object.isFrozen(a.resources) && a.resources === b.resources, 'one frozen object for "no resources"');
  t.throws(() => {
    a.resources.gpu = 1; // modules are strict: a frozen object throws
  }, 'it cannot be changed in place by mistake');
  const other = decodeMessage(encodeMessage({ type: 'submit', clientId: 'c1', requestId: '2', tasks: [{ ...plain, key: 'x', resources: { gpu: 1 } }], wants: [] }));
  t.same((other as WireOf<'submit'>).tasks[0]!.resources, { gpu: 1 }, 'resources that are there are read');
});

t.test('unknown protocol version is UNSUPPORTED_VERSION', async (t) => {
  const Envelope = protoRoot().lookupType('floe.v1.Envelope');
  const bytes = Envelope.encode({ version: 99, error }).finish();
  t.throws(() => decodeMessage(bytes), { code: 'UNSUPPORTED_VERSION' });
});

t.test('missing body or required fields is MALFORMED_MESSAGE', async (t) => {
  const Envelope = protoRoot().lookupType('floe.v1.Envelope');
  t.throws(() => decodeMessage(Envelope.encode({ version: 1 }).finish()), { code: 'MALFORMED_MESSAGE' });
  const noClient = Envelope.encode({ version: 1, submit: { requestId: '1', tasks: [] } }).finish();
  t.throws(() => decodeMessage(noClient), { code: 'MALFORMED_MESSAGE' });
  const badStatus = Envelope.encode({ version: 1, clientUpdates: { updates: [{ key: 'k', status: 9 }] } }).finish();
  t.throws(() => decodeMessage(badStatus), { code: 'MALFORMED_MESSAGE' });
  const task = { key: 'k', module: 'file:///m.js', exportName: 'f', holdsActors: ['c/a-1', ''] };
  const emptyActor = Envelope.encode({ version: 1, submit: { clientId: 'c', requestId: '1', tasks: [task] } }).finish();
  t.throws(() => decodeMessage(emptyActor), { code: 'MALFORMED_MESSAGE' }, 'an empty actor id in holdsActors');
});

t.test('fuzz: random bytes and mutated messages decode or fail with a typed error', async (t) => {
  const seed = Number(process.env.FLOE_SEED ?? 12345);
  let state = seed >>> 0 || 1;
  const rand = (n: number): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const valid = samples.map(encodeMessage);
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < 5000; i++) {
    let bytes: Uint8Array;
    if (i % 2 === 0) {
      bytes = Uint8Array.from({ length: rand(64) }, () => rand(256));
    } else {
      const base = valid[rand(valid.length)]!;
      bytes = Uint8Array.from(base);
      const mutations = 1 + rand(4);
      for (let m = 0; m < mutations && bytes.length > 0; m++) bytes[rand(bytes.length)] = rand(256);
      if (rand(4) === 0) bytes = bytes.subarray(0, rand(bytes.length + 1));
    }
    try {
      decodeMessage(bytes);
      decoded++;
    } catch (e) {
      if (!isFloeError(e) || (e.code !== 'MALFORMED_MESSAGE' && e.code !== 'UNSUPPORTED_VERSION')) {
        t.fail(`seed ${seed} case ${i}: untyped error ${String(e)}`);
        return;
      }
      rejected++;
    }
  }
  t.equal(decoded + rejected, 5000, `seed ${seed}: every input was handled (${decoded} decoded, ${rejected} rejected)`);
  t.ok(rejected > 0, 'some inputs were rejected');
});

function normalize(value: unknown): unknown {
  // Buffers (what protobufjs decodes bytes into) and Uint8Arrays compare as plain arrays.
  const walk = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return Array.from(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v === undefined ? null : v;
  };
  return walk(value);
}
