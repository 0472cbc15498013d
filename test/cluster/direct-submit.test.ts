// Direct submission between real processes (client/direct.ts, worker/direct.ts): lone
// tasks go on a gRPC stream to the worker of the client's latest result, which starts them
// and passes them on to the coordinator in its reports. A spy connection counts the
// submissions the coordinator gets from workers that started them (in the reports' frames,
// each frame once), any sent to the coordinator's submit subject instead, and the requests
// on the workers' NATS direct subjects; the last two stay unused (NATS gives every
// subscriber a copy; the spy never answers). Workers die here by SIGKILL: nothing may be
// lost.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { decodeMessage } from '../../src/transport/codec.ts';
import { subjects } from '../../src/transport/messages.ts';
import { decodeFrame } from '../../src/transport/reliable/frame-codec.ts';
import { gated, whoAmI } from '../fixtures/cluster-tasks.ts';
import { clusterClient, localCluster, status, untilStatus } from '../helpers/cluster.ts';
import { natsTransport } from '../helpers/nats.ts';

t.test('direct submission on gRPC streams', async (t) => {
  const cluster = await localCluster(t, { workers: 2, threads: 1, heartbeatTimeoutMs: 2000 });
  const client = await clusterClient(t, cluster);
  const spy = await natsTransport(t, cluster.nats!);
  let overNats = 0;
  let started = 0;
  let startedOnSubmitSubject = 0;
  const names = subjects(cluster.cluster);
  for (const w of (await status(cluster)).workers) spy.subscribe(names.direct(w.id), () => overNats++);
  const startedRun = (data: Uint8Array): boolean => {
    const wire = decodeMessage(data);
    return wire.type === 'submit' && (wire.direct?.runId ?? 0) > 0;
  };
  spy.subscribe(names.submit, (msg) => {
    if (startedRun(msg.data)) startedOnSubmitSubject++;
  });
  const frames = new Set<string>(); // a frame sent again is counted once
  spy.subscribe(names.events, (msg) => {
    const frame = decodeFrame(msg.data);
    const wire = decodeMessage(frame.payload);
    if (wire.type !== 'workerEvents' || frames.has(`${frame.session}#${frame.seq}`)) return;
    frames.add(`${frame.session}#${frame.seq}`);
    for (const relayed of wire.relayed) if (startedRun(relayed.submit)) started++;
  });
  await spy.flush();
  /**
   * The lone tasks workers started so far, as the coordinator heard of them. The spy's copy
   * of a worker's message may still be on its way when the result is back: a flush (a PING
   * the server answers after everything it sent the spy before) lets it arrive. A worker
   * passes a submission on at its next report or within a millisecond, so the flush waits
   * for that report, which the coordinator needs before the result counts as done: the
   * result's release, acknowledged by the coordinator's status answer, comes after it.
   */
  const requests = async (): Promise<number> => {
    await status(cluster);
    await spy.flush();
    return started;
  };
  const dir = await mkdtemp(join(tmpdir(), 'floe-direct-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kill = (pid: number): void => {
    cluster.workers.find((w) => w.pid === pid)!.kill('SIGKILL');
  };

  /** A gated task submitted directly, once it runs; asserts the worker of the latest result started it. */
  const startGated = async (t: Test, file: string, tag: number, before: number) => {
    const open = join(dir, file);
    const f = client.submit(gated, open, tag);
    await untilStatus(cluster, 'the gated task runs', (s) => (s.tasks.processing ?? 0) === 1);
    await spy.flush();
    t.equal(started, before + 1, 'started by the worker of the latest result');
    return { open, f };
  };

  let holderPid = 0;
  t.test('sequential lone tasks run on the worker of the latest result, one request to it each', async (t) => {
    const first = await client.submit(whoAmI, 0).result();
    holderPid = first.pid;
    for (let i = 1; i <= 10; i++) {
      const r = await client.submit(whoAmI, i).result();
      t.same(r, { tag: i, pid: first.pid });
    }
    t.equal(await requests(), 10, 'all but the first went to the worker, and started there');
    t.equal(overNats, 0, 'none over NATS');
    t.equal(startedOnSubmitSubject, 0, 'each passed on in a report of the worker\'s, none in a request of its own');
  });

  t.test('the client\'s connection to the worker drops while a task sent on it runs: its result still comes', async (t) => {
    const before = await requests();
    const { open, f } = await startGated(t, 'open-drop', 15, before);
    // Drops the client's channel to that worker (as a connection cut would): the stream
    // breaks under the running task, whose update can no longer come on it.
    const channels = (client as unknown as { conn: { dataPlane: { clients: Map<string, { close(): void }> } } }).conn.dataPlane.clients;
    t.equal(channels.size, 1, 'one channel: to the worker of the latest result');
    for (const channel of channels.values()) channel.close();
    channels.clear();
    await writeFile(open, '');
    const r = await f.result();
    t.same(r, { tag: 15, pid: holderPid }, 'it ran where it was sent');
    t.same(await client.submit(whoAmI, 16).result(), { tag: 16, pid: holderPid }, 'and the next lone task goes there again, on a new stream');
    t.equal(await requests(), before + 2);
  });

  t.test('that worker killed: the next lone task goes to the coordinator and runs on the other', async (t) => {
    kill(holderPid);
    const before = await requests();
    const r = await client.submit(whoAmI, 20).result();
    t.equal(r.tag, 20);
    t.not(r.pid, holderPid);
    t.equal(await requests(), before, 'no worker started it: the stream to the killed one broke');
    await untilStatus(cluster, 'the killed worker is declared lost', (s) => s.workers.length === 1);
    holderPid = r.pid;
  });

  t.test('a worker killed while it runs a task sent to it directly: the task runs again elsewhere', async (t) => {
    await cluster.addWorker();
    const before = await requests();
    const { open, f } = await startGated(t, 'open', 30, before);
    kill(holderPid);
    await untilStatus(cluster, 'the killed worker is declared lost', (s) => s.workers.length === 1);
    await writeFile(open, '');
    const r = await f.result();
    t.equal(r.tag, 30);
    t.not(r.pid, holderPid, 'ran again on the worker that joined');
  });
});
