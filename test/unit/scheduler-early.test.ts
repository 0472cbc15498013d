/**
 * Early assignment (src/scheduler/early.ts): dependents whose missing inputs are all being
 * computed on one worker are assigned there at once, and taken back when an input's run
 * ends without a result.
 */
import t from 'tap';
import { spec } from '../helpers/spec.ts';
import { Harness, taskError } from '../helpers/scheduler-harness.ts';
import type { SchedulerCommand } from '../../src/scheduler/types.ts';

type Assign = Extract<SchedulerCommand, { type: 'assign' }>;

function assignOf(h: Harness, id: string): Assign {
  const a = h.last.find((c): c is Assign => c.type === 'assign' && c.id === id);
  if (a === undefined) throw new Error(`no assign of ${id} in ${JSON.stringify(h.last.map((c) => c.type))}`);
  return a;
}

const chain = [spec('a'), spec('b', ['a']), spec('c', ['b'])];

t.test('a chain goes to one worker at once; completions need no assignments', async (t) => {
  const h = new Harness({ earlyPerWorker: 100 });
  h.join('w1');
  h.join('w2');
  t.same(h.submit(chain, ['c']), ['submitReply ok', 'assign w1 c/a', 'assign w1 c/b', 'assign w1 c/c']);
  t.same(assignOf(h, 'c/b').deps.map((d) => [d.id, d.holders]), [['c/a', []]], 'the input is computed there: no holders');
  t.equal(h.s.stateOf('c/b'), 'processing');
  t.same(h.s.workerInfo().map((w) => [w.id, w.processing]), [['w1', 3], ['w2', 0]]);
  t.same(h.finish('c/a'), [], 'b starts on w1 by itself');
  t.same(h.finish('c/b'), ['releaseData w1 c/a']);
  t.same(h.finish('c/c'), ['notify c c memory', 'releaseData w1 c/b']);
  t.same(h.s.story('c/b').map((e) => e.to), ['released', 'waiting', 'processing', 'memory', 'released']);
});

t.test('early tasks hold no thread slot and are never stolen until their inputs are in', async (t) => {
  const h = new Harness({ earlyPerWorker: 100 });
  h.join('w1');
  // A binary fan-out: root r, children x and y.
  t.same(h.submit([spec('r'), spec('x', ['r']), spec('y', ['r'])], ['x', 'y']), ['submitReply ok', 'assign w1 c/r', 'assign w1 c/x', 'assign w1 c/y']);
  t.same(h.join('w2'), [], 'nothing on w1 can be stolen: x and y wait for r');
  // r finishes: x and y take slots on w1 (one more than its thread), so idle w2 steals one.
  t.same(h.finish('c/r'), ['steal w1 c/y']);
  t.same(h.send({ type: 'stealGranted', workerId: 'w1', id: 'c/y', runId: h.runs.get('c/y')!.runId }), ['assign w2 c/y']);
  t.same(assignOf(h, 'c/y').deps.map((d) => [d.id, d.holders]), [['c/r', ['w1']]]);
});

t.test('an input that fails and retries takes its early dependents back', async (t) => {
  const h = new Harness({ earlyPerWorker: 100 });
  h.join('w1');
  h.submit([spec('a', [], { retries: 1 }), spec('b', ['a']), spec('c', ['b'])], ['c']);
  t.same(h.fail('c/a'), ['cancelRun w1 c/b', 'cancelRun w1 c/c', 'assign w1 c/a', 'assign w1 c/b', 'assign w1 c/c']);
  t.equal(assignOf(h, 'c/a').attempt, 2);
  t.same(h.s.story('c/b').map((e) => e.to), ['released', 'waiting', 'processing', 'waiting', 'processing']);
  t.same(h.finish('c/a'), []);
  t.same(h.finish('c/b'), ['releaseData w1 c/a']);
  t.same(h.finish('c/c'), ['notify c c memory', 'releaseData w1 c/b']);
});

