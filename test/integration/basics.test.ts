/** End to end, embedded: submit, chains, diamonds, futures in arrays, map, gather, asCompleted. */
import t from 'tap';
import { asCompleted, isFuture } from '../../src/index.ts';
import type { Future } from '../../src/index.ts';
import { add, describe, double, echo, inc, range, sum } from '../fixtures/e2e-tasks.ts';
import { isIdle } from '../../src/client/cluster-status.ts';
import { clusterOf, localClient, thrown } from '../helpers/e2e.ts';

t.test('basics', async (t) => {
  const client = await localClient(t, { threads: 2 });

  t.test('submit with values, result is typed', async (t) => {
    const f = client.submit(add, 1, 2);
    t.ok(isFuture(f));
    const n: number = await f.result();
    t.equal(n, 3);
    const d = await client.submit(describe, 7).result();
    t.same(d, { n: 7, label: 'n=7' });
    // Compile-time only (never called): argument types flow from the task definition.
    const typeCheck = (): void => {
      // @ts-expect-error add takes numbers, not strings
      client.submit(add, 'a', 2);
      // @ts-expect-error the result of describe is an object, not a number
      const wrong: Future<number> = client.submit(describe, 1);
      void wrong;
    };
    void typeCheck;
  });

  t.test('futures as arguments: chain and diamond', async (t) => {
    let f: Future<number> = client.submit(inc, 0);
    for (let i = 0; i < 20; i++) f = client.submit(inc, f);
    t.equal(await f.result(), 21);

    const top = client.submit(inc, 1); // 2
    const left = client.submit(double, top); // 4
    const right = client.submit(inc, top); // 3
    const bottom = client.submit(add, left, right);
    t.equal(await bottom.result(), 7);
    t.equal(top.status, 'finished');
  });

  t.test('futures nested inside arrays, values mixed in', async (t) => {
    const a = client.submit(inc, 1);
    const b = client.submit(inc, 2);
    t.equal(await client.submit(sum, [a, 10, b, a]).result(), 2 + 10 + 3 + 2);
    t.same(await client.submit(echo, [a, [b]], 'x', { y: b }).result(), [[2, [3]], 'x', { y: 3 }]);
  });

  t.test('map over an array, gather in order', async (t) => {
    const futures = client.map(inc, [1, 2, 3, 4, 5]);
    t.equal(futures.length, 5);
    t.same(await client.gather(futures), [2, 3, 4, 5, 6]);
    const [x, y] = await client.gather([client.submit(inc, 1), client.submit(describe, 2)] as const);
    const typed: [number, { n: number; label: string }] = [x, y];
    t.same(typed, [2, { n: 2, label: 'n=2' }]);
  });

  t.test('map over a list: an empty one checks nothing, holes stay holes, a keyed task is refused', async (t) => {
    t.same(client.map(5 as never, []), [], 'an empty list with no task: no tasks, no error');
    t.equal(thrown(() => client.map(5 as never, [1])).code, 'INVALID_ARGUMENT', 'a list with no task');
    // eslint-disable-next-line no-sparse-arrays
    const sparse = client.map(inc, [1, , 3]);
    t.equal(sparse.length, 3);
    t.notOk(1 in sparse, 'a hole in the list is a hole in the futures');
    t.same(await client.gather([sparse[0]!, sparse[2]!]), [2, 4]);
    // A key names one task: mapped, every item would get the first item's result ([2, 2] for [1, 2]).
    const keyed = thrown(() => client.map(inc.with({ key: 'map-one-key' }), [1, 2]));
    t.equal(keyed.code, 'INVALID_OPTION', 'a keyed task over a list');
    t.match(keyed.message, /the task has a key of its own \('map-one-key'\), which names one task, not one for each of 2 items/);
    const overFuture = thrown(() => client.map(inc.with({ key: 'map-one-key' }), client.submit(range, 2)));
    t.equal(overFuture.code, 'INVALID_OPTION', 'and over a future of a list');
    t.same(await client.gather(client.map(inc, [1, 2])), [2, 3], 'without the key, one task per item');
  });

  t.test('map over a future of a list', async (t) => {
    const all = client.map(double, client.submit(range, 4));
    t.same(await all.result(), [0, 2, 4, 6]);
  });

  t.test('asCompleted yields every future in completion order', async (t) => {
    // A chain forces the order: c needs b needs a. Passed in reverse.
    const a = client.submit(inc, 0);
    const b = client.submit(inc, a);
    const c = client.submit(inc, b);
    const seen: string[] = [];
    const values: number[] = [];
    for await (const f of asCompleted([c, b, a])) {
      seen.push(f.key);
      values.push(await f.result());
    }
    t.same(seen, [a.key, b.key, c.key]);
    t.same(values, [1, 2, 3]);
  });

  t.test('status goes pending -> finished; wait() does not fetch', async (t) => {
    const f = client.submit(inc, 41);
    t.equal(f.status, 'pending');
    t.equal(await f.wait(), f);
    t.equal(f.status, 'finished');
    t.equal(f.exception(), undefined);
    t.equal(await f.result(), 42);
    t.equal(await f.result(), 42, 'result() can be called again');
  });

  t.test('task ids are client/key and the scheduler validates', async (t) => {
    const f = client.submit(inc, 1);
    await f.result();
    const { coordinator } = clusterOf(client);
    t.equal(coordinator.scheduler.stateOf(`${client.clientId}/${f.key}`), 'memory');
    coordinator.scheduler.validate();
  });
});

t.test("client.status(): the coordinator's snapshot, idle once released results are let go", async (t) => {
  const client = await localClient(t, { workers: 2, threads: 1 });
  const before = await client.status();
  t.equal(before.workers.length, 2, 'both workers');
  t.same(before.workers.map((w) => w.threads), [1, 1]);
  t.equal(before.clients, 1, 'this client');
  t.ok(isIdle(before), 'nothing submitted yet');

  const gate = client.submit(inc, 1);
  const kept = client.map(double, [1, 2, 3]);
  t.same(await client.gather([gate, ...kept]), [2, 2, 4, 6]);
  const holding = await client.status();
  t.equal(holding.tasks['memory'], 4, 'four results held');
  t.equal(holding.workers.reduce((n, w) => n + w.held, 0), 4, 'by the workers');
  t.notOk(isIdle(holding));

  for (const f of [gate, ...kept]) f.release();
  // Releases go out in batches: ask until the coordinator has let go of them all.
  let after = await client.status();
  for (let i = 0; i < 10_000 && !isIdle(after); i++) after = await client.status();
  t.ok(isIdle(after), 'idle once the released results are let go');
  await client.close();
  t.equal(thrown(() => void client.status()).code, 'CLIENT_CLOSED', 'a closed client asks nothing');
});
