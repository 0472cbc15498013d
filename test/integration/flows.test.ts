/** Flows end to end: one batch per flow, structure resolution, dynamic fan-out, two workers. */
import t from 'tap';
import { flow } from '../../src/index.ts';
import type { Future } from '../../src/index.ts';
import { add, bytes, checksum, double, inc, range, sum } from '../fixtures/e2e-tasks.ts';
import { clusterOf, idOf, localClient, until } from '../helpers/e2e.ts';

/** Pairwise sum of the leaves: 2n-1 tasks, log2(n) levels deep. */
function tree(leaves: Future<number>[]): Future<number> {
  let level = leaves;
  while (level.length > 1) {
    const next: Future<number>[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(level[i + 1] === undefined ? level[i]! : add(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

export const diamond = flow('diamond', (x: number) => {
  const a = inc(x);
  const b = double(a);
  const c = inc(a);
  return { a, b, sum: add(b, c), list: [a, 'literal', [c]], n: 5 };
});

export const collections = flow('collections', (x: number) => new Map([['inc', new Set([inc(x), double(x)])], ['double', new Set([double(x)])]]));

export const fanOut = flow('fan-out', (n: number) => {
  const xs = range(n);
  const ys = inc.map(xs);
  return { ys, total: sum(ys) };
});

export const big = flow('big', (n: number) => tree(inc.map(Array.from({ length: n }, (_, i) => i))));

export const subflows = flow('subflows', async (parts: number) => {
  // Helpers building sub-graphs, awaited in between: all in the same flow context.
  const results: Future<number>[] = [];
  for (let p = 0; p < parts; p++) {
    await Promise.resolve();
    results.push(tree(inc.map([p * 10, p * 10 + 1, p * 10 + 2, p * 10 + 3])));
  }
  return { perPart: results, total: tree(results) };
});

t.test('flows on one worker', async (t) => {
  const client = await localClient(t, { threads: 2 });
  const { scheduler } = clusterOf(client).coordinator;

  t.test('returned structure is resolved; the graph went out as one batch', async (t) => {
    const out = await client.run(diamond, 1);
    t.same(out, { a: 2, b: 4, sum: 7, list: [2, 'literal', [3]], n: 5 });
    const typed: { a: number; b: number; sum: number; n: number } = out;
    t.ok(typed);
    // The flow released its futures: the scheduler forgets every task of it.
    await until('flow tasks forgotten', () => scheduler.size === 0);
    t.equal(scheduler.size, 0);
  });

  t.test('futures in a returned Map or Set are resolved too', async (t) => {
    const out = await client.run(collections, 3);
    t.ok(out instanceof Map);
    t.same([...out.keys()], ['inc', 'double']);
    t.same([...out.get('inc')!].sort(), [4, 6]);
    t.same([...out.get('double')!], [6]);
    const typed: Map<string, Set<number>> = out;
    t.ok(typed);
    await until('flow tasks forgotten', () => scheduler.size === 0);
  });

  t.test('fan-out over a future list, including an empty one', async (t) => {
    t.same(await client.run(fanOut, 4), { ys: [1, 2, 3, 4], total: 10 });
    t.same(await client.run(fanOut, 0), { ys: [], total: 0 });
  });

  t.test('a flow of 100+ tasks, built by nested helpers', async (t) => {
    t.equal(await client.run(big, 64), (64 * 65) / 2); // 64 inc + 63 add = 127 tasks
    const out = await client.run(subflows, 8);
    const perPart = Array.from({ length: 8 }, (_, p) => 4 * p * 10 + 6 + 4);
    t.same(out, { perPart, total: perPart.reduce((s, x) => s + x, 0) });
  });

  t.test('a body that throws rejects run() with its error; nothing is left behind', async (t) => {
    const failing = flow('failing', async () => {
      inc(1);
      await Promise.resolve();
      throw new RangeError('body failed');
    });
    await t.rejects(client.run(failing), RangeError);
    await until('nothing left', () => scheduler.size === 0);
    t.equal(scheduler.size, 0);
  });

  t.test('calling a task in a flow returns futures; nothing runs before the body returns', async (t) => {
    let keys: string[] = [];
    const seen = flow('seen', () => {
      const a = inc(1);
      const b = inc(a);
      keys = [a.key, b.key];
      // Still inside the body: the submitter has not flushed yet.
      t.equal(scheduler.stateOf(idOf(client, a.key)), 'forgotten');
      return b;
    });
    t.equal(await client.run(seen), 3);
    t.equal(keys.length, 2);
  });
});

t.test('one submit for the whole flow (white box: story of every task)', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const { scheduler } = clusterOf(client).coordinator;
  const keys: string[] = [];
  const spy = flow('spy', (n: number) => {
    const leaves = inc.map(Array.from({ length: n }, (_, i) => i));
    const root = tree(leaves);
    for (const f of leaves) keys.push(f.key);
    keys.push(root.key);
    return root;
  });
  t.equal(await client.run(spy, 20), 210);
  const stimuli = new Set(keys.map((k) => scheduler.story(idOf(client, k))[0]?.stimulusId));
  t.equal(stimuli.size, 1, 'all tasks were created by one submission');
  t.match([...stimuli][0], /^submit-/);
});

t.test('a flow over two workers moves a dependency between them', async (t) => {
  const client = await localClient(t, { workers: 2, threads: 1 });
  const { workers } = clusterOf(client);
  const size = 200 * 1024; // above the 64 KiB inline limit: goes over the data plane
  const twoBig = flow('two-big', () => {
    const a = bytes(size);
    const b = bytes(size);
    return { both: checksum(a, b), a };
  });
  const out = await client.run(twoBig);
  let expected = 0;
  for (let i = 0; i < size; i++) expected += i & 0xff;
  t.same(out.both, { length: 2 * size, sum: 2 * expected });
  t.ok(out.a instanceof Uint8Array);
  t.equal(out.a.byteLength, size);
  t.equal(out.a[size - 1], (size - 1) & 0xff);
  t.same(
    workers.map((w) => w.counters.executed > 0),
    [true, true],
    'both workers ran tasks',
  );
  t.ok(workers.reduce((s, w) => s + w.counters.fetched, 0) > 0, 'an input was fetched from the other worker');
});

export const eager = flow('eager', async (x: number) => {
  // An async body that awaits one of its own tasks, then builds more on top (Prefect-style).
  const a = inc(x);
  const side = double(x); // not awaited and not returned before the await
  const n = await a.result();
  const list = range(n);
  return { n, total: sum(list), side, after: add(a, side) };
});

t.test('an async flow body may await its own futures and keep building', async (t) => {
  const client = await localClient(t, { threads: 2 });
  t.same(await client.run(eager, 3), { n: 4, total: 6, side: 6, after: 10 });
  await client.close();
  const scheduler = clusterOf(client).coordinator.scheduler;
  t.equal(scheduler.size, 0, 'everything the flow kept is released at the end');
});

t.test('a flow body that waits on its futures, or gives them to tasks outside the flow, goes on', async (t) => {
  const client = await localClient(t, { threads: 2 });
  // Before, both waited for the flow's graph, which goes out when the body returns: a hang.
  const outside = flow('outside', async (x: number) => {
    const a = inc(x);
    const waited = (await a.wait()) === a;
    const b = await client.submit(double, a).result();
    const deeper = inc(x + 10);
    const c = await client.submit(add, client.submit(double, deeper), 1).result();
    return { a, waited, b, c };
  });
  t.same(await client.run(outside, 1), { a: 2, waited: true, b: 4, c: 25 });
  await client.close();
  t.equal(clusterOf(client).coordinator.scheduler.size, 0, 'nothing is left');
});
