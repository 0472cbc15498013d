// A worker that starts over (it was declared lost, came back, and was told to register
// again — possibly twice, by stale messages) drops everything it had. Registering again
// must make the scheduler forget what it thought that worker ran or held, so every task
// is run again somewhere and nothing hangs.
import t from 'tap';
import { gate, inc } from '../fixtures/e2e-tasks.ts';
import { clusterOf, localClient, openGate, tempDir, until } from '../helpers/e2e.ts';

t.test('a worker that registers again gets its lost runs back', async (t) => {
  const client = await localClient(t, { threads: 1, workers: 1 });
  const { coordinator, workers } = clusterOf(client);
  const worker = workers[0]!;
  const dir = tempDir(t);
  const gated = ['a', 'b', 'c'].map((label) => client.submit(gate, dir, label));
  const after = client.submit(inc, 41);
  await until('a gated task running', () => worker.metrics().executing === 1);
  // What the worker does on a reregister: abort its runs, drop its results, register.
  (worker as unknown as { reset(): void }).reset();
  await until('the worker is registered again', () =>
    coordinator.scheduler.workerInfo().some((w) => w.id === worker.workerId && w.processing > 0),
  );
  openGate(dir);
  t.same(await client.gather(gated), ['a', 'b', 'c']);
  t.equal(await after.result(), 42);
});
