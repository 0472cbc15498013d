// Results of a task batch as a pool thread posts them (runtime/results-pack.ts): numbers in
// one array, small results in one shared buffer, failures as they are; the worker gets the
// same responses back, in the order they were added.
import t from 'tap';
import { ResultsPacker, unpackResults } from '../../src/runtime/results-pack.ts';
import type { ThreadResponse } from '../../src/runtime/protocol.ts';

const msgpack = { id: 'msgpack', module: '' };
const custom = { id: 'csv', module: 'file:///srv/tasks/csv.js' };

void t.test('unpacking gives back each response by its index, in order', async (t) => {
  const packer = new ResultsPacker();
  const shared = Uint8Array.from([1, 2, 3, 4, 5]);
  const big = Uint8Array.from([9, 9, 9]);
  const a: ThreadResponse = { type: 'ok', bytes: shared.subarray(0, 2), serializer: msgpack, startedAtMs: 1.5, durationMs: 0.25, serializeMs: 0.125 };
  const b: ThreadResponse = { type: 'error', error: { code: 'TASK_ERROR', message: 'boom', retryable: false, stack: '', taskKey: 'b', originalName: 'Error' }, startedAtMs: 2, durationMs: 1 };
  const c: ThreadResponse = { type: 'ok', bytes: big, serializer: custom, startedAtMs: 3, durationMs: 2 };
  const d: ThreadResponse = { type: 'ok', bytes: shared.subarray(2, 5), serializer: msgpack, startedAtMs: 4, durationMs: 0 };
  packer.shared(7, a, 0, 2);
  packer.failed(3, b);
  packer.own(0, c, big);
  packer.shared(12, d, 2, 5);
  t.equal(packer.size, 4);
  const msg = packer.take(42, shared);
  t.equal(msg.batchId, 42);
  t.equal(packer.size, 0, 'the packer starts over');
  t.same(msg.serializers, [msgpack, custom], 'each serializer once');

  const got: [number, ThreadResponse][] = [];
  unpackResults(msg, (i, r) => got.push([i, r]));
  t.same(got.map(([i]) => i), [7, 3, 0, 12]);
  t.same(got[0]![1], { ...a, bytes: Uint8Array.from([1, 2]) });
  t.equal(got[1]![1], b, 'a failure goes as it is');
  t.same(got[2]![1], c);
  t.equal((got[2]![1] as { bytes: Uint8Array }).bytes, big, 'an owned result is not copied');
  t.same(got[3]![1], d);
  t.notOk('serializeMs' in got[3]![1], 'untimed serialization stays absent');
});

void t.test('an empty post unpacks to nothing', async (t) => {
  const msg = new ResultsPacker().take(1, new Uint8Array(0));
  let n = 0;
  unpackResults(msg, () => n++);
  t.equal(n, 0);
});
