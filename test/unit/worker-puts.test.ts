/**
 * Values clients put on a worker (worker/puts.ts): stored as the result of a run of the
 * worker's own, owned by its state machine and reported, with the submission held to go to
 * the coordinator before that report; anything else is refused, naming why, with nothing
 * stored. The data plane's side: test/unit/grpc-put.test.ts; end to end:
 * test/integration/put.test.ts and test/cluster/put.test.ts.
 */
import t from 'tap';
import { DIRECT_RUN_IDS_FROM } from '../../src/graph/task-id.ts';
import { putSpec } from '../../src/client/put.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import type { WireOf } from '../../src/transport/messages.ts';
import type { Transport } from '../../src/transport/transport.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { DirectSubmissions } from '../../src/worker/direct.ts';
import { WorkerPuts } from '../../src/worker/puts.ts';
import { WorkerState, type WorkerCommand } from '../../src/worker/state.ts';
import { ObjectStore } from '../../src/worker/store.ts';
import { rejection } from '../helpers/e2e.ts';
import { spec } from '../helpers/spec.ts';

const serializer = { id: 'raw', module: '' };

function setup(open = true): {
  puts: WorkerPuts;
  state: WorkerState;
  store: ObjectStore;
  commands: WorkerCommand[];
  /** The submissions held for the next report when each command came. */
  heldAtReport: number[];
  direct: DirectSubmissions;
} {
  const state = new WorkerState({ threads: 1, transfersMax: 1 });
  const store = new ObjectStore({});
  const commands: WorkerCommand[] = [];
  const heldAtReport: number[] = [];
  const direct = new DirectSubmissions({
    transport: {} as Transport, submitSubject: 's', workerId: 'w1', epoch: () => 2, tryStart: () => false, report: () => undefined, log: silentLogger,
  });
  const puts = new WorkerPuts({
    store,
    open: () => open,
    knows: (id) => state.knows(id),
    startedHere: (wire, replyTo) => direct.startedHere(wire, replyTo),
    stored: (id, runId, ser, bytes, replica) => {
      for (const c of state.handle({ type: 'put', stimulusId: 's1', id, runId, nbytes: bytes.byteLength, serializer: ser, bytes, startedAtMs: 5, replica })) {
        commands.push(c);
        // What a report sent now would carry first: the submission of the put's run.
        heldAtReport.push(direct.takeHeld().length);
      }
    },
  });
  return { puts, state, store, commands, heldAtReport, direct };
}

const putOf = (key: string, extra: Partial<WireOf<'submit'>> = {}): WireOf<'submit'> => ({
  type: 'submit', clientId: 'c1', requestId: '3', tasks: [putSpec(key, serializer)], wants: [key], missing: [], ...extra,
});

t.test('a put is stored, owned and reported as a run of the worker, its submission going first', async (t) => {
  const s = setup();
  const bytes = new Uint8Array([1, 2, 3]);
  let relayed: WireOf<'submit'> | undefined;
  const puts = new WorkerPuts({
    store: s.store,
    open: () => true,
    knows: (id) => s.state.knows(id),
    startedHere: (wire, replyTo) => {
      const runId = s.direct.startedHere(wire, replyTo);
      const held = s.direct.takeHeld();
      t.equal(held.length, 1);
      t.equal(held[0]!.replyTo, '_INBOX.c1.9');
      relayed = decodeMessage(held[0]!.submit) as WireOf<'submit'>;
      return runId;
    },
    stored: (id, runId, ser, b) => s.commands.push(...s.state.handle({ type: 'put', stimulusId: 's1', id, runId, nbytes: b.byteLength, serializer: ser, bytes: b, startedAtMs: 5 })),
  });
  await puts.accept({ replyTo: '_INBOX.c1.9', submit: encodeMessage(putOf('put-1')), bytes });
  t.same(s.store.peek('c1/put-1')?.bytes, bytes, 'stored under the task id');
  t.equal(s.state.view().held.get('c1/put-1'), true, 'owned by the state machine');
  t.match(relayed, { clientId: 'c1', tasks: [{ key: 'put-1', module: 'floe:builtin', exportName: 'put' }], direct: { workerId: 'w1', epoch: 2, runId: DIRECT_RUN_IDS_FROM + 1 } });
  t.match(s.commands, [{ type: 'reportFinished', id: 'c1/put-1', runId: DIRECT_RUN_IDS_FROM + 1, tellClient: true, nbytes: 3, serializer }]);
  t.same(puts.counts, { taken: 1, refused: 0 });
  s.state.validate();
});

