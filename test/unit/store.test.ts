import t from 'tap';
import { isFloeError } from '../../src/errors.ts';
import { ObjectStore } from '../../src/worker/store.ts';

const ser = { id: 'raw', module: '' };
const obj = (n: number) => ({ serializer: ser, bytes: new Uint8Array(n) });

void t.test('put/get/has/delete with byte accounting', async (t) => {
  const s = new ObjectStore();
  t.equal(await s.put('a', obj(10)), true);
  await s.put('b', obj(5));
  t.equal(s.size, 2);
  t.equal(s.bytes, 15);
  t.ok(s.has('a'));
  t.equal((await s.get('b'))?.bytes.byteLength, 5);
  t.equal(s.peek('b')?.bytes.byteLength, 5);
  t.same(s.info('b'), { nbytes: 5, serializer: ser, spilled: false });
  await s.put('a', obj(3)); // replace
  t.equal(s.bytes, 8);
  t.equal(s.bytesHighWater, 15);
  t.equal(s.delete('a'), true);
  t.equal(s.delete('a'), false);
  t.equal(await s.get('a'), undefined);
  t.equal(s.info('a'), undefined);
  t.equal(s.size, 1);
  t.equal(s.bytes, 5);
  t.equal(s.spilledBytes, 0);
  t.same([...s.keys()], ['b']);
  await s.close();
});

void t.test('putNow stores at once when there is room, and otherwise stores nothing', async (t) => {
  const s = new ObjectStore({ bytesMax: 10 });
  await s.put('a', obj(4));
  t.equal(s.putNow('a', obj(6)), true); // replaces
  t.equal(s.bytes, 6);
  t.equal(s.putNow('b', obj(5)), false);
  t.equal(s.has('b'), false);
  t.equal(s.putNow('a', obj(11)), false); // the older object is gone either way
  t.equal(s.has('a'), false);
  t.equal(s.bytes, 0);
  await s.close();
});

void t.test('bytesMax without spill storage', async (t) => {
  const s = new ObjectStore({ bytesMax: 10 });
  await s.put('a', obj(6));
  let err: unknown;
  try {
    await s.put('b', obj(5));
  } catch (e) {
    err = e;
  }
  t.ok(isFloeError(err) && err.code === 'LIMIT_EXCEEDED' && err.taskKey === 'b');
  t.equal(s.has('b'), false, 'nothing stored on failure');
  t.equal(s.bytes, 6);
  await s.put('a', obj(10)); // replacing frees the old bytes first
  t.equal(s.bytes, 10);
  for (const bytesMax of [-1, 1.5, Number.NaN]) {
    t.throws(() => new ObjectStore({ bytesMax }), { code: 'INVALID_OPTION' });
  }
  t.throws(() => new ObjectStore({ bytesMax: 10, targetBytes: 11 }), { code: 'INVALID_OPTION' });
  t.throws(() => new ObjectStore({ bytesMax: 10, targetBytes: -1 }), { code: 'INVALID_OPTION' });
});
