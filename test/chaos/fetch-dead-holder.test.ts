// A task whose input lives on a worker that died, but that the coordinator has not yet
// declared lost (its heartbeat timeout is still running, and no probe finds dead workers
// sooner: --no-probes), is sent to another worker. The
// fetch fails at once; the worker reports the input missing (not a task failure), the
// scheduler drops the dead holder, recomputes the input from lineage and runs the task
// again, as Dask does with missing data. With the default `retries: 0` it must succeed.
import t from 'tap';
import { block, blockSum, pair } from '../fixtures/chaos-tasks.ts';
import { chaosCluster, pollStatus, WORKER_HEARTBEAT_ARGS, workerPidOf } from './helpers.ts';

t.test('a task whose input holder just died waits for the input to be recomputed', async (t) => {
  const { cluster, client } = await chaosCluster(t, {
    workers: 2,
    threads: 1,
    // Long, so that the dependent is sure to try the dead holder before the loss is known.
    heartbeatTimeoutMs: 5000,
    coordinatorArgs: ['--no-probes'],
    workerArgs: (i) => [...WORKER_HEARTBEAT_ARGS, '--resources', i === 0 ? 'left=1' : 'right=1'],
  });
  await pollStatus(cluster, 'two workers', (s) => s.workers.length === 2);
  const size = 200 * 1024;
  const input = client.submitWithOptions(block, { resources: { left: 1 } }, size, 5, 0);
  await input.wait();
  process.kill(await workerPidOf(cluster.workers[0]!), 'SIGKILL');
  const reader = client.submitWithOptions(pair, { resources: { right: 1 } }, input, input, 5, 5, 0);
  const value = await reader.result().catch((e: Error) => e);
  if (value instanceof Error) t.comment(`the reader erred: ${(value as Error & { code?: string }).code}: ${value.message}`);
  t.equal(value, 5 * 1_000_003 + 2 * blockSum(size, 5), 'the reader got its input, recomputed');
});
