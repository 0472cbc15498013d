/**
 * Direct submissions in the scheduler (scheduler/submit.ts adoptDirectRuns): a run a worker
 * started on its own, under a run id of its own, before the scheduler heard of the task. It is
 * adopted when the task is new and the worker may take it, and cancelled otherwise. The
 * worker's side: test/unit/worker-direct.test.ts; end to end: test/integration/direct-submit.test.ts.
 */
import t from 'tap';
import { DIRECT_RUN_IDS_FROM } from '../../src/graph/task-id.ts';
import { Harness, notifications, taskError } from '../helpers/scheduler-harness.ts';
import { spec } from '../helpers/spec.ts';

/** The run id a worker gave the run it started (graph/task-id.ts). */
const RUN = DIRECT_RUN_IDS_FROM + 1;

function direct(h: Harness, workerId: string, key: string, extra: Parameters<typeof spec>[2] = {}): string[] {
  return h.send({ type: 'graphSubmitted', clientId: 'c', requestId: 'r', tasks: [spec(key, [], extra)], wants: [key], startedOn: { workerId, runId: RUN } });
}

const processing = (h: Harness): Record<string, number> => Object.fromEntries(h.s.workerInfo().map((w) => [w.id, w.processing]));

t.test('a new lone task started by a worker is that worker\'s run: no assignment, and the worker tells the client', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.join('w2');
  t.same(direct(h, 'w1', 'a'), ['submitReply ok'], 'accepted, and nothing assigned');
  t.same(processing(h), { w1: 1, w2: 0 }, 'it runs on the worker that started it');
  t.same(h.submit([spec('b')], ['b']), ['submitReply ok', 'assign w2 c/b'], 'the next task goes where a thread is free');
  t.same(h.finish('c/a', 10, { runId: RUN, workerId: 'w1', attempt: 1 }), ['notify c a memory']);
  t.equal(notifications(h)[0]!.byWorker, true, 'the worker told the client already');
  t.same(processing(h), { w1: 0, w2: 1 });
});

t.test('a key the scheduler has already: the worker\'s run is cancelled, the task keeps its own', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.join('w2');
  t.same(h.submit([spec('a')], ['a']), ['submitReply ok', 'assign w1 c/a']);
  t.same(direct(h, 'w2', 'a'), ['submitReply ok', 'cancelRun w2 c/a']);
  t.match(h.last.find((c) => c.type === 'cancelRun'), { runId: RUN });
  t.same(processing(h), { w1: 1, w2: 0 });
  // Its result, should it come anyway, is stale: released there.
  t.same(h.finish('c/a', 10, { runId: RUN, workerId: 'w2', attempt: 1 }), ['releaseData w2 c/a']);
  t.same(h.finish('c/a'), ['notify c a memory'], 'the scheduler\'s run counts');
});

t.test('the same worker already holds the key\'s run: cancelling the direct run leaves the scheduler\'s alone', async (t) => {
  const h = new Harness();
  h.join('w1', 2);
  t.same(h.submit([spec('a')], ['a']), ['submitReply ok', 'assign w1 c/a']);
  t.same(direct(h, 'w1', 'a'), ['submitReply ok', 'cancelRun w1 c/a']);
  t.match(h.last.find((c) => c.type === 'cancelRun'), { runId: RUN }, 'by run id: the worker keeps run 1');
  t.same(h.finish('c/a'), ['notify c a memory']);
});

t.test('a retiring worker: its run is cancelled and the task placed elsewhere', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.join('w2');
  t.same(h.submit([spec('x')], ['x']), ['submitReply ok', 'assign w1 c/x']);
  h.send({ type: 'workerRetiring', workerId: 'w1' });
  t.same(direct(h, 'w1', 'a'), ['submitReply ok', 'cancelRun w1 c/a', 'assign w2 c/a']);
});

t.test('a worker the scheduler does not know (lost): nothing to cancel, the task is placed as usual', async (t) => {
  const h = new Harness();
  h.join('w2');
  t.same(direct(h, 'w1', 'a'), ['submitReply ok', 'assign w2 c/a']);
});

t.test('a batch the scheduler rejects: the worker\'s run is cancelled', async (t) => {
  const h = new Harness();
  h.join('w1');
  const out = h.send({ type: 'graphSubmitted', clientId: 'c', requestId: 'r', tasks: [spec('a', ['nope'])], wants: ['a'], startedOn: { workerId: 'w1', runId: RUN } });
  t.same(out, ['submitReply MISSING_DEPENDENCY', 'cancelRun w1 c/a']);
  t.equal(h.s.size, 0);
});

t.test('only a lone task with no inputs, wanted, not an actor\'s and within the worker\'s resources is adopted', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.join('w2', 1, { gpu: 1 });
  t.same(h.submit([spec('in')], ['in']), ['submitReply ok', 'assign w1 c/in']);
  h.finish('c/in');
  const withInput = h.send({ type: 'graphSubmitted', clientId: 'c', requestId: 'r', tasks: [spec('a', ['in'])], wants: ['a'], startedOn: { workerId: 'w2', runId: RUN } });
  t.same(withInput, ['submitReply ok', 'cancelRun w2 c/a', 'assign w1 c/a'], 'a task with an input');
  t.same(direct(h, 'w1', 'g', { resources: { gpu: 1 } }), ['submitReply ok', 'cancelRun w1 c/g', 'assign w2 c/g'], 'a resource the worker lacks');
  const unwanted = h.send({ type: 'graphSubmitted', clientId: 'c', requestId: 'r', tasks: [spec('u')], wants: [], startedOn: { workerId: 'w1', runId: RUN } });
  t.same(unwanted, ['submitReply ok', 'cancelRun w1 c/u'], 'an unwanted task (dropped at once)');
  t.same(direct(h, 'w1', 'k', { actor: '#create' }).slice(0, 2), ['submitReply ok', 'cancelRun w1 c/k'], 'an actor\'s creation');
});

