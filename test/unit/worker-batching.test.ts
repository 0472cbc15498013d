// Batches of short tasks in the worker's state machine (worker/batching.ts): which ready
// tasks start together in one pool dispatch, and how a batch holds one thread slot.
import t, { type Test } from 'tap';
import { PIPELINE_BATCHES_MAX } from '../../src/worker/batching.ts';
import { WorkerState, type WorkerCommand } from '../../src/worker/state.ts';
import type { WireAssign } from '../../src/transport/messages.ts';

const serializer = { id: 'msgpack', module: '' };
const ok = { ok: true as const, nbytes: 1, serializer };

function assign(id: string, opts: { name?: string; timeoutMs?: number; priority?: number; here?: string[]; remote?: string[] } = {}): WireAssign {
  // `here`: inputs being computed on this worker (early assignment: no holders); `remote`: held elsewhere.
  const deps = [
    ...(opts.here ?? []).map((dep) => ({ id: dep, holders: [], nbytes: 0, serializer, inline: undefined })),
    ...(opts.remote ?? []).map((dep) => ({ id: dep, holders: [{ workerId: 'w2', address: 'inproc://w2' }], nbytes: 1, serializer, inline: undefined })),
  ];
  return {
    id,
    runId: 1,
    attempt: 1,
    spec: {
      key: id, name: opts.name ?? 'short', module: 'file:///m.ts', exportName: 'f', args: new Uint8Array(), deps: deps.map((d) => d.id), serializer,
      priority: opts.priority ?? 0, retries: 0, retryDelayMs: 0, retryBackoff: 2, timeoutMs: opts.timeoutMs ?? 0, resources: {},
    },
    deps,
  };
}

const types = (cmds: WorkerCommand[]): string[] =>
  cmds.map((c) => `${c.type}:${'id' in c ? c.id : 'assign' in c ? c.assign.id : c.assigns.map((a) => a.id).join('+')}`);

function make(threads = 1, batch = { budgetMs: 2, tasksMax: 64, pipeline: false }): WorkerState & { step: WorkerState['handle'] } {
  const ws = new WorkerState({ threads, transfersMax: 1, batch });
  return Object.assign(ws, {
    step: (e: Parameters<WorkerState['handle']>[0]) => {
      const out = ws.handle(e);
      ws.validate();
      return out;
    },
  });
}

/** Runs one task of `name` that took `durationMs`, so the worker knows how long such tasks take. */
function learn(t: Test, ws: ReturnType<typeof make>, name: string, durationMs: number): void {
  const id = `learn-${name}-${Math.random()}`;
  t.same(types(ws.step({ type: 'assigned', stimulusId: 'l1', tasks: [assign(id, { name })] })), [`execute:${id}`]);
  ws.step({ type: 'executed', stimulusId: 'l2', id, runId: 1, outcome: ok, durationMs });
}

t.test('a task name never seen runs alone; once known to be short, ready tasks start in one batch', async (t) => {
  const ws = make(1);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('b'), assign('c')] })), ['execute:a']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's2', id: 'a', runId: 1, outcome: ok, durationMs: 0.1 })), ['reportFinished:a', 'executeBatch:b+c']);
  t.equal(ws.executingCount, 1, 'the batch holds one slot');
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's3', tasks: [assign('d')] })), [], 'no slot is free');
  t.same(types(ws.step({ type: 'executed', stimulusId: 's4', id: 'b', runId: 1, outcome: ok, durationMs: 0.1 })), ['reportFinished:b'], 'c still holds the slot');
  t.same(types(ws.step({ type: 'executed', stimulusId: 's5', id: 'c', runId: 1, outcome: ok, durationMs: 0.1 })), ['reportFinished:c', 'execute:d']);
});

