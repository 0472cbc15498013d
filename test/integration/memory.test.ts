/** Reference counting end to end: released results leave the worker and the scheduler. */
import t from 'tap';
import { Client } from '../../src/index.ts';
import { bytes, checksum, echo, gate, inc, range } from '../fixtures/e2e-tasks.ts';
import { clusterOf, idOf, localClient, openGate, tempDir, until } from '../helpers/e2e.ts';

t.test('memory (one worker)', async (t) => {
  const client = await localClient(t, { threads: 2 });
  const { coordinator, workers } = clusterOf(client);
  const { scheduler } = coordinator;
  const store = workers[0]!.store;

  t.test('a released result is dropped by the worker and forgotten by the scheduler', async (t) => {
    const a = client.submit(inc, 1);
    const b = client.submit(inc, a);
    t.equal(await b.result(), 3);
    t.equal(scheduler.stateOf(idOf(client, a.key)), 'memory', 'a is still wanted');
    t.ok(store.has(idOf(client, a.key)));
    a.release();
    // As in Dask: the data goes, the record stays as lineage while b (its dependent) exists.
    await until('a released', () => scheduler.stateOf(idOf(client, a.key)) === 'released');
    await until('a dropped by the worker', () => !store.has(idOf(client, a.key)));
    t.equal(scheduler.stateOf(idOf(client, b.key)), 'memory', 'b is untouched');
    const c = client.submit(inc, b);
    t.equal(await c.result(), 4, 'b is still usable as an input');
    c.release();
    b.release();
    await until('everything forgotten and dropped', () => scheduler.size === 0 && store.size === 0);
    t.equal(store.bytes, 0);
    scheduler.validate();
  });

  t.test('released results still needed by a pending dependent are kept until it ran', async (t) => {
    const dir = tempDir(t);
    const big = client.submit(bytes, 100_000);
    const other = client.submit(bytes, 1000);
    await big.wait();
    const waiting = client.submit(gate, dir, 'gated');
    const dependent = client.submit(checksum, big, client.submit(bytes, 10));
    const afterGate = client.submit(echo, other, waiting);
    big.release();
    other.release();
    await until('gate running', () => scheduler.stateOf(idOf(client, waiting.key)) === 'processing');
    t.same(await dependent.result(), { length: 100_010, sum: sumOf(100_000) + sumOf(10) });
    // other is needed by afterGate, which waits for the gate: kept although released.
    t.equal(scheduler.stateOf(idOf(client, other.key)), 'memory');
    t.ok(store.has(idOf(client, other.key)));
    openGate(dir);
    const [input, label] = (await afterGate.result()) as [Uint8Array, string];
    t.equal(input.byteLength, 1000, 'it got the released input');
    t.equal(label, 'gated');
    // Data gone; the record stays as lineage of afterGate (still wanted).
    await until('other released', () => scheduler.stateOf(idOf(client, other.key)) === 'released');
    await until('other dropped', () => !store.has(idOf(client, other.key)));
    for (const f of [dependent, afterGate, waiting]) f.release();
    await until('everything dropped', () => scheduler.size === 0 && store.size === 0);
    t.pass('store and scheduler are empty');
  });

  t.test('releasing inputs right after submitting their dependents is safe', async (t) => {
    const a = client.submit(inc, 1);
    const b = client.submit(inc, a);
    a.release(); // same turn: b is not even sent yet
    t.equal(await b.result(), 3);
    const list = client.submit(range, 3);
    const mapped = client.map(inc, list);
    list.release();
    t.same(await mapped.result(), [1, 2, 3]);
    b.release();
    mapped.release();
    await until('everything dropped', () => scheduler.size === 0 && store.size === 0);
    t.pass('store and scheduler are empty');
  });

  t.test('a future of a released key cannot be read', async (t) => {
    const f = client.submit(inc, 1);
    await f.wait();
    f.release();
    await t.rejects(f.result(), { code: 'RESULT_UNAVAILABLE' });
  });
});

t.test('after close the scheduler holds no tasks', async (t) => {
  const client = await Client.local({ threads: 1 });
  const { coordinator } = clusterOf(client);
  const kept = [client.submit(inc, 1), client.submit(bytes, 200_000)];
  await client.gather(kept);
  t.ok(coordinator.scheduler.size >= 2);
  await client.close();
  t.equal(coordinator.scheduler.size, 0);
  coordinator.scheduler.validate();
});

function sumOf(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += i & 0xff;
  return s;
}
