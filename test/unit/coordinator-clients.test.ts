/**
 * The coordinator's side of incarnations (coordinator/client-registry.ts, client-side.ts),
 * driven with raw messages on the in-process bus: a submission naming no incarnation
 * introduces its client; one naming this coordinator's is from a client it knows; one
 * naming another is from a client whose work was with an earlier coordinator, which is
 * answered with CLIENT_DROPPED and told it was dropped, never taken for a new client.
 */
import t, { type Test } from 'tap';
import { Coordinator } from '../../src/coordinator/coordinator.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import { subjects, type WireMessage, type WireOf } from '../../src/transport/messages.ts';
import { ReliableEndpoint } from '../../src/transport/reliable.ts';
import { until } from '../helpers/e2e.ts';
import { spec } from '../helpers/spec.ts';

const cluster = 'inc';
const s = subjects(cluster);

function setup(t: Test): {
  coordinator: Coordinator;
  submit(clientId: string, key: string, named?: string): Promise<WireOf<'submitReply'>>;
  batch(clientId: string, fields: Partial<WireOf<'clientBatch'>>): void;
  inbox(clientId: string): WireMessage[];
  tasks(): number;
} {
  const bus = new InprocBus();
  const coordinator = new Coordinator({ transport: bus.connect(), cluster, incarnation: 'me', clientTimeoutMs: 0, heartbeatTimeoutMs: 0 });
  coordinator.start();
  const raw = bus.connect();
  const link = new ReliableEndpoint({ transport: bus.connect(), ackSubject: s.ack('client.test') });
  const inboxes = new Map<string, WireMessage[]>();
  t.teardown(async () => {
    link.close();
    await coordinator.close();
  });
  let seq = 0;
  return {
    coordinator,
    async submit(clientId, key, named) {
      seq += 1;
      const msg: WireOf<'submit'> = {
        type: 'submit', clientId, requestId: String(seq), tasks: [spec(key)], wants: [key], missing: [],
        ...(named === undefined ? {} : { coordinatorIncarnation: named }),
      };
      const reply = decodeMessage((await raw.request(s.submit, encodeMessage(msg), { timeoutMs: 5000 })).data);
      if (reply.type !== 'submitReply') throw new Error(`unexpected ${reply.type}`);
      return reply;
    },
    batch(clientId, fields) {
      const msg: WireOf<'clientBatch'> = { type: 'clientBatch', clientId, release: [], cancel: [], hello: false, bye: false, ...fields };
      link.send(s.client, encodeMessage(msg));
    },
    /** What the coordinator sends `clientId` from now on (a dropped client's link is forgotten once the notice is sent). */
    inbox(clientId) {
      let got = inboxes.get(clientId);
      if (got === undefined) {
        const list: WireMessage[] = [];
        link.listen(s.clientInbox(clientId), (data) => list.push(decodeMessage(data)));
        inboxes.set(clientId, (got = list));
      }
      return got;
    },
    tasks: () => Object.values(coordinator.status().tasks).reduce((n, c) => n + c, 0),
  };
}

const droppedNotice = (msgs: WireMessage[]): boolean => msgs.some((m) => m.type === 'clientUpdates' && m.dropped === true && m.incarnation === 'me');

t.test('first contact introduces; naming this incarnation is a known client; every answer names it', async (t) => {
  const c = setup(t);
  const first = await c.submit('new', 'a');
  t.same(first, { type: 'submitReply', requestId: '1', error: undefined, incarnation: 'me' }, 'accepted, naming the incarnation');
  t.equal(c.coordinator.status().clients, 1);
  t.match(await c.submit('new', 'b', 'me'), { error: undefined, incarnation: 'me' }, 'then naming it: accepted');
  t.equal(c.tasks(), 2, 'both tasks are the scheduler\'s');
  const unknown = c.inbox('unknown');
  c.batch('new', { coordinatorIncarnation: 'me' });
  c.batch('unknown', { coordinatorIncarnation: 'me' });
  await until('the unknown client told it was dropped', () => droppedNotice(unknown));
  t.equal(c.coordinator.status().clients, 1, 'a known client\'s batch naming this incarnation is a sign of life; an unknown one\'s is not an introduction');
});

t.test('a submission naming another incarnation is refused with CLIENT_DROPPED, and its client told; it stays dropped', async (t) => {
  const c = setup(t);
  const inbox = c.inbox('old');
  const reply = await c.submit('old', 'late', 'before');
  t.match(reply, { error: { code: 'CLIENT_DROPPED' }, incarnation: 'me' });
  await until('the client told it was dropped', () => droppedNotice(inbox));
  t.equal(c.coordinator.status().clients, 0, 'not taken for a new client');
  t.equal(c.tasks(), 0, 'its task not taken');
  t.match(await c.submit('old', 'again'), { error: { code: 'CLIENT_DROPPED' } }, 'nor later, naming none');
  t.equal(c.tasks(), 0);
});

t.test('a client introduced by a first contact that then names another incarnation is let go, and told', async (t) => {
  const c = setup(t);
  await c.submit('other', 'x');
  // Its first submission reached the coordinator before this one, its second (sent before
  // the answer to the first) reached this one: then it names the one that answered first.
  t.match(await c.submit('raced', 'r1'), { error: undefined });
  t.equal(c.coordinator.status().clients, 2);
  t.equal(c.tasks(), 2);
  const inbox = c.inbox('raced');
  t.match(await c.submit('raced', 'r2', 'before'), { error: { code: 'CLIENT_DROPPED' }, incarnation: 'me' });
  await until('the client told it was dropped', () => droppedNotice(inbox));
  t.equal(c.coordinator.status().clients, 1);
  t.equal(c.tasks(), 1, 'what it had here is released');

  await c.submit('leaving', 'l1');
  t.equal(c.tasks(), 2);
  c.batch('leaving', { bye: true, coordinatorIncarnation: 'before' });
  await until('a leaving one named another incarnation: let go', () => c.coordinator.status().clients === 1);
  t.equal(c.tasks(), 1);

  await c.submit('beating', 'h1');
  const beating = c.inbox('beating');
  c.batch('beating', { coordinatorIncarnation: 'before' });
  await until('a heartbeat naming another incarnation: told it was dropped', () => droppedNotice(beating));
  t.equal(c.coordinator.status().clients, 1);
  t.equal(c.tasks(), 1);
});

t.test('an incarnation given must be a non-empty string (empty names none on the wire)', async (t) => {
  const bus = new InprocBus();
  t.throws(() => new Coordinator({ transport: bus.connect(), cluster, incarnation: '' }), { code: 'INVALID_OPTION', message: /options\.incarnation/ });
  const a = new Coordinator({ transport: bus.connect(), cluster });
  const b = new Coordinator({ transport: bus.connect(), cluster });
  t.ok(a.incarnation.length >= 12 && a.incarnation !== b.incarnation, 'random by default, one per start');
});