t.test('the report of a put comes after its submission is held', async (t) => {
  const s = setup();
  await s.puts.accept({ replyTo: 'r', submit: encodeMessage(putOf('put-2')), bytes: new Uint8Array(1) });
  t.same(s.heldAtReport, [1], 'held when the report was made');
  await s.puts.accept({ replyTo: 'r', submit: encodeMessage(putOf('put-3')), bytes: new Uint8Array(1) });
  t.match(s.commands, [{ runId: DIRECT_RUN_IDS_FROM + 1 }, { runId: DIRECT_RUN_IDS_FROM + 2 }], 'each put a run id of its own');
});

t.test('anything but a put of a new value is refused, naming why, and nothing is stored', async (t) => {
  const cases: [string, Uint8Array, string, RegExp][] = [
    ['not a submission', encodeMessage({ type: 'statusRequest' }), 'MALFORMED_MESSAGE', /not statusRequest/],
    ['another task', encodeMessage(putOf('k', { tasks: [spec('k')] })), 'MALFORMED_MESSAGE', /builtin put/],
    ['two tasks', encodeMessage(putOf('k', { tasks: [putSpec('k', serializer), putSpec('j', serializer)] })), 'MALFORMED_MESSAGE', /one task/],
    ['with inputs', encodeMessage(putOf('k', { tasks: [{ ...putSpec('k', serializer), deps: ['x'] }] })), 'MALFORMED_MESSAGE', /no inputs/],
    ['not wanted', encodeMessage(putOf('k', { wants: [] })), 'MALFORMED_MESSAGE', /wanted/],
    ['passed on already', encodeMessage(putOf('k', { direct: { workerId: 'w2', epoch: 1, runId: 5 } })), 'MALFORMED_MESSAGE', /passed on/],
    ['garbage', new Uint8Array([255, 255, 255]), 'MALFORMED_MESSAGE', /./],
  ];
  for (const [what, submit, code, reason] of cases) {
    const s = setup();
    const error = await rejection(s.puts.accept({ replyTo: 'r', submit, bytes: new Uint8Array(2) }));
    t.equal(error.code, code, `${what}: ${code}`);
    t.match(error.message, reason, what);
    t.same([s.store.size, s.commands.length, s.puts.counts.refused], [0, 0, 1], `${what}: nothing stored`);
  }
});

t.test('a worker that is leaving, or knows the id, refuses the put', async (t) => {
  const leaving = setup(false);
  const error = await rejection(leaving.puts.accept({ replyTo: 'r', submit: encodeMessage(putOf('put-1')), bytes: new Uint8Array(2) }));
  t.equal(error.code, 'WORKER_LOST');
  t.ok(error.retryable, 'retryable: another worker may take it');
  t.equal(leaving.store.size, 0);

  const s = setup();
  await s.puts.accept({ replyTo: 'r', submit: encodeMessage(putOf('put-1')), bytes: new Uint8Array([7]) });
  const again = await rejection(s.puts.accept({ replyTo: 'r', submit: encodeMessage(putOf('put-1')), bytes: new Uint8Array([8, 9]) }));
  t.equal(again.code, 'KEY_CONFLICT');
  t.same(s.store.peek('c1/put-1')?.bytes, new Uint8Array([7]), 'the value held is kept');
});

t.test('a copy (broadcast) is kept and reported as a replica; its submission is not passed on', async (t) => {
  const s = setup();
  await s.puts.accept({ replyTo: '', submit: encodeMessage(putOf('put-4')), bytes: new Uint8Array([5, 6]), copy: true });
  t.same(s.store.peek('c1/put-4')?.bytes, new Uint8Array([5, 6]), 'stored');
  t.equal(s.state.view().held.get('c1/put-4'), true, 'owned');
  t.same(s.commands, [{ type: 'reportReplicated', stimulusId: 's1', id: 'c1/put-4' }], 'reported as a replica');
  t.same(s.heldAtReport, [0], 'no submission held');
  await s.puts.accept({ replyTo: '', submit: encodeMessage(putOf('put-4')), bytes: new Uint8Array([9]), copy: true });
  t.same([s.commands.length, [...s.store.peek('c1/put-4')!.bytes]], [1, [5, 6]], 'a copy of a value held here already changes nothing');
  s.state.validate();
});
