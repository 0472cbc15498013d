// The worker's pure state machine, driven by events: execution slots, fetches of
// missing inputs with a transfer limit, cancellation, duplicate deliveries, data lifetime.
import t from 'tap';
import { WorkerState, type WorkerCommand } from '../../src/worker/state.ts';
import type { WireAssign } from '../../src/transport/messages.ts';
import type { TaskSpec } from '../../src/graph/spec.ts';

const serializer = { id: 'msgpack', module: '' };

function spec(key: string, priority = 0): TaskSpec {
  return {
    key, name: key, module: 'file:///m.ts', exportName: 'f', args: new Uint8Array(), deps: [], serializer,
    priority, retries: 0, retryDelayMs: 0, retryBackoff: 2, timeoutMs: 0, resources: {},
  };
}

function assign(id: string, opts: { runId?: number; deps?: { id: string; inline?: boolean; holder?: string; here?: boolean }[]; priority?: number; order?: number } = {}): WireAssign {
  return {
    ...(opts.order === undefined ? {} : { order: opts.order }),
    id,
    runId: opts.runId ?? 1,
    attempt: 1,
    spec: spec(id, opts.priority),
    deps: (opts.deps ?? []).map((d) => ({
      id: d.id,
      // `here`: being computed on this worker (early assignment): no holders yet.
      holders: d.here === true ? [] : [{ workerId: 'w2', address: d.holder ?? 'inproc://w2' }],
      nbytes: 10,
      serializer,
      inline: d.inline === true ? new Uint8Array([1]) : undefined,
    })),
  };
}

const types = (cmds: WorkerCommand[]): string[] => cmds.map((c) => `${c.type}:${'id' in c ? c.id : 'assign' in c ? c.assign.id : c.assigns.map((a) => a.id).join('+')}`);

function make(threads = 1, transfersMax = 1): WorkerState & { step: WorkerState['handle'] } {
  const ws = new WorkerState({ threads, transfersMax });
  return Object.assign(ws, {
    step: (e: Parameters<WorkerState['handle']>[0]) => {
      const out = ws.handle(e);
      ws.validate();
      return out;
    },
  });
}

t.test('runs no more tasks than threads, highest priority first', async (t) => {
  const ws = make(1);
  const out = ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('b', { priority: 1 }), assign('c', { priority: 5 })] });
  t.same(types(out), ['execute:c']);
  const ok = { ok: true as const, nbytes: 1, serializer };
  t.same(types(ws.step({ type: 'executed', stimulusId: 's2', id: 'c', runId: 1, outcome: ok })), ['reportFinished:c', 'execute:b']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's3', id: 'b', runId: 1, outcome: ok })), ['reportFinished:b', 'execute:a']);
});

t.test('among equal priorities, graph order first: a dependent that arrives later starts before newer roots', async (t) => {
  const ws = make(1);
  const ok = { ok: true as const, nbytes: 1, serializer };
  const out = ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('root1', { order: 1 }), assign('root2', { order: 20 }), assign('root3', { order: 30 })] });
  t.same(types(out), ['execute:root1']);
  ws.step({ type: 'assigned', stimulusId: 's2', tasks: [assign('child1', { order: 2 })] });
  t.same(types(ws.step({ type: 'executed', stimulusId: 's3', id: 'root1', runId: 1, outcome: ok })), ['reportFinished:root1', 'execute:child1']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's4', id: 'child1', runId: 1, outcome: ok })), ['reportFinished:child1', 'execute:root2']);
});

t.test('inline inputs are stored, missing inputs fetched within the transfer limit', async (t) => {
  const ws = make(2, 1);
  const out = ws.step({
    type: 'assigned',
    stimulusId: 's1',
    tasks: [assign('x', { deps: [{ id: 'i', inline: true }, { id: 'r1' }, { id: 'r2' }] })],
  });
  t.same(types(out), ['storeInline:i', 'fetch:r1']);
  t.same(types(ws.step({ type: 'fetched', stimulusId: 's2', id: 'r1' })), ['fetch:r2']);
  t.same(types(ws.step({ type: 'fetched', stimulusId: 's3', id: 'r2' })), ['execute:x']);
  const done = ws.step({ type: 'executed', stimulusId: 's4', id: 'x', runId: 1, outcome: { ok: true, nbytes: 3, serializer } });
  // Inputs fetched for x are deleted once x is done; x's own result is kept for the scheduler.
  t.same(types(done).sort(), ['deleteData:i', 'deleteData:r1', 'deleteData:r2', 'reportFinished:x'].sort());
  t.same(types(ws.step({ type: 'released', stimulusId: 's5', ids: ['x'] })), ['deleteData:x']);
  t.equal(ws.heldCount, 0);
});

