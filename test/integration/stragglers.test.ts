/**
 * A straggler in the pool (a task of a name learned as short that runs long) no longer
 * holds up the short tasks queued behind it on its thread: they are taken back and run
 * elsewhere (worker/stragglers.ts).
 */
import t from 'tap';
import { quickUnless } from '../fixtures/e2e-tasks.ts';
import { clusterOf, localClient, openGate, tempDir } from '../helpers/e2e.ts';

t.test('the tasks queued behind a straggler finish on the other thread while it runs', async (t) => {
  // One worker with two threads: the straggler's batch is the first, with runs queued
  // behind the straggler in it; the other thread's batches keep the worker from starting
  // the runs taken back at once, so they also go back to the scheduler and come again.
  const client = await localClient(t, { workers: 1, threads: 2 });
  const { coordinator, workers } = clusterOf(client);
  const dir = tempDir(t);
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  // The worker learns that the task is short, so that it queues it in batches.
  t.same(await client.gather(range(200).map((i) => client.submit(quickUnless, dir, i, -1))), range(200));
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
