// One control message of the coordinator (workerBatch) as the worker's state machine sees
// it: the commands of a turn arrive grouped by kind, whatever order the scheduler issued
// them in (worker/control-events.ts).
import t from 'tap';
import { WorkerState, type WorkerCommand } from '../../src/worker/state.ts';
import { controlEvents } from '../../src/worker/control-events.ts';
import { emptyWorkerBatch, type WireAssign, type WireOf } from '../../src/transport/messages.ts';
import { spec } from '../helpers/spec.ts';

const serializer = { id: 'msgpack', module: '' };

function assign(id: string, runId: number, hereDeps: string[] = []): WireAssign {
  return {
    id,
    runId,
    attempt: 1,
    spec: spec(id),
    // No holders: being made on this worker (early assignment).
    deps: hereDeps.map((dep) => ({ id: dep, holders: [], nbytes: 1, serializer, inline: undefined })),
  };
}

function message(fill: (batch: WireOf<'workerBatch'>) => void): WireOf<'workerBatch'> {
  const batch = emptyWorkerBatch();
  fill(batch);
  return batch;
}

function deliver(ws: WorkerState, batch: WireOf<'workerBatch'>): WorkerCommand[] {
  const out: WorkerCommand[] = [];
  for (const event of controlEvents(batch, 's')) {
    out.push(...ws.handle(event));
    ws.validate();
  }
  return out;
}

t.test('a run assigned and cancelled in the same message is gone from the worker', async (t) => {
  const ws = new WorkerState({ threads: 1, transfersMax: 1 });
  deliver(ws, message((m) => m.assign.push(assign('p', 1))));
  t.equal(ws.taskCount, 1, 'p runs');
  // The scheduler assigned c early (it waits for p, made here), then took it back in the
  // same turn (p was stolen): the message holds both, grouped by kind.
  deliver(ws, message((m) => {
    m.assign.push(assign('c', 2, ['p']));
    m.cancel.push({ id: 'c', runId: 2 });
  }));
  t.equal(ws.taskCount, 1, 'only p is left: c does not wait for an input the scheduler no longer makes here');
  const out = ws.handle({ type: 'executed', stimulusId: 'e', id: 'p', runId: 1, outcome: { ok: true, nbytes: 1, serializer } });
  t.same(out.map((c) => c.type), ['reportFinished']);
  t.equal(ws.taskCount, 0);
});

t.test('a cancel of an earlier run and the run that replaces it, in one message: the new run stays', async (t) => {
  const ws = new WorkerState({ threads: 1, transfersMax: 1 });
  const first = deliver(ws, message((m) => m.assign.push(assign('a', 1))));
  t.same(first.map((c) => c.type), ['execute']);
  const out = deliver(ws, message((m) => {
    m.cancel.push({ id: 'a', runId: 1 });
    m.assign.push(assign('a', 2));
  }));
  t.same(out.map((c) => c.type), ['abort', 'execute'], 'run 1 aborted, run 2 started');
  t.match(out[1], { assign: { id: 'a', runId: 2 } });
  t.equal(ws.taskCount, 1);
});

t.test('assignments are handled before cancels, releases and steals', async (t) => {
  const batch = message((m) => {
    m.cancel.push({ id: 'x', runId: 1 });
    m.release.push('r');
    m.steal.push({ id: 'y', runId: 3 });
    m.assign.push(assign('z', 4));
  });
  t.same(controlEvents(batch, 's').map((e) => e.type), ['assigned', 'cancelled', 'released', 'steal']);
});