t.test('a shared input is fetched once and kept until its last user ran', async (t) => {
  const ws = make(1, 4);
  const out = ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a', { deps: [{ id: 'r' }] }), assign('b', { deps: [{ id: 'r' }] })] });
  t.same(types(out), ['fetch:r']);
  t.same(types(ws.step({ type: 'fetched', stimulusId: 's2', id: 'r' })), ['execute:a']);
  const ok = { ok: true as const, nbytes: 1, serializer };
  t.same(types(ws.step({ type: 'executed', stimulusId: 's3', id: 'a', runId: 1, outcome: ok })), ['reportFinished:a', 'execute:b']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's4', id: 'b', runId: 1, outcome: ok })).sort(), ['deleteData:r', 'reportFinished:b']);
});

t.test('a failed fetch drops the runs that needed it and reports the missing input (not a task failure)', async (t) => {
  const ws = make(1, 1);
  ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a', { deps: [{ id: 'r' }] }), assign('b', { deps: [{ id: 'r' }] })] });
  const error = { code: 'RESULT_UNAVAILABLE' as const, message: 'gone', retryable: false, stack: '', taskKey: '', originalName: '' };
  const out = ws.step({ type: 'fetchFailed', stimulusId: 's2', id: 'r', error });
  t.same(
    out.map((c) => (c.type === 'reportInputMissing' ? [c.type, c.id, c.runId, c.depId] : [c.type])),
    [
      ['reportInputMissing', 'a', 1, 'r'],
      ['reportInputMissing', 'b', 1, 'r'],
    ],
  );
  t.equal(ws.taskCount, 0);
});

t.test('cancel aborts an executing run; stale results and duplicate assignments are ignored', async (t) => {
  const ws = make(1);
  ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('b')] });
  t.same(types(ws.step({ type: 'cancelled', stimulusId: 's2', id: 'a', runId: 1 })), ['abort:a', 'execute:b']);
  // The aborted run reports late: nothing happens.
  t.same(ws.step({ type: 'executed', stimulusId: 's3', id: 'a', runId: 1, outcome: { ok: true, nbytes: 1, serializer } }), []);
  // The same assignment delivered twice runs once.
  t.same(ws.step({ type: 'assigned', stimulusId: 's4', tasks: [assign('b')] }), []);
  // A cancel for another run id is ignored.
  t.same(ws.step({ type: 'cancelled', stimulusId: 's5', id: 'b', runId: 7 }), []);
  t.equal(ws.executingCount, 1);
});

t.test('steal: a run that has not started is given back (inputs let go); a running one is kept', async (t) => {
  const ws = make(1, 1);
  ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('b', { deps: [{ id: 'r' }] })] });
  ws.step({ type: 'fetched', stimulusId: 's2', id: 'r' });
  t.same(types(ws.step({ type: 'steal', stimulusId: 's3', id: 'b', runId: 1 })), ['deleteData:r', 'reportStolen:b']);
  t.same(types(ws.step({ type: 'steal', stimulusId: 's4', id: 'a', runId: 1 })), ['reportStealRefused:a'], 'executing');
  t.same(types(ws.step({ type: 'steal', stimulusId: 's5', id: 'a', runId: 2 })), ['reportStealRefused:a'], 'another run');
  t.same(types(ws.step({ type: 'steal', stimulusId: 's6', id: 'zz', runId: 1 })), ['reportStealRefused:zz'], 'unknown (done)');
  t.equal(ws.taskCount, 1);
  const ok = { ok: true as const, nbytes: 1, serializer };
  t.same(types(ws.step({ type: 'executed', stimulusId: 's7', id: 'a', runId: 1, outcome: ok })), ['reportFinished:a']);
});

t.test('steal of a task still fetching cancels its fetch waiters', async (t) => {
  const ws = make(1, 1);
  ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a', { deps: [{ id: 'r' }] })] });
  t.same(types(ws.step({ type: 'steal', stimulusId: 's2', id: 'a', runId: 1 })), ['reportStolen:a']);
  t.same(types(ws.step({ type: 'fetched', stimulusId: 's3', id: 'r' })), ['deleteData:r'], 'nobody needs it now');
});

