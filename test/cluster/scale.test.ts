// Scaling a real cluster: a worker that leaves hands its results over first (nothing
// is recomputed or lost), and an idle worker steals queued tasks from a busy one.
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { terminate } from '../../cluster/local-cluster.ts';
import { gatedAfter, makeBytes, verifyBytes } from '../fixtures/cluster-tasks.ts';
import { clusterClient, localCluster, status, untilStatus } from '../helpers/cluster.ts';

t.test('a retiring worker hands its results to the others: nothing is lost or recomputed', async (t) => {
  const cluster = await localCluster(t, { workers: 2, threads: 1, workerArgs: (i) => ['--resources', i === 0 ? 'left=1' : 'right=1'] });
  const client = await clusterClient(t, cluster);
  const size = 300 * 1024; // over the inline limit: the bytes live only on the worker
  // Made where only the right-hand worker can run them: after it leaves, nothing could recompute them.
  const held = [11, 12, 13].map((seed) => client.submitWithOptions(makeBytes, { resources: { right: 1 } }, size, seed));
  await Promise.all(held.map((f) => f.wait()));
  const right = cluster.workers[1]!;
  const exited = once(right, 'exit');
  await terminate(right); // SIGTERM: retire, then exit
  await exited;
  await untilStatus(cluster, 'one worker left', (s) => s.workers.length === 1);
  for (const [i, f] of held.entries()) {
    const bytes = await f.result();
    t.equal(bytes.length, size);
    t.equal(bytes[12345], (12345 * 31 + 11 + i) % 251, `result ${i} intact`);
  }
  // And a dependent can still use them on the remaining worker.
  const checked = await client.submit(verifyBytes, held[0]!, 11).result();
  t.same({ length: checked.length, bad: checked.bad, pid: checked.pid }, { length: size, bad: 0, pid: cluster.workers[0]!.pid });
  const s = await status(cluster);
  t.equal(s.tasks.erred ?? 0, 0);
});

t.test('an idle worker steals queued tasks from a busy one', async (t) => {
  // A high saturation lets the scheduler send every task to the worker holding their
  // input (locality); only stealing brings the other worker into play.
  const cluster = await localCluster(t, {
    workers: 2,
    threads: 1,
    coordinatorArgs: ['--worker-saturation', '100'],
    workerArgs: (i) => ['--resources', i === 0 ? 'left=1' : 'right=1'],
  });
  const client = await clusterClient(t, cluster);
  const dir = await mkdtemp(join(tmpdir(), 'floe-steal-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const gate = join(dir, 'go');
  const input = client.submitWithOptions(makeBytes, { resources: { left: 1 } }, 200 * 1024, 5);
  await input.wait();
  const tasks = Array.from({ length: 20 }, (_, i) => client.submit(gatedAfter, gate, i, input));
  // The right-hand worker takes one task as soon as it is idle.
  await untilStatus(cluster, 'right-hand worker busy', (s) => s.workers.some((w) => w.resources.right === 1 && w.processing > 0));
  await writeFile(gate, '');
  const results = await client.gather(tasks);
  const pids = new Set(results.map((r) => r.pid));
  t.equal(pids.size, 2, 'both workers ran some of the tasks');
  t.same(results.map((r) => r.tag), Array.from({ length: 20 }, (_, i) => i), 'each task ran and returned once');
});
