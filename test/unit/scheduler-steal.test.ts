// Work stealing and graceful retirement in the pure scheduler, driven event by event.
import t from 'tap';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import type { SchedulerCommand, SchedulerConfig, SchedulerEvent } from '../../src/scheduler/types.ts';

type Ev = SchedulerEvent extends infer E ? (E extends SchedulerEvent ? Omit<E, 'stimulusId' | 'nowMs'> : never) : never;
const serializer = { id: 'msgpack', module: '' };

function spec(key: string, deps: string[] = [], extra: Partial<TaskSpec> = {}): TaskSpec {
  return {
    key, name: key, module: 'file:///tasks.js', exportName: key, args: new Uint8Array(), deps, serializer,
    priority: 0, retries: 0, retryDelayMs: 0, retryBackoff: 2, timeoutMs: 0, resources: {}, ...extra,
  };
}

function summary(c: SchedulerCommand): string {
  switch (c.type) {
    case 'assign':
    case 'cancelRun':
    case 'steal':
    case 'releaseData':
      return `${c.type} ${c.workerId} ${c.id}`;
    case 'replicate':
      return `replicate ${c.workerId} ${c.id} from ${c.holders.join(',')}`;
    case 'retired':
      return `retired ${c.workerId}`;
    case 'notifyClient':
      return `notify ${c.key} ${c.status}`;
    case 'submitReply':
      return `submitReply ${c.error?.code ?? 'ok'}`;
    case 'wakeAt':
      return `wakeAt ${c.atMs}`;
  }
}

class Harness {
  readonly s: Scheduler;
  private n = 0;
  /** Latest assignment of each task. */
  readonly runs = new Map<string, { runId: number; workerId: string }>();
  last: SchedulerCommand[] = [];

  constructor(config: Partial<SchedulerConfig> = {}) {
    // Fixed capacities (threads × workerSaturation) unless a test asks for adaptive ones.
    this.s = new Scheduler({ saturationWindowMs: 0, earlyPerWorker: 0, ...config });
  }

  send(ev: Ev): string[] {
    const cmds = this.s.handle({ ...ev, stimulusId: `s${++this.n}`, nowMs: 0 });
    this.s.validate();
    for (const c of cmds) if (c.type === 'assign') this.runs.set(c.id, { runId: c.runId, workerId: c.workerId });
    this.last = cmds;
    return cmds.map(summary);
  }

  submit(tasks: TaskSpec[], wants: string[]): string[] {
    return this.send({ type: 'graphSubmitted', clientId: 'c', requestId: 'r', tasks, wants });
  }

  join(workerId: string, threads = 1): string[] {
    return this.send({ type: 'workerJoined', workerId, threads, resources: {}, address: `addr-${workerId}` });
  }

  finish(id: string, run = this.runs.get(id)!): string[] {
    return this.send({ type: 'taskFinished', workerId: run.workerId, id, runId: run.runId, nbytes: 10, serializer, inline: undefined, durationMs: 1 });
  }

  answer(type: 'stealGranted' | 'stealRefused', id: string, run = this.runs.get(id)!): string[] {
    return this.send({ type, workerId: run.workerId, id, runId: run.runId });
  }
}

t.test('a joining worker steals the task its victim would start last; granted -> new run there', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a'), spec('b')], ['a', 'b']);
  t.same([h.runs.get('c/a')?.workerId, h.runs.get('c/b')?.workerId], ['w1', 'w1'], 'saturation 2: both sent to w1');
  t.same(h.join('w2'), ['steal w1 c/b']);
  const old = h.runs.get('c/b')!;
  t.same(h.answer('stealGranted', 'c/b'), ['assign w2 c/b']);
  t.ok(h.runs.get('c/b')!.runId > old.runId, 'a new run');
  t.same(h.finish('c/b', old), ['releaseData w1 c/b'], 'the dropped run cannot complete (whatever w1 has of it is dropped)');
  t.same(h.answer('stealGranted', 'c/b', old), [], 'a repeated grant for the old run is ignored');
  t.same(h.finish('c/b'), ['notify b memory']);
  t.same(h.s.story('c/b').map((e) => e.to), ['released', 'waiting', 'processing', 'waiting', 'processing', 'memory']);
});

