// Task batches on the pool (PoolExecutor.runBatch, runtime/run-batch.ts): several tasks in
// one dispatch, each with its own result, error, timing, cancel and context.
import t, { type Test } from 'tap';
import type { ContextPort } from '../../src/runtime/mux-port.ts';
import type { ContextReply, ContextRequest } from '../../src/runtime/context-protocol.ts';
import type { ThreadResponse } from '../../src/runtime/protocol.ts';
import { FutureRef, encodeArgs, getSerializer, serializeResult } from '../../src/serde/index.ts';
import { PoolExecutor } from '../../src/worker/executor-pool.ts';
import { InlineExecutor, RETURNED, batchResponses, type BatchRun, type Executor } from '../../src/worker/executor.ts';
import { MSGPACK, threadRequest } from '../helpers/thread-request.ts';

const msgpack = getSerializer('msgpack')!;

let seq = 0;
function run(exportName: string, args: unknown[] = [], opts: BatchRun['opts'] = {}): BatchRun {
  return { req: threadRequest(exportName, args, { taskKey: `${exportName}-${++seq}` }), opts };
}

function value(res: ThreadResponse): unknown {
  if (res.type !== 'ok') throw new Error(`task failed: ${res.error.code} ${res.error.message}`);
  return msgpack.deserialize(res.bytes);
}

const code = (res: ThreadResponse): string => (res.type === 'error' ? res.error.code : 'ok');

void t.test('a batch runs in one thread, in order, with a result, error and timing per task', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  const responses = await Promise.all(batchResponses(ex, [run('threadId'), run('inc', [1]), run('throwsTypeError'), run('add', [2, 3]), run('threadId')]));
  t.equal(value(responses[0]!), value(responses[4]!), 'one thread');
  t.equal(value(responses[1]!), 2);
  t.equal(code(responses[2]!), 'TASK_ERROR');
  if (responses[2]!.type === 'error') t.match(responses[2]!.error.message, /bad input from the fixture/);
  t.equal(value(responses[3]!), 5);
  const starts = responses.map((r) => r.startedAtMs);
  t.same([...starts].sort((a, b) => a - b), starts, 'started one after another, in order');
  t.ok(responses.every((r) => r.durationMs >= 0 && r.startedAtMs > 0), 'each has its own timing');
});

void t.test('a task cancelled before it starts is skipped; the rest of its batch runs on the same thread', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  const ac = new AbortController();
  const responses = batchResponses(ex, [run('threadId'), run('slow', [30]), run('inc', [1], { signal: ac.signal }), run('threadId')]);
  ac.abort();
  const [before, slow, cancelled, after] = await Promise.all(responses);
  t.equal(code(cancelled!), 'CANCELLED');
  t.equal(value(slow!), 30);
  t.equal(value(after!), value(before!), 'the thread was not replaced');
  const pre = new AbortController();
  pre.abort();
  const [a, b] = await Promise.all(batchResponses(ex, [run('inc', [1], { signal: pre.signal }), run('inc', [2])]));
  t.equal(code(a!), 'CANCELLED', 'cancelled before the batch was sent');
  t.equal(value(b!), 3);
});

void t.test('a running task cancelled in a batch stops its thread; the tasks after it run again elsewhere', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  const channel = `floe-test-${process.pid}-${Date.now()}`;
  const bc = new BroadcastChannel(channel);
  t.teardown(() => bc.close());
  const ac = new AbortController();
  bc.onmessage = () => ac.abort();
  const [before] = await Promise.all(batchResponses(ex, [run('threadId'), run('inc', [0])]));
  const [first, spinning, next, again] = await Promise.all(
    batchResponses(ex, [run('inc', [1]), run('announceThenSpin', [channel], { signal: ac.signal }), run('inc', [2]), run('threadId')]),
  );
  t.equal(value(first!), 2);
  t.equal(code(spinning!), 'CANCELLED');
  t.equal(value(next!), 3, 'ran after the thread was replaced');
  t.not(value(again!), value(before!), 'on a fresh thread');
});