t.test('a batch fits the time budget and the task limit, keeps the ready order, and never takes long tasks or tasks with a timeout', async (t) => {
  const ws = make(1, { budgetMs: 2, tasksMax: 3, pipeline: false });
  learn(t, ws, 'short', 0.5);
  learn(t, ws, 'long', 5);
  const tasks = [assign('s1'), assign('s2'), assign('s3'), assign('s4'), assign('l1', { name: 'long', priority: -1 }), assign('t1', { timeoutMs: 100, priority: -2 }), assign('s5', { priority: -3 })];
  t.same(types(ws.step({ type: 'assigned', stimulusId: 'a', tasks })), ['executeBatch:s1+s2+s3'], 'tasksMax 3 (4 would fit 2 ms)');
  const done = (id: string): string[] => types(ws.step({ type: 'executed', stimulusId: `x-${id}`, id, runId: 1, outcome: ok, durationMs: 0.5 }));
  done('s1');
  done('s2');
  t.same(done('s3'), ['reportFinished:s3', 'execute:s4'], 'a long task does not join a batch');
  t.same(done('s4'), ['reportFinished:s4', 'execute:l1']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 'y', id: 'l1', runId: 1, outcome: ok, durationMs: 5 })), ['reportFinished:l1', 'execute:t1'], 'a task with a timeout runs alone');
  t.same(done('t1'), ['reportFinished:t1', 'execute:s5']);
});

t.test('batches split the ready tasks among the free threads', async (t) => {
  const ws = make(2);
  learn(t, ws, 'short', 0.01);
  const tasks = ['a', 'b', 'c', 'd', 'e'].map((id) => assign(id));
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's', tasks })), ['executeBatch:a+b+c', 'executeBatch:d+e']);
  t.equal(ws.executingCount, 2);
});

t.test('a cancelled task leaves its batch; the batch frees its slot with its last task', async (t) => {
  const ws = make(1);
  learn(t, ws, 'short', 0.1);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('b'), assign('c')] })), ['executeBatch:a+b+c']);
  t.same(types(ws.step({ type: 'cancelled', stimulusId: 's2', id: 'b', runId: 1 })), ['abort:b']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's3', id: 'b', runId: 1, outcome: ok })), [], 'a cancelled run is forgotten');
  t.same(types(ws.step({ type: 'executed', stimulusId: 's4', id: 'a', runId: 1, outcome: ok })), ['reportFinished:a']);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's5', tasks: [assign('d')] })), []);
  t.same(types(ws.step({ type: 'cancelled', stimulusId: 's6', id: 'c', runId: 1 })), ['abort:c', 'execute:d'], 'the last one leaving frees the slot');
});

t.test('a task of a batch that waits on subtasks gives back its share; when it rejoins it takes a slot of its own', async (t) => {
  const ws = make(1);
  learn(t, ws, 'short', 0.1);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('b')] })), ['executeBatch:a+b']);
  t.same(types(ws.step({ type: 'seceded', stimulusId: 's2', id: 'a', runId: 1 })), ['reportSlot:a'], 'b still runs in the batch');
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's3', tasks: [assign('sub')] })), []);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's4', id: 'b', runId: 1, outcome: ok })), ['reportFinished:b', 'execute:sub'], 'the subtask gets the slot');
  t.same(types(ws.step({ type: 'rejoined', stimulusId: 's5', id: 'a', runId: 1 })), ['reportSlot:a']);
  t.equal(ws.executingCount, 2, 'above the limit for now, as any rejoined run');
  t.same(types(ws.step({ type: 'executed', stimulusId: 's6', id: 'sub', runId: 1, outcome: ok })), ['reportFinished:sub']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's7', id: 'a', runId: 1, outcome: ok })), ['reportFinished:a']);
  t.equal(ws.executingCount, 0);
});

t.test('batching off (budget 0): every task runs alone', async (t) => {
  const ws = make(1, { budgetMs: 0, tasksMax: 64, pipeline: true });
  learn(t, ws, 'short', 0.01);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('b')] })), ['execute:a']);
});

