/**
 * Client.replicate, embedded (client/replicate.ts, scheduler/replicas.ts): copies of results
 * on more workers, as Dask's `replicate` makes them. It resolves once each result is held by
 * as many workers as asked (all by default), as whoHas then says; the copies outlive the
 * workers that made the results. A failed, released or foreign future, or a bad option, is
 * refused, naming why. A copy a worker cannot make is reported to the coordinator. Between
 * processes: test/cluster/put.test.ts.
 */
import t from 'tap';
import { boom, bytes, checksum } from '../fixtures/e2e-tasks.ts';
import { clusterOf, localClient, rejection, standInCoordinator, until } from '../helpers/e2e.ts';
import { encodeMessage } from '../../src/transport/codec.ts';
import { emptyWorkerBatch, subjects } from '../../src/transport/messages.ts';

t.test('replicate, embedded', async (t) => {
  const client = await localClient(t, { workers: 3, threads: 1 });
  const nodes = clusterOf(client).workers;

  t.test('to n workers, then to all; the copies outlive the workers that made them', async (t) => {
    const made = client.submit(bytes, 100_000); // above the inline limit: only workers hold it
    await made.wait();
    const put = await client.put(new Uint8Array(90_000).fill(3), { serializer: 'raw', worker: nodes[2]!.workerId });
    await client.replicate([made, put], { n: 2 });
    let held = await client.whoHas([made, put]);
    t.same([held.get(made.key)?.length, held.get(put.key)?.length], [2, 2], 'two holders each');
    await client.replicate([made, put]);
    held = await client.whoHas([made, put]);
    t.same([held.get(made.key)?.length, held.get(put.key)?.length], [3, 3], 'then every worker');
    t.ok(nodes.every((w) => w.store.has(`${client.clientId}/${made.key}`) && w.store.has(`${client.clientId}/${put.key}`)), 'each worker stores both');
    const expected = await client.submit(checksum, made, put).result();
    const maker = nodes.find((w) => w.workerId === made.state.update?.workerId)!;
    await maker.close();
    await nodes.find((w) => w !== maker)!.close();
    t.same(await client.submit(checksum, made, put).result(), expected, 'two workers gone: the last one still has both (the put value could not have been recomputed)');
  });
});

t.test('replicate refuses what it cannot copy, naming why', async (t) => {
  const client = await localClient(t, { workers: 2, threads: 1 });
  const failed = client.submit(boom, 'no copy');
  const error = await rejection(client.replicate([failed]));
  t.equal(error.code, 'TASK_ERROR', "a failed future: its task's error");
  const released = await client.put(1);
  released.release();
  t.equal((await rejection(client.replicate([released]))).code, 'RESULT_UNAVAILABLE', 'a released future');
  t.match(await rejection(client.replicate([released], { n: 0 })), { code: 'INVALID_OPTION', message: /n must be an integer from 1/ });
  t.match(await rejection(client.replicate([], { copies: 2 } as never)), { code: 'INVALID_OPTION', message: /unknown option 'copies'/ });
  const other = await localClient(t, { workers: 1, threads: 1 });
  t.equal((await rejection(client.replicate([await other.put(1)]))).code, 'FOREIGN_FUTURE');
  await client.replicate([]);
  t.pass('nothing to copy: resolves');
});

t.test('a copy a worker cannot make is reported to the coordinator', async (t) => {
  const client = await localClient(t, { threads: 1, workers: 1 });
  const local = clusterOf(client);
  const worker = local.workers[0]!;
  const s = subjects(local.cluster);
  const failed: string[] = [];
  const stand = standInCoordinator(local, t, (wire) => failed.push(...wire.replicateFailed));
  const replicate = { id: 'c/gone', holders: [{ workerId: 'w-gone', address: 'inproc://w-gone' }], nbytes: 10, serializer: { id: 'msgpack', module: '' } };
  stand.send(s.worker(worker.workerId), encodeMessage({ ...emptyWorkerBatch(), replicate: [replicate] }));
  await until('the failed copy reported', () => failed.length > 0);
  t.same(failed, ['c/gone']);
});
