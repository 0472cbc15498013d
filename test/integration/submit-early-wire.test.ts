/**
 * The pieces a loop of submit calls sends early (Submitter.sendEarly) are on the wire while
 * the loop still runs. nats.js writes what is published when the current task ends, and
 * the caller's loop is that task: without a flush, the coordinator got nothing before the
 * loop was over. Here a second connection, in a thread of its own, must see the first
 * pieces while this thread is still inside the loop (blocked on that thread's signal).
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { KeyState } from '../../src/client/future.ts';
import { Submitter } from '../../src/client/submitter.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { natsServer, natsTransport } from '../helpers/nats.ts';
import { noopSpec } from '../helpers/submitter-harness.ts';

const SUBJECT = 'floe.test.submit';
/** How long the loop waits for the other thread's word before the test gives up on it. */
const SEEN_TIMEOUT_MS = 10_000;

t.test('a piece sent early is on the wire before the loop that sent it ends', async (t) => {
  const server = await natsServer(t);
  const transport = await natsTransport(t, server);
  const requests: string[] = [];
  transport.subscribe(SUBJECT, (msg) => {
    const submit = decodeMessage(msg.data);
    if (submit.type !== 'submit') throw new Error(`unexpected ${submit.type}`);
    requests.push(submit.requestId);
    msg.respond(encodeMessage({ type: 'submitReply', requestId: submit.requestId, error: undefined }));
  });
  await transport.flush();

  const seen = new Int32Array(new SharedArrayBuffer(4));
  // A thread does not take the test's tsx from its arguments (as pool threads, see
  // runtime/load-module.ts): it registers tsx, then imports the TypeScript fixture.
  const fixture = JSON.stringify(new URL('../fixtures/nats-observer.ts', import.meta.url).href);
  const observer = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${fixture}); })`, {
    eval: true,
    workerData: { url: server.url, subject: SUBJECT, seen: seen.buffer },
    execArgv: [],
  });
  t.teardown(() => observer.terminate());
  await once(observer, 'message');

  const states = new Map<string, KeyState>();
  const submitter = new Submitter({
    transport, subject: SUBJECT, clientId: 'c1', timeoutMs: 30_000,
    isSubmitted: (key) => states.get(key)?.submitted ?? false,
    lookup: (key) => states.get(key),
    unpin: () => {},
    releaseKeys: () => {},
    wantsProgress: () => false,
  });
  // The caller's loop: 256 submits send the first two pieces (64 and 128 tasks); then it
  // goes on with other work, here waiting for the other thread to see a piece. Nothing in
  // between gives this thread's event loop a turn.
  for (let i = 0; i < 256; i++) {
    const key = `k-${i}`;
    const state = new KeyState(key);
    states.set(key, state);
    submitter.enqueue({ state, spec: noopSpec(key), def: undefined, moduleUrl: 'file:///tasks.js' }, true);
  }
  const waited = Atomics.wait(seen, 0, 0, SEEN_TIMEOUT_MS);
  t.not(waited, 'timed-out', 'the other connection saw a piece while the loop was still running');
  t.ok(Atomics.load(seen, 0) >= 1, 'it counted the piece');

  await submitter.drain();
  t.equal(requests.length, 3, 'the two early pieces and the rest (64 tasks) were all answered');
  t.ok([...states.values()].every((s) => s.submitted), 'every task was submitted');
});
