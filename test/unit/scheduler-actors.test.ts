// The scheduler's actor routing and seceded runs, driven by events (validate() after each).
import t from 'tap';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { ACTOR_CREATE, ACTOR_MODULE } from '../../src/graph/spec.ts';
import { Scheduler } from '../../src/scheduler/scheduler.ts';
import type { SchedulerCommand, SchedulerConfig, SchedulerEvent } from '../../src/scheduler/types.ts';

type Ev = SchedulerEvent extends infer E ? (E extends SchedulerEvent ? Omit<E, 'stimulusId' | 'nowMs'> : never) : never;

function spec(key: string, extra: Partial<TaskSpec> = {}): TaskSpec {
  return {
    key, name: key, module: 'file:///tasks.js', exportName: key, args: new Uint8Array(), deps: [],
    serializer: { id: 'msgpack', module: '' }, priority: 0, retries: 0, retryDelayMs: 0, retryBackoff: 2,
    timeoutMs: 0, resources: {}, ...extra,
  };
}

const creation = (key: string, restartsMax = 0, extra: Partial<TaskSpec> = {}): TaskSpec =>
  spec(key, { module: 'file:///actors.js', exportName: 'Counter', actor: ACTOR_CREATE, restartsMax, ...extra });
const call = (key: string, actorId: string, method = 'inc'): TaskSpec => spec(key, { module: ACTOR_MODULE, exportName: method, actor: actorId });

function summary(c: SchedulerCommand): string {
  switch (c.type) {
    case 'assign':
      return `assign ${c.workerId} ${c.id}`;
    case 'notifyClient':
      return `notify ${c.clientId} ${c.key} ${c.status}${c.error === undefined ? '' : ` ${c.error.code}`}`;
    case 'submitReply':
      return `submitReply ${c.error?.code ?? 'ok'}`;
    case 'wakeAt':
      return `wakeAt ${c.atMs}`;
    case 'retired':
      return `retired ${c.workerId}`;
    default:
      return `${c.type} ${c.workerId} ${c.id}`;
  }
}

class Harness {
  readonly s: Scheduler;
  private n = 0;
  readonly runs = new Map<string, { runId: number; workerId: string }>();
  last: SchedulerCommand[] = [];

  constructor(config: Partial<SchedulerConfig> = {}) {
    this.s = new Scheduler({ saturationWindowMs: 0, earlyPerWorker: 0, ...config });
  }

  send(ev: Ev): string[] {
    const stimulusId = `s${++this.n}`;
    const cmds = this.s.handle({ ...ev, stimulusId, nowMs: this.n });
    this.s.validate();
    for (const c of cmds) if (c.type === 'assign') this.runs.set(c.id, { runId: c.runId, workerId: c.workerId });
    this.last = cmds;
    return cmds.map(summary);
  }

  submit(tasks: TaskSpec[], wants = tasks.map((x) => x.key), clientId = 'c'): string[] {
    return this.send({ type: 'graphSubmitted', clientId, requestId: 'r', tasks, wants }).filter((x) => x !== 'submitReply ok');
  }

  join(workerId: string, threads = 1, resources: Record<string, number> = {}): string[] {
    return this.send({ type: 'workerJoined', workerId, threads, resources, address: `addr-${workerId}` });
  }

  finish(id: string): string[] {
    const run = this.runs.get(id)!;
    const inline = new Uint8Array([0xc3]);
    return this.send({ type: 'taskFinished', workerId: run.workerId, id, runId: run.runId, nbytes: 1, serializer: { id: 'msgpack', module: '' }, inline, durationMs: 1 });
  }

  slot(id: string, seceded: boolean): string[] {
    const run = this.runs.get(id)!;
    return this.send({ type: seceded ? 'taskSeceded' : 'taskRejoined', workerId: run.workerId, id, runId: run.runId });
  }
}

t.test('calls made before the actor exists wait, then go to its worker in call order, past its capacity', async (t) => {
  const h = new Harness({ workerSaturation: 1 });
  h.join('w1', 1, { gpu: 1 });
  h.join('w2', 1);
  t.same(h.submit([creation('A', 0, { resources: { gpu: 1 } })]), ['assign w1 c/A'], 'placed where the resources are');
  t.same(h.submit([call('k1', 'c/A'), call('k2', 'c/A')]), [], 'parked while the actor is being created');
  t.same(h.submit([spec('busy1')]), ['assign w1 c/busy1'], 'the creation holds no slot of w1');
  t.same(h.submit([spec('busy2')]), ['assign w2 c/busy2']);
  t.same(h.submit([spec('busy3')]), [], 'every slot is taken: queued');
  t.same(h.finish('c/A'), ['notify c A memory', 'assign w1 c/k1', 'assign w1 c/k2'], 'calls run on a full worker');
  t.same(h.submit([call('k3', 'c/A')]), ['assign w1 c/k3'], 'assigned at once while the actor lives');
  t.same(h.submit([call('k4', 'c/A')], ['k4'], 'other'), ['assign w1 other/k4'], 'another client may call it by id');
});

