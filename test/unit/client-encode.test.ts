// The hand-written submit and clientBatch encoders write exactly the bytes protobufjs'
// generated encoder writes for the same message, and what they write decodes to the
// message they were given.
import t from 'tap';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { encodeClientBatchMessage, encodeSubmitMessage } from '../../src/transport/client-encode.ts';
import type { WireOf } from '../../src/transport/messages.ts';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { reference } from '../helpers/encode-check.ts';

type Submit = WireOf<'submit'>;

const base: TaskSpec = {
  key: 'stamp-1', name: 'stamp', module: 'file:///bench/tasks.js', exportName: 'stamp', args: new Uint8Array([0x91, 0xc0]), deps: [],
  serializer: { id: 'msgpack', module: '' }, priority: 0, retries: 0, retryDelayMs: 0, retryBackoff: 2, timeoutMs: 0, resources: {},
};

const long = 'x'.repeat(300);
// Cases marked false do not decode back as given: the decoder rejects empty ids, and lone
// surrogates do not survive UTF-8 (with protobufjs as without it).
const cases: Array<[string, Submit, boolean?]> = [
  ['empty submit', { type: 'submit', clientId: 'c1', requestId: '1', tasks: [], wants: [] }],
  ['one default task', { type: 'submit', clientId: 'c1', requestId: '1', tasks: [base], wants: ['stamp-1'] }],
  ['every field set', {
    type: 'submit', clientId: 'cabc', requestId: '42',
    tasks: [{
      ...base, key: 'k-2', deps: ['a', 'b', long], priority: -2.5, retries: 300, retryDelayMs: 12.25, retryBackoff: 1.5, timeoutMs: 1e9,
      resources: { gpu: 1, memory: 2 ** 33, 'custom.res': 0.5 }, serializer: { id: 'json', module: 'file:///s.js' },
      traceParent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01', actor: 'c0/counter-1', restartsMax: 200, holdsActors: ['c0/a-1', 'c9/b-2'],
      args: new Uint8Array(5000).map((_, i) => i),
    }],
    wants: ['k-2', long], missing: [{ key: 'k0', workerId: 'w1' }], progress: true, direct: { workerId: 'w-7', epoch: 300, runId: 2 ** 52 + 7 },
    coordinatorIncarnation: 'kT9_x-3vQ2ab',
  }],
  ['from a client that heard from a coordinator (its incarnation, long and non-ASCII)', {
    type: 'submit', clientId: 'c1', requestId: '2', tasks: [base], wants: ['stamp-1'], coordinatorIncarnation: `${long}🎉`,
  }],
  ['passed on by a worker (direct submission)', {
    type: 'submit', clientId: 'c1', requestId: '1', tasks: [base], wants: ['stamp-1'], direct: { workerId: 'w1', epoch: 1, runId: 0 },
  }],
  ['progress false, empty strings', { type: 'submit', clientId: '', requestId: '', tasks: [{ ...base, key: '', name: '', traceParent: '', actor: '' }], wants: [], progress: false }, false],
  ['non-ASCII strings, short and long', {
    type: 'submit', clientId: 'c1', requestId: '1',
    tasks: [{ ...base, key: 'ключ-1', name: 'naïve 🎉', module: `file:///${'é'.repeat(50)}.js`, deps: ['日本', `${'🎉'.repeat(30)}`] }], wants: ['ключ-1'],
  }],
  ['lone surrogates', { type: 'submit', clientId: 'c1', requestId: '1', tasks: [{ ...base, key: 'a\ud800b', name: `${'\udc00'.repeat(45)}` }], wants: [] }, false],
  ['many tasks (multi-byte lengths)', {
    type: 'submit', clientId: 'c1', requestId: '9',
    tasks: Array.from({ length: 2000 }, (_, i) => ({ ...base, key: `stamp-${i}`, deps: i === 0 ? [] : [`stamp-${i - 1}`] })), wants: ['stamp-1999'],
  }],
];

for (const [name, msg, roundTrips = true] of cases) {
  t.test(name, async (t) => {
    const mine = encodeSubmitMessage(msg);
    t.same(Buffer.from(mine), Buffer.from(reference(msg)), 'same bytes as protobufjs');
    t.same(Buffer.from(encodeMessage(msg)), Buffer.from(mine), 'encodeMessage uses it');
    if (!roundTrips) return;
    const back = decodeMessage(mine) as Submit;
    t.equal(back.type, 'submit');
    t.same(back.tasks.map((s) => s.key), msg.tasks.map((s) => s.key), 'task keys decode');
    t.same(back.wants, msg.wants, 'wants decode');
    t.same(back.direct, msg.direct, 'a direct run decodes (or its absence)');
    t.equal(back.coordinatorIncarnation, msg.coordinatorIncarnation, 'the coordinator incarnation decodes (or its absence)');
  });
}

