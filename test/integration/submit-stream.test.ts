/**
 * Big submissions are streamed: sent in growing pieces, one after another without waiting
 * for replies, so the first tasks start while the rest is on its way. A piece that fails
 * is sent again in order; one that keeps failing fails the whole submission, and what the
 * scheduler accepted of it is released.
 */
import t from 'tap';
import { FloeError } from '../../src/errors.ts';
import type { Client, Future } from '../../src/index.ts';
import { decodeMessage } from '../../src/transport/codec.ts';
import type { Transport, TransportMessage } from '../../src/transport/transport.ts';
import { inc } from '../fixtures/e2e-tasks.ts';
import { PIECES_IN_FLIGHT_TASKS_MAX } from '../../src/client/submit-pieces.ts';
import type { Scheduler } from '../../src/scheduler/scheduler.ts';
import { clusterOf, localClient, rejection, until, type Teardown } from '../helpers/e2e.ts';

interface Sent {
  /** Keys of the tasks the request carried. */
  tasks: string[];
  wants: string[];
  bytes: number;
  /** Tasks in submit requests sent and not answered yet, this one included, when it was sent. */
  tasksInFlight: number;
  /** Submit requests answered before this one was sent. */
  answeredBefore: number;
}

interface SpyOptions {
  /** Rejects the n-th distinct request (0-based, by first sending) on this attempt instead of sending it. */
  fail?: (n: number, attempt: number) => FloeError | undefined;
  /**
   * Holds every reply until this many submit requests were sent, or until many event-loop
   * turns went by without that (then `held` stays false): a client that waits for a
   * piece's reply before sending the next one cannot get there.
   */
  holdUntil?: number;
  /** Holds each reply for this many event-loop turns (a coordinator busy with earlier pieces). */
  replyDelayTurns?: number;
}

/** Records the client's submit requests. */
function spy(client: Client, options: SpyOptions = {}): { sent: Sent[]; held: boolean } {
  const transport = (client as unknown as { conn: { transport: Transport } }).conn.transport;
  const request: Transport['request'] = transport.request.bind(transport);
  const out = { sent: [] as Sent[], held: false };
  const attempts = new Map<Uint8Array, { n: number; attempts: number }>();
  let gate: Promise<void> | undefined;
  if (options.holdUntil !== undefined) {
    const count = options.holdUntil;
    gate = until('all pieces sent', () => out.sent.length >= count, 10_000).then(
      () => void (out.held = true),
      () => undefined,
    );
  }
  let tasksInFlight = 0;
  let answered = 0;
  transport.request = async (subject, data, opts): Promise<TransportMessage> => {
    const msg = decodeMessage(data);
    if (msg.type !== 'submit') return request(subject, data, opts);
    let seen = attempts.get(data);
    if (seen === undefined) attempts.set(data, (seen = { n: attempts.size, attempts: 0 }));
    const error = options.fail?.(seen.n, seen.attempts++);
    tasksInFlight += msg.tasks.length;
    out.sent.push({ tasks: msg.tasks.map((spec) => spec.key), wants: msg.wants, bytes: data.byteLength, tasksInFlight, answeredBefore: answered });
    try {
      if (error !== undefined) throw error;
      const reply = await request(subject, data, opts);
      await gate;
      for (let i = 0; i < (options.replyDelayTurns ?? 0); i++) await new Promise<void>((resolve) => setImmediate(resolve));
      return reply;
    } finally {
      tasksInFlight -= msg.tasks.length;
      answered += 1;
    }
  };
  return out;
}

/** `chains` chains of `length` inc tasks, submitted in one turn; the tails are returned. */
function submitChains(client: Client, chains: number, length: number): Array<Future<number>> {
  const tails: Array<Future<number>> = [];
  for (let c = 0; c < chains; c++) {
    let f = client.submit(inc, c);
    for (let i = 1; i < length; i++) f = client.submit(inc, f);
    tails.push(f);
  }
  return tails;
}

/** A client whose transport claims a payload limit of `limit` bytes, its requests recorded. */
async function limitedClient(t: Teardown, limit: number): Promise<{ client: Client; scheduler: Scheduler; sent: Sent[] }> {
  const client = await localClient(t, { threads: 1 });
  const transport = (client as unknown as { conn: { transport: Transport } }).conn.transport;
  Object.defineProperty(transport, 'maxPayloadBytes', { value: limit, configurable: true });
  return { client, scheduler: clusterOf(client).coordinator.scheduler, sent: spy(client).sent };
}

const expected = (chains: number, length: number): number[] => Array.from({ length: chains }, (_, c) => c + length);

t.test('a 1,000-task submission goes out in growing pieces, in order, without waiting for replies', async (t) => {
  const client = await localClient(t, { threads: 2 });
  const { scheduler } = clusterOf(client).coordinator;
  const spied = spy(client, { holdUntil: 5 });
  const sent = spied.sent;
  const tails = submitChains(client, 100, 10);
  t.same(await client.gather(tails), expected(100, 10));
  // 64, 128, 256, 512 and the rest, each ended where a chain starts (pieceEnd).
  t.same(sent.map((s) => s.tasks.length), [60, 120, 250, 510, 60], 'pieces double in size, ending where a chain starts');
  t.ok(sent.every((s) => s.tasks.length % 10 === 0), 'no chain cut in two');
  const order = sent.flatMap((s) => s.tasks);
  t.equal(new Set(order).size, 1000, 'every task sent once');
  t.ok(spied.held, 'every piece left before the first was answered');
  // Tasks of pieces before the last are wanted until the last arrives, then released again:
  // once the tails are released too, the scheduler keeps nothing.
  t.ok(sent.slice(0, -1).every((s) => s.wants.length === s.tasks.length), 'earlier pieces want all their tasks');
  for (const f of tails) f.release();
  await until('the scheduler forgets every task', () => scheduler.size === 0);
  t.equal(scheduler.size, 0);
});

