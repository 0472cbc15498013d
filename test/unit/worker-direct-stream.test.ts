/**
 * Direct submissions that come on a client's data-plane stream, the worker's side
 * (worker/direct.ts): taken as those that come on the worker's subject, answered on the
 * reply subject they carry, and the key updates of the runs they started sent back on the
 * client's stream while it is open.
 */
import t from 'tap';
import type { DirectStream } from '../../src/dataplane/dataplane.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import type { KeyUpdate, WireAssign, WireOf } from '../../src/transport/messages.ts';
import type { Transport, TransportMessage } from '../../src/transport/transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { DirectSubmissions } from '../../src/worker/direct.ts';
import { spec } from '../helpers/spec.ts';

function setup(publishThrows = false): {
  direct: DirectSubmissions;
  started: WireAssign[];
  relayed: { msg: WireOf<'submit'>; replyTo: string | undefined }[];
  published: { subject: string; msg: unknown }[];
  warnings: unknown[];
} {
  const started: WireAssign[] = [];
  const relayed: { msg: WireOf<'submit'>; replyTo: string | undefined }[] = [];
  const published: { subject: string; msg: unknown }[] = [];
  const warnings: unknown[] = [];
  const transport = {
    relay: (_subject: string, data: Uint8Array, request: TransportMessage) => relayed.push({ msg: decodeMessage(data) as WireOf<'submit'>, replyTo: request.replyTo }),
    publish: (subject: string, data: Uint8Array) => {
      if (publishThrows) throw new Error('connection closed');
      published.push({ subject, msg: decodeMessage(data) });
    },
  } as unknown as Transport;
  const direct = new DirectSubmissions({
    transport,
    submitSubject: 'floe.x.coord.submit',
    workerId: 'w1',
    epoch: () => 1,
    tryStart: (a) => {
      started.push(a);
      return true;
    },
    report: () => {
      for (const r of direct.takeHeld()) relayed.push({ msg: decodeMessage(r.submit) as WireOf<'submit'>, replyTo: r.replyTo });
    },
    log: { ...silentLogger, warn: (fields) => warnings.push(fields) },
  });
  return { direct, started, relayed, published, warnings };
}

/** A fake stream end on the worker's side, recording what it sends. */
function stream(takes = true): DirectStream<Uint8Array> & { sent: WireOf<'clientUpdates'>[]; closed: boolean } {
  const s = {
    sent: [] as WireOf<'clientUpdates'>[],
    closed: false,
    send: (m: Uint8Array) => {
      if (s.closed || !takes) return false;
      s.sent.push(decodeMessage(m) as WireOf<'clientUpdates'>);
      return true;
    },
    close: () => {
      s.closed = true;
    },
  };
  return s;
}

const lone = (key: string, clientId = 'c1'): Uint8Array => encodeMessage({ type: 'submit', clientId, requestId: '7', tasks: [spec(key)], wants: [key], missing: [] });
const update = (key: string): KeyUpdate => ({ key, status: 'memory', workerId: 'w1', address: 'a:1', nbytes: 1, serializer: { id: 'msgpack', module: '' }, inline: new Uint8Array([7]), error: undefined });

t.test('a lone task on a stream starts here, and is passed on for the reply subject it carries', async (t) => {
  const s = setup();
  const end = stream();
  const events = s.direct.accept(end);
  events.message({ replyTo: '_INBOX.c1.5', submit: lone('k') });
  s.direct.close(); // asks for a report: it carries the held submission
  t.match(s.started, [{ id: 'c1/k', tellClient: true }]);
  t.equal(s.relayed.length, 1);
  t.equal(s.relayed[0]!.replyTo, '_INBOX.c1.5', 'the coordinator answers the client\'s request');
  t.match(s.relayed[0]!.msg, { clientId: 'c1', direct: { workerId: 'w1' } });
  t.same(s.direct.counts, { started: 1, passedOn: 0 });
});

t.test('the update of a run a client sent on its stream goes back on that stream while it is open', async (t) => {
  const s = setup();
  const end = stream();
  const events = s.direct.accept(end);
  t.equal(s.direct.tell('c1', update('k')), false, 'no stream of c1 yet: the usual way');
  events.message({ replyTo: 'r', submit: lone('k') });
  t.equal(s.direct.tell('c1', update('k')), true);
  t.match(end.sent, [{ type: 'clientUpdates', updates: [{ key: 'k', workerId: 'w1', inline: new Uint8Array([7]) }] }]);
  t.equal(s.direct.tell('c2', update('j')), false, 'another client\'s: the usual way');
  events.closed(new Error('reset'));
  t.equal(s.direct.tell('c1', update('k')), false, 'the stream ended: the usual way');
});

t.test('a stream that does not take the update: the update goes the usual way, and the stream is not used again', async (t) => {
  const s = setup();
  const end = stream(false);
  s.direct.accept(end).message({ replyTo: 'r', submit: lone('k') });
  t.equal(s.direct.tell('c1', update('k')), false);
  t.equal(s.direct.tell('c1', update('k')), false);
});

t.test('a client that left, or a worker that closes: its stream is closed', async (t) => {
  const s = setup();
  const a = stream();
  const b = stream();
  s.direct.accept(a).message({ replyTo: 'r', submit: lone('k', 'c1') });
  s.direct.accept(b).message({ replyTo: 'r', submit: lone('k', 'c2') });
  s.direct.left('c1');
  t.equal(a.closed, true);
  t.equal(s.direct.tell('c1', update('k')), false);
  t.equal(b.closed, false);
  s.direct.close();
  t.equal(b.closed, true);
});

t.test('an older stream of a client that ends does not drop its newer one', async (t) => {
  const s = setup();
  const old = stream();
  const now = stream();
  const oldEvents = s.direct.accept(old);
  oldEvents.message({ replyTo: 'r', submit: lone('k') });
  s.direct.accept(now).message({ replyTo: 'r', submit: lone('j') });
  oldEvents.closed(new Error('reset'));
  t.equal(s.direct.tell('c1', update('j')), true);
  t.equal(now.sent.length, 1);
});

t.test('bad input on a stream is answered with an error on its reply subject, and not passed on', async (t) => {
  const s = setup();
  s.direct.accept(stream()).message({ replyTo: '_INBOX.c1.9', submit: new Uint8Array([0xff, 0x01]) });
  t.equal(s.relayed.length, 0);
  t.equal(s.started.length, 0);
  t.match(s.published, [{ subject: '_INBOX.c1.9', msg: { type: 'error', error: { code: 'MALFORMED_MESSAGE' } } }]);
  t.equal(s.warnings.length, 1);
});

t.test('an answer that cannot be published is logged (the client\'s request times out and goes to the coordinator)', async (t) => {
  const s = setup(true);
  s.direct.accept(stream()).message({ replyTo: '_INBOX.c1.9', submit: new Uint8Array([0xff, 0x01]) });
  t.equal(s.warnings.length, 2, 'the bad submission, and the answer that could not go');
});
