/**
 * The client's side of a put (client/put.ts, Putter) with the cluster faked: which worker a
 * put goes to, how often the coordinator is asked for the workers, a put refused by a
 * worker that left tried once more on a fresh list, a failed put failing its key and
 * letting go of it, and putMany's uploads (client/put-many.ts). End to end: test/integration/put.test.ts, test/cluster/put.test.ts.
 */
import t from 'tap';
import { FloeError } from '../../src/errors.ts';
import type { PutRequest } from '../../src/dataplane/dataplane.ts';
import { Putter, type PutHost } from '../../src/client/put.ts';
import { putMany, UPLOAD_BYTES_MAX, UPLOAD_VALUES_MAX } from '../../src/client/put-many.ts';
import { KeyState, type Future } from '../../src/client/future.ts';
import { CoordinatorIncarnation } from '../../src/client/incarnation.ts';
import type { ClusterStatus, WorkerStatus } from '../../src/client/cluster-status.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { toErrorInfo } from '../../src/errors.ts';
import type { Submitter } from '../../src/client/submitter.ts';
import type { Transport } from '../../src/transport/transport.ts';
import { rejection } from '../helpers/e2e.ts';

function worker(id: string, extra: Partial<WorkerStatus> = {}): WorkerStatus {
  return { id, name: `name-${id}`, address: `addr-${id}`, threads: 1, processing: 0, held: 0, resources: {}, metrics: undefined, metricsAgeMs: 0, retiring: false, epoch: 1, ...extra };
}

interface Fake {
  putter: Putter;
  /** How the worker's way answers: the coordinator's answer (default), or no answer in time. */
  direct: 'answer' | 'timeout';
  /** What the data plane does with the upload: take it (default), or never finish unless aborted. */
  upload: 'take' | 'hang';
  aborted: number;
  /** Subjects of the requests made, in order. */
  subjects: string[];
  /** Tasks in each request to the coordinator's own subject, in order (0: a want only). */
  coordinatorTasks: number[];
  /** How many more wants of an unknown key the coordinator refuses (MISSING_DEPENDENCY) before it knows the key. */
  unknownFor: number;
  /** Addresses the puts went to, in order, and what each carried. */
  sentTo: string[];
  requests: PutRequest[];
  statusCalls: number;
  released: number;
  states: KeyState[];
  workers: WorkerStatus[];
  /** What the data plane does with a put to an address (resolve by default). */
  refuse: Map<string, FloeError>;
}

function fake(workers: WorkerStatus[]): Fake {
  const f: Fake = {
    putter: undefined as unknown as Putter, direct: 'answer', upload: 'take', aborted: 0, subjects: [], coordinatorTasks: [], unknownFor: 0, sentTo: [], requests: [], statusCalls: 0, released: 0, states: [], workers, refuse: new Map(),
  };
  const answer = { data: encodeMessage({ type: 'submitReply', requestId: '1', error: undefined }) };
  const unknown = { data: encodeMessage({ type: 'submitReply', requestId: '1', error: toErrorInfo(new FloeError('MISSING_DEPENDENCY', 'wanted key is not in the graph')) }) };
  const transport = {
    request: (subject: string, data: Uint8Array, options: { sendVia?: (replyTo: string, data: Uint8Array, fail: (e: Error) => void) => void }) =>
      new Promise((resolve, reject) => {
        f.subjects.push(subject);
        if (options.sendVia === undefined) {
          // The coordinator's own subject.
          const wire = decodeMessage(data);
          const tasks = wire.type === 'submit' ? wire.tasks.length : -1;
          f.coordinatorTasks.push(tasks);
          if (tasks === 0 && f.unknownFor > 0) {
            f.unknownFor -= 1;
            return resolve(unknown);
          }
          return resolve(answer);
        }
        options.sendVia('_INBOX.1', data, reject);
        // The coordinator's answer follows the worker taking the value (a turn later here).
        setImmediate(() => (f.direct === 'answer' ? resolve(answer) : reject(new FloeError('REQUEST_TIMEOUT', 'no reply', { retryable: true }))));
      }),
  } as unknown as Transport;
  const host: PutHost = {
    transport,
    dataPlane: {
      put: (address: string, put: PutRequest, options: { signal?: AbortSignal } = {}) => {
        f.sentTo.push(address);
        f.requests.push(put);
        const error = f.refuse.get(address);
        if (error !== undefined) return Promise.reject(error);
        if (f.upload === 'take') return Promise.resolve();
        return new Promise((_resolve, reject) => {
          options.signal?.addEventListener('abort', () => {
            f.aborted += 1;
            reject(new FloeError('CANCELLED', 'cancelled'));
          });
        });
      },
    } as unknown as PutHost['dataPlane'],
    submitter: { submitMessage: (tasks: unknown[], wants: string[]) => ({ type: 'submit', clientId: 'c1', requestId: '1', tasks, wants, missing: [] }) } as unknown as Submitter,
    incarnation: new CoordinatorIncarnation(() => undefined),
    submitTimeoutMs: 1000,
    directSubject: (id) => `direct.${id}`,
    submitSubject: 'submit',
    status: () => {
      f.statusCalls += 1;
      return Promise.resolve({ workers: f.workers.map((w) => ({ ...w })), tasks: {}, waiting: [], clients: 1 } as unknown as ClusterStatus);
    },
    register: (name) => {
      const state = new KeyState(`${name}-${f.states.length + 1}`);
      f.states.push(state);
      return { state, future: { release: () => void (f.released += 1) } as unknown as Future<unknown> };
    },
  };
  f.putter = new Putter(host);
  return f;
}