t.test('a small submission is one request, taken or rejected as a whole', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const { sent } = spy(client);
  t.same(await client.gather(submitChains(client, 25, 10)), expected(25, 10));
  t.same(sent.map((s) => s.tasks.length), [250]);
});

t.test('a piece whose first attempt failed is sent again after the others, in order, and nothing is lost', async (t) => {
  const client = await localClient(t, { threads: 2 });
  const { sent } = spy(client, {
    fail: (n, attempt) => (n === 1 && attempt === 0 ? new FloeError('REQUEST_TIMEOUT', 'lost on the way (test)', { retryable: false }) : undefined),
  });
  // Chains of 100: pieces 64, 128, 208 (ending where chain 4 starts), 500, 100.
  t.same(await client.gather(submitChains(client, 10, 100)), expected(10, 100));
  // Piece 2 needs its tasks (chain 1 spans the border), so the scheduler rejected it: it
  // goes again too, in order, after it. Piece 3 starts a chain: it was taken.
  t.same(sent.map((s) => s.tasks.length), [64, 128, 208, 500, 100, 128, 208]);
});

t.test('a piece that keeps failing fails the submission and releases the pieces the scheduler took', async (t) => {
  const client = await localClient(t, { threads: 2 });
  const { scheduler } = clusterOf(client).coordinator;
  spy(client, { fail: (n) => (n === 2 ? new FloeError('REQUEST_TIMEOUT', 'coordinator unreachable (test)', { retryable: false }) : undefined) });
  const tails = submitChains(client, 10, 100);
  const errors = await Promise.all(tails.map((f) => rejection(f.result())));
  t.ok(errors.every((e) => e.code === 'REQUEST_TIMEOUT' && /unreachable/.test(e.message)), 'every future fails with the cause');
  // Pieces 0, 1, 3 and 4 were accepted (piece 3 starts a chain: it needs nothing of piece
  // 2); what was taken is let go.
  await until('the scheduler forgets every task', () => scheduler.size === 0);
  t.equal(scheduler.size, 0);
});

t.test('a small submission over the payload limit goes in pieces that fit, and nothing is lost', async (t) => {
  const limit = 8 * 1024;
  const { client, scheduler, sent } = await limitedClient(t, limit);
  const tails = submitChains(client, 20, 10); // 200 tasks (not streamed), about 25 KiB
  t.same(await client.gather(tails), expected(20, 10));
  t.ok(sent.length > 1, `cut in ${sent.length} requests`);
  t.ok(sent.every((s) => s.bytes <= limit), 'each fits the limit');
  t.equal(new Set(sent.flatMap((s) => s.tasks)).size, 200, 'every task sent once');
  for (const f of tails) f.release();
  await until('the scheduler forgets every task', () => scheduler.size === 0);
  t.equal(scheduler.size, 0);
});

t.test('a streamed submission whose last piece wants more keys than fit one request: every request fits', async (t) => {
  const limit = 8 * 1024;
  const { client, scheduler, sent } = await limitedClient(t, limit);
  // Pieces of 64, 128, 256, 512 and 1,024 tasks: the last one's 1,024 wanted keys alone are
  // over the limit, so no request may carry all of them.
  const n = 64 + 128 + 256 + 512 + 1024;
  const futures = Array.from({ length: n }, (_, i) => client.submit(inc, i));
  t.same(await client.gather(futures), Array.from({ length: n }, (_, i) => i + 1));
  t.ok(sent.every((s) => s.bytes <= limit), `each of ${sent.length} requests fits the limit`);
  t.equal(new Set(sent.flatMap((s) => s.tasks)).size, n, 'every task sent once');
  t.equal(sent.flatMap((s) => s.tasks).length, n, 'no task sent twice');
  const wantsOthers = sent.filter((s) => s.wants.some((key) => !s.tasks.includes(key)));
  t.equal(wantsOthers.length, 0, 'each request wants only keys of its own tasks');
  for (const f of futures) f.release();
  await until('the scheduler forgets every task', () => scheduler.size === 0);
  t.equal(scheduler.size, 0);
});

t.test('a streamed submission keeps at most so many tasks in pieces not answered yet; nothing is lost', async (t) => {
  const client = await localClient(t, { threads: 2 });
  const { scheduler } = clusterOf(client).coordinator;
  // Replies come late, as from a coordinator busy with the pieces before.
  const { sent } = spy(client, { replyDelayTurns: 20 });
  const n = 20_000; // pieces of 64, 128, ..., 8,192 (16,320 tasks), then 3,680
  const futures = Array.from({ length: n }, (_, i) => client.submit(inc, i));
  const results = await client.gather(futures);
  t.ok(results.every((r, i) => r === i + 1), 'every result right');
  t.same(sent.map((s) => s.tasks.length), [64, 128, 256, 512, 1024, 2048, 4096, 8192, 3680]);
  const most = Math.max(...sent.map((s) => s.tasksInFlight));
  t.ok(most <= PIECES_IN_FLIGHT_TASKS_MAX, `at most ${PIECES_IN_FLIGHT_TASKS_MAX} tasks unanswered (${most})`);
  t.equal(sent[7]!.answeredBefore, 0, 'the pieces that fit went out without waiting');
  t.ok(sent[8]!.answeredBefore >= 1, 'the last waited for a reply');
  for (const f of futures) f.release();
  await until('the scheduler forgets every task', () => scheduler.size === 0);
  t.equal(scheduler.size, 0);
});
