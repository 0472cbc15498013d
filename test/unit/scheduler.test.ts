import t from 'tap';
import { spec } from '../helpers/spec.ts';
import { Harness, notifications, taskError } from '../helpers/scheduler-harness.ts';

t.test('chain: runs in order, releases inputs, keeps lineage, forgets on release', async (t) => {
  const h = new Harness();
  h.join('w1');
  t.same(h.submit([spec('a'), spec('b', ['a']), spec('c', ['b'])], ['c']), ['submitReply ok', 'assign w1 c/a']);
  t.same(h.finish('c/a', 100), ['assign w1 c/b']);
  const assignB = h.last[0];
  t.match(assignB, { type: 'assign', attempt: 1, deps: [{ id: 'c/a', holders: ['w1'], nbytes: 100 }] });
  t.same(h.finish('c/b'), ['releaseData w1 c/a', 'assign w1 c/c']);
  t.same(h.finish('c/c'), ['notify c c memory', 'releaseData w1 c/b']);
  t.equal(h.s.stateOf('c/a'), 'released', 'lineage kept');
  t.equal(h.s.stateOf('c/b'), 'released');
  t.equal(h.s.stateOf('c/c'), 'memory');
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['c'] }), ['releaseData w1 c/c']);
  t.equal(h.s.size, 0);
  t.same(
    h.s.story('c/b').map((e) => e.to),
    ['released', 'waiting', 'processing', 'memory', 'released', 'forgotten'],
  );
});

t.test('diamond: locality first, then least loaded', async (t) => {
  const h = new Harness({ workerSaturation: 1 });
  h.join('w1');
  h.join('w2');
  h.submit([spec('a'), spec('b', ['a']), spec('c', ['a']), spec('d', ['b', 'c'])], ['d']);
  t.same(h.runs.get('c/a')?.workerId, 'w1');
  t.same(h.finish('c/a', 100), ['assign w1 c/b', 'assign w2 c/c']);
  t.same(h.finish('c/b', 10), []);
  t.same(h.finish('c/c', 50), ['releaseData w1 c/a', 'assign w2 c/d']);
  t.same(h.finish('c/d'), ['notify c d memory', 'releaseData w1 c/b', 'releaseData w2 c/c']);
});

t.test('fan-in with saturation: queue drains as slots free up', async (t) => {
  const h = new Harness({ workerSaturation: 1 });
  h.join('w1', 2);
  const roots = ['r0', 'r1', 'r2', 'r3', 'r4'];
  t.same(h.submit([...roots.map((k) => spec(k)), spec('sum', roots)], ['sum']), [
    'submitReply ok',
    'assign w1 c/r0',
    'assign w1 c/r1',
  ]);
  t.equal(h.s.counts.queued, 3);
  t.same(h.s.workerInfo()[0], { id: 'w1', address: 'addr-w1', threads: 2, capacity: 2, processing: 2, held: 0, resources: {}, retiring: false, straggling: 0 });
  t.same(h.finish('c/r0'), ['assign w1 c/r2']);
  t.same(h.finish('c/r1'), ['assign w1 c/r3']);
  t.same(h.finish('c/r2'), ['assign w1 c/r4']);
  t.same(h.finish('c/r3'), []);
  t.same(h.finish('c/r4'), ['assign w1 c/sum']);
  t.equal(h.last[0]?.type === 'assign' ? h.last[0].deps.length : -1, 5);
  t.same(h.finish('c/sum'), ['notify c sum memory', ...roots.map((k) => `releaseData w1 c/${k}`)]);
});

t.test('priorities: higher first, then submission order', async (t) => {
  const h = new Harness({ workerSaturation: 1 });
  h.join('w1');
  const tasks = [spec('x'), spec('y', [], { priority: 5 }), spec('z', [], { priority: 1 }), spec('w', [], { priority: 5 })];
  t.same(h.submit(tasks, ['x', 'y', 'z', 'w']), ['submitReply ok', 'assign w1 c/y']);
  t.same(h.submit([spec('v', [], { priority: 3 })], ['v']), ['submitReply ok']);
  const order: string[] = [];
  for (let i = 0; i < 4; i++) {
    const next = h.finish([...h.runs.keys()].at(-1)!).find((c) => c.startsWith('assign'))!;
    order.push(next.split(' ')[2]!);
  }
  t.same(order, ['c/w', 'c/v', 'c/z', 'c/x']);
});