t.test('refused: nothing moves, and that run is never asked for again', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a'), spec('b')], ['a', 'b']);
  t.same(h.join('w2'), ['steal w1 c/b']);
  t.same(h.answer('stealRefused', 'c/b'), ['steal w1 c/a'], 'the thief, still idle, asks for the other task');
  t.same(h.answer('stealRefused', 'c/a'), []);
  t.same(h.join('w3'), [], 'refused runs are not asked for again');
  t.same(h.finish('c/b'), ['notify b memory']);
});

t.test('a completion racing the steal is accepted; the late answer is ignored', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a'), spec('b')], ['a', 'b']);
  h.join('w2');
  const run = h.runs.get('c/b')!;
  t.same(h.finish('c/b'), ['notify b memory']);
  t.same(h.answer('stealGranted', 'c/b', run), [], 'stale grant');
  t.same(h.answer('stealRefused', 'c/b', run), [], 'stale refusal');
  t.equal(h.s.stateOf('c/b'), 'memory');
});

t.test('steals in flight are bounded by the thief\'s idle threads; one steal per task', async (t) => {
  const h = new Harness({ workerSaturation: 4 });
  h.join('w1');
  h.submit([spec('a'), spec('b'), spec('c'), spec('d', [], { priority: 1 })], ['a', 'b', 'c', 'd']);
  t.same(h.join('w2'), ['steal w1 c/c'], 'lowest priority, latest submitted');
  t.same(h.join('w3', 2), ['steal w1 c/b', 'steal w1 c/a'], 'not c again; d (highest priority) is left: excess is 3');
  t.same(h.answer('stealGranted', 'c/a'), ['assign w3 c/a']);
  t.same(h.answer('stealGranted', 'c/c'), ['assign w2 c/c']);
  t.same(h.s.workerInfo().map((w) => w.processing), [2, 1, 1]);
});

t.test('a worker that finishes and has idle threads steals', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.join('w2');
  h.submit([spec('a'), spec('b'), spec('c'), spec('d')], ['a', 'b', 'c', 'd']);
  // Roots made ready together go out in blocks, an even share per thread (placement.ts).
  t.same([...h.runs.values()].map((r) => r.workerId), ['w1', 'w1', 'w2', 'w2']);
  t.same(h.finish('c/c'), ['notify c memory']);
  t.same(h.finish('c/d'), ['notify d memory', 'steal w1 c/b']);
  t.same(h.answer('stealGranted', 'c/b'), ['assign w2 c/b']);
});

t.test('stealing can be turned off', async (t) => {
  const h = new Harness({ stealing: false });
  h.join('w1');
  h.submit([spec('a'), spec('b')], ['a', 'b']);
  t.same(h.join('w2'), []);
});

t.test('a thief that left before the grant: the task is placed normally', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a'), spec('b')], ['a', 'b']);
  h.join('w2');
  h.send({ type: 'workerLost', workerId: 'w2' });
  t.same(h.answer('stealGranted', 'c/b'), ['assign w1 c/b'], 'back on w1, with a new run');
});

t.test('retiring: unstarted work moves, sole results are copied, then retired', async (t) => {
  const h = new Harness({ stealing: false });
  h.join('w1');
  h.submit([spec('x')], ['x']);
  h.finish('c/x');
  h.submit([spec('a'), spec('b')], ['a', 'b']);
  h.join('w2');
  t.same(h.send({ type: 'workerRetiring', workerId: 'w1' }), ['steal w1 c/a', 'steal w1 c/b', 'replicate w2 c/x from w1']);
  t.equal(h.s.workerInfo()[0]?.retiring, true);
  t.same(h.submit([spec('n')], ['n']), ['submitReply ok', 'assign w2 c/n'], 'no new work for a retiring worker');
  t.same(h.answer('stealRefused', 'c/a'), []);
  t.same(h.answer('stealGranted', 'c/b'), ['assign w2 c/b']);
  t.same(h.finish('c/a'), ['notify a memory', 'replicate w2 c/a from w1']);
  t.same(h.send({ type: 'replicated', workerId: 'w2', ids: ['c/x'] }), []);
  t.same(h.send({ type: 'replicated', workerId: 'w2', ids: ['c/a'] }), ['retired w1']);
  t.same(h.s.workerInfo().map((w) => w.id), ['w2']);
  t.same([h.s.stateOf('c/x'), h.s.stateOf('c/a')], ['memory', 'memory'], 'nothing lost or recomputed');
  h.finish('c/n');
  h.finish('c/b');
  t.same(h.submit([spec('y', ['x', 'a'])], ['y']), ['submitReply ok', 'assign w2 c/y']);
  t.match(h.last[1], { deps: [{ id: 'c/x', holders: ['w2'] }, { id: 'c/a', holders: ['w2'] }] });
});