// Fields that tasks of one definition share are encoded once and copied (client-encode.ts):
// the copies must follow every value those bytes were made from.
t.test('shared fields: many definitions interleaved, each task as protobufjs writes it', async (t) => {
  const defs = Array.from({ length: 12 }, (_, d) => {
    const resources: Record<string, number> = d % 5 === 0 ? {} : { gpu: d, [`r${d}`]: 0.5 };
    return {
      name: `t${d}`, module: `file:///m${d % 3}.js`, exportName: d % 2 ? `t${d}` : 'default', priority: d % 4 === 0 ? -0 : d,
      resources, serializer: { id: d % 2 ? 'msgpack' : 'json', module: '' },
    };
  });
  const tasks = Array.from({ length: 300 }, (_, i) => ({ ...base, ...defs[(i * 7) % defs.length]!, key: `k-${i}` }));
  const msg: Submit = { type: 'submit', clientId: 'c1', requestId: '3', tasks, wants: [] };
  t.same(Buffer.from(encodeSubmitMessage(msg)), Buffer.from(reference(msg)));
});

t.test('shared fields: a name, a priority, a resource per task, each task as protobufjs writes it', async (t) => {
  const tasks = Array.from({ length: 100 }, (_, i) => ({ ...base, key: `k-${i}`, name: `n-${i}`, priority: i, resources: { [`r${i % 30}`]: i } }));
  const msg: Submit = { type: 'submit', clientId: 'c1', requestId: '5', tasks, wants: [] };
  t.same(Buffer.from(encodeSubmitMessage(msg)), Buffer.from(reference(msg)));
});

t.test('shared fields: a spec changed between submissions is encoded as it is now', async (t) => {
  const spec: TaskSpec = { ...base, resources: { gpu: 1 }, serializer: { id: 'msgpack', module: '' } };
  const msg: Submit = { type: 'submit', clientId: 'c1', requestId: '4', tasks: [spec, { ...spec, key: 'stamp-2' }], wants: [] };
  const changes: Array<[string, (s: TaskSpec) => void]> = [
    ['a resource added', (s) => (s.resources.memory = 2 ** 30)],
    ['a resource amount changed', (s) => (s.resources.gpu = 2)],
    ['a resource removed', (s) => delete s.resources.gpu],
    ['priority 0 to -0', (s) => (s.priority = -0)],
    ['priority NaN', (s) => (s.priority = NaN)],
    ['serializer id changed in place', (s) => (s.serializer.id = 'json')],
    ['serializer module changed in place', (s) => (s.serializer.module = 'file:///s.js')],
    ['retries changed', (s) => (s.retries = 3)],
    ['timeout changed', (s) => (s.timeoutMs = 1500)],
    ['name changed', (s) => (s.name = 'renamed')],
    ['module changed', (s) => (s.module = 'file:///other.js')],
    ['export name changed', (s) => (s.exportName = 'other')],
  ];
  t.same(Buffer.from(encodeSubmitMessage(msg)), Buffer.from(reference(msg)), 'before');
  for (const [what, change] of changes) {
    change(spec);
    t.same(Buffer.from(encodeSubmitMessage(msg)), Buffer.from(reference(msg)), what);
  }
});

t.test('the decoder stays strict: an empty client id is MALFORMED_MESSAGE', async (t) => {
  const bytes = encodeSubmitMessage({ type: 'submit', clientId: '', requestId: '1', tasks: [base], wants: [] });
  t.throws(() => decodeMessage(bytes), { code: 'MALFORMED_MESSAGE' });
});

const batches: Array<WireOf<'clientBatch'>> = [
  { type: 'clientBatch', clientId: 'c1', release: [], cancel: [], hello: false, bye: false },
  { type: 'clientBatch', clientId: 'c1', release: [], cancel: [], hello: true, bye: false },
  { type: 'clientBatch', clientId: 'cabc', release: ['a-1', 'ключ', long], cancel: ['b-2', '🎉'], hello: false, bye: true },
  { type: 'clientBatch', clientId: 'c2', release: Array.from({ length: 3000 }, (_, i) => `stamp-${i}`), cancel: [], hello: false, bye: false },
  { type: 'clientBatch', clientId: 'c3', release: ['a-1'], cancel: [], hello: false, bye: false, coordinatorIncarnation: 'kT9_x-3vQ2ab' },
];

t.test('clientBatch: same bytes as protobufjs, and they decode back', async (t) => {
  for (const msg of batches) {
    const mine = encodeClientBatchMessage(msg);
    t.same(Buffer.from(mine), Buffer.from(reference(msg)), `${msg.release.length} releases, ${msg.cancel.length} cancels`);
    t.same(Buffer.from(encodeMessage(msg)), Buffer.from(mine), 'encodeMessage uses it');
    t.same(decodeMessage(mine), msg, 'decodes back');
  }
});
