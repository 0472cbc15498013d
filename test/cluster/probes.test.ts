// A worker process killed with kill -9 is found gone by the coordinator's probes
// (coordinator/probes.ts) within seconds, long before its heartbeat timeout, which is
// ten minutes here: only a probe can explain that the cluster goes on without it. Its
// running task runs again on the other worker; a worker merely stopped (SIGSTOP) for
// longer than the probes take is not lost for it.
import t from 'tap';
import { gate } from '../fixtures/e2e-tasks.ts';
import { openGate, tempDir } from '../helpers/e2e.ts';
import { clusterClient, localCluster, status, untilStatus } from '../helpers/cluster.ts';

const TEN_MINUTES_MS = 600_000;

t.test('kill -9 of a worker with a task running: lost at once, its task runs again elsewhere', async (t) => {
  const cluster = await localCluster(t, { workers: 2, threads: 1, heartbeatTimeoutMs: TEN_MINUTES_MS });
  const client = await clusterClient(t, cluster);
  const dir = tempDir(t);
  // One thread per worker: the two gated tasks run one on each.
  const tasks = [client.submit(gate, dir, 'a'), client.submit(gate, dir, 'b')];
  const busy = await untilStatus(cluster, 'both workers running a task', (s) => s.workers.length === 2 && s.workers.every((w) => w.processing === 1));
  const victim = cluster.workers[1]!;
  const victimId = busy.workers.find((w) => w.name === 'worker-1')!.id;
  victim.kill('SIGKILL');
  const after = await untilStatus(cluster, 'the killed worker lost', (s) => s.workers.length === 1);
  t.not(after.workers[0]!.id, victimId, 'the killed worker is the one gone');
  openGate(dir);
  t.same(await client.gather(tasks), ['a', 'b'], 'both results, the killed worker\'s task run again');
});

t.test('a stopped worker keeps its subscriptions: probes wait for it, it is not lost', async (t) => {
  const cluster = await localCluster(t, { workers: 2, threads: 1, heartbeatTimeoutMs: TEN_MINUTES_MS });
  const client = await clusterClient(t, cluster);
  const stopped = cluster.workers[1]!;
  // Stopped after its first heartbeat: the status counts the silence from the last one.
  const before = await untilStatus(cluster, 'both workers heard from', (s) => s.workers.length === 2 && s.workers.every((w) => w.metrics !== undefined));
  const id = before.workers.find((w) => w.name === 'worker-1')!.id;
  stopped.kill('SIGSTOP');
  t.teardown(() => stopped.kill('SIGCONT'));
  // Its heartbeats stop; the status says when the coordinator last heard from it.
  await untilStatus(cluster, 'the stopped worker silent past several probes', (s) => (s.workers.find((w) => w.id === id)?.metricsAgeMs ?? 0) > 6_000, 2_000);
  stopped.kill('SIGCONT');
  const now = await status(cluster);
  t.ok(now.workers.some((w) => w.id === id), 'still registered after its silence');
  t.same(await client.gather([client.submit(gate, tempDirOpen(t), 'c')]), ['c']);
  const later = await untilStatus(cluster, 'the stopped worker heard from again', (s) => (s.workers.find((w) => w.id === id)?.metricsAgeMs ?? Infinity) < 2_000);
  t.equal(later.workers.find((w) => w.id === id)!.epoch, 1, 'the same incarnation: it did not have to start over');
});

function tempDirOpen(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t);
  openGate(dir);
  return dir;
}