t.test('retiring with no other worker: it keeps its work and stays until one joins', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('x'), spec('y')], ['x', 'y']);
  h.finish('c/x');
  t.same(h.send({ type: 'workerRetiring', workerId: 'w1' }), [], 'no steal: nowhere to run it');
  t.same(h.finish('c/y'), ['notify y memory']);
  t.equal(h.s.workerInfo()[0]?.retiring, true);
  t.same(h.join('w2'), ['replicate w2 c/x from w1', 'replicate w2 c/y from w1']);
  t.same(h.send({ type: 'replicated', workerId: 'w2', ids: ['c/x', 'c/y'] }), ['retired w1']);
});

t.test('retiring holding nothing needed retires at once', async (t) => {
  const h = new Harness();
  h.join('w1');
  t.same(h.send({ type: 'workerRetiring', workerId: 'w1' }), ['retired w1']);
  t.equal(h.s.workerInfo().length, 0);
  t.same(h.send({ type: 'workerRetiring', workerId: 'w1' }), [], 'unknown worker');
});

t.test('a loss during retirement is a normal loss; a late copy is released', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('x')], ['x']);
  h.finish('c/x');
  h.join('w2');
  t.same(h.send({ type: 'workerRetiring', workerId: 'w1' }), ['replicate w2 c/x from w1']);
  t.same(h.send({ type: 'workerLost', workerId: 'w1' }), ['assign w2 c/x'], 'recomputed');
  t.same(h.send({ type: 'replicated', workerId: 'w2', ids: ['c/x'] }), ['releaseData w2 c/x']);
});

t.test('a result released while being copied: retired without waiting for the copy', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('x')], ['x']);
  h.finish('c/x');
  h.join('w2');
  h.send({ type: 'workerRetiring', workerId: 'w1' });
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['x'] }), ['releaseData w1 c/x', 'retired w1']);
  t.same(h.send({ type: 'replicated', workerId: 'w2', ids: ['c/x'] }), ['releaseData w2 c/x']);
  t.equal(h.s.size, 0);
});

t.test('retiring again re-issues a copy that may have failed; a lost recipient is replaced', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('x')], ['x']);
  h.finish('c/x');
  h.join('w2');
  h.join('w3');
  t.same(h.send({ type: 'workerRetiring', workerId: 'w1' }), ['replicate w2 c/x from w1']);
  t.same(h.send({ type: 'workerRetiring', workerId: 'w1' }), ['replicate w2 c/x from w1']);
  t.same(h.send({ type: 'workerLost', workerId: 'w2' }), ['replicate w3 c/x from w1']);
  t.same(h.send({ type: 'replicated', workerId: 'w3', ids: ['c/x'] }), ['retired w1']);
});

t.test('inline results need no copy', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('x')], ['x']);
  const run = h.runs.get('c/x')!;
  h.send({ type: 'taskFinished', workerId: 'w1', id: 'c/x', runId: run.runId, nbytes: 1, serializer, inline: new Uint8Array([1]), durationMs: 1 });
  h.join('w2');
  t.same(h.send({ type: 'workerRetiring', workerId: 'w1' }), ['retired w1']);
  t.same(h.submit([spec('y', ['x'])], ['y']), ['submitReply ok', 'assign w2 c/y']);
  t.match(h.last[1], { deps: [{ id: 'c/x', holders: [], inline: new Uint8Array([1]) }] });
});

