// A worker process killed with kill -9 is found gone by the coordinator's probes
// (coordinator/probes.ts) within seconds, long before its heartbeat timeout, which is
// ten minutes here: only a probe can explain that the cluster goes on without it. Its
// running task runs again on the other worker. A holder a worker could not fetch an input
// from is probed at once. A client process killed is dropped (its client timeout ten
// minutes too). A worker merely stopped (SIGSTOP) for longer than the probes take is not
// lost for it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { makeBytes, verifyBytes } from '../fixtures/cluster-tasks.ts';
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

t.test('a worker that cannot fetch an input from a dead holder gets the holder probed at once', async (t) => {
  // Heartbeats every ten minutes: no probe for silence (15 min) nor heartbeat timeout (10 min)
  // comes during this test; only the reader's missing-input report can explain the loss.
  const cluster = await localCluster(t, {
    workers: 2,
    threads: 1,
    heartbeatTimeoutMs: TEN_MINUTES_MS,
    workerArgs: (i) => ['--heartbeat-interval', '600000', '--resources', `r${i}=1`],
  });
  const client = await clusterClient(t, cluster);
  // Big enough to be fetched from its holder, not sent inline with the assignment.
  const input = client.submit(makeBytes, 256 * 1024, 7);
  await input.wait();
  const holder = (await client.whoHas([input])).get(input.key)![0]!;
  const names = new Map((await status(cluster)).workers.map((w) => [w.id, w.name]));
  const dead = names.get(holder) === 'worker-0' ? 0 : 1;
  cluster.workers[dead]!.kill('SIGKILL');
  // The reader can run only on the other worker, which fetches its input from the dead one.
  const reader = client.submitWithOptions(verifyBytes, { resources: { [`r${1 - dead}`]: 1 } }, input, 7);
  t.match(await reader.result(), { length: 256 * 1024, bad: 0 }, 'the input recomputed on the live worker');
  const after = await untilStatus(cluster, 'the dead holder lost', (s) => s.workers.length === 1);
  t.not(after.workers[0]!.id, holder, 'the dead holder is the one gone');
});

t.test('a client process killed is dropped within seconds, and the worker lets go of its result', async (t) => {
  const cluster = await localCluster(t, { workers: 1, threads: 1, heartbeatTimeoutMs: TEN_MINUTES_MS, clientTimeoutMs: TEN_MINUTES_MS });
  const child = spawn(process.execPath, ['--import=tsx', fileURLToPath(new URL('../fixtures/held-client.ts', import.meta.url)), cluster.url, cluster.cluster], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  t.match(JSON.parse(line), { clientId: String }, 'the client made its result');
  await untilStatus(cluster, 'the result held for it', (s) => s.clients === 1 && s.workers[0]!.held === 1);
  child.kill('SIGKILL');
  await untilStatus(cluster, 'the client dropped and its result let go', (s) => s.clients === 0 && s.workers[0]!.held === 0);
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
  t.same(await client.gather([client.submit(gate, tempDirOpen(t), 'c')]), ['c'], 'the cluster runs a task after the worker goes on');
  const later = await untilStatus(cluster, 'the stopped worker heard from again', (s) => (s.workers.find((w) => w.id === id)?.metricsAgeMs ?? Infinity) < 2_000);
  t.equal(later.workers.find((w) => w.id === id)!.epoch, 1, 'the same incarnation: it did not have to start over');
});

function tempDirOpen(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t);
  openGate(dir);
  return dir;
}
