/**
 * Copies a client asks for (scheduler/replicas.ts, Client.replicate): each result sent to
 * the workers that lack it, least loaded first, until it has its target of holders; the
 * target is capped by the workers not retiring; a result not in memory gets none. A
 * retiring worker's copy that fails (replicateFailed, scheduler/retire.ts) goes elsewhere.
 * End to end: test/integration/replicate.test.ts.
 */
import t from 'tap';
import { Harness } from '../helpers/scheduler-harness.ts';
import { spec } from '../helpers/spec.ts';

/** Workers w1, w2 and w3, and `a` (100 bytes) made on w1. */
function threeWorkers(): Harness {
  const h = new Harness();
  h.join('w1');
  h.join('w2');
  h.join('w3');
  t.same(h.submit([spec('a')], ['a']), ['submitReply ok', 'assign w1 c/a']);
  h.finish('c/a', 100);
  return h;
}

/** Three workers, `a` made on w1 (its holder), w2 holding more bytes than w3. */
function setup(): Harness {
  const h = threeWorkers();
  t.same(h.submit([spec('big')], ['big']), ['submitReply ok', 'assign w1 c/big']);
  h.finish('c/big', 5000);
  h.send({ type: 'replicated', workerId: 'w2', ids: ['c/big'] });
  return h;
}

const ask = (h: Harness, keys: string[], n: number): string[] => h.send({ type: 'replicateRequested', clientId: 'c', keys, n });

t.test('copies go to the least loaded workers that lack the result, up to n holders', async (t) => {
  const h = setup();
  t.same(ask(h, ['a'], 2), ['replicate w3 c/a from w1'], 'one more holder, on w3 (w2 holds more bytes)');
  t.same(h.s.replicaTargets('c', ['a'], 2), [{ key: 'a', holders: 2 }]);
  h.send({ type: 'replicated', workerId: 'w3', ids: ['c/a'] });
  t.same(h.s.holdersOf('c/a'), ['w1', 'w3']);
  t.same(ask(h, ['a'], 2), [], 'there already: nothing sent');
  t.same(ask(h, ['a'], 0), ['replicate w2 c/a from w1,w3'], 'n 0: every worker');
  t.same(ask(h, ['a', 'big'], 9), ['replicate w2 c/a from w1,w3', 'replicate w3 c/big from w1,w2'], 'n past the workers: capped at them; asked again, the missing copy is sent again');
  t.same(h.s.replicaTargets('c', ['a', 'big'], 9), [{ key: 'a', holders: 3 }, { key: 'big', holders: 3 }]);
});

t.test('a retiring worker gets no copy and does not count toward the target', async (t) => {
  const h = setup();
  h.send({ type: 'workerRetiring', workerId: 'w3' });
  t.same(ask(h, ['a'], 0), ['replicate w2 c/a from w1'], 'every worker not retiring: w1 and w2');
  t.same(h.s.replicaTargets('c', ['a'], 0), [{ key: 'a', holders: 2 }]);
});

t.test('a result not in memory, unknown, or of another client gets no copy and a target of 0', async (t) => {
  const h = setup();
  t.same(h.submit([spec('pending')], ['pending']), ['submitReply ok', 'assign w1 c/pending'], 'running, not in memory');
  t.same(ask(h, ['pending', 'nope'], 2), []);
  t.same(h.send({ type: 'replicateRequested', clientId: 'other', keys: ['a'], n: 2 }), [], "another client's key a is not c's");
  t.same(h.s.replicaTargets('c', ['pending', 'nope'], 2), [{ key: 'pending', holders: 0 }, { key: 'nope', holders: 0 }]);
});

t.test("a retiring worker's copy that fails goes to another worker, never again to the one that failed it", async (t) => {
  const h = threeWorkers();
  t.same(h.send({ type: 'replicateFailed', workerId: 'w2', ids: ['c/a'] }), [], 'a failed copy a client asked for: nothing to do (the client asks again)');
  t.same(h.send({ type: 'workerRetiring', workerId: 'w1' }), ['replicate w2 c/a from w1']);
  t.same(h.send({ type: 'replicateFailed', workerId: 'w2', ids: ['c/a'] }), ['replicate w3 c/a from w1'], 'sent elsewhere at once');
  t.same(h.send({ type: 'replicateFailed', workerId: 'w3', ids: ['c/a'] }), [], 'nobody else: w1 stays retiring');
  t.same(h.send({ type: 'workerRetiring', workerId: 'w1' }), ['replicate w2 c/a from w1'], 'asked again: the failures are forgotten');
  t.same(h.send({ type: 'replicated', workerId: 'w2', ids: ['c/a'] }), ['retired w1']);
  t.same(h.s.holdersOf('c/a'), ['w2']);
});
