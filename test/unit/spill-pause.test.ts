// The worker state machine's memory pause: while paused no execution or input fetch
// starts; running ones finish; resuming starts what is ready. validate() after every step.
import t from 'tap';
import type { TaskSpec } from '../../src/graph/spec.ts';
import type { WireAssign } from '../../src/transport/messages.ts';
import { WorkerState, type WorkerCommand, type WorkerEvent } from '../../src/worker/state.ts';

const serializer = { id: 'msgpack', module: '' };

function spec(key: string): TaskSpec {
  return {
    key, name: key, module: 'file:///m.ts', exportName: 'f', args: new Uint8Array(), deps: [], serializer,
    priority: 0, retries: 0, retryDelayMs: 0, retryBackoff: 2, timeoutMs: 0, resources: {},
  };
}

function assign(id: string, deps: string[] = []): WireAssign {
  return {
    id,
    runId: 1,
    attempt: 1,
    spec: spec(id),
    deps: deps.map((d) => ({ id: d, holders: [{ workerId: 'w2', address: 'inproc://w2' }], nbytes: 10, serializer, inline: undefined })),
  };
}

const types = (cmds: WorkerCommand[]): string[] => cmds.map((c) => `${c.type}:${'id' in c ? c.id : 'assign' in c ? c.assign.id : c.assigns.map((a) => a.id).join('+')}`);
const ok = { ok: true as const, nbytes: 1, serializer };

function make(threads: number): (e: WorkerEvent) => string[] {
  const ws = new WorkerState({ threads, transfersMax: 2 });
  return (e) => {
    const out = ws.handle(e);
    ws.validate();
    return types(out);
  };
}

t.test('paused: nothing new starts, running tasks finish, resume starts the ready ones', async (t) => {
  const step = make(2);
  t.same(step({ type: 'assigned', stimulusId: 's1', tasks: [assign('a'), assign('b')] }), ['execute:a', 'execute:b']);
  t.same(step({ type: 'paused', stimulusId: 's2', paused: true }), []);
  t.same(step({ type: 'assigned', stimulusId: 's3', tasks: [assign('c'), assign('d', ['remote'])] }), [], 'no execute, no fetch');
  t.same(step({ type: 'executed', stimulusId: 's4', id: 'a', runId: 1, outcome: ok }), ['reportFinished:a'], 'a finishes; c waits');
  t.same(step({ type: 'paused', stimulusId: 's5', paused: true }), [], 'pausing twice is harmless');
  t.same(step({ type: 'paused', stimulusId: 's6', paused: false }), ['fetch:remote', 'execute:c']);
  t.same(step({ type: 'fetched', stimulusId: 's7', id: 'remote' }), [], 'both threads busy (b, c)');
  t.same(step({ type: 'executed', stimulusId: 's8', id: 'b', runId: 1, outcome: ok }), ['reportFinished:b', 'execute:d']);
});

t.test('cancel and steal still work while paused', async (t) => {
  const step = make(1);
  t.same(step({ type: 'paused', stimulusId: 's1', paused: true }), []);
  t.same(step({ type: 'assigned', stimulusId: 's2', tasks: [assign('a'), assign('b')] }), []);
  t.same(step({ type: 'steal', stimulusId: 's3', id: 'a', runId: 1 }), ['reportStolen:a']);
  t.same(step({ type: 'cancelled', stimulusId: 's4', id: 'b', runId: 1 }), []);
  t.same(step({ type: 'paused', stimulusId: 's5', paused: false }), []);
});