t.test('resources: placement, waitingReasons, memory in bytes', async (t) => {
  const h = new Harness();
  h.join('w1', 1, { memory: 1e9 });
  const tasks = [spec('g', [], { resources: { gpu: 1 } }), spec('m', [], { resources: { memory: 2 * 1024 ** 3 } }), spec('n')];
  t.same(h.submit(tasks, ['g', 'm', 'n']), ['submitReply ok', 'assign w1 c/n']);
  t.same(h.s.waitingReasons(), [
    { id: 'c/g', reason: 'needs gpu=1; no worker has it' },
    { id: 'c/m', reason: `needs memory=${2 * 1024 ** 3}; no worker has it` },
  ]);
  t.same(h.join('w2', 1, { gpu: 1 }), ['assign w2 c/g']);
  t.same(h.join('w3', 1, { memory: 4e9 }), ['assign w3 c/m']);
  t.same(h.s.waitingReasons(), []);
});

t.test('retries with exponential backoff', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a', [], { retries: 2, retryDelayMs: 100, retryBackoff: 3 })], ['a']);
  t.same(h.fail('c/a'), ['wakeAt 100']);
  t.equal(h.s.stateOf('c/a'), 'waiting');
  h.now = 50;
  t.same(h.send({ type: 'tick' }), ['wakeAt 100'], 'an early tick is answered by asking again');
  h.now = 100;
  t.same(h.send({ type: 'tick' }), ['assign w1 c/a']);
  t.equal(h.runs.get('c/a')?.attempt, 2);
  h.now = 200;
  t.same(h.fail('c/a'), ['wakeAt 500']);
  h.now = 500;
  t.same(h.send({ type: 'tick' }), ['assign w1 c/a']);
  t.equal(h.runs.get('c/a')?.attempt, 3);
  t.same(h.fail('c/a'), ['notify c a erred TASK_ERROR']);
  t.equal(notifications(h)[0]?.error?.taskKey, 'a');
});

t.test('a non-retryable error errs all dependents with the same info', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a', [], { retries: 5 }), spec('b', ['a']), spec('c', ['b']), spec('d')], ['b', 'c', 'd']);
  t.same(h.fail('c/a', taskError({ retryable: false, code: 'UNSERIALIZABLE_RESULT' })), [
    'notify c b erred UNSERIALIZABLE_RESULT',
    'notify c c erred UNSERIALIZABLE_RESULT',
  ]);
  const [b, c] = notifications(h);
  t.same(b?.error, c?.error);
  t.match(b?.error, { taskKey: 'a', stack: 'Error: boom\n    at task', originalName: 'Error' });
  t.equal(h.s.stateOf('c/a'), 'erred');
  t.same(h.submit([spec('e', ['c'])], ['e']), ['submitReply ok', 'notify c e erred UNSERIALIZABLE_RESULT']);
  h.send({ type: 'keysReleased', clientId: 'c', keys: ['b', 'c', 'e'] });
  t.same(h.s.tasksByState().processing, ['c/d']);
  t.equal(h.s.size, 1);
});

t.test('cancel cascades to dependents and stops running ones', async (t) => {
  const h = new Harness();
  h.join('w1', 4);
  h.submit([spec('a'), spec('b', ['a']), spec('c', ['b']), spec('d', ['a'])], ['b', 'c', 'd']);
  h.finish('c/a');
  t.same(h.send({ type: 'keysCancelled', clientId: 'c', keys: ['b'] }), [
    'notify c b cancelled CANCELLED',
    'notify c c cancelled CANCELLED',
    'cancelRun w1 c/b',
  ]);
  t.match(notifications(h)[1]?.error, { code: 'CANCELLED', taskKey: 'b' });
  t.equal(h.s.stateOf('c/b'), 'forgotten');
  t.equal(h.s.stateOf('c/c'), 'forgotten');
  t.equal(h.s.stateOf('c/a'), 'memory', 'still needed by d');
  t.same(h.send({ type: 'keysCancelled', clientId: 'c', keys: ['d'] }), [
    'notify c d cancelled CANCELLED',
    'cancelRun w1 c/d',
    'releaseData w1 c/a',
  ]);
  t.equal(h.s.size, 0);
  t.same(h.finish('c/b'), ['releaseData w1 c/b'], 'completion of a cancelled run changes nothing; its result is dropped');
});

t.test('cancelling a key already in memory releases it and settles the future', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a')], ['a']);
  h.finish('c/a');
  t.same(h.send({ type: 'keysCancelled', clientId: 'c', keys: ['a'] }), ['notify c a cancelled CANCELLED', 'releaseData w1 c/a']);
  t.equal(h.s.size, 0);
});

