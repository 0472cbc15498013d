/**
 * The wants a streamed submission sends (PieceStream, piece-stream.ts): every piece's keys
 * until the rest arrives, the last piece's wanted keys, earlier keys' wants before the last
 * piece, and the extra wants released at the end; the same whether every task is wanted
 * (the common case, handled without sets of keys) or not.
 */
import t from 'tap';
import { wantsAreKeysOf } from '../../src/client/submit-pieces.ts';
import { encodeMessage } from '../../src/transport/codec.ts';
import { enqueue, noopSpec, submitterHarness as harness } from '../helpers/submitter-harness.ts';

const keys = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `k-${from + i}`);

t.test('every task wanted: each piece wants its own keys, nothing is released', async (t) => {
  const h = harness(true);
  for (const key of keys(300)) enqueue(h, key, [], true);
  await h.submitter.drain();
  t.same(h.requests.map((r) => r.tasks.length), [64, 128, 108]);
  for (const r of h.requests) t.same(r.wants, r.tasks.map((s) => s.key));
  t.same(h.released, []);
});

t.test('some tasks wanted, and a key sent before: pieces want all their keys, the extra wants are released', async (t) => {
  const h = harness(true);
  enqueue(h, 'early', [], false);
  await h.submitter.drain();
  h.requests.length = 0;
  for (const [i, key] of keys(300).entries()) enqueue(h, key, [], i % 3 === 0);
  h.submitter.want(h.states.get('early')!);
  await h.submitter.drain();
  t.same(h.requests.map((r) => r.tasks.length), [64, 128, 0, 108], 'the earlier want goes alone, before the last piece');
  t.same(h.requests[0]!.wants, keys(64));
  t.same(h.requests[1]!.wants, keys(128, 64));
  t.same(h.requests[2]!.wants, ['early']);
  t.same(h.requests[3]!.wants, keys(108, 192).filter((k) => Number(k.slice(2)) % 3 === 0));
  t.same(h.released, [keys(192).filter((k) => Number(k.slice(2)) % 3 !== 0)]);
});

t.test('big arguments over the payload limit: each request fits and is the only message encoded for its tasks', async (t) => {
  const limit = 64 * 1024;
  for (const count of [3, 300]) {
    const h = harness(true, limit);
    const argsOf = (i: number): Uint8Array => new Uint8Array(40 * 1024).fill(i % 251);
    for (const [i, key] of keys(count).entries()) enqueue(h, key, [], true, argsOf(i));
    await h.submitter.drain();
    t.equal(h.requests.length, count, `${count} tasks: one request each (two of 40 KiB do not fit in 64)`);
    t.same(h.requests.flatMap((r) => r.tasks.map((s) => s.key)), keys(count), 'every task once, in order');
    t.ok(h.requests.every((r, i) => r.tasks[0]!.args.every((b) => b === i % 251)), 'each with its own arguments');
    for (const r of h.requests) t.same(r.wants, r.tasks.map((s) => s.key));
    t.same(h.requests.map((r) => encodeMessage(r).byteLength).filter((bytes) => bytes > limit), [], 'none over the limit');
    // Every encoded submission takes the next request id: ids without gaps mean no
    // submission was encoded whole (tens of MiB with real arguments) and then cut.
    t.same(h.requests.map((r) => Number(r.requestId)), h.requests.map((_, i) => i + 1), 'request ids without gaps');
  }
});

t.test('wantsAreKeysOf: the keys of the pieces, all of them and in order', async (t) => {
  const pieces = [[noopSpec('a'), noopSpec('b')], [noopSpec('c')]];
  t.ok(wantsAreKeysOf(pieces, ['a', 'b', 'c']));
  t.notOk(wantsAreKeysOf(pieces, ['a', 'b']), 'one missing');
  t.notOk(wantsAreKeysOf(pieces, ['a', 'b', 'c', 'd']), 'one more');
  t.notOk(wantsAreKeysOf(pieces, ['a', 'c', 'b']), 'another order');
  t.ok(wantsAreKeysOf([], []));
});
