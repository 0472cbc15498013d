/**
 * Client.whoHas, embedded: which workers hold each future's result, as the coordinator
 * knows it (Dask's `who_has`). A put value is held where it was put; a task's result where
 * its task ran; a broadcast value everywhere; a result let go of nowhere. Another client's
 * future is refused. Between processes: test/cluster/put.test.ts.
 */
import t from 'tap';
import { inc } from '../fixtures/e2e-tasks.ts';
import { clusterOf, localClient, rejection } from '../helpers/e2e.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { subjects } from '../../src/transport/messages.ts';

t.test('whoHas, embedded', async (t) => {
  const client = await localClient(t, { workers: 2, threads: 1 });
  const [w0, w1] = clusterOf(client).workers.map((w) => w.workerId);

  t.test('a put value where it was put, a result where its task ran', async (t) => {
    const put = await client.put(41, { worker: w1! });
    const made = client.submit(inc, put);
    await made.wait();
    const held = await client.whoHas([put, made]);
    t.same(held.get(put.key), [w1], 'the put value: on the worker named');
    t.same(held.get(made.key), [made.state.update?.workerId], 'the result: where the task ran, as its update says');
    t.same([...held.keys()], [put.key, made.key], 'one entry per future, in order');
  });

  t.test('a broadcast value on every worker; a released one nowhere', async (t) => {
    const everywhere = await client.put('x'.repeat(70_000), { broadcast: true }); // above the inline limit
    let held: string[] = [];
    // The copy is counted once its worker's report comes: ask until it has.
    for (let i = 0; i < 1000 && held.length < 2; i++) held = (await client.whoHas([everywhere])).get(everywhere.key) ?? [];
    t.same([...held].sort(), [w0, w1].sort(), 'both workers');
    everywhere.release();
    // The release goes in the client's next batch; the question, as a status request, may overtake it.
    for (let i = 0; i < 1000 && held.length > 0; i++) held = (await client.whoHas([everywhere])).get(everywhere.key) ?? ['?'];
    t.same(held, [], 'released: held nowhere');
  });

  t.test("another client's future, or no future, is refused", async (t) => {
    const other = await localClient(t, { workers: 1, threads: 1 });
    const theirs = await other.put(1);
    const foreign = await rejection(client.whoHas([theirs]));
    t.equal(foreign.code, 'FOREIGN_FUTURE');
    t.match(foreign.message, /^whoHas: future put-\d+ belongs to client/);
    t.equal((await rejection(client.whoHas([1] as never))).code, 'INVALID_ARGUMENT');
    t.same(await client.whoHas([]), new Map(), 'no futures, no entries');
    await other.close();
    t.equal((await rejection(other.whoHas([theirs]))).code, 'CLIENT_CLOSED');
  });

  t.test('a raw request without a client is answered with an error naming what is missing', async (t) => {
    const { bus, cluster } = clusterOf(client);
    const raw = encodeMessage({ type: 'whoHasRequest', clientId: '', keys: ['k'] });
    const reply = decodeMessage((await bus.connect().request(subjects(cluster).status, raw, { timeoutMs: 5000 })).data);
    t.match(reply, { type: 'error', error: { code: 'MALFORMED_MESSAGE', message: /whoHasRequest.clientId/ } });
  });
});
