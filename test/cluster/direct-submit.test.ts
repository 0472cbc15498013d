// Direct submission between real processes (client/direct.ts, worker/direct.ts): lone
// tasks go over NATS to the worker of the client's latest result, which passes them on
// to the coordinator. A spy connection on the workers' direct subjects counts the
// requests (NATS gives every subscriber a copy; the spy never answers). Workers die here
// by SIGKILL: nothing may be lost.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { subjects } from '../../src/transport/messages.ts';
import { gated, whoAmI } from '../fixtures/cluster-tasks.ts';
import { clusterClient, localCluster, status, untilStatus } from '../helpers/cluster.ts';
import { natsTransport } from '../helpers/nats.ts';

t.test('direct submission over NATS', async (t) => {
  const cluster = await localCluster(t, { workers: 2, threads: 1, heartbeatTimeoutMs: 2000 });
  const client = await clusterClient(t, cluster);
  const spy = await natsTransport(t, cluster.nats!);
  let seen = 0;
  for (const w of (await status(cluster)).workers) spy.subscribe(subjects(cluster.cluster).direct(w.id), () => seen++);
  await spy.flush();
  /**
   * The requests the spy has seen so far. Its copy of a request may still be on its way
   * when the result is back: a flush (a PING the server answers after everything it sent
   * the spy before) lets it arrive.
   */
  const requests = async (): Promise<number> => {
    await spy.flush();
    return seen;
  };
  const dir = await mkdtemp(join(tmpdir(), 'floe-direct-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kill = (pid: number): void => {
    cluster.workers.find((w) => w.pid === pid)!.kill('SIGKILL');
  };

  let holderPid = 0;
  t.test('sequential lone tasks run on the worker of the latest result, one request to it each', async (t) => {
    const first = await client.submit(whoAmI, 0).result();
    holderPid = first.pid;
    for (let i = 1; i <= 10; i++) {
      const r = await client.submit(whoAmI, i).result();
      t.same(r, { tag: i, pid: first.pid });
    }
    t.equal(await requests(), 10, 'all but the first went to the worker');
  });

  t.test('that worker killed: the next lone task is tried there, then goes to the coordinator and runs on the other', async (t) => {
    kill(holderPid);
    const before = await requests();
    const r = await client.submit(whoAmI, 20).result();
    t.equal(r.tag, 20);
    t.not(r.pid, holderPid);
    // The spy still listens on the killed worker's subject, so the request finds a listener
    // that never answers, as when a relay is lost: after the direct attempt's limit it goes
    // to the coordinator. (No listener at all, "no responders": test/integration/direct-submit.test.ts.)
    t.equal(await requests(), before + 1, 'it was tried at the killed worker first');
    await untilStatus(cluster, 'the killed worker is declared lost', (s) => s.workers.length === 1);
    holderPid = r.pid;
  });

  t.test('a worker killed while it runs a task sent to it directly: the task runs again elsewhere', async (t) => {
    await cluster.addWorker();
    const before = await requests();
    const open = join(dir, 'open');
    const f = client.submit(gated, open, 30);
    await untilStatus(cluster, 'the gated task runs', (s) => (s.tasks.processing ?? 0) === 1);
    t.equal(await requests(), before + 1, 'sent to the worker of the latest result');
    kill(holderPid);
    await untilStatus(cluster, 'the killed worker is declared lost', (s) => s.workers.length === 1);
    await writeFile(open, '');
    const r = await f.result();
    t.equal(r.tag, 30);
    t.not(r.pid, holderPid, 'ran again on the worker that joined');
  });
});