t.test('early tasks whose inputs are made in a batch follow them in it (a chain in one dispatch)', async (t) => {
  const ws = make(1);
  learn(t, ws, 'short', 0.1);
  const tasks = [
    assign('a'),
    assign('b', { here: ['a'] }),
    assign('c', { here: ['b'] }),
    // Also needs x from another worker: waits for the fetch, and runs after a in its own dispatch.
    assign('d', { here: ['a'], remote: ['x'] }),
    assign('long', { name: 'long', here: ['a'] }),
  ];
  learn(t, ws, 'long', 50);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's1', tasks })), ['fetch:x', 'executeBatch:a+b+c']);
  t.same(types(ws.step({ type: 'fetched', stimulusId: 's2', id: 'x' })), []);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's3', id: 'a', runId: 1, outcome: ok, durationMs: 0.1 })), ['reportFinished:a']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's4', id: 'b', runId: 1, outcome: ok, durationMs: 0.1 })), ['reportFinished:b']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's5', id: 'c', runId: 1, outcome: ok, durationMs: 0.1 })), ['reportFinished:c', 'execute:d']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's6', id: 'd', runId: 1, outcome: ok, durationMs: 0.1 })), ['reportFinished:d', 'deleteData:x', 'execute:long']);
});

t.test('a chain that would be cut at the end of a batch goes whole in the next one; only the first task\'s may be cut', async (t) => {
  const ws = make(1, { budgetMs: 2, tasksMax: 5, pipeline: true });
  learn(t, ws, 'short', 0.1);
  const chain = (head: string, length: number): WireAssign[] =>
    Array.from({ length }, (_, i) => assign(`${head}${i}`, i === 0 ? {} : { here: [`${head}${i - 1}`] }));
  // a: 3 tasks, b: 3 (does not fit behind a in 5), c: 2; d: 7 (longer than a batch).
  const tasks = [...chain('a', 3), ...chain('b', 3), ...chain('c', 2)];
  t.same(
    types(ws.step({ type: 'assigned', stimulusId: 's1', tasks })),
    ['executeBatch:a0+a1+a2', 'executeBatch:b0+b1+b2+c0+c1'],
    'b waits for the next batch rather than leave b2 behind; c fits behind it',
  );
  const ws2 = make(1, { budgetMs: 2, tasksMax: 5, pipeline: false });
  learn(t, ws2, 'short', 0.1);
  t.same(
    types(ws2.step({ type: 'assigned', stimulusId: 's1', tasks: chain('d', 7) })),
    ['executeBatch:d0+d1+d2+d3+d4'],
    'a chain longer than a batch is cut where the batch is full',
  );
  const ws3 = make(1, { budgetMs: 0.35, tasksMax: 64, pipeline: false });
  learn(t, ws3, 'short', 0.1);
  t.same(
    types(ws3.step({ type: 'assigned', stimulusId: 's1', tasks: [...chain('e', 2), ...chain('f', 2)] })),
    ['executeBatch:e0+e1'],
    'the time budget cuts as the task limit does: f0+f1 would take 0.4 ms, f waits whole',
  );
});

t.test('a follower cancelled in its batch frees nothing twice; a failed head leaves its followers to the scheduler', async (t) => {
  const ws = make(1);
  learn(t, ws, 'short', 0.1);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('b', { here: ['a'] }), assign('c', { here: ['b'] })] })), ['executeBatch:a+b+c']);
  t.same(types(ws.step({ type: 'cancelled', stimulusId: 's2', id: 'c', runId: 1 })), ['abort:c']);
  const error = { code: 'TASK_ERROR' as const, message: 'boom', retryable: false, stack: '', taskKey: 'a', originalName: 'Error' };
  t.same(types(ws.step({ type: 'executed', stimulusId: 's3', id: 'a', runId: 1, outcome: { ok: false, error } })), ['reportFailed:a']);
  // The thread answers b without running it (its input was not made); the scheduler ignores that report.
  const unavailable = { ...error, code: 'RESULT_UNAVAILABLE' as const };
  t.same(types(ws.step({ type: 'executed', stimulusId: 's4', id: 'b', runId: 1, outcome: { ok: false, error: unavailable } })), ['reportFailed:b']);
  t.equal(ws.executingCount, 0);
  t.equal(ws.taskCount, 0);
});