t.test('an input that errs errs its early dependents, whose runs are cancelled', async (t) => {
  const h = new Harness({ earlyPerWorker: 100 });
  h.join('w1');
  h.submit(chain, ['c']);
  const out = h.fail('c/a', taskError({ retryable: false }));
  t.same(out.filter((c) => c.startsWith('cancelRun')).sort(), ['cancelRun w1 c/b', 'cancelRun w1 c/c']);
  t.ok(out.includes('notify c c erred TASK_ERROR'));
  t.equal(h.s.stateOf('c/b'), 'erred');
});

t.test('a lost worker: its chain is rescheduled, early runs are not counted as suspects', async (t) => {
  const h = new Harness({ earlyPerWorker: 100, allowedFailures: 0 });
  h.join('w1');
  h.join('w2');
  h.submit([spec('a'), spec('b', ['a'])], ['b']);
  t.same(h.runs.get('c/b')?.workerId, 'w1');
  // allowedFailures 0: the task that was running errs; the early one goes back to waiting.
  const out = h.send({ type: 'workerLost', workerId: 'w1' });
  t.same(out, ['notify c b erred WORKER_LOST']);
  t.equal(h.s.stateOf('c/a'), 'erred');
});

t.test('a lost worker with retries left: the whole chain moves, nothing is sent to the dead worker', async (t) => {
  const h = new Harness({ earlyPerWorker: 100 });
  h.join('w1');
  h.join('w2');
  h.submit(chain, ['c']);
  t.same(h.send({ type: 'workerLost', workerId: 'w1' }), ['assign w2 c/a', 'assign w2 c/b', 'assign w2 c/c']);
  t.same(h.finish('c/a'), []);
});

t.test('an input in memory elsewhere is fetched; one processing on another worker keeps the task waiting', async (t) => {
  const h = new Harness({ earlyPerWorker: 100, workerSaturation: 1 });
  h.join('w1');
  h.join('w2');
  h.submit([spec('m')], ['m']);
  h.finish('c/m');
  // p and q run on different workers (one slot each); d needs both: not early anywhere.
  t.same(h.submit([spec('p'), spec('q'), spec('d', ['p', 'q'])], ['d']), ['submitReply ok', 'assign w1 c/p', 'assign w2 c/q']);
  t.equal(h.s.stateOf('c/d'), 'waiting');
  // e needs m (in memory on w1) and p (running on w1): early on w1.
  t.same(h.submit([spec('e', ['m', 'p'])], ['e']), ['submitReply ok']);
  t.equal(h.s.stateOf('c/e'), 'waiting', 'p was assigned before e existed: e waits for the next assignment');
  h.finish('c/p');
  t.equal(h.s.stateOf('c/e'), 'processing');
});

t.test('earlyPerWorker caps the early tasks on a worker; the chain goes on through the scheduler', async (t) => {
  const h = new Harness({ earlyPerWorker: 2 });
  h.join('w1');
  const tasks = [spec('a'), spec('b', ['a']), spec('c', ['b']), spec('d', ['c']), spec('e', ['d'])];
  t.same(h.submit(tasks, ['e']), ['submitReply ok', 'assign w1 c/a', 'assign w1 c/b', 'assign w1 c/c']);
  t.same(h.finish('c/a'), []);
  t.same(h.finish('c/b'), ['releaseData w1 c/a']);
  t.same(h.finish('c/c'), ['releaseData w1 c/b', 'assign w1 c/d', 'assign w1 c/e']);
});

t.test('releasing the wanted end of a chain cancels its early runs', async (t) => {
  const h = new Harness({ earlyPerWorker: 100 });
  h.join('w1');
  h.submit(chain, ['c']);
  const out = h.send({ type: 'keysReleased', clientId: 'c', keys: ['c'] });
  t.same(out.sort(), ['cancelRun w1 c/a', 'cancelRun w1 c/b', 'cancelRun w1 c/c']);
  t.equal(h.s.size, 0);
});