void t.test('tasks with a timeout run alone and time out alone', async (t) => {
  const ex = new PoolExecutor({ threads: 2 });
  t.teardown(() => ex.close());
  const [spin, inc] = await Promise.all(batchResponses(ex, [run('spin', [], { timeoutMs: 100 }), run('inc', [1])]));
  t.equal(code(spin!), 'TASK_TIMEOUT');
  t.equal(value(inc!), 2);
});

void t.test('a thread dying under a batch: the task it ran is WORKER_LOST, the tasks after it run again', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  const [a, lost, b] = await Promise.all(batchResponses(ex, [run('inc', [1]), run('exitThread'), run('inc', [2])]));
  t.equal(value(a!), 2);
  t.equal(code(lost!), 'WORKER_LOST');
  t.equal(value(b!), 3);
});

void t.test('close() cancels what a batch has not finished', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  const responses = batchResponses(ex, [run('hang'), run('inc', [1])]);
  await ex.close();
  t.same((await Promise.all(responses)).map(code), ['CANCELLED', 'CANCELLED']);
});

/** Serves a run's context: answers every result request with `answer`, once `release` resolves. */
function serveContext(answer: unknown, release: Promise<unknown>, seen: ContextRequest[]): (port: ContextPort) => void {
  return (port) => {
    port.on('message', (msg: ContextRequest) => {
      seen.push(msg);
      if (msg.type !== 'result') return;
      void release.then(() => {
        const reply: ContextReply = { type: 'result', requestId: msg.requestId, ok: true, bytes: serializeResult(answer, msgpack, msg.key), serializer: MSGPACK };
        port.postMessage(reply);
      });
    });
  };
}

void t.test('a task in a batch uses its context; while it waits on a subtask the tasks after it go on', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  const seen: ContextRequest[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const responses = batchResponses(ex, [run('viaSubtask', [1], { context: serveContext(41, released, seen) }), run('inc', [2], { context: () => t.fail('unused context opened') })]);
  // The sibling finishes while the first task still waits for its subtask's result.
  t.equal(value(await responses[1]!), 3);
  release();
  t.equal(value(await responses[0]!), 41);
  t.same(
    seen.slice(0, 3).map((m) => m.type + (m.type === 'slot' ? (m.seceded ? ':seceded' : ':rejoined') : '')),
    ['submit', 'slot:seceded', 'result'],
  );
});

/** `inc` of the result of run `from` of the same batch (a chain assigned early). */
function incOf(from: number, opts: BatchRun['opts'] = {}): BatchRun {
  const { bytes } = encodeArgs([new FutureRef('up')], () => undefined);
  return { req: threadRequest('inc', [], { taskKey: `incOf-${++seq}`, args: bytes, deps: [{ key: 'up', serializer: MSGPACK, bytes: new Uint8Array(0), from }] }), opts };
}

for (const [name, make] of [
  ['pool', () => new PoolExecutor({ threads: 1 })],
  ['inline', () => new InlineExecutor()],
] as const) {
  void t.test(`${name}: a run takes an earlier run's result in the batch as its input`, async (t) => {
    const ex: Executor = make();
    t.teardown(() => ex.close());
    const responses = await Promise.all(batchResponses(ex, [run('inc', [1]), incOf(0), incOf(1), run('inc', [10]), incOf(3)]));
    t.same(responses.map(value), [2, 3, 4, 11, 12]);
  });

  void t.test(`${name}: when the run making an input fails or is missing, the runs taking it fail RESULT_UNAVAILABLE`, async (t) => {
    const ex: Executor = make();
    t.teardown(() => ex.close());
    const responses = await Promise.all(batchResponses(ex, [run('throwsTypeError'), incOf(0), incOf(1), incOf(-1), run('inc', [1])]));
    t.same(responses.map(code), ['TASK_ERROR', 'RESULT_UNAVAILABLE', 'RESULT_UNAVAILABLE', 'RESULT_UNAVAILABLE', 'ok']);
    if (responses[1]!.type === 'error') t.match(responses[1]!.error.message, /input "up" of task "incOf-\d+" was not made/);
  });
}

