/**
 * Direct submission, the client's side (client/direct.ts and the submitter): which
 * submissions go to a worker, and the fall back to the coordinator when that worker does
 * not answer. End to end: test/integration/direct-submit.test.ts.
 */
import t from 'tap';
import { FloeError } from '../../src/errors.ts';
import { DirectTarget, checkDirectSubmit } from '../../src/client/direct.ts';
import { KeyState } from '../../src/client/future.ts';
import { Submitter } from '../../src/client/submitter.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import type { WireOf } from '../../src/transport/messages.ts';
import type { Transport, TransportMessage } from '../../src/transport/transport.ts';
import { enqueue, noopSpec, submitterHarness } from '../helpers/submitter-harness.ts';

const target = (enabled = true): DirectTarget => new DirectTarget({ enabled, subjectOf: (id) => `direct.${id}`, onUpdates: () => {}, askAgain: () => {} });
const lone = new KeyState('k');
/** Where `d` sends a submission: a worker's direct subject, or undefined (the coordinator). */
const subjectFor = (d: DirectTarget, m: WireOf<'submit'>): string | undefined => d.routeFor(m, lone)?.subject;
const msg = (extra: Partial<WireOf<'submit'>> = {}): WireOf<'submit'> => ({
  type: 'submit', clientId: 'c1', requestId: '1', tasks: [noopSpec('k')], wants: ['k'], missing: [], ...extra,
});

t.test('a lone task goes to the worker of the latest result, once one is known', async (t) => {
  const d = target();
  t.equal(subjectFor(d, msg()), undefined, 'no worker known yet');
  d.noteWorker('w1', '');
  d.noteWorker('w2', '');
  t.equal(subjectFor(d, msg()), 'direct.w2', 'the latest');
  t.equal(subjectFor(d, msg({ tasks: [noopSpec('k'), noopSpec('j')], wants: ['k', 'j'] })), undefined, 'two tasks');
  t.equal(subjectFor(d, msg({ tasks: [noopSpec('k', ['j'])] })), undefined, 'an input');
  t.equal(subjectFor(d, msg({ wants: [] })), undefined, 'not wanted');
  d.failed('direct.w1');
  t.equal(subjectFor(d, msg()), 'direct.w2', 'a failure at another worker changes nothing');
  d.failed('direct.w2');
  t.equal(subjectFor(d, msg()), undefined, 'not tried again after failing');
  d.noteWorker('w2', '');
  t.equal(subjectFor(d, msg()), 'direct.w2', 'until a result names a worker');
  d.noteWorker('', '');
  t.equal(subjectFor(d, msg()), 'direct.w2', 'an update naming no worker is ignored');
});

t.test('directSubmit: false never sends directly; the option must be a boolean', async (t) => {
  const d = target(false);
  d.noteWorker('w1', '');
  t.equal(subjectFor(d, msg()), undefined);
  t.doesNotThrow(() => checkDirectSubmit(undefined));
  t.doesNotThrow(() => checkDirectSubmit(false));
  t.throws(() => checkDirectSubmit('yes'), { code: 'INVALID_OPTION', message: /options\.directSubmit must be a boolean/ });
});

/** A submitter whose transport answers on 'submit' and fails the direct subjects with `directError`. */
function submitter(direct: DirectTarget, directError: Error | undefined): { s: Submitter; subjects: string[]; state: KeyState } {
  const subjects: string[] = [];
  const transport = {
    request: (subject: string, data: Uint8Array): Promise<TransportMessage> => {
      subjects.push(subject);
      if (subject !== 'submit' && directError !== undefined) return Promise.reject(directError);
      const { requestId } = decodeMessage(data) as WireOf<'submit'>;
      const reply = encodeMessage({ type: 'submitReply', requestId, error: undefined });
      return Promise.resolve({ subject, data: reply, headers: undefined, expectsReply: false, replyTo: undefined, respond: () => {} });
    },
    maxPayloadBytes: undefined,
  } as unknown as Transport;
  const state = new KeyState('k');
  const s = new Submitter({
    transport, subject: 'submit', clientId: 'c1', timeoutMs: 10_000, direct,
    isSubmitted: () => false, lookup: () => state, unpin: () => {}, releaseKeys: () => {}, wantsProgress: () => false,
  });
  s.enqueue({ state, spec: noopSpec('k'), def: undefined, moduleUrl: 'file:///tasks.js' }, true);
  return { s, subjects, state };
}

t.test('answered by way of the worker: one request', async (t) => {
  const d = target();
  d.noteWorker('w1', '');
  const { s, subjects } = submitter(d, undefined);
  await s.drain();
  t.same(subjects, ['direct.w1']);
});

t.test('no answer from the worker (gone, or its relay lost): sent to the coordinator, and the worker not tried again', async (t) => {
  const d = target();
  d.noteWorker('w1', '');
  const { s, subjects, state } = submitter(d, new FloeError('REQUEST_TIMEOUT', 'no responders on direct.w1'));
  await s.drain();
  t.same(subjects, ['direct.w1', 'submit']);
  t.equal(state.error, undefined, 'the task did not fail');
  t.equal(subjectFor(d, msg()), undefined);
});

t.test('another error from the worker fails the submission as a coordinator\'s would', async (t) => {
  const d = target();
  d.noteWorker('w1', '');
  const { s, subjects, state } = submitter(d, new FloeError('CLIENT_CLOSED', 'transport is closed'));
  await s.drain();
  t.same(subjects, ['direct.w1']);
  t.match(state.error, { code: 'CLIENT_CLOSED' });
});

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('a lone task is sent without waiting for the answer to the submission before it; anything else waits', async (t) => {
  const h = submitterHarness(false);
  enqueue(h, 'a');
  await turn();
  enqueue(h, 'b');
  await turn();
  t.same(h.requests.map((r) => r.tasks.map((x) => x.key)), [['a'], ['b']], 'b left while a waited for its answer');
  enqueue(h, 'c', ['a']);
  await turn();
  t.equal(h.requests.length, 2, 'c, with an input, waits for the submissions before it');
  enqueue(h, 'd');
  await turn();
  t.equal(h.requests.length, 2, 'and so does a lone task behind it');
  h.answer();
  h.answer();
  await turn();
  t.same(h.requests.slice(2).map((r) => r.tasks.map((x) => x.key)), [['c', 'd']], 'then they go, together');
  h.answer();
  await h.submitter.drain();
  t.equal(h.unanswered(), 0);
  for (const key of ['a', 'b', 'c', 'd']) t.equal(h.states.get(key)!.error, undefined, `${key} did not fail`);
});