t.test('replicate: fetched within the transfer limit, shared with input fetches, kept until released', async (t) => {
  const ws = make(1, 1);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a', { deps: [{ id: 'r' }] })] })), ['fetch:r']);
  t.same(ws.step({ type: 'replicate', stimulusId: 's2', id: 'r', addresses: ['inproc://w2'], serializer }), [], 'same fetch');
  t.same(ws.step({ type: 'replicate', stimulusId: 's3', id: 'q', addresses: ['inproc://w3'], serializer }), [], 'waits for a slot');
  t.same(types(ws.step({ type: 'fetched', stimulusId: 's4', id: 'r' })), ['reportReplicated:r', 'fetch:q', 'execute:a']);
  t.same(types(ws.step({ type: 'fetched', stimulusId: 's5', id: 'q' })), ['reportReplicated:q']);
  const ok = { ok: true as const, nbytes: 1, serializer };
  t.same(types(ws.step({ type: 'executed', stimulusId: 's6', id: 'a', runId: 1, outcome: ok })), ['reportFinished:a'], 'r is owned now');
  t.same(types(ws.step({ type: 'released', stimulusId: 's7', ids: ['r'] })), ['deleteData:r']);
  t.same(types(ws.step({ type: 'released', stimulusId: 's8', ids: ['q', 'a'] })), ['deleteData:q', 'deleteData:a'], 'the releases of one message in one event');
  t.equal(ws.heldCount, 0);
});

t.test('replicate: a result already here is reported at once; a failed copy is only logged', async (t) => {
  const ws = make(1, 1);
  ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a')] });
  ws.step({ type: 'executed', stimulusId: 's2', id: 'a', runId: 1, outcome: { ok: true, nbytes: 1, serializer } });
  t.same(types(ws.step({ type: 'replicate', stimulusId: 's3', id: 'a', addresses: [], serializer })), ['reportReplicated:a']);
  t.same(types(ws.step({ type: 'replicate', stimulusId: 's4', id: 'q', addresses: ['inproc://w3'], serializer })), ['fetch:q']);
  const error = { code: 'RESULT_UNAVAILABLE' as const, message: 'gone', retryable: false, stack: '', taskKey: '', originalName: '' };
  const out = ws.step({ type: 'fetchFailed', stimulusId: 's5', id: 'q', error });
  t.same(types(out), ['replicateFailed:q']);
  t.equal(ws.heldCount, 1);
});

t.test('early assignment: a task waits for an input computed here, without fetching it', async (t) => {
  const ws = make(1);
  const ok = { ok: true as const, nbytes: 1, serializer };
  const out = ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('b', { deps: [{ id: 'a', here: true }] }), assign('c', { deps: [{ id: 'b', here: true }] })] });
  t.same(types(out), ['execute:a'], 'no fetch for inputs computed here');
  t.same(types(ws.step({ type: 'executed', stimulusId: 's2', id: 'a', runId: 1, outcome: ok })), ['reportFinished:a', 'execute:b']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's3', id: 'b', runId: 1, outcome: ok })), ['reportFinished:b', 'execute:c']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's4', id: 'c', runId: 1, outcome: ok })), ['reportFinished:c']);
  // a and b are kept until the scheduler releases them (c used b; a's result is still owned).
  t.same(types(ws.step({ type: 'released', stimulusId: 's5', ids: ['a'] })), ['deleteData:a']);
});

t.test('early assignment: when the input fails, the waiting task stays until the scheduler cancels it', async (t) => {
  const ws = make(1);
  ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('b', { deps: [{ id: 'a', here: true }] })] });
  const error = { code: 'TASK_ERROR' as const, message: 'boom', retryable: false, stack: '', taskKey: 'a', originalName: 'Error' };
  t.same(types(ws.step({ type: 'executed', stimulusId: 's2', id: 'a', runId: 1, outcome: { ok: false, error } })), ['reportFailed:a']);
  t.equal(ws.taskCount, 1, 'b waits');
  t.same(types(ws.step({ type: 'cancelled', stimulusId: 's3', id: 'b', runId: 1 })), []);
  t.equal(ws.taskCount, 0);
  // A retry of a here, with b assigned again behind it, works from a clean slate.
  ws.step({ type: 'assigned', stimulusId: 's4', tasks: [assign('a', { runId: 2 }), assign('b', { runId: 2, deps: [{ id: 'a', here: true }] })] });
  const ok = { ok: true as const, nbytes: 1, serializer };
  t.same(types(ws.step({ type: 'executed', stimulusId: 's5', id: 'a', runId: 2, outcome: ok })), ['reportFinished:a', 'execute:b']);
});

t.test('early assignment: a steal of a task still waiting for a local input is granted', async (t) => {
  const ws = make(1);
  ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('b', { deps: [{ id: 'a', here: true }] })] });
  t.same(types(ws.step({ type: 'steal', stimulusId: 's2', id: 'b', runId: 1 })), ['reportStolen:b']);
  const ok = { ok: true as const, nbytes: 1, serializer };
  t.same(types(ws.step({ type: 'executed', stimulusId: 's3', id: 'a', runId: 1, outcome: ok })), ['reportFinished:a']);
});