void t.test('pool: a batch run again after its thread stopped keeps its hand-offs', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  // The thread dies at exitThread: inc and its follower before it are done, the rest goes again.
  const responses = await Promise.all(batchResponses(ex, [run('inc', [1]), incOf(0), run('exitThread'), incOf(1), run('inc', [5]), incOf(4)]));
  t.same(responses.map(code), ['ok', 'ok', 'WORKER_LOST', 'ok', 'ok', 'ok']);
  t.same([0, 1, 3, 4, 5].map((i) => value(responses[i]!)), [2, 3, 4, 6, 7]);
});

void t.test('pool: a cancelled producer leaves its follower without input', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  const ac = new AbortController();
  ac.abort();
  const responses = await Promise.all(batchResponses(ex, [run('inc', [1], { signal: ac.signal }), incOf(0), run('inc', [2])]));
  t.same(responses.map(code), ['CANCELLED', 'RESULT_UNAVAILABLE', 'ok']);
});

void t.test('small results share one buffer per post, large ones move alone; each reads back whole', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  // 200 echoes of ~100 bytes overflow one shared buffer (16 KiB); 2000-byte strings go alone.
  const texts = Array.from({ length: 200 }, (_, i) => `${i}:`.padEnd(i % 50 === 7 ? 2000 : 100, String.fromCharCode(97 + (i % 26))));
  const responses = await Promise.all(batchResponses(ex, texts.map((s) => run('echo', [s]))));
  t.same(responses.map(value), texts.map((s) => [s]));
  const buffers = new Set(responses.map((r) => (r.type === 'ok' ? r.bytes.buffer : undefined)));
  t.ok(buffers.size < responses.length, 'some results share a buffer');
});

void t.test('batch results come once each, never during runBatch, and a result may cancel a later run of its batch', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  const pre = new AbortController();
  pre.abort();
  const later = new AbortController();
  const runs = [run('inc', [1]), run('inc', [2], { signal: pre.signal }), run('slow', [30]), run('inc', [3], { signal: later.signal })];
  const calls: number[] = [];
  const got: ThreadResponse[] = [];
  let returned = false;
  const all = new Promise<void>((resolve) => {
    ex.runBatch(runs, (i, res) => {
      t.ok(returned, `result ${i} after runBatch returned`);
      calls.push(i);
      got[i] = res;
      // The first result cancels the last run, which has not started (the slow one is before it).
      if (i === 0) later.abort();
      if (calls.length === runs.length) resolve();
    });
    returned = true;
  });
  await all;
  t.same([...calls].sort(), [0, 1, 2, 3], 'each run answered once');
  t.equal(value(got[0]!), 2);
  t.equal(code(got[1]!), 'CANCELLED', 'cancelled before the batch was sent');
  t.equal(value(got[2]!), 30);
  t.equal(code(got[3]!), 'CANCELLED', 'cancelled from inside the callback');
  t.equal(calls.indexOf(3) < calls.indexOf(2), true, 'the cancel answered run 3 before the slow run finished');
});

/**
 * A run that spins in its thread until cancelled (`ac`), saying when it started; and the
 * pool's first report of stragglers.
 */
function straggler(t: Test, ex: PoolExecutor): { straggling: Promise<readonly BatchRun[]>; spinner: BatchRun; started: Promise<unknown>; ac: AbortController } {
  const straggling = new Promise<readonly BatchRun[]>((resolve) => (ex.onStraggling = resolve));
  const channel = `floe-test-${process.pid}-${Date.now()}-${++seq}`;
  const bc = new BroadcastChannel(channel);
  t.teardown(() => bc.close());
  const started = new Promise((resolve) => (bc.onmessage = resolve));
  const ac = new AbortController();
  return { straggling, spinner: run('announceThenSpin', [channel], { signal: ac.signal }), started, ac };
}