t.test('puts go to the workers not leaving, in turn, asking for them once for puts made together', async (t) => {
  const f = fake([worker('b'), worker('a'), worker('c', { retiring: true }), worker('d', { address: '' })]);
  await Promise.all([1, 2, 3, 4].map((v) => f.putter.put(v, undefined)));
  t.same(f.sentTo, ['addr-a', 'addr-b', 'addr-a', 'addr-b'], 'a and b in turn (by id), not the retiring one nor one without an address');
  t.equal(f.statusCalls, 1, 'the workers asked for once');
  await f.putter.put(5, { worker: 'name-b' });
  t.equal(f.sentTo.at(-1), 'addr-b', 'by name');
  t.equal(f.statusCalls, 2, 'a named worker is looked up afresh');
});

t.test('a put refused by a worker that left goes once more to a worker of a fresh list', async (t) => {
  const f = fake([worker('a'), worker('b')]);
  await f.putter.put(0, undefined); // a; the list is kept
  f.workers = [worker('b')]; // a left
  f.refuse.set('addr-a', new FloeError('WORKER_LOST', 'unreachable'));
  await f.putter.put(1, undefined); // b (its turn)
  await f.putter.put(2, undefined); // a by the kept list: refused, then b on a fresh one
  t.same(f.sentTo, ['addr-a', 'addr-b', 'addr-a', 'addr-b']);
  t.equal(f.statusCalls, 2, 'asked again after the refusal');
  t.equal(f.released, 0, 'nothing released: the put succeeded');
});

t.test('a put that fails for good fails its key and lets go of it, with the reason', async (t) => {
  const f = fake([worker('a')]);
  f.refuse.set('addr-a', new FloeError('KEY_CONFLICT', 'this worker has a task or result c1/put-1 already'));
  const error = await rejection(f.putter.put(1, undefined));
  t.equal(error.code, 'KEY_CONFLICT', "the worker's reason, not the request's");
  t.equal(f.states[0]!.status, 'error', 'its key failed');
  t.equal(f.released, 1, 'its future let go of (the coordinator may have taken it)');
  t.same(f.sentTo, ['addr-a'], 'not tried again: only a worker that left is');

  const named = fake([worker('a')]);
  named.refuse.set('addr-a', new FloeError('WORKER_LOST', 'leaving'));
  t.equal((await rejection(named.putter.put(1, { worker: 'a' }))).code, 'WORKER_LOST', 'a named worker is not replaced by another');
  t.same(named.sentTo, ['addr-a']);

  const none = fake([worker('a', { retiring: true })]);
  const noWorker = await rejection(none.putter.put(1, undefined));
  t.equal(noWorker.code, 'WORKER_LOST');
  t.match(noWorker.message, /no worker in the cluster takes the value/);
  t.equal(none.states.length, 0, 'no key made');
});

