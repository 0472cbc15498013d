/**
 * Client.put, embedded (client/put.ts, worker/puts.ts): a value put on a worker is a future
 * tasks take as an input; it comes back as it went, in the serializer asked for; workers
 * take puts in turn, or the one named; a released put is dropped where it is held; and bad
 * input is refused at the call, naming what is wrong; putMany puts each value of a list. Between processes, with a value
 * bigger than a NATS message and one lost with its worker: test/cluster/put.test.ts.
 */
import t from 'tap';
import { add, checksum, inc, shout, sum } from '../fixtures/e2e-tasks.ts';
import type { WorkerNode } from '../../src/worker/node.ts';
import { flow, type Future } from '../../src/index.ts';
import { upper } from '../fixtures/custom-serializer.ts';
import { clusterOf, localClient, rejection, until } from '../helpers/e2e.ts';

const sumPlusOne = flow('sum-plus-one', (xs: Future<number[]>) => inc(sum(xs)));

t.test('puts, embedded', async (t) => {
  const client = await localClient(t, { workers: 2, threads: 1 });
  const workers = clusterOf(client).workers;

  t.test('a value put is a future of that value, and an input of tasks', async (t) => {
    const xs = await client.put([1, 2, 3]);
    t.match(xs.key, /^put-\d+$/, 'a put-N key');
    t.equal(xs.status, 'finished', 'held already when the put resolves');
    t.same(await xs.result(), [1, 2, 3]);
    t.equal(await client.submit(sum, xs).result(), 6);
    const n = await client.put(41);
    t.same(await client.gather([client.submit(inc, n), client.submit(add, n, n)]), [42, 82], 'one value, several tasks');
    t.equal(await client.run(sumPlusOne, xs), 7, 'and a flow\'s parameter');
  });

  t.test('the serializer asked for is the one used', async (t) => {
    const raw = await client.put(new Uint8Array([9, 8, 7]), { serializer: 'raw' });
    t.same(await raw.result(), new Uint8Array([9, 8, 7]));
    const json = await client.put({ a: [1, 'b'] }, { serializer: 'json' });
    t.same(await json.result(), { a: [1, 'b'] });
    const custom = await client.put('quiet', { serializer: upper });
    t.equal(await custom.result(), 'QUIET', 'a custom serializer ran on the way in');
    t.equal(await client.submit(shout, custom).result(), 'QUIET', 'and a task reads it');
  });

  t.test('puts go to the workers in turn, or to the one named', async (t) => {
    const before = workers.map((w) => w.puts.counts.taken);
    await Promise.all([client.put(1), client.put(2), client.put(3), client.put(4)]);
    t.same(workers.map((w, i) => w.puts.counts.taken - before[i]!), [2, 2], 'two each');
    const name = (await client.status()).workers.find((w) => w.id === workers[1]!.workerId)!.name;
    const taken = workers[1]!.puts.counts.taken;
    await client.put('here', { worker: name });
    await client.put('here too', { worker: workers[1]!.workerId });
    t.equal(workers[1]!.puts.counts.taken, taken + 2, 'by name and by id');
  });

  t.test('putMany: a future per value, dealt to the workers in turn, each an input of tasks', async (t) => {
    const before = workers.map((w) => w.puts.counts.taken);
    const parts = await client.putMany([[1, 2], [3], [4, 5, 6], [7]]);
    t.equal(parts.length, 4);
    t.same(workers.map((w, i) => w.puts.counts.taken - before[i]!), [1, 1], 'one upload each');
    const holders = parts.map((p) => workers.findIndex((w) => w.store.has(`${client.clientId}/${p.key}`)));
    t.ok(holders[0] !== holders[1] && holders[0] === holders[2] && holders[1] === holders[3], `values dealt in turn (held by workers ${holders.join(', ')})`);
    t.same(await client.gather(parts.map((p) => client.submit(sum, p))), [3, 3, 15, 7], 'each future is its own value');
    const many = await client.putMany(Array.from({ length: 600 }, (_, i) => [i]));
    t.same(workers.map((w, i) => w.puts.counts.taken - before[i]!), [3, 3], 'six hundred values in two uploads per worker (256 values at most in one)');
    const sums = await client.gather(many.map((p) => client.submit(sum, p)));
    t.ok(sums.every((v, i) => v === i), 'each of them read back as it was put');
    for (const p of many) p.release();
    const error = await rejection(client.putMany([1, () => 2]));
    t.equal(error.code, 'UNSERIALIZABLE_ARGUMENT');
    t.match(error.message, /^putMany: value 1 of 2: /, 'names the value that cannot be put');
  });

  t.test('a released put is dropped by the worker that holds it', async (t) => {
    const f = await client.put('short-lived', { worker: workers[0]!.workerId });
    const id = `${client.clientId}/${f.key}`;
    t.ok(workers[0]!.store.has(id), 'held');
    f.release();
    await until('the value is dropped', () => !workers[0]!.store.has(id));
    t.pass('dropped');
    const error = await rejection(Promise.resolve().then(() => client.submit(shout, f).result()));
    t.equal(error.code, 'RESULT_UNAVAILABLE', 'a released put is no input');
  });

  t.test('a key of its own does not take a generated key: each task gets its own result', async (t) => {
    const fresh = await localClient(t, { threads: 1 });
    // A fresh client's first generated key for a task named 'bump' would be 'bump-1'.
    const own = fresh.submitWithOptions(inc.with({ name: 'bump' }), { key: 'bump-1' }, 10);
    const generated = Array.from({ length: 3 }, (_, i) => fresh.submit(inc.with({ name: 'bump' }), i));
    t.same(await fresh.gather([own, ...generated]), [11, 1, 2, 3]);
    t.equal(new Set([own.key, ...generated.map((g) => g.key)]).size, 4, 'four keys');
  });

  t.test('bad input is refused at the call, naming what is wrong', async (t) => {
    const cases: [string, Promise<unknown>, string, RegExp][] = [
      ['an unknown option', client.put(1, { wrokers: 'x' } as never), 'INVALID_OPTION', /unknown option 'wrokers'/],
      ['options not an object', client.put(1, 5 as never), 'INVALID_OPTION', /must be an object/],
      ['a worker that is not there', client.put(1, { worker: 'nobody' }), 'INVALID_OPTION', /no worker 'nobody'/],
      ['a worker that is not a string', client.put(1, { worker: 3 } as never), 'INVALID_OPTION', /worker's id or name/],
      ['a time limit of 0', client.put(1, { timeoutMs: 0 }), 'INVALID_OPTION', /timeoutMs/],
      ['a function', client.put(() => 1), 'UNSERIALIZABLE_ARGUMENT', /cannot be serialized with "msgpack"/],
      ['a class instance', client.put(new (class Point { x = 1 })()), 'UNSERIALIZABLE_ARGUMENT', /Point/],
      ['an unknown serializer', client.put(1, { serializer: 'nope' }), 'UNKNOWN_SERIALIZER', /"nope"/],
      ['raw with a string', client.put('text', { serializer: 'raw' }), 'UNSERIALIZABLE_ARGUMENT', /"raw"/],
    ];
    for (const [what, put, code, reason] of cases) {
      const error = await rejection(put);
      t.equal(error.code, code, `${what}: ${code}`);
      t.match(error.message, reason, what);
    }
    t.equal(await client.submit(inc, await client.put(1)).result(), 2, 'the client goes on');
  });

  t.test('a value on a worker that retires is moved to another; a retired worker takes no puts', async (t) => {
    const own = await localClient(t, { workers: 2, threads: 1 });
    const [leaving, staying] = clusterOf(own).workers as [WorkerNode, WorkerNode];
    // Bigger than a result the coordinator keeps inline (64 KiB): only the worker has it.
    const bytes = Uint8Array.from({ length: 200_000 }, (_, i) => i % 251);
    const value = await own.put(bytes, { worker: leaving.workerId, serializer: 'raw' });
    t.equal(await leaving.retire(10_000), true, 'retired');
    t.ok(staying.store.has(`${own.clientId}/${value.key}`), 'the other worker holds the value now');
    await leaving.close();
    t.same(await own.submit(checksum, value, value).result(), await own.submit(checksum, bytes, bytes).result(), 'tasks still get it, whole');
    const error = await rejection(own.put(1, { worker: leaving.workerId }));
    t.equal(error.code, 'INVALID_OPTION', 'named, it is refused');
    t.match(error.message, /no worker/);
    await own.put('elsewhere');
    t.equal(leaving.puts.counts.taken, 1, 'unnamed puts go to the workers not leaving');
  });

  t.test('broadcast: a copy on every worker, counted by the scheduler; the value outlives all workers but one', async (t) => {
    const own = await localClient(t, { workers: 3, threads: 1 });
    const nodes = clusterOf(own).workers;
    const bytes = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251); // above the inline limit
    const value = await own.put(bytes, { serializer: 'raw', broadcast: true });
    const id = `${own.clientId}/${value.key}`;
    t.ok(nodes.every((w) => w.store.has(id)), 'every worker holds it');
    for (let i = 0; ; i++) {
      const held = (await own.status()).workers.map((w) => w.held);
      if (held.every((n) => n === 1)) break;
      if (i === 1000) {
        t.fail(`the scheduler never counted every copy: ${held.join(', ')}`);
        break;
      }
    }
    t.pass('the scheduler counts a holder on every worker');
    // The worker that took the put goes, and another: the third one's copy is what is left.
    const first = nodes.find((w) => w.workerId === value.state.update?.workerId)!;
    await first.close();
    await nodes.find((w) => w !== first)!.close();
    const expected = await own.submit(checksum, bytes, bytes).result();
    t.same(await own.submit(checksum, value, value).result(), expected, 'with two workers gone, tasks still get it whole');
  });

  t.test('putMany with broadcast: every worker holds a copy of every value, each counted by the scheduler', async (t) => {
    const own = await localClient(t, { workers: 3, threads: 1 });
    const nodes = clusterOf(own).workers;
    const values = [0, 1, 2, 3, 4].map((seed) => Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7 + seed) % 251)); // above the inline limit
    const futures = await own.putMany(values, { serializer: 'raw', broadcast: true });
    const ids = futures.map((f) => `${own.clientId}/${f.key}`);
    t.ok(nodes.every((w) => ids.every((id) => w.store.has(id))), 'every worker holds every value');
    t.same(nodes.map((w) => w.puts.counts.taken), [3, 3, 3], "three uploads each: its share of the values, and a copy of each other worker's share");
    let held: number[] = [];
    for (let i = 0; i < 1000; i++) {
      held = (await own.status()).workers.map((w) => w.held);
      if (held.every((n) => n === 5)) break;
    }
    t.same(held, [5, 5, 5], 'the scheduler counts a holder of each on every worker');
    for (const [i, f] of futures.entries()) t.same(await own.submit(checksum, f, f).result(), await own.submit(checksum, values[i]!, values[i]!).result(), `value ${i} whole`);
  });

  t.test('broadcast takes no worker, and is a boolean', async (t) => {
    t.match(await rejection(client.put(1, { broadcast: true, worker: workers[0]!.workerId })), { code: 'INVALID_OPTION', message: /takes no worker/ });
    t.match(await rejection(client.put(1, { broadcast: 'yes' } as never)), { code: 'INVALID_OPTION', message: /broadcast must be a boolean/ });
  });

  t.test('a closed client puts nothing', async (t) => {
    const other = await localClient(t, { threads: 1 });
    await other.close();
    t.equal((await rejection(other.put(1))).code, 'CLIENT_CLOSED');
  });
});
