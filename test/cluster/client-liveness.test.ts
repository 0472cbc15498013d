/**
 * Client liveness on a real cluster: a client that falls silent (crashed, partitioned,
 * its event loop blocked) past the coordinator's client timeout is dropped: its results
 * are released on the workers and the workers forget their links to it. Should it be
 * alive after all, it is told: its waiting futures fail with CLIENT_DROPPED and it takes
 * no more work. A client that sends heartbeats is kept while it waits on long tasks.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import t from 'tap';
import { Client } from '../../src/index.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { subjects } from '../../src/transport/messages.ts';
import { connectNats } from '../../src/transport/nats/nats-transport.ts';
import { busyDouble, gated, makeBytes } from '../fixtures/cluster-tasks.ts';
import { rejection, tempDir } from '../helpers/e2e.ts';
import { localCluster, status, untilStatus } from '../helpers/cluster.ts';

t.test('a silent client is dropped and told so; one that sends heartbeats is kept', async (t) => {
  const handle = await localCluster(t, { workers: 1, threads: 2, clientTimeoutMs: 500 });
  const connect = async (heartbeatIntervalMs: number): Promise<Client> => {
    const client = await Client.connect({ nats: handle.url, cluster: handle.cluster, heartbeatIntervalMs });
    t.teardown(() => client.close());
    return client;
  };
  const live = await connect(50);
  const silent = await connect(50);
  const dir = tempDir(t);

  const bytes = silent.submit(makeBytes, 300_000, 7);
  t.equal((await bytes.result()).length, 300_000, 'the client gets a result held on the worker');
  t.equal((await status(handle)).workers[0]!.held, 1);
  const waiting = silent.submit(gated, join(dir, 'never'), 1);
  await untilStatus(handle, 'its task running', (st) => st.workers[0]!.metrics?.executing === 1);
  // From now on it says nothing, as if its process had stopped.
  (silent as unknown as { control: { stopHeartbeats(): void } }).control.stopHeartbeats();
  // Three client timeouts of work: only heartbeats speak for the live client meanwhile.
  const long = live.submit(busyDouble, 21, 1500);

  const s = await untilStatus(handle, 'the silent client dropped', (st) => st.clients === 1);
  t.equal(s.clients, 1);
  t.equal((await rejection(waiting.result())).code, 'CLIENT_DROPPED', 'its waiting future fails with the reason');
  t.equal((await rejection(bytes.result())).code, 'CLIENT_DROPPED', 'its result was released on the worker');
  t.throws(() => silent.submit(busyDouble, 1, 0), { code: 'CLIENT_DROPPED' }, 'it takes no more work');
  await untilStatus(handle, 'the worker holds nothing', (st) => st.workers[0]!.held === 0);

  t.equal(await long.result(), 42, 'the client that sent heartbeats was kept');
  t.equal(await live.submit(busyDouble, 2, 0).result(), 4);
  t.equal((await status(handle)).clients, 1);

  // A dropped client's submission, were the notice lost, is refused with the reason.
  const raw = await connectNats({ servers: handle.url });
  t.teardown(() => raw.close());
  const submit = encodeMessage({ type: 'submit', clientId: silent.clientId, requestId: 'r1', tasks: [], wants: [] });
  const reply = decodeMessage((await raw.request(subjects(handle.cluster).submit, submit, { timeoutMs: 5000 })).data);
  t.match(reply, { type: 'submitReply', requestId: 'r1', error: { code: 'CLIENT_DROPPED' } });
  writeFileSync(join(dir, 'never'), '');
});
