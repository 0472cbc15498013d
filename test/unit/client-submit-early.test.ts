/**
 * A big submission made in one go goes out while the caller is still submitting
 * (Submitter.sendEarly): each piece of the stream as soon as it is full, the same requests
 * the flush alone would send; and only in the plain case (nothing in flight before it,
 * inputs sent before their tasks).
 */
import t from 'tap';
import { FloeError } from '../../src/errors.ts';
import { KeyState } from '../../src/client/future.ts';
import { enqueue, submitterHarness as harness, type SubmitterHarness as Harness } from '../helpers/submitter-harness.ts';

const keys = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `k-${from + i}`);
const sizes = (h: Harness): number[] => h.requests.map((r) => r.tasks.length);

t.test('the pieces of a big submission go out while it is being made, each once it is full', async (t) => {
  const h = harness(true);
  const all = keys(1000);
  for (const [i, key] of all.entries()) {
    enqueue(h, key, i === 0 ? [] : [all[i - 1]!]); // a chain: each task needs the one before
    if (i === 254) t.same(sizes(h), [], 'nothing goes before the submission is big enough to stream');
    if (i === 255) t.same(sizes(h), [64, 128], 'at 256 tasks: the first two pieces; the next one (256) is not full yet');
    if (i === 255) t.same(h.flushes, [2], 'and the transport is flushed after them, while the loop goes on');
    if (i === 447) t.same(sizes(h), [64, 128], 'the third piece is full, but where it ends depends on the task after it (pieceEnd)');
    if (i === 448) t.same(sizes(h), [64, 128, 256], 'the third piece once the task after it is known');
    if (i === 448) t.same(h.flushes, [2, 3], 'flushed after it');
    if (i === 958) t.same(sizes(h), [64, 128, 256], 'the fourth piece (512) one task short');
  }
  t.same(sizes(h), [64, 128, 256, 512], 'the loop ends with the fourth piece sent');
  t.same(h.flushes, [2, 3, 4], 'each piece sent during the loop was flushed at once');
  await h.submitter.drain();
  t.same(sizes(h), [64, 128, 256, 512, 40], 'the flush sends the rest as the last piece');
  t.same(h.flushes, [2, 3, 4], 'the last piece goes when the loop has ended: no flush of its own');
  t.same(h.requests.flatMap((r) => r.tasks.map((s) => s.key)), all, 'every task once, in order');
  for (const r of h.requests) t.same(r.wants, r.tasks.map((s) => s.key), 'every task is wanted');
  t.same(h.released, [], 'nothing to release');
  t.ok(all.every((key) => h.states.get(key)!.submitted));
});

t.test('sent early or not, the requests are the same', async (t) => {
  // 20,000: the early pieces stop at 16,320 tasks, the most that may be unanswered (no
  // reply is read before the loop ends); the flush sends the rest.
  for (const n of [256, 300, 2000, 20_000]) {
    const h = harness(true);
    for (const [i, key] of keys(n).entries()) enqueue(h, key, [], i % 3 === 0);
    await h.submitter.drain();
    const all = keys(n);
    const expected: number[] = [];
    for (let i = 0, size = 64; i < n; i += size, size = Math.min(2 * size, 8192)) expected.push(Math.min(size, n - i));
    t.same(sizes(h), expected, `${n} tasks: the pieces streamPieces would cut`);
    t.same(h.requests.flatMap((r) => r.tasks.map((s) => s.key)), all, `${n} tasks: every task once, in order`);
    const last = h.requests.at(-1)!;
    t.same(last.wants, last.tasks.map((s) => s.key).filter((k) => Number(k.slice(2)) % 3 === 0), 'the last piece wants its wanted keys');
    const kept = h.requests.slice(0, -1).flatMap((r) => r.tasks.map((s) => s.key));
    t.same(h.released, [kept.filter((k) => Number(k.slice(2)) % 3 !== 0)], 'the earlier pieces\' extra wants are released at the end');
  }
});