t.test('a finished run is reported with whether its assignment asked to tell the client', async (t) => {
  const ws = make(2);
  ws.step({ type: 'assigned', stimulusId: 's1', tasks: [{ ...assign('c/a'), tellClient: true }, assign('c/b')] });
  const ok = { ok: true as const, nbytes: 1, serializer };
  t.match(ws.step({ type: 'executed', stimulusId: 's2', id: 'c/a', runId: 1, outcome: ok }), [{ type: 'reportFinished', id: 'c/a', tellClient: true }]);
  t.match(ws.step({ type: 'executed', stimulusId: 's3', id: 'c/b', runId: 1, outcome: ok }), [{ type: 'reportFinished', id: 'c/b', tellClient: false }]);
});

t.test('a result released while a task here still needs it is deleted once that task is done', async (t) => {
  const ws = make(1);
  const ok = { ok: true as const, nbytes: 1, serializer };
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a')] })), ['execute:a']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's2', id: 'a', runId: 1, outcome: ok })), ['reportFinished:a']);
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's3', tasks: [assign('x')] })), ['execute:x']);
  // b needs a (held here) but waits for the thread x holds.
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's4', tasks: [assign('b', { deps: [{ id: 'a', here: true }] })] })), []);
  t.same(types(ws.step({ type: 'released', stimulusId: 's5', ids: ['a', 'unknown'] })), [], 'kept for b; an id not held is ignored');
  t.equal(ws.heldCount, 1);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's6', id: 'x', runId: 1, outcome: ok })), ['reportFinished:x', 'execute:b']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's7', id: 'b', runId: 1, outcome: ok })).sort(), ['deleteData:a', 'reportFinished:b']);
  t.same(types(ws.step({ type: 'released', stimulusId: 's8', ids: ['a', 'b', 'x'] })), ['deleteData:b', 'deleteData:x'], 'a is gone already');
  t.equal(ws.heldCount, 0);
});

t.test('a result an earlier run left is dropped when the task is assigned here again (the scheduler dropped its late report)', async (t) => {
  const ws = make(1);
  const ok = { ok: true as const, nbytes: 1, serializer };
  ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('x', { runId: 1 })] });
  // Cancelled while it finished: the report of run 1 crosses the cancel, which finds nothing.
  t.same(types(ws.step({ type: 'executed', stimulusId: 's2', id: 'x', runId: 1, outcome: ok })), ['reportFinished:x']);
  t.same(types(ws.step({ type: 'cancelled', stimulusId: 's3', id: 'x', runId: 1 })), []);
  t.equal(ws.heldCount, 1);
  // The scheduler runs x here again: it counts on no copy of x here, so run 1's goes.
  t.same(types(ws.step({ type: 'assigned', stimulusId: 's4', tasks: [assign('x', { runId: 2 })] })), ['deleteData:x', 'execute:x']);
  t.equal(ws.heldCount, 0);
  // Run 2 is cancelled too: nothing of x is left behind.
  t.same(types(ws.step({ type: 'cancelled', stimulusId: 's5', id: 'x', runId: 2 })), ['abort:x']);
  t.equal(ws.heldCount, 0);
  t.equal(ws.taskCount, 0);
});

t.test('a copy an earlier run left that a task here still needs is kept for it, no longer owned', async (t) => {
  const ws = make(1);
  const ok = { ok: true as const, nbytes: 1, serializer };
  ws.step({ type: 'assigned', stimulusId: 's1', tasks: [assign('x', { runId: 1 })] });
  ws.step({ type: 'executed', stimulusId: 's2', id: 'x', runId: 1, outcome: ok });
  // y takes x, held here; then x is assigned here again (its result lost elsewhere, say).
  ws.step({ type: 'assigned', stimulusId: 's3', tasks: [assign('y', { deps: [{ id: 'x', holder: 'inproc://w1' }] }), assign('x', { runId: 2 })] });
  t.equal(ws.heldCount, 1, 'kept for y');
  // y done: the copy is deleted; x's run 2 makes the result the scheduler counts on.
  const done = ws.step({ type: 'executed', stimulusId: 's4', id: 'y', runId: 1, outcome: ok });
  t.same(types(done), ['reportFinished:y', 'deleteData:x', 'execute:x']);
  t.same(types(ws.step({ type: 'executed', stimulusId: 's5', id: 'x', runId: 2, outcome: ok })), ['reportFinished:x']);
  t.equal(ws.heldCount, 2, 'x (run 2) and y');
});
