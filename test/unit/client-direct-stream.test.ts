/**
 * Direct submission on a data-plane stream, the client's side (client/direct.ts): a lone
 * task goes on the stream to the worker of the latest result, its key update comes back on
 * it, and whatever a broken stream may have lost is asked of the coordinator again. The
 * streams here are fakes; the gRPC ones: test/unit/grpc-direct.test.ts.
 */
import t from 'tap';
import { DirectTarget, type DirectRoute } from '../../src/client/direct.ts';
import { KeyState } from '../../src/client/future.ts';
import type { DirectEvents, DirectStream, DirectSubmission } from '../../src/dataplane/dataplane.ts';
import { FloeError } from '../../src/errors.ts';
import { encodeMessage } from '../../src/transport/codec.ts';
import type { KeyUpdate, WireOf } from '../../src/transport/messages.ts';
import { noopSpec } from '../helpers/submitter-harness.ts';

interface FakeStream {
  address: string;
  events: DirectEvents<Uint8Array>;
  sent: DirectSubmission[];
  closed: boolean;
  /** What `send` answers (false: not taken). */
  takes: boolean;
}

function harness(): {
  d: DirectTarget; streams: FakeStream[]; updates: KeyUpdate[][]; askedAgain: string[];
} {
  const streams: FakeStream[] = [];
  const updates: KeyUpdate[][] = [];
  const askedAgain: string[] = [];
  const d = new DirectTarget({
    enabled: true,
    subjectOf: (id) => `direct.${id}`,
    open: (address, events) => {
      const fake: FakeStream = { address, events, sent: [], closed: false, takes: true };
      streams.push(fake);
      const stream: DirectStream<DirectSubmission> = {
        send: (m) => {
          if (fake.closed || !fake.takes) return false;
          fake.sent.push(m);
          return true;
        },
        close: () => {
          fake.closed = true;
        },
      };
      return stream;
    },
    onUpdates: (wire) => updates.push(wire.updates),
    askAgain: (state) => askedAgain.push(state.key),
  });
  return { d, streams, updates, askedAgain };
}

const submitOf = (key: string): WireOf<'submit'> => ({ type: 'submit', clientId: 'c1', requestId: '1', tasks: [noopSpec(key)], wants: [key], missing: [] });

/** Sends `state`'s lone task by `route` as a request would; returns how it was failed, if it was. */
function send(route: DirectRoute, replyTo: string): { failed: Error[] } {
  const failed: Error[] = [];
  route.via!(replyTo, new Uint8Array([1, 2, 3]), (error) => failed.push(error));
  return { failed };
}

/** Sends a lone task of `key` on a stream to worker w1, answered and its update not come yet. */
function sentAndAnswered(d: DirectTarget, key: string): KeyState {
  d.noteWorker('w1', '127.0.0.1:1');
  const state = new KeyState(key);
  const route = d.routeFor(submitOf(key), state)!;
  send(route, `r.${key}`);
  route.answered(true);
  return state;
}

const update = (key: string): KeyUpdate => ({ key, status: 'memory', workerId: 'w1', address: '127.0.0.1:1', nbytes: 1, serializer: { id: 'msgpack', module: '' }, inline: new Uint8Array([1]), error: undefined });

t.test('a lone task goes on a stream to the worker\'s address; its update comes back on it', async (t) => {
  const { d, streams, updates, askedAgain } = harness();
  const a = new KeyState('a');
  t.equal(d.routeFor(submitOf('a'), a), undefined, 'no worker known yet');
  d.noteWorker('w1', '127.0.0.1:1');
  const route = d.routeFor(submitOf('a'), a)!;
  t.equal(route.subject, 'direct.w1');
  t.type(route.via, 'function', 'sent on a stream, not to the subject');
  send(route, '_INBOX.x.1');
  t.equal(streams.length, 1);
  t.equal(streams[0]!.address, '127.0.0.1:1');
  t.same(streams[0]!.sent.map((m) => ({ replyTo: m.replyTo, submit: [...m.submit] })), [{ replyTo: '_INBOX.x.1', submit: [1, 2, 3] }]);
  streams[0]!.events.message(encodeMessage({ type: 'clientUpdates', updates: [update('a')] }));
  t.same(updates.map((u) => u.map((x) => x.key)), [['a']]);
  d.settled(a);
  route.answered(true);
  // The next one goes on the same stream.
  send(d.routeFor(submitOf('b'), new KeyState('b'))!, '_INBOX.x.2');
  t.equal(streams.length, 1);
  t.equal(streams[0]!.sent.length, 2);
  d.noteWorker('w2', '127.0.0.1:2');
  send(d.routeFor(submitOf('c'), new KeyState('c'))!, '_INBOX.x.3');
  t.same(streams.map((s) => s.address), ['127.0.0.1:1', '127.0.0.1:2'], 'another worker, another stream');
  t.same(askedAgain, []);
});