t.test('a lost actor without restarts: running calls and later calls fail with ACTOR_LOST', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.join('w2');
  h.submit([creation('A')]);
  h.finish('c/A');
  h.submit([call('k1', 'c/A')]);
  const out = h.send({ type: 'workerLost', workerId: h.runs.get('c/A')!.workerId });
  t.same(out.sort(), ['notify c A erred ACTOR_LOST', 'notify c k1 erred ACTOR_LOST']);
  t.same(h.submit([call('k2', 'c/A')]), ['notify c k2 erred ACTOR_LOST']);
  t.equal(h.s.stateOf('c/A'), 'erred');
});

t.test('restartsMax: the actor is re-created elsewhere; calls in flight fail, calls meanwhile wait for the new one', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.join('w2');
  h.submit([creation('A', 1)]);
  h.finish('c/A');
  const first = h.runs.get('c/A')!.workerId;
  const other = first === 'w1' ? 'w2' : 'w1';
  h.submit([call('k1', 'c/A')]);
  t.same(h.send({ type: 'workerLost', workerId: first }), ['notify c k1 erred ACTOR_LOST', `assign ${other} c/A`]);
  t.same(h.submit([call('k2', 'c/A')]), [], 'waits for the re-created actor');
  t.same(h.finish('c/A'), ['notify c A memory', `assign ${other} c/k2`], 'the owner hears of the new location');
  t.same(h.send({ type: 'workerLost', workerId: other }), ['notify c k2 erred ACTOR_LOST', 'notify c A erred ACTOR_LOST'], 'out of restarts');
});

t.test('released actor: later calls fail; a failed constructor fails its calls with its error', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([creation('A')]);
  h.finish('c/A');
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['A'] }), ['releaseData w1 c/A']);
  t.same(h.submit([call('k1', 'c/A')]), ['notify c k1 erred ACTOR_LOST']);
  h.submit([creation('B')]);
  h.submit([call('k2', 'c/B')]);
  const run = h.runs.get('c/B')!;
  const error = { code: 'TASK_ERROR' as const, message: 'ctor', retryable: false, stack: '', taskKey: 'B', originalName: 'Error' };
  t.same(h.send({ type: 'taskFailed', workerId: run.workerId, id: 'c/B', runId: run.runId, error }).sort(), ['notify c B erred TASK_ERROR', 'notify c k2 erred TASK_ERROR']);
});

t.test('a call cancelled while parked is dropped from the waiters', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([creation('A')]);
  h.submit([call('k1', 'c/A'), call('k2', 'c/A')]);
  t.same(h.send({ type: 'keysCancelled', clientId: 'c', keys: ['k1'] }), ['notify c k1 cancelled CANCELLED']);
  t.same(h.finish('c/A'), ['notify c A memory', 'assign w1 c/k2']);
});

t.test('a seceded run frees its slot until it rejoins; it is never stolen', async (t) => {
  const h = new Harness({ workerSaturation: 1 });
  h.join('w1', 1);
  t.same(h.submit([spec('parent')]), ['assign w1 c/parent']);
  t.same(h.submit([spec('child')]), [], 'the only slot is taken');
  t.same(h.slot('c/parent', true), ['assign w1 c/child'], 'seceded: the child gets the slot');
  t.same(h.slot('c/parent', true), [], 'seceding twice changes nothing');
  t.same(h.submit([spec('other')]), []);
  t.same(h.slot('c/parent', false), [], 'rejoined: counted again');
  t.same(h.finish('c/child'), ['notify c child memory']);
  t.same(h.finish('c/parent'), ['notify c parent memory', 'assign w1 c/other']);
  h.join('w2', 1);
  t.same(h.slot('c/other', true), [], 'an idle worker does not steal a seceded run');
});

t.test('actor tasks take no slot and are not stolen by idle workers', async (t) => {
  const h = new Harness({ workerSaturation: 1 });
  h.join('w1', 1);
  h.submit([creation('A')]);
  h.finish('c/A');
  t.same(h.submit([call('k1', 'c/A'), call('k2', 'c/A'), spec('x')]), ['assign w1 c/k1', 'assign w1 c/k2', 'assign w1 c/x']);
  t.same(h.join('w2', 1), [], 'nothing to steal: the calls belong to the actor, x runs');
});