t.test('refcounting: data released exactly when the last waiter is done and nobody wants it', async (t) => {
  const h = new Harness();
  h.join('w1', 4);
  h.submit([spec('a'), spec('b', ['a']), spec('c', ['a'])], ['a', 'b', 'c']);
  t.same(h.finish('c/a'), ['notify c a memory', 'assign w1 c/b', 'assign w1 c/c']);
  t.same(h.finish('c/b'), ['notify c b memory']);
  t.same(h.finish('c/c'), ['notify c c memory'], 'a is still wanted');
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['a'] }), ['releaseData w1 c/a']);
  t.equal(h.s.stateOf('c/a'), 'released', 'kept for lineage while b and c exist');
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['b'] }), ['releaseData w1 c/b']);
  t.equal(h.s.stateOf('c/a'), 'released');
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['c', 'unknown'] }), ['releaseData w1 c/c']);
  t.equal(h.s.size, 0);
});

t.test('releasing a pending key cancels work nobody needs', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a'), spec('b', ['a'])], ['b']);
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['b'] }), ['cancelRun w1 c/a']);
  t.equal(h.s.size, 0);
});

t.test('stale and duplicate completions change nothing; a stale result is dropped on its worker', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.join('w2');
  h.submit([spec('a')], ['a']);
  const run = h.runs.get('c/a')!;
  t.same(h.finish('c/a', 1, { ...run, runId: run.runId + 7 }), [], 'wrong runId');
  t.same(h.finish('c/a', 1, { ...run, workerId: 'w2' }), ['releaseData w2 c/a'], 'wrong worker: whatever it has is dropped');
  t.same(h.finish('c/a', 1, { ...run, workerId: 'nobody' }), [], 'unknown worker');
  t.same(h.finish('c/zzz', 1, run), ['releaseData w1 c/zzz'], 'unknown task');
  t.same(h.finish('c/a'), ['notify c a memory']);
  t.same(h.finish('c/a'), [], 'duplicate');
  t.same(h.fail('c/a'), [], 'failure after success');
});

t.test('a release that overtakes the report of a finished run: the result is dropped when the report comes', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a')], ['a']);
  // The run ended on w1; its report is on the way when the client lets go of the key.
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['a'] }), ['cancelRun w1 c/a']);
  t.same(h.finish('c/a'), ['releaseData w1 c/a'], 'the worker would otherwise keep the result for ever');
  t.equal(h.s.size, 0);
});

t.test('worker lost: running tasks are rescheduled, old runs ignored', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a')], ['a']);
  const old = h.runs.get('c/a')!;
  t.same(h.send({ type: 'workerLost', workerId: 'w1' }), []);
  t.equal(h.s.stateOf('c/a'), 'queued');
  t.same(h.join('w2'), ['assign w2 c/a']);
  t.ok(h.runs.get('c/a')!.runId > old.runId);
  t.same(h.finish('c/a', 1, old), [], 'completion from the dead worker is ignored');
  t.same(h.send({ type: 'workerLost', workerId: 'w1' }), [], 'losing an unknown worker is a no-op');
  t.same(h.finish('c/a'), ['notify c a memory']);
});

t.test('a task that keeps killing workers errs with WORKER_LOST', async (t) => {
  const h = new Harness({ allowedFailures: 1 });
  h.join('w1');
  h.join('w2');
  h.submit([spec('a'), spec('b', ['a'])], ['a', 'b']);
  t.same(h.send({ type: 'workerLost', workerId: 'w1' }), ['assign w2 c/a']);
  t.same(h.send({ type: 'workerLost', workerId: 'w2' }), ['notify c a erred WORKER_LOST', 'notify c b erred WORKER_LOST']);
  t.match(notifications(h)[0]?.error, { code: 'WORKER_LOST', taskKey: 'a' });
});

t.test('a lost result is recomputed from lineage', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a'), spec('b', ['a']), spec('c', ['b'])], ['c']);
  h.finish('c/a');
  h.finish('c/b');
  h.finish('c/c');
  h.join('w2');
  t.same(h.send({ type: 'workerLost', workerId: 'w1' }), ['assign w2 c/a']);
  t.equal(h.s.stateOf('c/c'), 'waiting');
  t.same(h.finish('c/a'), ['assign w2 c/b']);
  t.same(h.finish('c/b'), ['releaseData w2 c/a', 'assign w2 c/c']);
  t.same(h.finish('c/c'), ['notify c c memory', 'releaseData w2 c/b']);
  t.equal(notifications(h)[0]?.workerId, 'w2');
});

