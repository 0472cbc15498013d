/**
 * A straggler in the pool (a task of a name learned as short that runs long) no longer
 * holds up the short tasks queued behind it on its thread: they are taken back and run
 * elsewhere (worker/stragglers.ts).
 */
import t from 'tap';
import { quickUnless } from '../fixtures/e2e-tasks.ts';
import { clusterOf, localClient, openGate, tempDir, until } from '../helpers/e2e.ts';

t.test('the tasks queued behind a straggler finish on the other thread while it runs', async (t) => {
  // One worker with two threads: the straggler's batch is the first, with runs queued
  // behind the straggler in it; the other thread's batches keep the worker from starting
  // the runs taken back at once, so they also go back to the scheduler and come again.
  const client = await localClient(t, { workers: 1, threads: 2 });
  const { coordinator, workers } = clusterOf(client);
  const dir = tempDir(t);
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  // The worker learns that the task is short, so that it queues it in batches; the runs
  // one at a time make sure of it, whatever the first runs took (loading the module).
  t.same(await client.gather(range(200).map((i) => client.submit(quickUnless, dir, i, -1))), range(200));
  for (let i = 0; i < 30; i++) t.equal(await client.submit(quickUnless, dir, i, -1).result(), i);
  const blockAt = 10;
  const futures = range(2000).map((i) => client.submit(quickUnless, dir, i, blockAt));
  const others = futures.filter((_, i) => i !== blockAt);
  t.same(await client.gather(others), range(2000).filter((i) => i !== blockAt), 'every other task finished while the straggler still runs');
  t.ok(workers[0]!.counters.returned > 0, 'runs queued behind it were taken back from the pool');
  t.equal(futures[blockAt]!.status, 'pending');
  openGate(dir);
  t.equal(await futures[blockAt]!.result(), blockAt);
  coordinator.scheduler.validate();
});

t.test('a straggler running alone is found too, and the scheduler hears of it until it ends', async (t) => {
  const client = await localClient(t, { workers: 2, threads: 1 });
  const { coordinator } = clusterOf(client);
  const dir = tempDir(t);
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  t.same(await client.gather(range(200).map((i) => client.submit(quickUnless, dir, i, -1))), range(200));
  // One at a time: each runs alone (on the worker of the last result, where the straggler
  // goes too), and teaches its worker that the task is short, whatever the first runs took.
  for (let i = 0; i < 30; i++) t.equal(await client.submit(quickUnless, dir, i, -1).result(), i);
  const straggler = client.submit(quickUnless, dir, 0, 0); // alone: nothing else is ready
  const straggling = (): number[] => coordinator.scheduler.workerInfo().map((w) => w.straggling);
  await until('the scheduler hears of the straggler', () => straggling().includes(1));
  const futures = range(500).map((i) => client.submit(quickUnless, dir, i, -1));
  t.same(await client.gather(futures), range(500), 'the others finished while it runs');
  t.equal(straggler.status, 'pending');
  openGate(dir);
  t.equal(await straggler.result(), 0);
  t.same(straggling(), [0, 0], 'forgotten once it ended');
  coordinator.scheduler.validate();
});
