// How the client cuts a submission into requests: growing pieces for streaming, and
// pieces that fit the transport's payload limit, each actually encoded to check the fit.
import t from 'tap';
import { PieceWindow, splitKeys, splitMissing, splitSubmission, streamPieces, STREAM_TASKS_MIN, pieceEnd } from '../../src/client/submit-pieces.ts';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { encodeMessage } from '../../src/transport/codec.ts';
import type { MissingResult } from '../../src/transport/messages.ts';
import { spec } from '../helpers/spec.ts';

const tasks = (n: number, argBytes = 40): TaskSpec[] =>
  Array.from({ length: n }, (_, i) => spec(`task-${i}`, i === 0 ? [] : [`task-${i - 1}`], { args: new Uint8Array(argBytes).fill(i % 256) }));

/** The bytes of a submit request carrying these tasks, each of them wanted. */
const requestBytes = (piece: TaskSpec[], missing: MissingResult[] = []): number =>
  encodeMessage({ type: 'submit', clientId: 'client-1', requestId: '123456', tasks: piece, wants: piece.map((s) => s.key), missing }).byteLength;

t.test('streaming pieces grow from 64 tasks to 8,192, in order, every task once', async (t) => {
  const all = tasks(30_000, 0);
  const pieces = streamPieces(all);
  t.same(
    pieces.map((p) => p.length),
    [64, 128, 256, 512, 1024, 2048, 4096, 8192, 8192, 30_000 - 64 - 128 - 256 - 512 - 1024 - 2048 - 4096 - 2 * 8192],
  );
  t.same(pieces.flat(), all, 'the same tasks in the same order');
  t.equal(streamPieces(tasks(STREAM_TASKS_MIN, 0)).length, 3, `${STREAM_TASKS_MIN} tasks: 64 + 128 + 64`);
});

t.test('cut by size, every piece fits the limit with all its keys wanted, in order', async (t) => {
  const all = tasks(500, 300);
  for (const limit of [4 * 1024, 32 * 1024, 256 * 1024]) {
    const pieces = splitSubmission(all, limit);
    t.ok(pieces.length > 1, `${limit} bytes: ${pieces.length} pieces`);
    t.same(pieces.flat(), all, 'the same tasks in the same order');
    t.same(
      pieces.map((p) => requestBytes(p)).filter((bytes) => bytes > limit),
      [],
      'none over the limit',
    );
  }
});

t.test('tasks that fit by the estimate are still cut in two, so cutting again always ends', async (t) => {
  const few = tasks(5);
  t.same(
    splitSubmission(few, 1024 * 1024).map((p) => p.length),
    [2, 3],
  );
  t.same(splitSubmission(tasks(1), 1024 * 1024).map((p) => p.length), [1], 'a single task stays one piece');
});

t.test('keys and missing results in requests that fit the limit', async (t) => {
  const keys = Array.from({ length: 5_000 }, (_, i) => `some-client/key-${i}`);
  t.same(splitKeys([], 1024), []);
  t.same(splitKeys(keys, undefined), [keys], 'no limit: one request');
  const chunks = splitKeys(keys, 8 * 1024);
  t.same(chunks.flat(), keys);
  const tooBig = chunks.filter(
    (chunk) => encodeMessage({ type: 'submit', clientId: 'client-1', requestId: '123456', tasks: [], wants: chunk }).byteLength > 8 * 1024,
  );
  t.same(tooBig, [], `${chunks.length} requests, none over the limit`);

  const missing = keys.map((key, i) => ({ key, workerId: `worker-${i % 7}-0f3c9a2b` }));
  t.same(splitMissing([], 1024), []);
  t.same(splitMissing(missing, undefined), [missing], 'no limit: one request');
  const parts = splitMissing(missing, 8 * 1024);
  t.same(parts.flat(), missing);
  const over = parts.filter(
    (part) =>
      encodeMessage({ type: 'submit', clientId: 'client-1', requestId: '123456', tasks: [], wants: part.map((m) => m.key), missing: part }).byteLength >
      8 * 1024,
  );
  t.same(over, [], `${parts.length} requests, each with its keys wanted, none over the limit`);
});

t.test('the window of unanswered pieces: a piece waits while the others hold too many tasks', async (t) => {
  const window = new PieceWindow(100);
  const replies: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  const reply = (): Promise<void> => new Promise<void>((resolve, reject) => replies.push({ resolve, reject }));
  const order: string[] = [];
  await window.room(150);
  order.push('a piece bigger than the window goes when nothing is unanswered');
  window.sent(reply(), 150);
  const waiting = window.room(10).then(() => order.push('b'));
  await new Promise((resolve) => setImmediate(resolve));
  t.same(order.length, 1, 'the next piece waits');
  replies[0]!.reject(new Error('lost (test)'));
  await waiting;
  t.same(order.at(-1), 'b', 'a failed reply makes room too');
  window.sent(reply(), 60);
  await window.room(40);
  order.push('c');
  t.same(order.at(-1), 'c', 'room left: no wait');
  window.sent(reply(), 40);
  const d = window.room(1).then(() => order.push('d'));
  replies[1]!.resolve();
  await d;
  t.same(order, ['a piece bigger than the window goes when nothing is unanswered', 'b', 'c', 'd']);
});

t.test('pieceEnd: a piece ends where a flow starts in its last quarter, never empty, never past the end', async (t) => {
  const roots = (...starts: number[]) => (i: number): boolean => !starts.includes(i); // hasInputs
  t.equal(pieceEnd(1000, 0, 64, () => false), 64, 'independent tasks: at its size');
  t.equal(pieceEnd(1000, 0, 64, roots(0, 60, 70)), 60, 'the last flow start at or before its size');
  t.equal(pieceEnd(1000, 0, 64, roots(0, 64)), 64, 'a flow starts right after it: at its size');
  t.equal(pieceEnd(1000, 0, 64, roots(0, 47)), 64, 'a flow start before its last quarter (48..64) does not count');
  t.equal(pieceEnd(1000, 0, 64, roots(0, 48)), 48);
  t.equal(pieceEnd(1000, 0, 64, roots(0)), 64, 'one long flow: at its size');
  t.equal(pieceEnd(100, 60, 64, roots(0, 70)), 100, 'the rest fits: all of it');
  t.equal(pieceEnd(1000, 10, 8, roots(0, 10, 17)), 17, 'from 10: a flow starts at 17, in the last quarter (16..18)');
  t.equal(pieceEnd(1000, 10, 1, roots(10)), 11, 'never empty');
});