t.test('pipelining: batches of short tasks queue behind a thread running short tasks, up to two batch budgets of expected work per thread, never behind a long one', async (t) => {
  const ws = make(1, { budgetMs: 2, tasksMax: 2, pipeline: true });
  learn(t, ws, 'short', 0.5);
  learn(t, ws, 'long', 50);
  const shorts = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
  const tasks = [...shorts.map((id) => assign(id)), assign('l', { name: 'long', priority: -1 })];
  t.same(
    types(ws.step({ type: 'assigned', stimulusId: 's1', tasks })),
    ['executeBatch:a+b', 'executeBatch:c+d', 'executeBatch:e+f', 'executeBatch:g+h'],
    'queued while the pool holds less than 4 ms (2 budgets) of expected work: 4 batches of 1 ms',
  );
  t.equal(ws.executingCount, 4);
  const done = (id: string): string[] => types(ws.step({ type: 'executed', stimulusId: `x-${id}`, id, runId: 1, outcome: ok, durationMs: 0.5 }));
  t.same(done('a'), ['reportFinished:a', 'executeBatch:i+j'], 'a task done: 3.5 ms of expected work left, so one more batch queues');
  t.same(done('b'), ['reportFinished:b'], 'the pool holds 4 ms again');
  for (const id of ['c', 'd', 'e', 'f', 'g', 'h', 'i']) t.same(done(id), [`reportFinished:${id}`], `${id} done`);
  t.same(done('j'), ['reportFinished:j', 'execute:l'], 'the long task starts once nothing else runs');
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's2', tasks: [assign('m'), assign('n')] })), [], 'nothing queues behind a long task');
  t.same(done('l'), ['reportFinished:l', 'executeBatch:m+n']);
});

t.test('pipelining: at most PIPELINE_BATCHES_MAX batches per thread, however short their tasks', async (t) => {
  for (const threads of [1, 2]) {
    const ws = make(threads, { budgetMs: 2, tasksMax: 2, pipeline: true });
    for (let i = 0; i < threads; i++) learn(t, ws, 'tiny', 0.001);
    const ids = Array.from({ length: 2 * PIPELINE_BATCHES_MAX * threads + 4 }, (_, i) => `t${i}`);
    const out = types(ws.step({ type: 'assigned', stimulusId: 's1', tasks: ids.map((id) => assign(id, { name: 'tiny' })) }));
    t.equal(out.length, PIPELINE_BATCHES_MAX * threads, `${threads} thread(s): ${PIPELINE_BATCHES_MAX} batches each`);
    t.equal(ws.executingCount, PIPELINE_BATCHES_MAX * threads);
    const first = out[0]!.slice('executeBatch:'.length).split('+');
    for (const id of first) ws.step({ type: 'executed', stimulusId: `x-${id}`, id, runId: 1, outcome: ok, durationMs: 0.001 });
    t.equal(ws.executingCount, PIPELINE_BATCHES_MAX * threads, 'a batch done: the next one takes its place');
  }
});

t.test('pipelining: nothing queues behind a run alone, however short (the pool shows no progress of one)', async (t) => {
  const ws = make(1, { budgetMs: 2, tasksMax: 2, pipeline: true });
  learn(t, ws, 'short', 0.001);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a')] })), ['execute:a']);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's2', tasks: [assign('b'), assign('c')] })), [], 'b and c wait here, where they can still be stolen');
  t.same(types(ws.step({ type: 'executed', stimulusId: 's3', id: 'a', runId: 1, outcome: ok, durationMs: 0.001 })), ['reportFinished:a', 'executeBatch:b+c']);
});

