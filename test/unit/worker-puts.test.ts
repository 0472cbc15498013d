/**
 * Values clients put on a worker (worker/puts.ts): stored as the result of a run of the
 * worker's own, owned by its state machine and reported, with the submission held to go to
 * the coordinator before that report; several values in one put, each a run of its own;
 * anything else is refused, naming why, with nothing stored. The data plane's side: test/unit/grpc-put.test.ts; end to end:
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
    startedHere: (wire, replyTo, count) => direct.startedHere(wire, replyTo, count),
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
    ['two tasks for one value', encodeMessage(putOf('k', { tasks: [putSpec('k', serializer), putSpec('j', serializer)] })), 'MALFORMED_MESSAGE', /a put of 1 value\(s\) must carry a submission of as many tasks .*\(it has 2\)/],
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

/** A put of several values: the submission of their tasks, and their bytes one after another. */
function several(keys: string[], values: number[][], extra: Partial<WireOf<'submit'>> = {}): { submit: Uint8Array; bytes: Uint8Array; sizes: number[] } {
  return {
    submit: encodeMessage(putOf(keys[0]!, { tasks: keys.map((k) => putSpec(k, serializer)), wants: keys, ...extra })),
    bytes: new Uint8Array(values.flat()),
    sizes: values.map((v) => v.length),
  };
}

t.test('several values in one put: each stored in shared memory of its own, owned, and reported as a run of its own, run ids in a row, under one held submission', async (t) => {
  const s = setup();
  await s.puts.accept({ replyTo: 'r', ...several(['put-5', 'put-6', 'put-7'], [[1, 2, 3], [4], [5, 6]]) });
  const stored = ['put-5', 'put-6', 'put-7'].map((k) => s.store.peek(`c1/${k}`)!.bytes);
  t.same(stored.map((b) => [...b]), [[1, 2, 3], [4], [5, 6]], 'each value stored under its task id');
  t.ok(stored.every((b) => b.buffer instanceof SharedArrayBuffer && b.byteOffset === 0 && b.buffer.byteLength === b.byteLength), 'each in shared memory of its own');
  t.match(s.commands, [
    { type: 'reportFinished', id: 'c1/put-5', runId: DIRECT_RUN_IDS_FROM + 1, nbytes: 3 },
    { type: 'reportFinished', id: 'c1/put-6', runId: DIRECT_RUN_IDS_FROM + 2, nbytes: 1 },
    { type: 'reportFinished', id: 'c1/put-7', runId: DIRECT_RUN_IDS_FROM + 3, nbytes: 2 },
  ]);
  t.same(s.heldAtReport, [1, 0, 0], 'one submission, held before the first report');
  t.same(s.puts.counts, { taken: 1, refused: 0 });
  await s.puts.accept({ replyTo: 'r', submit: encodeMessage(putOf('put-8')), bytes: new Uint8Array(1) });
  t.match(s.commands.at(-1), { id: 'c1/put-8', runId: DIRECT_RUN_IDS_FROM + 4 }, 'the next run id after them');
  s.state.validate();
});

t.test('the submission of several values is passed on once, saying where their runs start', async (t) => {
  const s = setup();
  const held: WireOf<'submit'>[] = [];
  const puts = new WorkerPuts({
    store: s.store,
    open: () => true,
    knows: (id) => s.state.knows(id),
    startedHere: (wire, replyTo, count) => {
      const runId = s.direct.startedHere(wire, replyTo, count);
      held.push(...s.direct.takeHeld().map((h) => decodeMessage(h.submit) as WireOf<'submit'>));
      return runId;
    },
    stored: () => undefined,
  });
  await puts.accept({ replyTo: 'r', ...several(['a', 'b'], [[1], [2]]) });
  t.equal(held.length, 1, 'one submission');
  t.match(held[0], { tasks: [{ key: 'a' }, { key: 'b' }], wants: ['a', 'b'], direct: { workerId: 'w1', runId: DIRECT_RUN_IDS_FROM + 1 } });
});

t.test('a put of several values that is wrong anywhere is refused whole, naming why, and none of them is stored', async (t) => {
  const cases: [string, PutArgs, string, RegExp][] = [
    ['fewer sizes than tasks', { ...several(['a', 'b', 'c'], [[1], [2], [3]]), sizes: [1, 2] }, 'MALFORMED_MESSAGE', /a put of 2 value\(s\) .*\(it has 3\)/],
    ['sizes past the bytes', { ...several(['a', 'b'], [[1], [2]]), sizes: [1, 5] }, 'INVALID_ARGUMENT', /add up to more than its 2 bytes/],
    ['sizes short of the bytes', { ...several(['a', 'b'], [[1, 2], [3]]), sizes: [1, 1] }, 'INVALID_ARGUMENT', /add up to 2 bytes, not its 3/],
    ['a key twice', several(['a', 'a'], [[1], [2]]), 'MALFORMED_MESSAGE', /has the key a twice/],
    ['one task of another kind', several(['a', 'b'], [[1], [2]], { tasks: [putSpec('a', serializer), spec('b')] }), 'MALFORMED_MESSAGE', /task 1 is/],
  ];
  for (const [what, args, code, reason] of cases) {
    const s = setup();
    const error = await rejection(s.puts.accept({ replyTo: 'r', ...args }));
    t.equal(error.code, code, `${what}: ${code}`);
    t.match(error.message, reason, what);
    t.same([s.store.size, s.commands.length, s.direct.takeHeld().length], [0, 0, 0], `${what}: nothing stored, reported or held`);
  }
  const s = setup();
  await s.puts.accept({ replyTo: 'r', submit: encodeMessage(putOf('b')), bytes: new Uint8Array([7]) });
  s.direct.takeHeld();
  const clash = await rejection(s.puts.accept({ replyTo: 'r', ...several(['a', 'b', 'c'], [[1], [2], [3]]) }));
  t.equal(clash.code, 'KEY_CONFLICT');
  t.match(clash.message, /c1\/b already/, 'names the key held already');
  t.same([s.store.size, [...s.store.peek('c1/b')!.bytes], s.direct.takeHeld().length], [1, [7], 0], 'only the value held before, kept');
});

type PutArgs = { submit: Uint8Array; bytes: Uint8Array; sizes: number[] };

t.test('copies of several values (a broadcast putMany): each kept as a replica, those held here already left as they are', async (t) => {
  const s = setup();
  await s.puts.accept({ replyTo: '', submit: encodeMessage(putOf('x')), bytes: new Uint8Array([9]), copy: true });
  await s.puts.accept({ replyTo: '', ...several(['x', 'y'], [[1], [2, 3]]), copy: true });
  t.same([...s.store.peek('c1/x')!.bytes], [9], 'the copy held already is kept');
  t.same([...s.store.peek('c1/y')!.bytes], [2, 3], 'the new one stored');
  t.same(s.commands, [{ type: 'reportReplicated', stimulusId: 's1', id: 'c1/x' }, { type: 'reportReplicated', stimulusId: 's1', id: 'c1/y' }], 'each reported once, as a replica');
  t.same(s.heldAtReport, [0, 0], 'no submission held');
  s.state.validate();
});
