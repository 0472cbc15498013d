/**
 * Results a client wants come to it from the worker that made them (WireAssign.tellClient),
 * not through the coordinator; failures still come from the coordinator; a client that
 * leaves is forgotten by the workers. Watched on the embedded cluster's bus: a second
 * subscriber on a subject sees every frame, and the frame names its sender. (Which update
 * the scheduler leaves to the worker: test/unit/scheduler.test.ts; the worker's side:
 * test/unit/client-links.test.ts.)
 */
import t from 'tap';
import { Client } from '../../src/client/client.ts';
import { InprocDataPlane } from '../../src/dataplane/inproc.ts';
import { decodeMessage } from '../../src/transport/codec.ts';
import { subjects, type KeyUpdate, type WireMessage } from '../../src/transport/messages.ts';
import { decodeFrame } from '../../src/transport/reliable/frame-codec.ts';
import { boom, bytes, inc } from '../fixtures/e2e-tasks.ts';
import { clusterOf, localClient, rejection, until, type Teardown } from '../helpers/e2e.ts';

/** Watches `subject` on the embedded bus beside its listener: each reliable frame's sender and message. */
function watch(t: Teardown, client: Client, subject: string, onMessage: (from: string, wire: WireMessage) => void): void {
  const raw = clusterOf(client).bus.connect();
  const sub = raw.subscribe(subject, (msg) => {
    const frame = decodeFrame(msg.data);
    onMessage(frame.ackSubject, decodeMessage(frame.payload));
  });
  t.teardown(() => {
    sub.unsubscribe();
    raw.close();
  });
}

interface Seen {
  /** The sender's ack subject: `floe.<cluster>.ack.coordinator` or `...ack.worker.<id>`. */
  from: string;
  update: KeyUpdate;
}

t.test('results come from the worker that made them, failures from the coordinator', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const { cluster, workers } = clusterOf(client);
  const s = subjects(cluster);
  const seen: Seen[] = [];
  watch(t, client, s.clientInbox(client.clientId), (from, wire) => {
    if (wire.type === 'clientUpdates') for (const update of wire.updates) seen.push({ from, update });
  });
  const worker = s.ack(`worker.${workers[0]!.workerId}`);
  const coordinator = s.ack('coordinator');

  const small = client.submit(inc, 41);
  t.equal(await small.result(), 42);
  const big = client.submit(bytes, 200_000); // past the inline limit: fetched from the worker
  const got = await big.result();
  t.equal(got.byteLength, 200_000);
  t.equal(got[199_999], 199_999 & 0xff);
  const failed = client.submit(boom, 'no');
  t.equal((await rejection(failed.result())).code, 'TASK_ERROR');

  const from = (key: string): string[] => seen.filter((x) => x.update.key === key).map((x) => x.from);
  t.same(from(small.key), [worker], 'the small result: from its worker only');
  t.match(seen.find((x) => x.update.key === small.key)?.update, { status: 'memory', workerId: workers[0]!.workerId });
  t.same(from(big.key), [worker], 'the big one too');
  const bigUpdate = seen.find((x) => x.update.key === big.key)?.update;
  t.match(bigUpdate, { inline: undefined, workerId: workers[0]!.workerId }, 'no bytes inline: the client fetched them');
  t.match(bigUpdate?.address, /^inproc:\/\/./, 'from the data-plane address in the update');
  t.same(from(failed.key), [coordinator], 'a failure: from the coordinator (it decides about retries)');
});

t.test('workers forget a client that left', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const { bus, cluster, workers } = clusterOf(client);
  const gone: string[] = [];
  watch(t, client, subjects(cluster).worker(workers[0]!.workerId), (_, wire) => {
    if (wire.type === 'workerBatch') gone.push(...wire.clientsGone);
  });
  // A second client of the same cluster (small results only: they come inline).
  const other = new Client({ transport: bus.connect(), dataPlane: new InprocDataPlane(), cluster });
  t.equal(await other.submit(inc, 1).result(), 2);
  await other.close();
  await until('the worker hears the client left', () => gone.includes(other.clientId));
  t.same(gone, [other.clientId], 'the coordinator told the worker the client left');
  t.equal(await client.submit(inc, 2).result(), 3, 'the other client is served as before');
});
