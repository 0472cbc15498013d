/**
 * ChurnMap and ChurnSet (src/util/churn-map.ts): they behave as a Map and a Set, and what
 * they held can be collected by a scavenge once it is deleted, which a long-lived Map's
 * own tables prevent until a full collection.
 */
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ChurnMap, ChurnSet } from '../../src/util/churn-map.ts';
import { mulberry32 } from '../helpers/rng.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;

t.test('a ChurnMap behaves as a Map: order, replacement, deletion, iteration', (t) => {
  const m = new ChurnMap<string, number>([['a', 1]]);
  t.equal(m.set('b', 2), m, 'set returns the map');
  m.set('c', 3).set('a', 10);
  t.same([...m], [['a', 10], ['b', 2], ['c', 3]], 'insertion order; a replaced value keeps its place');
  t.equal(m.get('a'), 10);
  t.equal(m.get('z'), undefined);
  t.ok(m.has('b'));
  t.equal(m.delete('b'), true);
  t.equal(m.delete('b'), false, 'a key deleted twice');
  t.equal(m.size, 2);
  t.same([...m.keys()], ['a', 'c']);
  t.same([...m.values()], [10, 3]);
  t.same([...m.entries()], [['a', 10], ['c', 3]]);
  const seen: Array<[string, number, unknown]> = [];
  m.forEach(function (this: unknown, v, k, map) {
    seen.push([k, v, this]);
    t.equal(map, m, 'forEach passes the map itself');
  }, 'ctx');
  t.same(seen, [['a', 10, 'ctx'], ['c', 3, 'ctx']]);
  t.equal(Object.prototype.toString.call(m), '[object ChurnMap]');
  m.clear();
  t.equal(m.size, 0);
  t.same([...m], []);
  t.end();
});

t.test('a ChurnMap keeps its entries and their order when it starts anew', (t) => {
  const m = new ChurnMap<number, string>();
  for (let i = 0; i < 3000; i++) m.set(i, `v${i}`);
  // 2,990 deletions against 10 entries left: it is copied on the way (more than 8 times as many deleted as held).
  let deleted = 0;
  for (let i = 0; i < 2990; i++) if (m.delete(i)) deleted++;
  t.equal(deleted, 2990);
  t.equal(m.size, 10);
  t.same([...m.keys()], [2990, 2991, 2992, 2993, 2994, 2995, 2996, 2997, 2998, 2999]);
  m.set(5, 'new');
  t.equal(m.get(2995), 'v2995');
  t.same([...m.keys()].slice(-2), [2999, 5], 'a key added after the copy comes last');
  for (const k of [...m.keys()]) m.delete(k);
  t.equal(m.size, 0, 'emptied');
  m.set(1, 'again');
  t.same([...m], [[1, 'again']], 'and used again');
  t.end();
});

t.test('a ChurnSet behaves as a Set', (t) => {
  const s = new ChurnSet<number>([3, 1]);
  t.equal(s.add(2), s, 'add returns the set');
  s.add(3);
  t.same([...s], [3, 1, 2], 'insertion order; an added value is kept once');
  t.ok(s.has(1));
  t.equal(s.delete(1), true);
  t.equal(s.delete(1), false);
  t.equal(s.size, 2);
  t.same([...s.keys()], [3, 2]);
  t.same([...s.values()], [3, 2]);
  t.same([...s.entries()], [[3, 3], [2, 2]]);
  const seen: number[] = [];
  s.forEach((v, v2, set) => {
    seen.push(v);
    t.equal(v, v2);
    t.equal(set, s);
  });
  t.same(seen, [3, 2]);
  for (let i = 10; i < 3010; i++) s.add(i);
  for (let i = 10; i < 3005; i++) s.delete(i);
  t.same([...s], [3, 2, 3005, 3006, 3007, 3008, 3009], 'kept through a copy');
  s.clear();
  t.equal(s.size, 0);
  t.end();
});