t.test('an adopted run that fails is retried under the scheduler\'s own run id', async (t) => {
  const h = new Harness();
  h.join('w1');
  t.same(direct(h, 'w1', 'a', { retries: 1 }), ['submitReply ok']);
  h.runs.set('c/a', { runId: RUN, workerId: 'w1', attempt: 1 });
  t.same(h.fail('c/a', taskError()), ['assign w1 c/a']);
  t.match(h.last[0], { type: 'assign', attempt: 2 });
  t.ok((h.last[0] as { runId: number }).runId < DIRECT_RUN_IDS_FROM, 'one of the scheduler\'s');
  t.same(h.finish('c/a'), ['notify c a memory']);
});

t.test('the worker of an adopted run is lost: the task runs elsewhere', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.join('w2');
  t.same(direct(h, 'w1', 'a'), ['submitReply ok']);
  t.same(h.send({ type: 'workerLost', workerId: 'w1' }), ['assign w2 c/a']);
  t.same(h.finish('c/a'), ['notify c a memory']);
});

t.test('a client that releases the key while the adopted run runs: the run is cancelled', async (t) => {
  const h = new Harness();
  h.join('w1');
  t.same(direct(h, 'w1', 'a'), ['submitReply ok']);
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['a'] }), ['cancelRun w1 c/a']);
  t.match(h.last[0], { runId: RUN });
  t.equal(h.s.size, 0);
});

t.test('two runs a worker started, each under its own run id, each found by it', async (t) => {
  const h = new Harness();
  h.join('w1', 2);
  t.same(direct(h, 'w1', 'a'), ['submitReply ok']);
  const b = h.send({ type: 'graphSubmitted', clientId: 'c', requestId: 'r', tasks: [spec('b')], wants: ['b'], startedOn: { workerId: 'w1', runId: RUN + 1 } });
  t.same(b, ['submitReply ok']);
  t.same(h.finish('c/a', 10, { runId: RUN + 1, workerId: 'w1', attempt: 1 }), [], 'a report under the other run\'s id is stale');
  t.same(h.finish('c/b', 10, { runId: RUN + 1, workerId: 'w1', attempt: 1 }), ['notify c b memory']);
  t.same(h.finish('c/a', 10, { runId: RUN, workerId: 'w1', attempt: 1 }), ['notify c a memory']);
});

t.test('asked for again while the run that was to tell the client runs (a direct stream broke): the scheduler tells the client too', async (t) => {
  const h = new Harness();
  h.join('w1');
  t.same(direct(h, 'w1', 'a'), ['submitReply ok']);
  t.same(h.submit([], ['a']), ['submitReply ok'], 'a want alone');
  t.same(h.finish('c/a', 10, { runId: RUN, workerId: 'w1', attempt: 1 }), ['notify c a memory']);
  t.equal(notifications(h)[0]!.byWorker, false, 'sent by the coordinator, not left to the worker');
  // A run assigned later tells the client itself again.
  t.same(h.submit([spec('b')], ['b']), ['submitReply ok', 'assign w1 c/b']);
  t.same(h.finish('c/b'), ['notify c b memory']);
  t.equal(notifications(h)[0]!.byWorker, true);
});

t.test('a put of several values: each new task is adopted as the worker\'s run, their run ids in a row; a key the scheduler had is cancelled by its own', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.join('w2');
  t.same(h.submit([spec('p2')], ['p2']), ['submitReply ok', 'assign w1 c/p2']);
  const out = h.send({ type: 'graphSubmitted', clientId: 'c', requestId: 'r', tasks: [spec('p1'), spec('p2'), spec('p3')], wants: ['p1', 'p2', 'p3'], startedOn: { workerId: 'w2', runId: RUN } });
  t.same(out, ['submitReply ok', 'cancelRun w2 c/p2'], 'the new ones adopted; the known one cancelled');
  t.match(h.last.find((c) => c.type === 'cancelRun'), { runId: RUN + 1 }, 'by the run id of its place');
  t.same(processing(h), { w1: 1, w2: 2 });
  t.same(h.finish('c/p3', 10, { runId: RUN + 1, workerId: 'w2', attempt: 1 }), [], 'a report under another place\'s run id is stale');
  t.same(h.finish('c/p1', 10, { runId: RUN, workerId: 'w2', attempt: 1 }), ['notify c p1 memory']);
  t.same(h.finish('c/p3', 10, { runId: RUN + 2, workerId: 'w2', attempt: 1 }), ['notify c p3 memory']);
  t.same(processing(h), { w1: 1, w2: 0 });
});

t.test('a rejected batch of several started runs: each is cancelled by its run id', async (t) => {
  const h = new Harness();
  h.join('w1');
  const out = h.send({ type: 'graphSubmitted', clientId: 'c', requestId: 'r', tasks: [spec('a'), spec('b', ['nope'])], wants: ['a', 'b'], startedOn: { workerId: 'w1', runId: RUN } });
  t.same(out, ['submitReply MISSING_DEPENDENCY', 'cancelRun w1 c/a', 'cancelRun w1 c/b']);
  t.same(h.last.filter((c) => c.type === 'cancelRun').map((c) => (c as { runId: number }).runId), [RUN, RUN + 1]);
  t.equal(h.s.size, 0);
});