t.test('a stream that breaks: answered keys still owed are asked for again; an unanswered request fails over, and is asked for once answered', async (t) => {
  const { d, streams, askedAgain } = harness();
  d.noteWorker('w1', '127.0.0.1:1');
  const a = new KeyState('a');
  const b = new KeyState('b');
  const c = new KeyState('c');
  const ra = d.routeFor(submitOf('a'), a)!;
  send(ra, 'r.a');
  ra.answered(true);
  const rb = d.routeFor(submitOf('b'), b)!;
  const sentB = send(rb, 'r.b');
  const rc = d.routeFor(submitOf('c'), c)!;
  send(rc, 'r.c');
  rc.answered(true);
  d.settled(c); // its update came: nothing owed
  streams[0]!.events.closed(new Error('connection reset'));
  t.same(askedAgain, ['a'], 'a was answered and its update had not come');
  t.equal(sentB.failed.length, 1, 'b\'s request fails at once (it goes to the coordinator)');
  rb.answered(true);
  t.same(askedAgain, ['a', 'b'], 'b, once answered, is asked for too');
  const again = d.routeFor(submitOf('e'), new KeyState('e'))!;
  send(again, 'r.e');
  t.equal(streams.length, 2, 'the next lone task opens a new stream');
});

t.test('a submission not accepted is owed nothing', async (t) => {
  const { d, streams, askedAgain } = harness();
  d.noteWorker('w1', '127.0.0.1:1');
  const route = d.routeFor(submitOf('a'), new KeyState('a'))!;
  send(route, 'r.a');
  route.answered(false);
  streams[0]!.events.closed(new Error('gone'));
  t.same(askedAgain, []);
});

t.test('a key done meanwhile (failed, or its update came another way) is not asked for', async (t) => {
  const { d, streams, askedAgain } = harness();
  const a = sentAndAnswered(d, 'a');
  a.fail(new FloeError('INTERNAL', 'boom'));
  streams[0]!.events.closed(new Error('gone'));
  t.same(askedAgain, []);
});

t.test('a stream closed by the client asks nothing again; neither does one that ended cleanly', async (t) => {
  const { d, streams, askedAgain } = harness();
  sentAndAnswered(d, 'a');
  d.close();
  t.equal(streams[0]!.closed, true);
  streams[0]!.events.closed();
  t.same(askedAgain, []);
});

t.test('something on a stream that is not key updates ends it as broken', async (t) => {
  const { d, streams, updates, askedAgain } = harness();
  sentAndAnswered(d, 'a');
  streams[0]!.events.message(new Uint8Array([0xff, 0xff, 0xff]));
  t.equal(streams[0]!.closed, true, 'closed');
  t.same(askedAgain, ['a']);
  streams[0]!.events.message(encodeMessage({ type: 'submitReply', requestId: '1', error: undefined }));
  t.same(updates, []);
});

t.test('a submission the stream does not take fails its direct attempt at once', async (t) => {
  const { d, streams } = harness();
  d.noteWorker('w1', '127.0.0.1:1');
  const route = d.routeFor(submitOf('a'), new KeyState('a'))!;
  route.via!('r.a', new Uint8Array(1), () => {}); // opens the stream
  streams[0]!.takes = false;
  const next = d.routeFor(submitOf('b'), new KeyState('b'))!;
  t.throws(() => next.via!('r.b', new Uint8Array(1), () => {}), { code: 'REQUEST_TIMEOUT' });
});

t.test('without streams in the data plane, a lone task goes to the worker\'s subject', async (t) => {
  const d = new DirectTarget({ enabled: true, subjectOf: (id) => `direct.${id}`, onUpdates: () => {}, askAgain: () => {} });
  d.noteWorker('w1', '127.0.0.1:1');
  const route = d.routeFor(submitOf('a'), new KeyState('a'))!;
  t.equal(route.subject, 'direct.w1');
  t.equal(route.via, undefined);
});

t.test('a worker that takes no direct streams (an older one) gets lone tasks on its subject from then on', async (t) => {
  const { d, streams } = harness();
  d.noteWorker('w1', '127.0.0.1:1');
  const first = d.routeFor(submitOf('a'), new KeyState('a'))!;
  const sent = send(first, 'r.a');
  streams[0]!.events.closed(Object.assign(new Error('UNIMPLEMENTED'), { unsupported: true }));
  t.equal(sent.failed.length, 1, 'the request fails over at once');
  const next = d.routeFor(submitOf('b'), new KeyState('b'))!;
  t.equal(next.subject, 'direct.w1');
  t.equal(next.via, undefined, 'to the worker\'s subject');
  d.noteWorker('w2', '127.0.0.1:2');
  t.type(d.routeFor(submitOf('c'), new KeyState('c'))!.via, 'function', 'another worker still gets a stream');
});
