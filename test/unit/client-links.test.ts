// Key updates a worker sends clients itself (WireAssign.tellClient): gathered with the
// run's report and sent just before it (Reports), over the worker's reliable link to the
// client's inbox (ClientLinks), never again to a client that left.
import t from 'tap';
import { decodeMessage } from '../../src/transport/codec.ts';
import { InprocBus } from '../../src/transport/inproc/bus.ts';
import type { KeyUpdate, WireFinished } from '../../src/transport/messages.ts';
import { ReliableEndpoint } from '../../src/transport/reliable.ts';
import { silentLogger, type Logger } from '../../src/util/logger.ts';
import { ClientLinks } from '../../src/worker/client-links.ts';
import { Reports, type Outgoing } from '../../src/worker/reports.ts';

const serializer = { id: 'msgpack', module: '' };
const update = (key: string): KeyUpdate => ({
  key, status: 'memory', workerId: 'w1', address: 'inproc://w1', nbytes: 1, serializer, inline: new Uint8Array([7]), error: undefined,
});
const finished = (id: string): WireFinished => ({ id, runId: 1, nbytes: 1, serializer, inline: new Uint8Array([7]), durationMs: 0, startedAtMs: 0 });
const inbox = (clientId: string): string => `floe.t.client.${clientId}`;

t.test('updates go out per client just before the report of their runs; a departed client\'s are dropped', async (t) => {
  const sent: string[] = [];
  const reports = new Reports({
    busy: () => false,
    send: (out: Outgoing) => sent.push(`report ${out.finished.map((f) => f.id).join(' ')}`),
    tell: (updates) => {
      for (const [clientId, list] of updates) sent.push(`tell ${clientId} ${list.map((u) => u.key).join(' ')}`);
    },
  });
  reports.finished(finished('c1/a'));
  reports.tell('c1', update('a'));
  reports.finished(finished('c2/b'));
  reports.tell('c2', update('b'));
  reports.finished(finished('c1/c'));
  reports.tell('c1', update('c'));
  reports.flush();
  t.same(sent, ['tell c1 a c', 'tell c2 b', 'report c1/a c2/b c1/c']);

  sent.length = 0;
  reports.finished(finished('c1/d'));
  reports.tell('c1', update('d'));
  reports.finished(finished('c3/e'));
  reports.tell('c3', update('e'));
  reports.dropClient('c1');
  reports.flush();
  t.same(sent, ['tell c3 e', 'report c1/d c3/e'], 'the coordinator still hears of every run');

  sent.length = 0;
  reports.tell('c3', update('f'));
  reports.clear();
  reports.flush();
  t.same(sent, [], 'a worker starting over drops what it had not sent');
});

t.test('a client gets its updates over the worker\'s reliable link; a client that left gets nothing more, and its link is dropped', async (t) => {
  const bus = new InprocBus();
  const worker = new ReliableEndpoint({ transport: bus.connect(), ackSubject: 'floe.t.ack.worker.w1' });
  const client = new ReliableEndpoint({ transport: bus.connect(), ackSubject: 'floe.t.ack.client.c1' });
  t.teardown(() => {
    worker.close();
    client.close();
  });
  const got: KeyUpdate[] = [];
  let delivered!: () => void;
  let arrived = new Promise<void>((resolve) => (delivered = resolve));
  client.listen(inbox('c1'), (payload) => {
    const msg = decodeMessage(payload);
    if (msg.type === 'clientUpdates') got.push(...msg.updates);
    delivered();
  });
  const warnings: unknown[] = [];
  const log: Logger = { ...silentLogger, warn: (fields) => warnings.push(fields) };
  const links = new ClientLinks({ link: worker, inbox, maxPayloadBytes: () => undefined, log });

  links.send(new Map([['c1', [update('a'), update('b')]]]));
  await arrived;
  t.same(got.map((u) => [u.key, u.status, u.workerId, u.address, [...(u.inline ?? [])]]), [
    ['a', 'memory', 'w1', 'inproc://w1', [7]],
    ['b', 'memory', 'w1', 'inproc://w1', [7]],
  ]);
  t.ok(await worker.flush(5000), 'the client acknowledged them');

  // A client that is gone (nobody listens): its frames wait unacknowledged until it is known to have left.
  links.send(new Map([['c2', [update('x')]]]));
  t.equal(worker.pending(inbox('c2')), 1);
  t.notOk(links.isGone('c2'));
  links.left('c2');
  t.ok(links.isGone('c2'));
  t.equal(worker.pending(inbox('c2')), 0, 'its link is dropped with what it had not acknowledged');
  const sentBefore = worker.stats().sent;
  links.send(new Map([['c2', [update('y')]]]));
  t.equal(worker.stats().sent, sentBefore, 'nothing more is sent to it');
  t.equal(worker.pending(inbox('c2')), 0);
  t.same(warnings, []);

  // Others are unaffected.
  arrived = new Promise<void>((resolve) => (delivered = resolve));
  links.send(new Map([['c1', [update('c')]]]));
  await arrived;
  t.same(got.map((u) => u.key), ['a', 'b', 'c']);
});

t.test('a link that refuses more (a client silent for very long) is logged, not thrown', async (t) => {
  const bus = new InprocBus();
  const worker = new ReliableEndpoint({ transport: bus.connect(), ackSubject: 'floe.t.ack.worker.w1', unackedMax: 1 });
  t.teardown(() => worker.close());
  const warnings: unknown[] = [];
  const links = new ClientLinks({ link: worker, inbox, maxPayloadBytes: () => undefined, log: { ...silentLogger, warn: (fields) => warnings.push(fields) } });
  links.send(new Map([['c9', [update('a')]]]));
  t.doesNotThrow(() => links.send(new Map([['c9', [update('b')]]])));
  t.equal(warnings.length, 1);
  t.match(warnings[0], { clientId: 'c9', err: { code: 'LIMIT_EXCEEDED' } });
});