t.test('a lost input sends running dependents back to waiting', async (t) => {
  const h = new Harness({ workerSaturation: 1 });
  h.join('w1');
  h.submit([spec('a'), spec('z')], ['a', 'z']);
  h.finish('c/a', 100);
  t.equal(h.runs.get('c/z')?.workerId, 'w1');
  h.join('w2');
  t.same(h.submit([spec('b', ['a'])], ['b']), ['submitReply ok', 'assign w2 c/b'], 'w1 is full');
  t.same(h.send({ type: 'workerLost', workerId: 'w1' }), ['cancelRun w2 c/b', 'assign w2 c/a']);
  t.equal(h.s.stateOf('c/b'), 'waiting');
  t.equal(h.s.stateOf('c/z'), 'queued');
  t.same(h.finish('c/a'), ['notify c a memory', 'assign w2 c/b']);
});

t.test('an input no holder could serve: holders dropped, input recomputed, the task waits (no failure)', async (t) => {
  const h = new Harness({ workerSaturation: 1 });
  h.join('w1');
  h.submit([spec('a'), spec('z')], ['a', 'z']);
  h.finish('c/a', 100);
  h.join('w2');
  t.same(h.submit([spec('b', ['a'])], ['b']), ['submitReply ok', 'assign w2 c/b'], 'w1 is full');
  const b = h.runs.get('c/b')!;
  // A report about another run changes nothing.
  t.same(h.send({ type: 'inputMissing', workerId: 'w2', id: 'c/b', runId: b.runId + 1, depId: 'c/a' }), []);
  t.same(h.send({ type: 'inputMissing', workerId: 'w2', id: 'c/b', runId: b.runId, depId: 'c/a' }), [
    'releaseData w1 c/a',
    'assign w2 c/a',
  ]);
  t.equal(h.s.stateOf('c/b'), 'waiting');
  t.same(h.finish('c/a'), ['notify c a memory', 'assign w2 c/b']);
  t.same(h.finish('c/b'), ['notify c b memory']);
  t.equal(h.runs.get('c/b')?.attempt, 1, 'not counted as a failure of b');
});

t.test('a client that cannot fetch a result reports it missing: the result is recomputed and the client told where', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a')], ['a']);
  t.same(h.finish('c/a'), ['notify c a memory']);
  const locate = (workerId: string): string[] =>
    h.send({ type: 'graphSubmitted', clientId: 'c', requestId: 'r', tasks: [], wants: ['a'], missing: [{ key: 'a', workerId }] });
  // A report about a worker that does not hold it only answers with the location.
  t.same(locate('w9'), ['submitReply ok', 'notify c a memory']);
  t.same(locate('w1'), ['submitReply ok', 'releaseData w1 c/a', 'assign w1 c/a'], 'recomputed; no answer yet');
  t.same(h.finish('c/a'), ['notify c a memory'], 'the client hears of the new copy');
  t.equal(h.runs.get('c/a')?.attempt, 1, 'not counted as a failure of a');
});

t.test('short runs raise how many tasks a worker is sent at once; long runs bring it back', async (t) => {
  const h = new Harness({ workerSaturation: 2, saturationWindowMs: 8, maxTasksPerThread: 16 });
  h.join('w1');
  const keys = Array.from({ length: 40 }, (_, i) => `t${i}`);
  const assigned = (cmds: string[]): number => cmds.filter((c) => c.startsWith('assign')).length;
  t.equal(assigned(h.submit(keys.map((k) => spec(k)), keys)), 2, 'threads × workerSaturation before any run ended');
  const finishIn = (id: string, durationMs: number): string[] => {
    const run = h.runs.get(id)!;
    return h.send({ type: 'taskFinished', workerId: run.workerId, id, runId: run.runId, nbytes: 1, serializer: { id: 'msgpack', module: '' }, inline: undefined, durationMs });
  };
  // 1 ms runs: 8 fit in the window, so the worker is topped up to 8 at once.
  t.equal(assigned(finishIn('c/t0', 1)), 7);
  t.equal(h.s.workerInfo()[0]!.capacity, 8);
  // Much shorter runs: up to maxTasksPerThread, topped up in batches rather than one by one.
  const processing = (): string[] => [...h.runs.keys()].filter((id) => h.s.stateOf(id) === 'processing');
  const batches: number[] = [];
  for (let i = 0; i < 30 && h.s.workerInfo()[0]!.capacity < 16; i++) {
    const sent = assigned(finishIn(processing()[0]!, 0.01));
    if (sent > 0) batches.push(sent);
  }
  t.equal(h.s.workerInfo()[0]!.capacity, 16, 'never above maxTasksPerThread');
  t.ok(batches.every((n) => n >= 4), `topped up in batches: ${batches.join(', ')}`);
  // Long runs: back to workerSaturation; nothing new is sent while over that.
  const running = processing();
  let sent = 0;
  for (const id of running) sent += assigned(finishIn(id, 1000));
  t.equal(h.s.workerInfo()[0]!.capacity, 2);
  t.ok(sent < running.length, 'the worker drains down to its smaller capacity');
  t.doesNotThrow(() => h.s.validate());
});