t.test('no answer in time after the worker took the value: the coordinator is asked whether it knows the key, and the put goes through', async (t) => {
  const f = fake([worker('a')]);
  f.direct = 'timeout';
  const future = await f.putter.put(1, undefined);
  t.ok(future !== undefined, 'resolved');
  t.same(f.subjects, ['direct.a', 'submit'], "the worker's way, then the coordinator's");
  t.same(f.coordinatorTasks, [0], 'a want of the key only: the worker passed the submission on');
  t.equal(f.released, 0, 'kept');
  t.equal(f.aborted, 0, 'nothing to stop');
});

t.test("the worker took the value but its submission is late: the coordinator is asked again until it knows the key, never with the put's task", async (t) => {
  const f = fake([worker('a')]);
  f.direct = 'timeout';
  f.unknownFor = 3;
  const future = await f.putter.put(1, undefined);
  t.ok(future !== undefined, 'resolved');
  t.same(f.coordinatorTasks, [0, 0, 0, 0], 'four wants, the last one accepted: the task the coordinator would have run (and failed) is never sent');
  t.equal(f.states[0]!.status, 'pending', 'its future waits for the value the worker holds');
  t.equal(f.released, 0, 'kept');
});

t.test("the coordinator never hears of the worker's value: after the submit timeout the put's task is sent, so the key is answered for", async (t) => {
  const f = fake([worker('a')]);
  f.direct = 'timeout';
  f.unknownFor = Number.POSITIVE_INFINITY;
  const future = await f.putter.put(1, undefined);
  t.ok(future !== undefined, 'resolved: the coordinator has the key (its builtin fails, naming it, as for a value whose worker is lost)');
  t.ok(f.coordinatorTasks.length >= 3, `asked ${f.coordinatorTasks.length} times`);
  t.same(f.coordinatorTasks.slice(0, -1).filter((n) => n !== 0), [], 'wants only until then');
  t.equal(f.coordinatorTasks.at(-1), 1, "then the put's task");
});

t.test('no answer in time while the upload goes on: it is stopped, the key answered for, and the put fails and lets go of it', async (t) => {
  const f = fake([worker('a')]);
  f.direct = 'timeout';
  f.upload = 'hang';
  const error = await rejection(f.putter.put(1, undefined));
  t.equal(error.code, 'REQUEST_TIMEOUT');
  t.match(error.message, /not taken by the worker at addr-a/);
  t.equal(f.aborted, 1, 'the upload stopped');
  t.same(f.subjects, ['direct.a', 'submit'], 'the coordinator answered for the key before it is let go of');
  t.equal(f.released, 1, 'let go of');
});

/** The keys of the put tasks a request's submission carries. */
function keysOf(put: PutRequest): string[] {
  const wire = decodeMessage(put.submit);
  return wire.type === 'submit' ? wire.tasks.map((task) => task.key) : [];
}

t.test("putMany: values dealt to the workers in turn, each worker's share in one upload, a future per value", async (t) => {
  const f = fake([worker('a'), worker('b')]);
  const futures = await putMany(f.putter, [10, 11, 12, 13, 14, 15], undefined);
  t.equal(futures.length, 6, 'a future per value');
  t.equal(new Set(futures).size, 6, 'each its own');
  t.same(f.sentTo, ['addr-a', 'addr-b'], 'one upload per worker');
  t.same(f.requests.map(keysOf), [['put-1', 'put-2', 'put-3'], ['put-4', 'put-5', 'put-6']], 'a task per value');
  t.same(f.requests.map((r) => [...r.bytes]), [[10, 12, 14], [11, 13, 15]], 'values 0, 2, 4 to a and 1, 3, 5 to b, one after another');
  t.same(f.requests.map((r) => r.sizes), [[1, 1, 1], [1, 1, 1]], 'their sizes (msgpack: a byte each)');
  t.equal(f.statusCalls, 1, 'the workers asked for once');
  t.same(await putMany(f.putter, [], undefined), [], 'an empty list puts nothing');
  t.equal(f.sentTo.length, 2);
  await putMany(f.putter, [16], { worker: 'name-b' });
  t.same([f.sentTo.at(-1), f.requests.at(-1)!.sizes], ['addr-b', undefined], 'one value: a plain put, to the worker named');
});