t.test('an early run reported before its input (the worker stored that one later) is accepted', async (t) => {
  const h = new Harness({ earlyPerWorker: 100 });
  h.join('w1');
  h.submit(chain, ['c']);
  t.same(h.send({ type: 'taskRejoined', workerId: 'w1', id: 'c/b', runId: h.runs.get('c/b')!.runId }), [], 'no slot change for a run not known to have started');
  // b ran, so a was there. Nobody needs a any more: its run is let go, and its report,
  // stale by then, makes the worker drop the result.
  t.same(h.finish('c/b'), ['cancelRun w1 c/a']);
  t.equal(h.s.stateOf('c/b'), 'memory');
  t.equal(h.s.stateOf('c/a'), 'released');
  t.same(h.finish('c/a'), ['releaseData w1 c/a']);
  t.same(h.finish('c/c'), ['notify c c memory', 'releaseData w1 c/b']);
});

t.test('an early run that fails before its input is reported retries once that input is in', async (t) => {
  const h = new Harness({ earlyPerWorker: 100 });
  h.join('w1');
  h.submit([spec('a'), spec('b', ['a'], { retries: 1 })], ['b']);
  t.same(h.fail('c/b'), [], 'the retry waits for a');
  t.equal(h.s.stateOf('c/b'), 'waiting');
  t.same(h.finish('c/a'), ['assign w1 c/b']);
  t.equal(h.runs.get('c/b')!.attempt, 2);
});

t.test('off with earlyPerWorker 0: each dependent waits for its input in memory', async (t) => {
  const h = new Harness({ earlyPerWorker: 0 });
  h.join('w1');
  t.same(h.submit(chain, ['c']), ['submitReply ok', 'assign w1 c/a']);
  t.same(h.finish('c/a'), ['assign w1 c/b']);
});

t.test('roots made ready together go out in blocks: a tree sum reduces on each worker without transfers', async (t) => {
  const h = new Harness({ earlyPerWorker: 100, workerSaturation: 4 });
  h.join('w1');
  h.join('w2');
  // sum(0..7) as a binary tree: leaves l0..l7, pairs p0..p3, halves q0, q1, the top.
  const leaves = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => spec(`l${i}`));
  const pairs = [0, 1, 2, 3].map((i) => spec(`p${i}`, [`l${2 * i}`, `l${2 * i + 1}`]));
  const halves = [0, 1].map((i) => spec(`q${i}`, [`p${2 * i}`, `p${2 * i + 1}`]));
  h.submit([...leaves, ...pairs, ...halves, spec('top', ['q0', 'q1'])], ['top']);
  const on = (id: string): string | undefined => h.runs.get(`c/${id}`)?.workerId;
  t.same([0, 1, 2, 3, 4, 5, 6, 7].map((i) => on(`l${i}`)), ['w1', 'w1', 'w1', 'w1', 'w2', 'w2', 'w2', 'w2'], 'an even share per thread, in order');
  t.same(['p0', 'p1', 'q0', 'p2', 'p3', 'q1'].map(on), ['w1', 'w1', 'w1', 'w2', 'w2', 'w2'], 'each half reduces early where its leaves are');
  t.equal(on('top'), undefined, 'the top waits: its inputs are made on two workers');
  for (const id of ['l0', 'l1', 'l2', 'l3', 'p0', 'p1', 'l4', 'l5', 'l6', 'l7', 'p2', 'p3', 'q0']) h.finish(`c/${id}`);
  t.same(h.finish('c/q1'), ['releaseData w2 c/p2', 'releaseData w2 c/p3', 'assign w1 c/top'], 'then the top goes where one half is');
});

t.test('a single root per event is placed as before: the least loaded worker', async (t) => {
  const h = new Harness({ earlyPerWorker: 100, workerSaturation: 4 });
  h.join('w1');
  h.join('w2');
  h.submit([spec('a')], ['a']);
  h.submit([spec('b')], ['b']);
  t.same([h.runs.get('c/a')?.workerId, h.runs.get('c/b')?.workerId], ['w1', 'w2']);
});
