import t from 'tap';
import { isFloeError } from '../../src/errors.ts';
import { ObjectStore } from '../../src/worker/store.ts';

const ser = { id: 'raw', module: '' };
const obj = (n: number) => ({ serializer: ser, bytes: new Uint8Array(n) });

void t.test('put/get/has/delete with byte accounting', (t) => {
  const s = new ObjectStore();
  s.put('a', obj(10));
  s.put('b', obj(5));
  t.equal(s.size, 2);
  t.equal(s.bytes, 15);
  t.ok(s.has('a'));
  t.equal(s.get('b')?.bytes.byteLength, 5);
  s.put('a', obj(3)); // replace
  t.equal(s.bytes, 8);
  t.equal(s.delete('a'), true);
  t.equal(s.delete('a'), false);
  t.equal(s.get('a'), undefined);
  t.equal(s.size, 1);
  t.equal(s.bytes, 5);
  t.same([...s.keys()], ['b']);
  t.end();
});

void t.test('bytesMax', (t) => {
  const s = new ObjectStore({ bytesMax: 10 });
  s.put('a', obj(6));
  let err: unknown;
  try {
    s.put('b', obj(5));
  } catch (e) {
    err = e;
  }
  t.ok(isFloeError(err) && err.code === 'LIMIT_EXCEEDED');
  t.equal(s.has('b'), false, 'nothing stored on failure');
  t.equal(s.bytes, 6);
  s.put('a', obj(10)); // replacing frees the old bytes first
  t.equal(s.bytes, 10);
  for (const bytesMax of [-1, 1.5, Number.NaN]) {
    t.throws(() => new ObjectStore({ bytesMax }), { code: 'INVALID_OPTION' });
  }
  t.end();
});