t.test('stragglers: the runs the pool gave back start again where a thread is free, the rest go back to the scheduler, and nothing queues behind a straggler', async (t) => {
  const ws = make(2, { budgetMs: 2, tasksMax: 2, pipeline: true });
  for (let i = 0; i < 2; i++) learn(t, ws, 'short', 0.5);
  const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  t.same(
    types(ws.step({ type: 'assigned', stimulusId: 's1', tasks: ids.map((id) => assign(id)) })),
    ['executeBatch:a+b', 'executeBatch:c+d', 'executeBatch:e+f', 'executeBatch:g+h'],
  );
  const done = (id: string): string[] => types(ws.step({ type: 'executed', stimulusId: `x-${id}`, id, runId: 1, outcome: ok, durationMs: 0.5 }));
  // a straggles on its thread, with b and g+h behind it; the other thread ran c+d and e+f.
  for (const id of ['c', 'd', 'e', 'f']) t.same(done(id), [`reportFinished:${id}`]);
  const back = (ids: string[]): WorkerCommand[] => ws.step({ type: 'returned', stimulusId: 'r1', stragglers: [{ id: 'a', runId: 1 }], runs: ids.map((id) => ({ id, runId: 1 })) });
  t.same(types(back(['b', 'g', 'h'])), ['reportStraggling:a', 'executeBatch:b+g', 'reportStolen:h'], 'the scheduler hears of a; a thread is free for one batch of the runs; h goes back to the scheduler');
  t.same(types(back([])), [], 'told again of a: nothing new');
  t.equal(ws.executingCount, 2, 'a, and b+g');
  t.equal(ws.taskCount, 3);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's2', tasks: [assign('i'), assign('j')] })), [], 'nothing queues behind a straggler');
  t.same(done('b'), ['reportFinished:b']);
  t.same(done('g'), ['reportFinished:g', 'executeBatch:i+j'], 'a thread is free again');
  t.same(done('a'), ['reportFinished:a']);
  t.same(done('i'), ['reportFinished:i']);
  t.same(done('j'), ['reportFinished:j']);
  t.equal(ws.executingCount, 0);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's3', tasks: ['k', 'l', 'm', 'n'].map((id) => assign(id)) })), ['executeBatch:k+l', 'executeBatch:m+n'], 'batches queue again once the straggler is done');
});

t.test('stragglers: with no thread free, every run given back goes back to the scheduler; one waiting for an input its batch was to hand over waits for it here', async (t) => {
  const ws = make(1, { budgetMs: 2, tasksMax: 3, pipeline: true });
  learn(t, ws, 'short', 0.5);
  const tasks = [assign('x0'), assign('x1', { here: ['x0'] }), assign('y'), assign('z')];
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's1', tasks })), ['executeBatch:x0+x1+y'], 'z would go alone: it does not queue in the pool');
  const returned = ws.step({ type: 'returned', stimulusId: 'r1', stragglers: [{ id: 'x0', runId: 1 }], runs: ['x1', 'y'].map((id) => ({ id, runId: 1 })) });
  t.same(types(returned), ['reportStraggling:x0', 'reportStolen:y'], 'x1 waits for x0 again, y goes back');
  // The straggler's run time makes its name long for now: x1 and z run alone.
  t.same(types(ws.step({ type: 'executed', stimulusId: 'x', id: 'x0', runId: 1, outcome: ok, durationMs: 50 })), ['reportFinished:x0', 'execute:x1']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 'x', id: 'x1', runId: 1, outcome: ok, durationMs: 0.5 })), ['reportFinished:x1', 'execute:z']);
});

t.test('stragglers: a run alone of a kind learned short is watched by the pool, and the scheduler hears once that it straggles', async (t) => {
  const ws = make(1, { budgetMs: 2, tasksMax: 2, pipeline: true });
  learn(t, ws, 'short', 0.5);
  const out = ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('u', { name: 'unknown' })] });
  t.match(out, [{ type: 'execute', assign: { id: 'a' }, short: true }], 'a runs alone, watched');
  const straggling = (): string[] => types(ws.step({ type: 'returned', stimulusId: 'r', stragglers: [{ id: 'a', runId: 1 }], runs: [] }));
  t.same(straggling(), ['reportStraggling:a'], 'long already (alone), but news to the scheduler');
  t.same(straggling(), [], 'once');
  t.match(ws.step({ type: 'executed', stimulusId: 'x', id: 'a', runId: 1, outcome: ok, durationMs: 0.5 }), [{ type: 'reportFinished' }, { type: 'execute', assign: { id: 'u' }, short: false }], 'a kind not known to be short is not watched');
});