t.test('a worker whose every thread straggles takes nothing new and gives back what it has not started, until a straggler ends', async (t) => {
  const h = new Harness({ stealing: false });
  h.join('w1', 2);
  h.join('w2', 1);
  h.submit(['a', 'b', 'c', 'd', 'e'].map((k) => spec(k)), ['a', 'b', 'c', 'd', 'e']);
  t.same(['a', 'b', 'c', 'd'].map((k) => h.runs.get(`c/${k}`)?.workerId), ['w1', 'w1', 'w1', 'w1'], 'saturation 2: w1 takes four');
  t.same(h.runs.get('c/e')?.workerId, 'w2');
  const straggle = (id: string): string[] => h.send({ type: 'taskStraggling', workerId: 'w1', id, runId: h.runs.get(id)!.runId });
  t.same(straggle('c/a'), [], 'one of its two threads: nothing changes');
  t.same(straggle('c/b'), ['steal w1 c/c', 'steal w1 c/d'], 'both threads: the runs it has not started are asked back');
  t.same(straggle('c/b'), [], 'told twice: once');
  t.same(h.answer('stealGranted', 'c/c'), ['assign w2 c/c'], 'it goes where there is room');
  t.same(h.answer('stealRefused', 'c/d'), [], 'd had started');
  t.same(h.submit([spec('f')], ['f']), ['submitReply ok'], 'nothing new for w1 (and w2 is full): queued');
  t.same(h.finish('c/e'), ['notify e memory', 'assign w2 c/f']);
  t.same(h.submit([spec('g')], ['g']), ['submitReply ok'], 'queued again');
  t.same(h.finish('c/a'), ['notify a memory', 'assign w1 c/g'], 'a straggler ended: w1 takes tasks again');
  for (const k of ['b', 'c', 'd', 'f', 'g']) h.finish(`c/${k}`);
  t.same(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((k) => h.s.stateOf(`c/${k}`)), Array(7).fill('memory'));
});

t.test('a worker with one thread of two straggling is fed for the other thread only, until the straggler ends', async (t) => {
  const h = new Harness({ stealing: false });
  h.join('w1', 2);
  h.submit([spec('a'), spec('b')], ['a', 'b']);
  t.same(h.send({ type: 'taskStraggling', workerId: 'w1', id: 'c/a', runId: h.runs.get('c/a')!.runId }), []);
  t.same(h.submit(['c', 'd', 'e'].map((k) => spec(k)), ['c', 'd', 'e']), ['submitReply ok', 'assign w1 c/c'], 'saturation 2 for the free thread, and the straggler its own slot: 3, not 4');
  t.same(h.finish('c/b'), ['notify b memory', 'assign w1 c/d']);
  t.same(h.finish('c/a'), ['notify a memory', 'assign w1 c/e'], 'the straggler ended: its thread is fed again');
  t.same(h.submit([spec('f')], ['f']), ['submitReply ok', 'assign w1 c/f'], 'all 4 slots again');
  for (const k of ['c', 'd', 'e', 'f']) h.finish(`c/${k}`);
  t.same(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => h.s.stateOf(`c/${k}`)), Array(6).fill('memory'));
});

t.test('a straggler in a chain, still early to the scheduler, counts: its worker is fed nothing more until it ends', async (t) => {
  const h = new Harness({ stealing: false, earlyPerWorker: 8 });
  h.join('w1');
  h.join('w2');
  t.same(h.submit([spec('a'), spec('b', ['a'])], ['a', 'b']), ['submitReply ok', 'assign w1 c/a', 'assign w1 c/b'], 'b goes early, behind a');
  // b started in a's pool dispatch, which holds a's result until b ends: the scheduler still sees a running, b early.
  t.same(h.send({ type: 'taskStraggling', workerId: 'w1', id: 'c/b', runId: h.runs.get('c/b')!.runId }), [], 'a is done: not asked back');
  t.same(h.submit(['c', 'd', 'e'].map((k) => spec(k)), ['c', 'd', 'e']), ['submitReply ok', 'assign w2 c/c', 'assign w2 c/d'], 'w1 is stuck: e waits');
  t.same(h.finish('c/a'), ['notify a memory'], 'b now holds the slot, still straggling');
  t.same(h.finish('c/b'), ['notify b memory', 'assign w1 c/e'], 'the straggler ended');
  for (const k of ['c', 'd', 'e']) h.finish(`c/${k}`);
  t.same(['a', 'b', 'c', 'd', 'e'].map((k) => h.s.stateOf(`c/${k}`)), Array(5).fill('memory'));
});

t.test('a worker whose every thread straggles keeps its runs when no other worker could take them', async (t) => {
  const h = new Harness({ stealing: false });
  h.join('w1', 1);
  h.submit([spec('a'), spec('b')], ['a', 'b']);
  t.same(h.send({ type: 'taskStraggling', workerId: 'w1', id: 'c/a', runId: h.runs.get('c/a')!.runId }), [], 'nobody to give b to: not asked for');
  t.same(h.submit([spec('c')], ['c']), ['submitReply ok'], 'nothing new for it: queued');
  t.same(h.finish('c/a'), ['notify a memory', 'assign w1 c/c']);
});
