/**
 * Direct submission end to end on the embedded cluster (client/direct.ts, worker/direct.ts):
 * a lone task goes to the worker that made the client's latest result, which starts it or
 * passes it on; the coordinator answers and owns the task either way. Watched on the bus
 * (a second subscriber on a subject sees every request) and through the workers' counts.
 */
import t from 'tap';
import type { Client } from '../../src/client/client.ts';
import { subjects } from '../../src/transport/messages.ts';
import { gate, inc } from '../fixtures/e2e-tasks.ts';
import { clusterOf, idOf, localClient, openGate, stamps, tempDir, until, type Teardown } from '../helpers/e2e.ts';

/**
 * Counts the requests sent to each worker's direct subject (by worker id), and with
 * `coordinator`, those sent to the coordinator's submit subject (as 'coordinator').
 */
function watchDirect(t: Teardown, client: Client, coordinator = false): Map<string, number> {
  const { bus, cluster, workers } = clusterOf(client);
  const raw = bus.connect();
  const seen = new Map<string, number>();
  const count = (name: string) => () => seen.set(name, (seen.get(name) ?? 0) + 1);
  const subs = workers.map((w) => raw.subscribe(subjects(cluster).direct(w.workerId), count(w.workerId)));
  if (coordinator) subs.push(raw.subscribe(subjects(cluster).submit, count('coordinator')));
  t.teardown(() => {
    for (const sub of subs) sub.unsubscribe();
    return raw.close();
  });
  return seen;
}

const counts = (client: Client): Array<{ started: number; passedOn: number }> => clusterOf(client).workers.map((w) => ({ ...w.direct.counts }));

/** Resolves once the coordinator holds no task (every key released). */
async function clusterEmpties(client: Client): Promise<void> {
  const { coordinator } = clusterOf(client);
  await until('the cluster holds no task', () => coordinator.scheduler.size === 0);
}

t.test('sequential lone tasks go straight to the worker that made the latest result', async (t) => {
  const client = await localClient(t, { workers: 2, threads: 1 });
  const seen = watchDirect(t, client, true);
  for (let i = 0; i < 10; i++) {
    const f = client.submit(inc, i);
    t.equal(await f.result(), i + 1);
    f.release();
  }
  const total = (list: Array<{ started: number; passedOn: number }>): number => list.reduce((s, c) => s + c.started, 0);
  t.equal(total(counts(client)), 9, 'all but the first started on the worker at once');
  const { coordinator: toCoordinator = 0, ...toWorkers } = Object.fromEntries(seen);
  t.equal(Object.values(toWorkers).reduce((s, n) => s + n, 0), 9, 'each of them one request to a worker');
  t.equal(toCoordinator, 1, 'only the first went to the coordinator\'s subject: the others were passed on in the worker\'s reports');
  t.same(counts(client).map((c) => c.passedOn), [0, 0]);
  await clusterEmpties(client);
});

t.test('directSubmit: false sends every submission to the coordinator', async (t) => {
  const client = await localClient(t, { workers: 1, threads: 1, directSubmit: false });
  const seen = watchDirect(t, client);
  for (let i = 0; i < 3; i++) t.equal(await client.submit(inc, i).result(), i + 1);
  t.same(counts(client), [{ started: 0, passedOn: 0 }]);
  t.equal(seen.size, 0);
});

t.test('submissions that are not one lone task go to the coordinator', async (t) => {
  const client = await localClient(t, { workers: 1, threads: 1 });
  t.equal(await client.submit(inc, 0).result(), 1); // the worker is known from here on
  const seen = watchDirect(t, client);
  const a = client.submit(inc, 1);
  const b = client.submit(inc, 2);
  t.same(await Promise.all([a.result(), b.result()]), [2, 3], 'two in one turn');
  const c = client.submit(inc, 10);
  const d = client.submit(inc, c);
  t.equal(await d.result(), 12, 'a task with an input');
  t.equal(seen.size, 0, 'no request went to the worker');
});

t.test('a busy worker passes the task on; the coordinator queues it and it runs once a thread is free', async (t) => {
  const client = await localClient(t, { workers: 1, threads: 1 });
  const dir = tempDir(t);
  t.equal(await client.submit(inc, 0).result(), 1);
  const { coordinator } = clusterOf(client);
  const held = client.submit(gate, dir, 'held');
  await until('the gated task started on the worker directly', () => counts(client)[0]!.started === 1);
  // Its submission reaches the coordinator while it runs (held for a millisecond at most).
  await until('the coordinator adopted the run', () => coordinator.scheduler.stateOf(idOf(client, held.key)) === 'processing');
  const queued = client.submit(inc, 41);
  await until('the next one passed on', () => counts(client)[0]!.passedOn === 1);
  openGate(dir);
  t.equal(await held.result(), 'held');
  t.equal(await queued.result(), 42);
  t.same(stamps(dir), ['held']);
  t.same(counts(client), [{ started: 1, passedOn: 1 }]);
});

t.test('the worker of the latest result is gone: the submission goes to the coordinator', async (t) => {
  const client = await localClient(t, { workers: 2, threads: 1 });
  const { workers, coordinator } = clusterOf(client);
  const first = client.submit(inc, 0);
  t.equal(await first.result(), 1);
  const holder = workers.find((w) => w.store.size > 0)!;
  const other = workers.find((w) => w !== holder)!;
  first.release();
  await clusterEmpties(client);
  await holder.close();
  await until('the coordinator let the closed worker go', () => coordinator.scheduler.workerInfo().length === 1);
  t.equal(await client.submit(inc, 1).result(), 2, 'no responders there: sent to the coordinator instead');
  t.same(holder.direct.counts, { started: 0, passedOn: 0 });
  t.equal(await client.submit(inc, 2).result(), 3);
  t.same(other.direct.counts, { started: 1, passedOn: 0 }, 'the next one goes to the worker that made that result');
});

t.test('a retired worker passes lone tasks on; they run elsewhere', async (t) => {
  const client = await localClient(t, { workers: 2, threads: 1 });
  const { workers } = clusterOf(client);
  const first = client.submit(inc, 0);
  t.equal(await first.result(), 1);
  const holder = workers.find((w) => w.store.size > 0)!;
  t.equal(await holder.retire(5000), true);
  const next = client.submit(inc, 1);
  t.equal(await next.result(), 2);
  t.same(holder.direct.counts, { started: 0, passedOn: 1 });
  t.notOk(holder.store.has(idOf(client, next.key)), 'it ran elsewhere');
  t.ok(workers.find((w) => w !== holder)!.store.has(idOf(client, next.key)));
});

t.test('released right after its result: a direct run\'s key and result are dropped everywhere', async (t) => {
  const client = await localClient(t, { workers: 1, threads: 1 });
  const { workers } = clusterOf(client);
  const first = client.submit(inc, 0);
  t.equal(await first.result(), 1);
  first.release();
  for (let i = 1; i <= 5; i++) {
    const f = client.submit(inc, i);
    t.equal(await f.result(), i + 1);
    f.release();
  }
  t.same(counts(client), [{ started: 5, passedOn: 0 }]);
  await clusterEmpties(client);
  await until('the worker dropped every result', () => workers[0]!.store.size === 0);
  t.equal(workers[0]!.store.size, 0);
});
