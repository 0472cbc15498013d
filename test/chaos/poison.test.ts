// Poison tasks: a task whose run kills its worker process (not just its pool thread) is
// retried on other and restarted workers; once it has been running on more workers that
// died than the scheduler allows (allowedFailures, default 3), it errs with WORKER_LOST
// naming it. The rest of the flow completes and the cluster keeps serving.
import t from 'tap';
import { killMyWorker, whereAmI, block, blockSum, pair } from '../fixtures/chaos-tasks.ts';
import { chaosCluster, pollStatus, READER_RETRIES, WORKER_HEARTBEAT_ARGS } from './helpers.ts';

t.test('a task that kills its worker is erred after allowedFailures; the rest completes', async (t) => {
  const { cluster, client } = await chaosCluster(t, {
    workers: 3,
    threads: 1,
    heartbeatTimeoutMs: 1000,
    workerArgs: () => WORKER_HEARTBEAT_ARGS,
  });
  const before = await pollStatus(cluster, 'three workers', (s) => s.workers.length === 3);
  const firstIds = new Set(before.workers.map((w) => w.id));

  const poison = client.submitWithOptions(killMyWorker, { key: 'poison-pill' }, 1);
  // Honest work alongside, with transfers between workers (a worker may die under it).
  const reader = pair.with({ retries: READER_RETRIES, retryDelayMs: 400 });
  const blocks = Array.from({ length: 40 }, (_, i) => client.submit(block, i % 4 === 0 ? 80 * 1024 : 256, i + 1, 5));
  const pairs = blocks.map((b, i) => client.submit(reader, b, blocks[(i + 7) % 40]!, i + 1, ((i + 7) % 40) + 1, 5));

  await t.rejects(poison.result(), { code: 'WORKER_LOST', taskKey: 'poison-pill' }, 'the poison task errs with WORKER_LOST');
  const error = poison.exception();
  t.match(error?.message, /poison-pill/, 'the error names the task');
  t.match(error?.message, /4 workers that died/, 'after allowedFailures (3) + 1 deaths');
  t.comment(`poison task error: ${error?.message}`);

  const sizes = blocks.map((_, i) => (i % 4 === 0 ? 80 * 1024 : 256));
  const got = await client.gather(pairs);
  t.same(
    got,
    got.map((_, i) => {
      const j = (i + 7) % 40;
      return (i + 1) * 1_000_003 + blockSum(sizes[i]!, i + 1) + blockSum(sizes[j]!, j + 1);
    }),
    'every other result is present and correct',
  );
  // The nannies replaced the killed workers; the cluster serves again.
  const after = await pollStatus(cluster, 'three workers again', (s) => s.workers.length === 3);
  const replaced = after.workers.filter((w) => !firstIds.has(w.id)).length;
  t.ok(replaced >= 1, `${replaced} worker(s) are new processes started by their nannies`);
  const served = await client.gather(client.map(whereAmI, [1, 2, 3, 4, 5, 6]));
  t.equal(served.length, 6, 'the cluster keeps serving');
  t.equal(after.tasks.erred ?? 0, 1, 'only the poison task erred');
});
