/**
 * Submissions a worker passes on inside its report (WorkerEvents.relayed, worker/direct.ts):
 * the coordinator handles them before anything else in the message, answers each client
 * at its reply subject, and does so whatever the sending worker's standing. A worker played
 * by the test (a reliable endpoint, as in worker-epoch.test.ts) sends the reports.
 */
import t from 'tap';
import { DIRECT_RUN_IDS_FROM } from '../../src/graph/task-id.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { subjects, workerEvents, type WireMessage, type WireOf } from '../../src/transport/messages.ts';
import { ReliableEndpoint } from '../../src/transport/reliable.ts';
import { inc } from '../fixtures/e2e-tasks.ts';
import { clusterOf, localClient, until, type Teardown } from '../helpers/e2e.ts';
import { spec } from '../helpers/spec.ts';

const RUN = DIRECT_RUN_IDS_FROM + 1;
const serializer = { id: 'msgpack', module: '' };

async function setup(t: Teardown, id: string) {
  const client = await localClient(t, { threads: 1, workers: 1 });
  const { bus, cluster, coordinator } = clusterOf(client);
  const s = subjects(cluster);
  const fake = new ReliableEndpoint({ transport: bus.connect(), ackSubject: s.ack(`worker.${id}`) });
  const batches: WireOf<'workerBatch'>[] = [];
  fake.listen(s.worker(id), (data) => {
    const wire = decodeMessage(data);
    if (wire.type === 'workerBatch') batches.push(wire);
  });
  // The clients' reply subjects (the embedded bus has no wildcards), watched.
  const raw = bus.connect();
  const replies = new Map<string, WireMessage[]>();
  const subs = [1, 2, 3, 4, 5].map((n) =>
    raw.subscribe(`_INBOX.relayed.${n}`, (msg) => {
      const list = replies.get(msg.subject) ?? [];
      list.push(decodeMessage(msg.data));
      replies.set(msg.subject, list);
    }),
  );
  t.teardown(() => {
    for (const sub of subs) sub.unsubscribe();
    fake.close();
    return raw.close();
  });
  const report = (epoch: number, fields: Parameters<typeof workerEvents>[2]): void => fake.send(s.events, encodeMessage(workerEvents(id, epoch, fields)));
  return { client, coordinator, batches, replies, report };
}

const submission = (key: string, workerId: string, extra: Partial<WireOf<'submit'>> = {}): Uint8Array =>
  encodeMessage({
    type: 'submit', clientId: 'c-relayed', requestId: key, tasks: [spec(key, [], { resources: { fake: 1 } })], wants: [key], missing: [],
    direct: { workerId, epoch: 1, runId: RUN }, ...extra,
  });

t.test('a submission and its run\'s report in one message: the task is known first, the run adopted and finished', async (t) => {
  const id = 'w-relaying';
  const { coordinator, batches, replies, report } = await setup(t, id);
  report(1, { register: { threads: 1, resources: { fake: 1 }, address: `inproc://${id}`, name: 'fake', heartbeatIntervalMs: 0 } });
  await until('the fake worker registered', () => coordinator.scheduler.workerInfo().some((w) => w.id === id));
  report(1, {
    relayed: [{ replyTo: '_INBOX.relayed.1', submit: submission('k', id) }],
    finished: [{ id: 'c-relayed/k', runId: RUN, nbytes: 1, serializer, inline: new Uint8Array([7]), durationMs: 0.1, startedAtMs: 1 }],
  });
  await until('the client answered', () => replies.has('_INBOX.relayed.1'));
  t.match(replies.get('_INBOX.relayed.1'), [{ type: 'submitReply', requestId: 'k', error: undefined }]);
  t.equal(coordinator.scheduler.stateOf('c-relayed/k'), 'memory', 'the run the worker started counts: finished');
  t.same(batches.flatMap((b) => b.assign), [], 'nothing assigned: the direct run was adopted');
});

t.test('a worker the coordinator does not know still has the submissions it passes on answered', async (t) => {
  const { client, coordinator, batches, replies, report } = await setup(t, 'w-ghost');
  report(1, { relayed: [{ replyTo: '_INBOX.relayed.2', submit: submission('j', 'w-ghost', { tasks: [spec('j')] }) }], heartbeat: true });
  await until('the client answered', () => replies.has('_INBOX.relayed.2'));
  t.match(replies.get('_INBOX.relayed.2'), [{ type: 'submitReply', requestId: 'j', error: undefined }]);
  await until('the ghost asked to register', () => batches.some((b) => b.reregister));
  t.not(coordinator.scheduler.stateOf('c-relayed/j'), undefined, 'the task is the scheduler\'s, not the ghost\'s run');
  t.equal(await client.submit(inc, 1).result(), 2, 'the cluster goes on');
});

t.test('a malformed submission passed on is answered with an error; the rest of the report still counts', async (t) => {
  const { coordinator, replies, report } = await setup(t, 'w-bad');
  report(1, {
    relayed: [
      { replyTo: '_INBOX.relayed.3', submit: new Uint8Array([0xff, 0xff, 0xff]) },
      { replyTo: '_INBOX.relayed.4', submit: encodeMessage({ type: 'statusRequest' }) },
      { replyTo: '_INBOX.relayed.5', submit: submission('m', 'w-bad', { tasks: [spec('m')] }) },
    ],
  });
  await until('all three answered', () => replies.size === 3);
  t.match(replies.get('_INBOX.relayed.3'), [{ type: 'error', error: { code: 'MALFORMED_MESSAGE' } }], 'not a message');
  t.match(replies.get('_INBOX.relayed.4'), [{ type: 'error', error: { code: 'MALFORMED_MESSAGE' } }], 'not a submission');
  t.match(replies.get('_INBOX.relayed.5'), [{ type: 'submitReply', requestId: 'm', error: undefined }], 'the good one');
  t.not(coordinator.scheduler.stateOf('c-relayed/m'), undefined);
});
