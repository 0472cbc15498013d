/**
 * The wants a streamed submission sends (Submitter.submitInPieces): every piece's keys
 * until the rest arrives, the last piece's wanted keys, earlier keys' wants before the last
 * piece, and the extra wants released at the end; the same whether every task is wanted
 * (the common case, handled without sets of keys) or not.
 */
import t from 'tap';
import { KeyState } from '../../src/client/future.ts';
import { wantsAreKeysOf } from '../../src/client/submit-pieces.ts';
import { Submitter, type QueuedTask } from '../../src/client/submitter.ts';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import type { WireOf } from '../../src/transport/messages.ts';
import type { Transport, TransportMessage } from '../../src/transport/transport.ts';

function spec(key: string): TaskSpec {
  return {
    key, name: 'noop', module: 'file:///tasks.js', exportName: 'noop', args: new Uint8Array([0x91, 0x01]), deps: [],
    serializer: { id: 'msgpack', module: '' }, priority: 0, retries: 0, retryDelayMs: 0, retryBackoff: 2, timeoutMs: 0, resources: {},
  };
}

/** A submitter whose requests are answered at once, and what it sent and released. */
function harness(): { submitter: Submitter; states: Map<string, KeyState>; requests: WireOf<'submit'>[]; released: string[][] } {
  const requests: WireOf<'submit'>[] = [];
  const released: string[][] = [];
  const states = new Map<string, KeyState>();
  const transport = {
    request: async (_subject: string, data: Uint8Array): Promise<TransportMessage> => {
      const msg = decodeMessage(data) as WireOf<'submit'>;
      requests.push(msg);
      const reply = encodeMessage({ type: 'submitReply', requestId: msg.requestId, error: undefined });
      return { subject: 'reply', data: reply, headers: undefined, expectsReply: false, respond: () => {} };
    },
    maxPayloadBytes: undefined,
  } as unknown as Transport;
  const submitter = new Submitter({
    transport, subject: 'submit', clientId: 'c1', timeoutMs: 1000,
    isSubmitted: (key) => states.get(key)?.submitted ?? false,
    lookup: (key) => states.get(key),
    unpin: () => {},
    releaseKeys: (keys) => released.push(keys),
    wantsProgress: () => false,
  });
  return { submitter, states, requests, released };
}

function enqueue(h: ReturnType<typeof harness>, key: string, wanted: boolean): void {
  const state = new KeyState(key);
  h.states.set(key, state);
  const task: QueuedTask = { state, spec: spec(key), def: undefined, moduleUrl: 'file:///tasks.js' };
  h.submitter.enqueue(task, wanted);
}

const keys = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `k-${from + i}`);

t.test('every task wanted: each piece wants its own keys, nothing is released', async (t) => {
  const h = harness();
  for (const key of keys(300)) enqueue(h, key, true);
  await h.submitter.drain();
  t.same(h.requests.map((r) => r.tasks.length), [64, 128, 108]);
  for (const r of h.requests) t.same(r.wants, r.tasks.map((s) => s.key));
  t.same(h.released, []);
});

t.test('some tasks wanted, and a key sent before: pieces want all their keys, the extra wants are released', async (t) => {
  const h = harness();
  enqueue(h, 'early', false);
  await h.submitter.drain();
  h.requests.length = 0;
  for (const [i, key] of keys(300).entries()) enqueue(h, key, i % 3 === 0);
  h.submitter.want(h.states.get('early')!);
  await h.submitter.drain();
  t.same(h.requests.map((r) => r.tasks.length), [64, 128, 0, 108], 'the earlier want goes alone, before the last piece');
  t.same(h.requests[0]!.wants, keys(64));
  t.same(h.requests[1]!.wants, keys(128, 64));
  t.same(h.requests[2]!.wants, ['early']);
  t.same(h.requests[3]!.wants, keys(108, 192).filter((k) => Number(k.slice(2)) % 3 === 0));
  t.same(h.released, [keys(192).filter((k) => Number(k.slice(2)) % 3 !== 0)]);
});

t.test('wantsAreKeysOf: the keys of the pieces, all of them and in order', async (t) => {
  const pieces = [[spec('a'), spec('b')], [spec('c')]];
  t.ok(wantsAreKeysOf(pieces, ['a', 'b', 'c']));
  t.notOk(wantsAreKeysOf(pieces, ['a', 'b']), 'one missing');
  t.notOk(wantsAreKeysOf(pieces, ['a', 'b', 'c', 'd']), 'one more');
  t.notOk(wantsAreKeysOf(pieces, ['a', 'c', 'b']), 'another order');
  t.ok(wantsAreKeysOf([], []));
});
