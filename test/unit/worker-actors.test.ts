// The worker state machine's actor queues and seceded runs, driven by events.
import t from 'tap';
import { ACTOR_CREATE, ACTOR_MODULE, type TaskSpec } from '../../src/graph/spec.ts';
import type { WireAssign } from '../../src/transport/messages.ts';
import { WorkerState, type WorkerCommand } from '../../src/worker/state.ts';

const serializer = { id: 'msgpack', module: '' };

function assign(id: string, extra: Partial<TaskSpec> = {}, deps: string[] = []): WireAssign {
  return {
    id, runId: 1, attempt: 1,
    spec: { key: id, name: id, module: 'file:///m.ts', exportName: 'f', args: new Uint8Array(), deps: [], serializer, priority: 0, retries: 0, retryDelayMs: 0, retryBackoff: 2, timeoutMs: 0, resources: {}, ...extra },
    deps: deps.map((d) => ({ id: d, holders: [{ workerId: 'w2', address: 'inproc://w2' }], nbytes: 1, serializer, inline: undefined })),
  };
}
const call = (id: string, actor: string, deps: string[] = []): WireAssign => assign(id, { module: ACTOR_MODULE, exportName: 'inc', actor }, deps);
const summary = (cmds: WorkerCommand[]): string[] => cmds.map((c) => `${c.type}:${'id' in c ? c.id : 'assign' in c ? c.assign.id : c.assigns.map((a) => a.id).join('+')}${c.type === 'reportSlot' ? (c.seceded ? ' seceded' : ' rejoined') : ''}`);
const ok = { ok: true as const, nbytes: 1, serializer };

function make(threads = 1): (e: Parameters<WorkerState['handle']>[0]) => string[] {
  const ws = new WorkerState({ threads, transfersMax: 2 });
  return (e) => {
    const out = ws.handle(e);
    ws.validate();
    return summary(out);
  };
}

t.test('actor tasks start in assignment order without taking thread slots', async (t) => {
  const step = make(1);
  t.same(step({ type: 'assigned', stimulusId: 's1', tasks: [assign('x'), assign('A', { actor: ACTOR_CREATE })] }), ['execute:A', 'execute:x']);
  t.same(step({ type: 'executed', stimulusId: 's2', id: 'A', runId: 1, outcome: ok }), ['reportFinished:A']);
  t.same(step({ type: 'assigned', stimulusId: 's3', tasks: [call('k1', 'A'), call('k2', 'A'), assign('y')] }), ['execute:k1', 'execute:k2'], 'y waits for the thread, the calls do not');
});

t.test('a call waiting for an input holds up the calls after it', async (t) => {
  const step = make(1);
  t.same(step({ type: 'assigned', stimulusId: 's1', tasks: [call('k1', 'A', ['dep']), call('k2', 'A'), call('m1', 'B')] }), ['execute:m1', 'fetch:dep'], 'another actor is not held up');
  t.same(step({ type: 'fetched', stimulusId: 's2', id: 'dep' }), ['execute:k1', 'execute:k2']);
});

t.test('a cancelled call leaves its actor queue', async (t) => {
  const step = make(1);
  step({ type: 'assigned', stimulusId: 's1', tasks: [call('k1', 'A', ['dep']), call('k2', 'A')] });
  t.same(step({ type: 'cancelled', stimulusId: 's2', id: 'k1', runId: 1 }), ['execute:k2']);
});

t.test('a seceded run gives its slot back until it rejoins', async (t) => {
  const step = make(1);
  t.same(step({ type: 'assigned', stimulusId: 's1', tasks: [assign('parent'), assign('child'), assign('other')] }), ['execute:parent']);
  t.same(step({ type: 'seceded', stimulusId: 's2', id: 'parent', runId: 1 }), ['reportSlot:parent seceded', 'execute:child']);
  t.same(step({ type: 'seceded', stimulusId: 's3', id: 'parent', runId: 1 }), [], 'no change');
  t.same(step({ type: 'rejoined', stimulusId: 's4', id: 'parent', runId: 1 }), ['reportSlot:parent rejoined'], 'over the limit for now');
  t.same(step({ type: 'executed', stimulusId: 's5', id: 'child', runId: 1, outcome: ok }), ['reportFinished:child'], 'still at the limit: other waits');
  t.same(step({ type: 'executed', stimulusId: 's6', id: 'parent', runId: 1, outcome: ok }), ['reportFinished:parent', 'execute:other']);
  t.same(step({ type: 'seceded', stimulusId: 's7', id: 'parent', runId: 1 }), [], 'a finished run is ignored');
});

t.test('a run cancelled while seceded frees nothing twice', async (t) => {
  const step = make(1);
  step({ type: 'assigned', stimulusId: 's1', tasks: [assign('parent'), assign('child'), assign('other')] });
  step({ type: 'seceded', stimulusId: 's2', id: 'parent', runId: 1 });
  t.same(step({ type: 'cancelled', stimulusId: 's3', id: 'parent', runId: 1 }), ['abort:parent']);
  t.same(step({ type: 'executed', stimulusId: 's4', id: 'child', runId: 1, outcome: ok }), ['reportFinished:child', 'execute:other']);
});
