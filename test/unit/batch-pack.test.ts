// A task batch as it crosses to its pool thread (runtime/batch-pack.ts): packed into a few
// flat arrays and made into the same requests again on the other side.
import t from 'tap';
import { packBatch, unpackBatch } from '../../src/runtime/batch-pack.ts';
import type { ThreadRequest } from '../../src/runtime/protocol.ts';

const msgpack = { id: 'msgpack', module: '' };
const custom = { id: 'csv', module: 'file:///srv/tasks/csv.js' };

function request(taskKey: string, over: Partial<ThreadRequest> = {}): ThreadRequest {
  return {
    taskKey,
    name: 'stamp',
    module: 'file:///srv/tasks/tasks.js',
    exportName: 'stamp',
    args: Uint8Array.from([0x91, 0x90]),
    deps: [],
    serializer: msgpack,
    attempt: 0,
    ...over,
  };
}

void t.test('unpacking gives back the requests: strings, numbers, optional fields, inputs and their bytes', async (t) => {
  const reqs: ThreadRequest[] = [
    request('a', { traceParent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01', contextRef: 7 }),
    request('b', {
      attempt: 2,
      serializer: custom,
      args: Uint8Array.from([1, 2, 3]),
      deps: [
        { key: 'a', serializer: msgpack, bytes: new Uint8Array(0), from: 0 },
        { key: 'x', serializer: custom, bytes: Uint8Array.from([9, 8, 7, 6]).subarray(1, 3) },
        { key: 'gone', serializer: msgpack, bytes: new Uint8Array(0), from: -1 },
      ],
      contextRef: 2 ** 40,
    }),
    request('c', { name: 'other', exportName: 'other', args: new Uint8Array(0) }),
  ];
  const cells = new Int32Array(new SharedArrayBuffer(4 * reqs.length));
  const { packed, transfer } = packBatch(5, reqs, cells);
  t.equal(transfer, packed.bytes.buffer, 'the bytes move with the message');
  t.equal(packed.strings.filter((s) => s === 'file:///srv/tasks/tasks.js').length, 1, 'a repeated string is sent once');
  t.equal(packed.strings.filter((s) => s === 'a').length, 1, "an input made earlier in the batch is sent as its maker's key");
  const out = unpackBatch(packed);
  t.equal(out.batchId, 5);
  t.equal(out.cells, cells);
  t.same(
    out.reqs.map((r) => ({ ...r, args: [...r.args], deps: r.deps.map((d) => ({ ...d, bytes: [...d.bytes] })) })),
    reqs.map((r) => ({ ...r, args: [...r.args], deps: r.deps.map((d) => ({ ...d, bytes: [...d.bytes] })) })),
  );
  t.notOk('traceParent' in out.reqs[1]!, 'absent fields stay absent');
  t.notOk('contextRef' in out.reqs[2]!);
  t.notOk('from' in out.reqs[1]!.deps[1]!);
  for (const r of out.reqs) {
    t.ok(r.args.byteLength < r.args.buffer.byteLength, 'no view covers the whole buffer (a task could move it)');
  }
});

void t.test('a batch of nothing packs and unpacks', async (t) => {
  const { packed } = packBatch(1, [], new Int32Array(new SharedArrayBuffer(4)));
  t.same(unpackBatch(packed).reqs, []);
});

void t.test('a context given to the packing replaces the request own', async (t) => {
  const reqs = [request('a', { contextRef: 3 }), request('b', { contextRef: 4 }), request('c')];
  const { packed } = packBatch(1, reqs, new Int32Array(new SharedArrayBuffer(12)), [9, undefined, 11]);
  t.same(unpackBatch(packed).reqs.map((r) => r.contextRef), [9, 4, 11]);
});