void t.test('pool: the runs queued behind a straggler come back unstarted, and the worker is told which run straggles', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  // The task module loaded first: a run waiting for it would be started (and straggle) too.
  await Promise.all(batchResponses(ex, [run('inc', [0]), run('inc', [0])]));
  const { straggling, spinner, started, ac } = straggler(t, ex);
  const first = batchResponses(ex, [run('inc', [1]), spinner, run('inc', [2])]);
  await started;
  const second = batchResponses(ex, [run('inc', [3]), run('inc', [4])]); // queued on the same thread
  const stragglers = await straggling;
  t.equal(stragglers.length, 1);
  t.equal(stragglers[0], spinner, 'the run its thread is stuck on');
  const taken = await Promise.all([first[2]!, ...second]);
  t.ok(taken.every((res) => res === RETURNED), 'the runs behind it: RETURNED, not run');
  t.equal(await first[0]!, RETURNED, 'the run before it ran, but the thread holds its result: it comes back too, to run again');
  ac.abort();
  t.equal(code(await first[1]!), 'CANCELLED');
  const [again] = await Promise.all(batchResponses(ex, [run('inc', [5]), run('inc', [6])]));
  t.equal(value(again!), 6, 'the pool goes on with a fresh thread');
});

void t.test('pool: a thread stuck on a straggler gets no more batches while another thread can take them', async (t) => {
  const ex = new PoolExecutor({ threads: 2 });
  t.teardown(() => ex.close());
  // Both threads up, with the task module loaded: two batches at once go to two threads.
  let ids: unknown[] = [];
  while (new Set(ids).size < 2) {
    const both = [batchResponses(ex, [run('slow', [20]), run('threadId')]), batchResponses(ex, [run('slow', [20]), run('threadId')])];
    ids = await Promise.all(both.map(async (b) => value((await Promise.all(b))[1]!)));
  }
  const { straggling, spinner, started, ac } = straggler(t, ex);
  // Both threads idle: the first one takes this (and every tie after it, but for the fix).
  const stuck = batchResponses(ex, [run('inc', [1]), spinner, run('inc', [2])]);
  await started;
  await straggling;
  t.equal(await stuck[2]!, RETURNED, 'the run behind the straggler came back');
  // The other thread runs a long batch that moves on all the time (so it is not straggling).
  const other = batchResponses(ex, [run('threadId'), ...Array.from({ length: 500 }, () => run('slow', [10]))]);
  const otherThread = value(await other[0]!);
  for (let i = 0; i < 3; i++) {
    // Each thread holds one dispatch: a tie, which went to the first thread before.
    const [id] = await Promise.all(batchResponses(ex, [run('threadId'), run('inc', [i])]));
    t.equal(value(id!), otherThread, `batch ${i} went to the thread that is not stuck`);
  }
  ac.abort();
  t.equal(code(await stuck[1]!), 'CANCELLED');
});

void t.test('pool: a run alone of a kind learned short is reported straggling while it runs; one not known to be short is not', async (t) => {
  const ex = new PoolExecutor({ threads: 2 });
  t.teardown(() => ex.close());
  const reports: (readonly BatchRun[])[] = [];
  const unwatched = straggler(t, ex);
  const { straggling, spinner, started, ac } = straggler(t, ex); // the one listening
  const heard = straggling.then((runs) => {
    reports.push(runs);
    ex.onStraggling = (more) => reports.push(more);
  });
  const long = ex.run(unwatched.spinner.req, unwatched.spinner.opts); // not short: never reported
  await unwatched.started;
  const alone = ex.run(spinner.req, { ...spinner.opts, short: true });
  await started;
  await heard;
  t.same(reports.length, 1);
  t.equal(reports[0]!.length, 1);
  t.equal(reports[0]![0]!.req, spinner.req, 'the watched run, alone in its thread');
  ac.abort();
  unwatched.ac.abort();
  t.same([code(await alone), code(await long)], ['CANCELLED', 'CANCELLED']);
  t.equal(reports.length, 1, 'reported once');
});

void t.test('pool: a batch queued behind a run alone comes back once that run has run two looks, whatever its kind', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  await Promise.all(batchResponses(ex, [run('inc', [0]), run('inc', [0])]));
  const { straggling, spinner, started, ac } = straggler(t, ex);
  const alone = ex.run(spinner.req, spinner.opts); // not known to be short
  await started;
  const behind = batchResponses(ex, [run('inc', [3]), run('inc', [4])]); // the only thread is held
  t.same(await Promise.all(behind), [RETURNED, RETURNED], 'taken back, to run elsewhere');
  t.same(await straggling, [], 'no straggler to tell of: a run alone of a kind not known to be short may run long');
  ac.abort();
  t.equal(code(await alone), 'CANCELLED');
});