/**
 * A long-lived collection (its tables in the old generation after full collections) with
 * entries coming and going, then an object of 8 MB put in it among others and deleted
 * again: whether scavenges alone collect that object, read off the heap's size. (Not with
 * a WeakRef: scavenges keep its target.)
 */
async function collectedYoung(make: () => { put(o: object): void; drop(o: object): void }): Promise<boolean> {
  const c = make();
  c.put({ keep: true });
  gc({ type: 'major' });
  gc({ type: 'major' });
  const churn = (n: number): void => {
    const others = Array.from({ length: n }, (_, i) => ({ i }));
    for (const o of others) c.put(o);
    for (const o of others) c.drop(o);
  };
  churn(3000);
  const before = process.memoryUsage().heapUsed;
  (() => {
    const target = { payload: new Array<number>(1_000_000).fill(1) };
    c.put(target);
    churn(100);
    c.drop(target);
  })();
  await new Promise<void>((resolve) => setImmediate(resolve));
  for (let i = 0; i < 4; i++) gc({ type: 'minor' });
  return process.memoryUsage().heapUsed - before < 4e6;
}

t.test('what a ChurnMap or ChurnSet held dies young once deleted', async (t) => {
  t.ok(
    await collectedYoung(() => {
      const m = new ChurnMap<object, number>();
      return { put: (o) => m.set(o, 1), drop: (o) => m.delete(o) };
    }),
    'ChurnMap',
  );
  t.ok(
    await collectedYoung(() => {
      const s = new ChurnSet<object>();
      return { put: (o) => s.add(o), drop: (o) => s.delete(o) };
    }),
    'ChurnSet',
  );
});

t.test('a ChurnMap and a ChurnSet hold what a Map and a Set would, in the same order, through many renewals', (t) => {
  const random = mulberry32(0x5eed);
  // Counts the Maps a ChurnMap makes: copies (of a Map holding entries) and fresh starts.
  const RealMap = globalThis.Map;
  const made = { copies: 0, fresh: 0 };
  let counting = false;
  globalThis.Map = class CountedMap<K, V> extends RealMap<K, V> {
    constructor(entries?: Iterable<readonly [K, V]> | null) {
      super(entries);
      if (!counting) return;
      if (entries instanceof RealMap && entries.size > 0) made.copies++;
      else made.fresh++;
    }
  };
  t.teardown(() => {
    globalThis.Map = RealMap;
  });
  const m = new ChurnMap<number, number>();
  const mRef = new RealMap<number, number>();
  const s = new ChurnSet<number>();
  const sRef = new Set<number>();
  let mismatches = 0;
  // 100 keys, in phases of 5,000 operations that add with chance 1/2 (about 50 held, copies
  // after enough deletions), 1/10 and 1/50 (a few held, often none: fresh starts).
  const addChance = [0.5, 0.1, 0.02];
  for (let i = 0; i < 60_000; i++) {
    counting = true;
    const key = Math.floor(random() * 100);
    if (random() < addChance[Math.floor(i / 5000) % 3]!) {
      m.set(key, i);
      mRef.set(key, i);
      s.add(key);
      sRef.add(key);
    } else {
      if (m.delete(key) !== mRef.delete(key)) mismatches++;
      if (s.delete(key) !== sRef.delete(key)) mismatches++;
    }
    if (m.get(key) !== mRef.get(key) || s.has(key) !== sRef.has(key)) mismatches++;
    counting = false;
    if (i % 2000 === 1999) {
      t.same([...m], [...mRef], `map at ${i + 1}`);
      t.same([...s], [...sRef], `set at ${i + 1}`);
    }
  }
  globalThis.Map = RealMap;
  t.equal(mismatches, 0, 'every delete, get and has answered alike');
  t.equal(m.size, mRef.size);
  t.ok(made.copies >= 2, `the map was copied (${made.copies} times)`);
  t.ok(made.fresh >= 3, `and started afresh when empty (${made.fresh} times)`);
  t.end();
});