t.test('invalid graphs are rejected without any state change', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a')], ['a']);
  const before = h.s.counts;
  t.same(h.submit([spec('x', ['y']), spec('y', ['x'])], ['x']), ['submitReply CYCLIC_GRAPH']);
  t.same(h.submit([spec('x', ['x'])], []), ['submitReply CYCLIC_GRAPH']);
  t.same(h.submit([spec('x', ['nope'])], ['x']), ['submitReply MISSING_DEPENDENCY']);
  t.same(h.submit([spec('x'), spec('x')], ['x']), ['submitReply KEY_CONFLICT']);
  t.same(h.submit([spec('x')], ['other']), ['submitReply MISSING_DEPENDENCY']);
  t.same(h.s.counts, before);
  t.equal(h.s.size, 1);
});

t.test('same key is the same task; wanting a finished key notifies at once', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a')], ['a']);
  h.finish('c/a');
  t.same(h.submit([spec('a'), spec('b', ['a'])], ['a', 'b']), ['submitReply ok', 'notify c a memory', 'assign w1 c/b']);
});

t.test('clients are isolated', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('x')], ['x'], 'A');
  t.same(h.submit([spec('y', ['x'])], ['y'], 'B'), ['submitReply MISSING_DEPENDENCY']);
  t.same(h.send({ type: 'keysCancelled', clientId: 'B', keys: ['x'] }), []);
  t.same(h.send({ type: 'keysReleased', clientId: 'B', keys: ['x'] }), []);
  t.equal(h.s.stateOf('A/x'), 'processing');
  t.same(h.submit([spec('x')], ['x'], 'B'), ['submitReply ok', 'assign w1 B/x'], 'B has its own x');
  t.same(h.send({ type: 'clientDisconnected', clientId: 'A' }), ['cancelRun w1 A/x']);
  t.equal(h.s.stateOf('B/x'), 'processing');
});

t.test('a result wanted when its run is assigned is told to the client by the worker; the scheduler still records it', async (t) => {
  const h = new Harness();
  h.join('w1');
  const assignOf = (id: string) => h.last.find((c) => c.type === 'assign' && c.id === id);
  h.submit([spec('a'), spec('b', ['a'])], ['b']);
  t.match(assignOf('c/a'), { tellClient: false }, 'an input nobody wants: the worker tells nobody');
  h.finish('c/a');
  t.match(assignOf('c/b'), { tellClient: true }, 'a wanted key: the worker tells the client');
  t.same(h.finish('c/b'), ['notify c b memory', 'releaseData w1 c/a']);
  t.match(notifications(h), [{ key: 'b', byWorker: true, workerId: 'w1' }], 'marked: the coordinator sends nothing');

  // Wanted only after its run was assigned: that worker was not asked, so the coordinator tells.
  h.submit([spec('x'), spec('y', ['x'])], ['y']);
  t.match(assignOf('c/x'), { tellClient: false });
  t.same(h.send({ type: 'graphSubmitted', clientId: 'c', requestId: 'r2', tasks: [], wants: ['x'] }), ['submitReply ok']);
  h.finish('c/x');
  t.match(notifications(h), [{ key: 'x', byWorker: false }]);

  // Answers to a client asking again (a result it could not fetch) always come from the coordinator.
  h.send({ type: 'graphSubmitted', clientId: 'c', requestId: 'r3', tasks: [], wants: ['b'], missing: [{ key: 'b', workerId: 'w9' }] });
  t.match(notifications(h), [{ key: 'b', byWorker: false }]);
});

t.test('a wanted result lost with its worker is recomputed by a run that tells the client again', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a')], ['a']);
  h.finish('c/a');
  t.match(notifications(h), [{ key: 'a', byWorker: true, workerId: 'w1' }]);
  h.join('w2');
  t.same(h.send({ type: 'workerLost', workerId: 'w1' }), ['assign w2 c/a']);
  t.match(h.last[0], { tellClient: true });
  t.same(h.finish('c/a'), ['notify c a memory']);
  t.match(notifications(h), [{ key: 'a', byWorker: true, workerId: 'w2' }]);
});
