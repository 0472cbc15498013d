import t from 'tap';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import type { WireOf } from '../../src/transport/messages.ts';
import { FRAME_OVERHEAD_BYTES, LIST_ORDER, encodeWithin } from '../../src/transport/split.ts';
import { workerEvents } from '../../src/transport/messages.ts';
import { spec } from '../helpers/spec.ts';

const runRef = (i: number): { id: string; runId: number } => ({ id: `c/t${i}`, runId: i });

function batch(n: number): WireOf<'workerBatch'> {
  return {
    type: 'workerBatch',
    cancel: [runRef(-1)],
    assign: Array.from({ length: n }, (_, i) => ({
      id: `c/t${i}`,
      runId: i,
      attempt: 1,
      spec: spec(`t${i}`, [], { args: new Uint8Array(100).fill(i % 256) }),
      deps: [],
    })),
    release: ['c/r1', 'c/r2'],
    steal: [runRef(-2)],
    replicate: [],
    retired: true,
    reregister: false,
    clientsGone: ['c1', 'c2'],
    epoch: 3,
  };
}

t.test('a batch that fits is one message, encoded as before', async (t) => {
  const msg = batch(3);
  const pieces = encodeWithin(msg, 1024 * 1024);
  t.equal(pieces.length, 1);
  t.same(pieces[0], encodeMessage(msg));
  t.equal(encodeWithin(msg, undefined).length, 1, 'no limit: one message');
});

t.test('an oversized batch is cut into pieces that fit, processed in the same order', async (t) => {
  const msg = batch(500);
  const max = 16 * 1024;
  t.ok(encodeMessage(msg).byteLength > 3 * max, 'the batch is several times the limit');
  const pieces = encodeWithin(msg, max);
  t.ok(pieces.length > 3, `${pieces.length} pieces`);
  for (const p of pieces) t.ok(p.byteLength <= max - FRAME_OVERHEAD_BYTES, `piece of ${p.byteLength} bytes fits`);
  const decoded = pieces.map((p) => decodeMessage(p) as WireOf<'workerBatch'>);
  // The worker handles cancel, assign, release, steal, replicate in that order: so must the pieces.
  const order = (m: WireOf<'workerBatch'>): string[] => [
    ...m.cancel.map((c) => `cancel ${c.id}`),
    ...m.assign.map((a) => `assign ${a.id}`),
    ...m.release.map((id) => `release ${id}`),
    ...m.steal.map((s) => `steal ${s.id}`),
  ];
  t.same(decoded.flatMap(order), order(msg));
  t.same(
    decoded.map((m) => m.retired),
    decoded.map((_, i) => i === decoded.length - 1),
    'the batch-wide flag rides on the last piece only',
  );
  t.same(decoded.flatMap((m) => m.assign.map((a) => a.spec.args[0])), msg.assign.map((a) => a.spec.args[0]), 'payloads intact');
});

t.test('a single item over the limit stays whole (the link then reports LIMIT_EXCEEDED)', async (t) => {
  const msg: WireOf<'clientUpdates'> = {
    type: 'clientUpdates',
    updates: [
      { key: 'big', status: 'memory', workerId: 'w', address: 'a', nbytes: 9000, serializer: { id: 'raw', module: '' }, inline: new Uint8Array(9000), error: undefined },
    ],
  };
  const pieces = encodeWithin(msg, 4096);
  t.equal(pieces.length, 1);
  t.same(pieces[0], encodeMessage(msg));
});

t.test('every list of a splittable message is split, none copied onto each piece', async (t) => {
  const samples: WireOf<keyof typeof LIST_ORDER>[] = [
    batch(1),
    workerEvents('w1', 1, {}),
    { type: 'clientUpdates', updates: [] },
    { type: 'clientBatch', clientId: 'c', release: [], cancel: [], hello: false, bye: false },
  ];
  for (const sample of samples) {
    // Decoded messages have every repeated field present, so new lists show up here.
    const decoded = decodeMessage(encodeMessage(sample)) as unknown as Record<string, unknown>;
    const lists = Object.keys(decoded).filter((k) => Array.isArray(decoded[k])).sort();
    t.same(lists, [...LIST_ORDER[sample.type]].filter((k) => k in decoded).sort(), `${sample.type}: all lists are split`);
  }
});
