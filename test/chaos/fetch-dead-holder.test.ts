// Known engine bug, kept visible as a TODO test (it runs; its failure does not fail the
// suite): a task whose input lives on a worker that died, but that the coordinator has
// not yet declared lost (heartbeat timeout still running), is sent to another worker; the
// fetch fails at once (connection refused) and the worker reports the TASK as failed with
// WORKER_LOST (src/worker/state.ts onFetchFailed). The scheduler (src/scheduler/
// lifecycle.ts taskFailed) treats that like the task's own failure: with the default
// retries 0 the task errs, although its input is merely gone and will be recomputed when
// the loss is detected. Dask instead reports missing data, drops that holder and
// reschedules the task without counting a failure. The chaos workloads work around it
// with retries on the reading tasks (READER_RETRIES).
import t from 'tap';
import { block, blockSum, pair } from '../fixtures/chaos-tasks.ts';
import { chaosCluster, pollStatus, WORKER_HEARTBEAT_ARGS, workerPidOf } from './helpers.ts';

const BUG = 'engine bug: a fetch from a dead, not yet lost holder errs the reading task (see the comment at the top)';

t.test('a task whose input holder just died waits for the input to be recomputed', async (t) => {
  const { cluster, client } = await chaosCluster(t, {
    workers: 2,
    threads: 1,
    // Long, so that the dependent is sure to try the dead holder before the loss is known.
    heartbeatTimeoutMs: 5000,
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
  // The assertion itself is a TODO: it runs and reports, and passes the suite either way.
  t.equal(value, 5 * 1_000_003 + 2 * blockSum(size, 5), 'the reader got its input, recomputed', { todo: BUG });
});