t.test('lent handles keep the actor: a task holding one, pending calls, and an actor given one', async (t) => {
  const h = new Harness();
  h.join('w1', 2);
  h.submit([creation('A')]);
  h.finish('c/A');
  // Another client's task carries A's handle; the owner then lets go of its own.
  t.same(h.submit([spec('t', { holdsActors: ['c/A'] })], ['t'], 'd'), ['assign w1 d/t']);
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['A'] }), [], 'held by the running task: not released');
  t.same(h.submit([call('k1', 'c/A')], ['k1'], 'd'), ['assign w1 d/k1'], 'calls through the lent handle reach it');
  t.same(h.finish('d/k1'), ['notify d k1 memory']);
  t.same(h.finish('d/t'), ['notify d t memory', 'releaseData w1 c/A'], 'the last holder finished: the actor is freed');
  t.same(h.submit([call('k2', 'c/A')], ['k2'], 'd'), ['notify d k2 erred ACTOR_LOST']);

  // Calls made before the release still run (they hold their actor), as in Ray.
  h.submit([creation('B')]);
  h.finish('c/B');
  t.same(h.submit([call('b1', 'c/B'), call('b2', 'c/B')]), ['assign w1 c/b1', 'assign w1 c/b2']);
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['B'] }), []);
  t.same(h.finish('c/b1'), ['notify c b1 memory']);
  t.same(h.finish('c/b2'), ['notify c b2 memory', 'releaseData w1 c/B']);

  // An actor given a handle (in a method call) holds it as long as it lives itself.
  h.submit([creation('C'), creation('R')]);
  h.finish('c/C');
  h.finish('c/R');
  h.submit([call('r1', 'c/R', 'keep')].map((x) => ({ ...x, holdsActors: ['c/C'] })));
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['C'] }), []);
  t.same(h.finish('c/r1'), ['notify c r1 memory'], 'R may have kept the handle: C lives on');
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['R'] }).sort(), ['releaseData w1 c/C', 'releaseData w1 c/R'], 'freeing R frees C');
});

t.test('holds never bring back a released actor, and an actor lost for good lets go of what it held', async (t) => {
  const h = new Harness();
  h.join('w1', 1, { fpga: 1 });
  h.join('w2', 1, { gpu: 1 });
  h.submit([creation('A')]);
  h.finish('c/A');
  h.send({ type: 'keysReleased', clientId: 'c', keys: ['A'] });
  t.same(h.submit([spec('t', { holdsActors: ['c/A'] })]), ['assign w1 c/t'], 'the task runs; A stays gone');
  t.equal(h.s.stateOf('c/A'), 'forgotten');

  // D holds E (constructor argument); D's worker dies with no restarts left: E is let go.
  h.submit([creation('E', 0, { resources: { gpu: 1 } })]);
  h.finish('c/E');
  h.submit([creation('D', 0, { holdsActors: ['c/E'], resources: { fpga: 1 } })]);
  h.finish('c/D');
  t.same(h.send({ type: 'keysReleased', clientId: 'c', keys: ['E'] }), [], 'D holds E');
  const dOn = h.runs.get('c/D')!.workerId;
  const eOn = h.runs.get('c/E')!.workerId;
  t.not(dOn, eOn, 'on different workers');
  const out = h.send({ type: 'workerLost', workerId: dOn });
  t.ok(out.includes('notify c D erred ACTOR_LOST'), 'D is lost');
  t.ok(out.includes(`releaseData ${eOn} c/E`), 'and E, held by nobody now, is freed');
});

t.test("a caller's calls start in the order made, even behind a call waiting for a future argument", async (t) => {
  const h = new Harness();
  h.join('w1', 1);
  h.submit([creation('A')]);
  h.finish('c/A');
  const x = spec('x');
  const k1 = { ...call('k1', 'c/A'), deps: ['x'] };
  t.same(h.submit([x, k1, call('k2', 'c/A'), call('k3', 'c/A')]), ['assign w1 c/x'], 'k2 and k3 wait behind k1');
  t.same(h.submit([call('o1', 'c/A')], ['o1'], 'other'), ['assign w1 other/o1'], "another caller's calls are not held up");
  t.same(h.finish('c/x'), ['notify c x memory', 'assign w1 c/k1', 'assign w1 c/k2', 'assign w1 c/k3'], 'then all three, in order');

  // The call in front fails through its input: the ones behind it go on.
  const y = spec('y');
  h.submit([y, { ...call('k4', 'c/A'), deps: ['y'] }, call('k5', 'c/A')]);
  const run = h.runs.get('c/y')!;
  const error = { code: 'TASK_ERROR' as const, message: 'no', retryable: false, stack: '', taskKey: 'y', originalName: 'Error' };
  t.same(h.send({ type: 'taskFailed', workerId: run.workerId, id: 'c/y', runId: run.runId, error }), ['notify c y erred TASK_ERROR', 'notify c k4 erred TASK_ERROR', 'assign w1 c/k5']);
});

t.test('a batch listing dependents first is numbered in dependency order', async (t) => {
  const h = new Harness();
  h.join('w1', 1);
  h.submit([creation('A')]);
  h.finish('c/A');
  // A raw message may list k1 before z, which k1 needs: numbered in list order, k1 would
  // be older than k2 and wait for z, so k2 would wait for k1... and z for nobody.
  const out = h.submit([{ ...call('k1', 'c/A'), deps: ['z'] }, call('k2', 'c/A'), spec('z')]);
  t.same(out.sort(), ['assign w1 c/k2', 'assign w1 c/z'], 'k2 and z run; k1 waits for z');
  const zOrder = (h.last.find((c) => c.type === 'assign' && c.id === 'c/z') as { order: number }).order;
  t.same(h.finish('c/z'), ['notify c z memory', 'assign w1 c/k1']);
  const k1Order = (h.last.find((c) => c.type === 'assign') as { order: number }).order;
  t.ok(zOrder < k1Order, 'graph order follows dependencies');
});
