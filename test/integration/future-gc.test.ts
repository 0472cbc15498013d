/**
 * Futures and the garbage collector: a future nothing references any more lets go of its
 * key (its finalizer releases it), but never while its result is awaited.
 */
import t from 'tap';
import type { Client } from '../../src/index.ts';
import { gate, inc } from '../fixtures/e2e-tasks.ts';
import { clusterOf, idOf, localClient, openGate, tempDir, until } from '../helpers/e2e.ts';
import { collectGarbage } from '../helpers/gc.ts';

function known(client: Client, key: string): boolean {
  const id = idOf(client, key);
  return Object.values(clusterOf(client).coordinator.scheduler.tasksByState()).some((ids) => ids.includes(id));
}

void t.test('a future nothing references is released when collected', async (t) => {
  const client = await localClient(t, { threads: 1 });
  let key = '';
  await (async () => {
    const f = client.submit(inc, 1);
    key = f.key;
    t.equal(await client.gather([f]).then(([v]) => v), 2);
  })();
  t.ok(known(client, key), 'the scheduler keeps the result while the future lives');
  await collectGarbage();
  await until('the collected future released its key', () => !known(client, key));
});

void t.test('a future whose result is awaited is not collected meanwhile', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const dir = tempDir(t);
  let key = '';
  // Nothing but the pending result() refers to the future.
  const result = (() => {
    const f = client.submit(gate, dir, 'held');
    key = f.key;
    return f.result();
  })();
  await until('the task runs', () => known(client, key));
  await collectGarbage();
  await collectGarbage();
  t.ok(known(client, key), 'the task is still wanted after collections');
  openGate(dir);
  t.equal(await result, 'held');
});