t.test('pieces sent early want all their keys, the extra wants released after; a piece ending where the submission ends waits for the flush', async (t) => {
  const h = harness(true);
  for (const [i, key] of keys(448).entries()) enqueue(h, key, [], i % 2 === 0);
  await h.submitter.drain();
  t.same(sizes(h), [64, 128, 256]);
  const wanted = (k: string): boolean => Number(k.slice(2)) % 2 === 0;
  for (const r of h.requests.slice(0, 2)) t.same(r.wants, r.tasks.map((s) => s.key), 'a piece sent early wants all its keys');
  t.same(h.requests[2]!.wants, h.requests[2]!.tasks.map((s) => s.key).filter(wanted), 'the last, sent by the flush, only the wanted ones');
  t.same(h.released, [keys(192).filter((k) => !wanted(k))], 'the unwanted keys of the early pieces are released after');
});

t.test('a piece ends where a flow starts, if one starts in its last quarter', async (t) => {
  const h = harness(true);
  // Flows of 10 tasks (chains): the pieces end at flow starts (60, 180, 430, 940), not at 64, 192, 436, 948.
  const all = keys(1000);
  for (const [i, key] of all.entries()) enqueue(h, key, i % 10 === 0 ? [] : [all[i - 1]!]);
  await h.submitter.drain();
  t.same(sizes(h), [60, 120, 250, 510, 60]);
  for (const r of h.requests) t.equal(r.tasks[0]!.deps.length, 0, `the piece of ${r.tasks.length} starts with a flow`);
});

t.test('nothing goes early while an earlier submission is unanswered', async (t) => {
  const h = harness(false);
  enqueue(h, 'first');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(sizes(h), [1], 'the first submission is out, unanswered');
  for (const key of keys(600)) enqueue(h, key);
  t.same(sizes(h), [1], 'the big one waits for the flush');
  const drained = h.submitter.drain();
  h.answer();
  while (h.requests.length < 5) await new Promise((resolve) => setImmediate(resolve));
  while (h.unanswered() > 0) h.answer();
  await drained;
  t.same(sizes(h), [1, 64, 128, 256, 152]);
});

t.test('a task whose input is not sent yet stops the early pieces; the flush sends everything in order', async (t) => {
  const h = harness(true);
  const late = new KeyState('late'); // a key known to the client but not submitted yet
  h.states.set('late', late);
  for (const key of keys(100)) enqueue(h, key);
  enqueue(h, 'needs-late', ['late']);
  for (const key of keys(400, 100)) enqueue(h, key);
  t.same(sizes(h), [64], 'the first piece went; the second holds a task whose input is not sent, and nothing more goes early');
  t.ok(h.states.get('k-63')!.submitted, 'the first piece is marked sent');
  t.notOk(h.states.get('k-64')!.submitted, 'no task of the second piece is marked sent');
  late.submitted = true; // sent by the time the flush runs
  await h.submitter.drain();
  t.same(h.requests.flatMap((r) => r.tasks.map((s) => s.key)), [...keys(100), 'needs-late', ...keys(400, 100)], 'every task once, in order');
});

t.test('a piece sent early that fails fails the whole submission, and its keys are released', async (t) => {
  const h = harness(false);
  const states = keys(300).map((key) => enqueue(h, key));
  t.same(sizes(h), [64, 128], 'two pieces went early');
  const drained = h.submitter.drain();
  h.answer(new FloeError('INVALID_ARGUMENT', 'refused (test)'));
  h.answer();
  while (h.requests.length < 3) await new Promise((resolve) => setImmediate(resolve));
  h.answer();
  await new Promise((resolve) => setImmediate(resolve));
  // The failed piece is tried again once all are answered; it fails again.
  while (h.requests.length < 4) await new Promise((resolve) => setImmediate(resolve));
  h.answer(new FloeError('INVALID_ARGUMENT', 'refused again (test)'));
  await drained;
  t.same(sizes(h), [64, 128, 108, 64], 'the pieces, then the failed one again');
  t.ok(states.every((s) => s.status === 'error' && s.error?.code === 'INVALID_ARGUMENT'), 'every task of the submission failed, the early ones too');
  t.same(h.released, [keys(300)], 'the keys the scheduler may hold are released');
});