t.test('putMany: a worker\'s share is cut into uploads of at most UPLOAD_VALUES_MAX values and UPLOAD_BYTES_MAX bytes; a bigger value goes alone', async (t) => {
  const f = fake([worker('a')]);
  const n = UPLOAD_VALUES_MAX + 10;
  await putMany(f.putter, Array.from({ length: n }, (_, i) => i % 100), undefined);
  t.same(f.requests.map((r) => r.sizes?.length ?? 1), [UPLOAD_VALUES_MAX, 10], 'by count');
  const big = new Uint8Array(UPLOAD_BYTES_MAX / 2 + 1);
  const g = fake([worker('a')]);
  const small = new Uint8Array(1);
  await putMany(g.putter, [big, small, big, big, small], { serializer: 'raw' });
  t.same(g.requests.map((r) => r.sizes ?? [r.bytes.byteLength]), [[big.byteLength, 1], [big.byteLength], [big.byteLength, 1]], 'by bytes');
});

t.test("putMany: an upload carries no more values than its submission, passed on in a worker's report, fits in a message", async (t) => {
  const f = fake([worker('a')]);
  (f.putter as unknown as { host: { transport: { maxPayloadBytes?: number } } }).host.transport.maxPayloadBytes = 6 * 1024;
  await putMany(f.putter, Array.from({ length: 200 }, (_, i) => i), undefined);
  t.ok(f.requests.length > 2, `in ${f.requests.length} uploads`);
  t.same(f.requests.flatMap(keysOf).length, 200, 'every value');
  t.ok(f.requests.every((r) => r.submit.byteLength <= 6 * 1024 - 1024 - 512), `submissions of ${f.requests.map((r) => r.submit.byteLength).join(', ')} bytes`);
  t.ok(f.requests.slice(0, -1).every((r) => r.submit.byteLength > 3.5 * 1024), 'not cut much smaller than needed');
});

t.test('putMany: all or nothing, the first failing upload named by its first value, and bad input refused before anything is sent', async (t) => {
  const f = fake([worker('a'), worker('b')]);
  f.refuse.set('addr-b', new FloeError('KEY_CONFLICT', 'this worker has a task or result c1/put-2 already'));
  const error = await rejection(putMany(f.putter, ['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7'], undefined));
  t.equal(error.code, 'KEY_CONFLICT', 'the failed upload\'s code');
  t.match(error.message, /^putMany: value 1 of 8 \(and the 3 other values put with it\): this worker has a task or result .*\(the values put were let go of\)$/, 'names the first value of the upload that failed');
  t.equal(f.sentTo.length, 2);
  t.equal(f.released, 8, 'every future let go of: the four that failed and the four that were put');
  t.same(f.states.map((s) => s.status === 'error'), [false, false, false, false, true, true, true, true], "the failed upload's keys (registered after a's) failed, the others not");

  const many = fake([worker('a'), worker('b')]);
  many.refuse.set('addr-b', new FloeError('WORKER_LOST', 'unreachable', { retryable: true }));
  many.workers = [worker('a'), worker('b')];
  const lost = await rejection(putMany(many.putter, Array.from({ length: 6 * UPLOAD_VALUES_MAX }, (_, i) => i % 100), { worker: 'name-b' }));
  t.equal(lost.code, 'WORKER_LOST');
  t.ok(lost.retryable, 'as retryable as the upload\'s error');
  t.equal(many.sentTo.length, 4, 'the four uploads under way went; none started after the failure');

  const g = fake([worker('a')]);
  const unserializable = await rejection(putMany(g.putter, [1, () => 2], undefined));
  t.equal(unserializable.code, 'UNSERIALIZABLE_ARGUMENT');
  t.match(unserializable.message, /^putMany: value 1 of 2: .*\(nothing was put\)$/);
  const notList = await rejection(putMany(g.putter, 'abc' as unknown as string[], undefined));
  t.equal(notList.code, 'INVALID_ARGUMENT');
  t.match(notList.message, /values must be an array \(got string\)/);
  const badOption = await rejection(putMany(g.putter, [1], { wrkr: 'a' } as never));
  t.equal(badOption.code, 'INVALID_OPTION');
  t.same([g.sentTo.length, g.statusCalls], [0, 0], 'nothing sent for bad input, nothing asked');
});
