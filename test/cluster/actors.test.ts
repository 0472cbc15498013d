// Actors and tasks that submit tasks over a real nats-server with worker processes:
// resource placement, call order, concurrent callers from two clients, recursion on a
// 2-thread worker, and kill -9 of the worker hosting actors (ACTOR_LOST, maxRestarts).
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { isFloeError } from '../../src/index.ts';
import { LeftCounter, Phoenix, RightCounter, bump, chain, fanOut, fib } from '../fixtures/actor-tasks.ts';
import { awaitReporting, clusterClient, localCluster, untilStatus } from '../helpers/cluster.ts';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return isFloeError(e) ? e.code : String(e);
  }
}

t.test('tasks that submit tasks, one worker with 2 threads', async (t) => {
  const cluster = await localCluster(t, { workers: 1, threads: 2 });
  const client = await clusterClient(t, cluster);
  t.equal(await client.submit(chain, 20).result(), 20, 'depth 20 without deadlock');
  t.equal(await client.submit(fib, 20).result(), 6765);
  t.equal(await client.submit(fanOut, 4).result(), 0 + 1 + 4 + 9 + 16 + 25 + 36);
});

t.test('actors on two worker processes', async (t) => {
  const cluster = await localCluster(t, {
    workers: 2,
    threads: 2,
    heartbeatTimeoutMs: 2000,
    workerArgs: (i) => ['--resources', i === 0 ? 'left=1' : 'right=1'],
  });
  const client = await clusterClient(t, cluster);
  const pids = cluster.workers.map((w) => w.pid);

  t.test('workers heartbeat four times per heartbeat timeout (cluster/local-cluster.ts)', async (t) => {
    for (const pid of pids) {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      t.equal(argv[argv.lastIndexOf('--heartbeat-interval') + 1], '500', `worker ${pid}`);
    }
  });

  const left = client.actor(LeftCounter, 0);
  const right = client.actor(RightCounter, 100);
  t.equal(await left.pid().result(), pids[0], 'placed where its resources are');
  t.equal(await right.pid().result(), pids[1]);

  t.test('call order and concurrent callers (another client, tasks with the handle)', async (t) => {
    const calls = Array.from({ length: 100 }, () => left.inc());
    t.same(await client.gather(calls), Array.from({ length: 100 }, (_, i) => i + 1));
    const other = await clusterClient(t, cluster);
    const fromTasks = [client.submit(bump, left, 20), other.submit(bump, left, 20)];
    const mine = Array.from({ length: 20 }, () => left.inc());
    await Promise.all([...fromTasks.map((f) => f.result()), client.gather(mine)]);
    const history = await left.history().result();
    t.same(history, Array.from({ length: 160 }, (_, i) => i + 1), 'every call saw the previous one');
  });

  t.test('a handle lent to a task keeps the actor after its owner let go', async (t) => {
    const lent = client.actor(LeftCounter, 0);
    const f = client.submit(bump, lent, 20);
    lent.$release(); // goes out after the task: the scheduler sees the task hold the actor first
    t.equal(await f.result(), 20, 'every call of the task reached the actor');
    // Then it is freed. The probe may overtake the release (another client, another
    // subject): repeat it until the release has arrived.
    const other = await clusterClient(t, cluster);
    let code = '';
    for (let i = 0; i < 500 && code !== 'ACTOR_LOST'; i++) {
      code = await other.submit(bump, lent, 1).result().then(() => 'ok', (e: unknown) => (isFloeError(e) ? e.code : String(e)));
    }
    t.equal(code, 'ACTOR_LOST', 'freed once its last holder ended');
  });

  t.test('kill -9 of the worker hosting actors', async (t) => {
    const phoenix = client.actor(Phoenix);
    t.equal(await phoenix.inc().result(), 1);
    const pid = await phoenix.pid().result();
    const victim = pids.indexOf(pid);
    t.ok(victim >= 0, 'phoenix lives on one of the workers');
    const lost = victim === 0 ? left : right;
    const kept = victim === 0 ? right : left;
    const restarted = new Promise<number>((resolve) => phoenix.$onRestart(resolve));
    t.ok((await lost.get().result()) > 0);
    const hanging = phoenix.hang();
    // The only task running anywhere now is the hanging call: once the coordinator counts
    // it, it is assigned to phoenix's worker.
    await untilStatus(cluster, 'the hanging call is assigned', (s) => s.workers.reduce((n, w) => n + w.processing, 0) >= 1);
    process.kill(pid, 'SIGKILL');
    t.equal(await code(hanging.result()), 'ACTOR_LOST', 'the call in flight fails');
    t.equal(await code(lost.inc().result()), 'ACTOR_LOST', 'no restarts: later calls fail');
    // These two hung twice in CI (110 s): the handle was collected while this test waited
    // for the restart (reachable only through its own listener), and its actor released
    // (fixed: a handle with a listener is kept; test/integration/actor-handle-gc.test.ts).
    // Should they take long again, the log gets the cluster's status.
    t.equal(await awaitReporting(t, cluster, 'restart notice', restarted), 1, 'the owner is told of the restart');
    t.equal(await awaitReporting(t, cluster, 'first call after the restart', phoenix.inc().result()), 1, 're-created with fresh state');
    t.not(await phoenix.pid().result(), pid, 'on the surviving worker');
    t.ok((await kept.inc().result()) > 0, 'the actor on the other worker is untouched');
  });
});
