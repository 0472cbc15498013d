/**
 * The client's side of coordinator incarnations (client/incarnation.ts): it names none
 * until it heard from a coordinator (its first contact introduces it), then the first one
 * it heard from, in submissions and batches alike; and a message from another incarnation
 * means the coordinator restarted, so it was dropped: its futures fail with
 * CLIENT_DROPPED, it takes no more work and says goodbye. A real Client against a
 * coordinator scripted by the test on the in-process bus.
 */
import t, { type Test } from 'tap';
import { Client } from '../../src/client/client.ts';
import { CoordinatorIncarnation } from '../../src/client/incarnation.ts';
import { InprocDataPlane } from '../../src/dataplane/inproc.ts';
import { toErrorInfo, FloeError } from '../../src/errors.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import { subjects, type WireOf } from '../../src/transport/messages.ts';
import { ReliableEndpoint } from '../../src/transport/reliable.ts';
import { inc } from '../fixtures/e2e-tasks.ts';
import { rejection, thrown, until } from '../helpers/e2e.ts';

const cluster = 'inc';
const s = subjects(cluster);

interface Received {
  msg: WireOf<'submit'>;
  answer(incarnation: string, error?: FloeError): void;
}

/** A client, and the coordinator's end of its messages, played by the test. */
function setup(t: Test): {
  client: Client;
  submits: Received[];
  batches: WireOf<'clientBatch'>[];
  tell: (msg: Omit<WireOf<'clientUpdates'>, 'type'>) => void;
  /** Resolves once the client acknowledged (so handled) everything told. */
  told: () => Promise<boolean>;
} {
  const bus = new InprocBus();
  const submits: Received[] = [];
  bus.connect().subscribe(s.submit, (m) => {
    const msg = decodeMessage(m.data) as WireOf<'submit'>;
    submits.push({
      msg,
      answer: (incarnation, error) => m.respond(encodeMessage({ type: 'submitReply', requestId: msg.requestId, error: error && toErrorInfo(error), incarnation })),
    });
  });
  const link = new ReliableEndpoint({ transport: bus.connect(), ackSubject: s.ack('coordinator') });
  const batches: WireOf<'clientBatch'>[] = [];
  link.listen(s.client, (data) => batches.push(decodeMessage(data) as WireOf<'clientBatch'>));
  const client = new Client({ transport: bus.connect(), dataPlane: new InprocDataPlane().peer(), cluster, heartbeatIntervalMs: 0, directSubmit: false });
  t.teardown(async () => {
    await client.close();
    link.close();
  });
  return {
    client,
    submits,
    batches,
    tell: (msg) => link.send(s.clientInbox(client.clientId), encodeMessage({ type: 'clientUpdates', ...msg })),
    told: () => link.flush(5000),
  };
}

const bye = (batches: WireOf<'clientBatch'>[]): WireOf<'clientBatch'> | undefined => batches.find((b) => b.bye);

t.test('the first incarnation heard from is kept; another one means a restart', async (t) => {
  const restarts: string[] = [];
  const incarnation = new CoordinatorIncarnation(() => restarts.push('restarted'));
  t.equal(incarnation.known, undefined, 'none until one is heard from');
  incarnation.heard(undefined);
  t.equal(incarnation.known, undefined, 'a message naming none (a worker\'s) says nothing');
  incarnation.heard('A');
  incarnation.heard('A');
  incarnation.heard(undefined);
  t.equal(incarnation.known, 'A');
  t.same(restarts, []);
  incarnation.heard('B');
  t.equal(incarnation.known, 'A', 'the first stays the one named');
  t.same(restarts, ['restarted']);
});

t.test('a first contact names no incarnation (it introduces the client); later messages name the first one heard', async (t) => {
  const { client, submits, batches, tell, told } = setup(t);
  await until('the hello', () => batches.some((b) => b.hello));
  t.notOk('coordinatorIncarnation' in batches[0]!, 'the hello names none');
  const first = client.submit(inc, 1);
  await until('the first submission', () => submits.length === 1);
  t.notOk('coordinatorIncarnation' in submits[0]!.msg, 'the first submission names none');
  submits[0]!.answer('A');
  // With an input, it goes once the first was answered (a lone task would not wait).
  const second = client.submit(inc, first);
  await until('the second submission', () => submits.length === 2);
  t.equal(submits[1]!.msg.coordinatorIncarnation, 'A', 'the next names the incarnation that answered');
  submits[1]!.answer('A');
  await client.cancel([second]);
  await until('the cancel', () => batches.some((b) => b.cancel.length > 0));
  t.equal(batches.find((b) => b.cancel.length > 0)!.coordinatorIncarnation, 'A', 'and so does a batch');

  tell({ updates: [], incarnation: 'A' });
  tell({ updates: [] }); // as a worker sends them: no incarnation
  t.ok(await told(), 'the client handled them');
  const third = client.submit(inc, second);
  await until('the third submission', () => submits.length === 3);
  t.equal(submits[2]!.msg.coordinatorIncarnation, 'A', 'updates of the same incarnation, or of none, change nothing');
  submits[2]!.answer('A');

  tell({ updates: [], incarnation: 'B' });
  t.equal((await rejection(first.result())).code, 'CLIENT_DROPPED', 'updates from another incarnation: its work is gone');
  t.equal((await rejection(third.result())).code, 'CLIENT_DROPPED');
  t.equal(thrown(() => client.submit(inc, 4)).code, 'CLIENT_DROPPED', 'and it takes no more work');
  await until('its goodbye', () => bye(batches) !== undefined);
  t.equal(bye(batches)!.coordinatorIncarnation, 'A', 'it says goodbye, naming the incarnation it worked with');
});

t.test('a lone task sent before the first answer came, answered by another incarnation: the client was dropped', async (t) => {
  for (const order of [['A', 'B'], ['B', 'A']] as const) {
    await t.test(`answers from ${order[0]} then ${order[1]}`, async (t) => {
      const { client, submits, batches } = setup(t);
      const first = client.submit(inc, 1);
      await until('the first submission', () => submits.length === 1);
      const second = client.submit(inc, 2);
      await until('the second submission, without waiting for the first answer', () => submits.length === 2);
      t.notOk('coordinatorIncarnation' in submits[1]!.msg, 'it names none: nothing was heard yet');
      // The old coordinator answered the first and died; the new one took the second for a new client.
      submits[0]!.answer(order[0]);
      submits[1]!.answer(order[1]);
      t.equal((await rejection(first.result())).code, 'CLIENT_DROPPED');
      t.equal((await rejection(second.result())).code, 'CLIENT_DROPPED');
      t.equal(thrown(() => client.submit(inc, 3)).code, 'CLIENT_DROPPED');
      await until('its goodbye', () => bye(batches) !== undefined);
      t.equal(bye(batches)!.coordinatorIncarnation, order[0], 'naming the first one heard (the other lets go of it at once)');
    });
  }
});

t.test('a refusal from another incarnation drops the client at once, without waiting for the notice', async (t) => {
  const { client, submits } = setup(t);
  const first = client.submit(inc, 1);
  await until('the first submission', () => submits.length === 1);
  submits[0]!.answer('A');
  const late = client.submit(inc, first);
  await until('the second submission', () => submits.length === 2);
  submits[1]!.answer('B', new FloeError('CLIENT_DROPPED', 'dropped'));
  t.equal((await rejection(late.result())).code, 'CLIENT_DROPPED');
  t.equal((await rejection(first.result())).code, 'CLIENT_DROPPED', 'its earlier keys fail too');
});
