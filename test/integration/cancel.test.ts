/** Cancellation end to end: running tasks are stopped, dependents are cancelled and never run. */
import t from 'tap';
import { Client } from '../../src/index.ts';
import { add, gate, hang, inc, stampAfter } from '../fixtures/e2e-tasks.ts';
import { clusterOf, idOf, localClient, openGate, rejection, stamps, tempDir, until } from '../helpers/e2e.ts';

t.test('cancellation (one thread)', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const { coordinator, workers } = clusterOf(client);
  const { scheduler } = coordinator;
  const worker = workers[0]!;

  t.test('cancel a running task: its thread is stopped', async (t) => {
    const f = client.submit(hang);
    await until('hang is processing', () => scheduler.stateOf(idOf(client, f.key)) === 'processing');
    await f.cancel();
    const error = await rejection(f.result());
    t.equal(error.code, 'CANCELLED');
    t.equal(f.status, 'cancelled');
    t.equal(f.exception()?.code, 'CANCELLED');
    // hang never settles: the only thread is free again only if it was terminated.
    t.equal(await client.submit(add, 1, 2).result(), 3);
    await until('hang forgotten', () => scheduler.stateOf(idOf(client, f.key)) === 'forgotten');
    scheduler.validate();
  });

  t.test('cancel cascades to dependents, which never run', async (t) => {
    const dir = tempDir(t);
    const sibling = client.submit(inc, 1); // independent: unaffected
    t.equal(await sibling.result(), 2);
    const root = client.submit(hang);
    const child = client.submit(stampAfter, dir, 'child', root);
    const grandchild = client.submit(stampAfter, dir, 'grandchild', child);
    await until('root is processing', () => scheduler.stateOf(idOf(client, root.key)) === 'processing');
    const executedBefore = worker.counters.executed;
    await client.cancel([root]);
    for (const f of [root, child, grandchild]) {
      const e = await rejection(f.result());
      t.equal(e.code, 'CANCELLED', `${f.key}: CANCELLED`);
      t.equal(e.taskKey, root.key, `${f.key}: names the cancelled root`);
      t.equal(f.status, 'cancelled');
    }
    t.equal(sibling.status, 'finished');
    t.equal(await client.submit(inc, 5).result(), 6, 'the pool works after the cancel');
    t.equal(worker.counters.executed, executedBefore + 1, 'only the new task ran');
    t.same(stamps(dir), [], 'no dependent ran');
    for (const f of [root, child, grandchild]) t.equal(scheduler.stateOf(idOf(client, f.key)), 'forgotten');
  });

  t.test('cancelling a dependent leaves its dependency alone', async (t) => {
    const dir = tempDir(t);
    const parent = client.submit(gate, dir, 'parent');
    const child = client.submit(inc, client.submit(inc, 1));
    const blocked = client.submit(stampAfter, dir, 'blocked', parent);
    await until('parent is processing', () => scheduler.stateOf(idOf(client, parent.key)) === 'processing');
    await blocked.cancel();
    t.equal((await rejection(blocked.result())).code, 'CANCELLED');
    openGate(dir);
    t.equal(await parent.result(), 'parent');
    t.equal(await child.result(), 3);
    t.same(stamps(dir), ['parent']);
  });

  t.test('cancelling a finished future does not change it', async (t) => {
    const f = client.submit(inc, 1);
    t.equal(await f.result(), 2);
    await f.cancel();
    t.equal(f.status, 'finished', 'a settled future does not change');
    t.equal(await f.result(), 2, 'its (inline) value is still readable');
  });
});

t.test('closing a client cancels what is pending', async (t) => {
  const client = await Client.local({ threads: 1 });
  const f = client.submit(hang);
  const { scheduler } = clusterOf(client).coordinator;
  await until('hang is processing', () => scheduler.stateOf(idOf(client, f.key)) === 'processing');
  await client.close();
  t.equal((await rejection(f.result())).code, 'CLIENT_CLOSED');
  t.equal(f.status, 'cancelled');
  t.equal(scheduler.size, 0, 'the scheduler dropped the client');
});
