/**
 * A client Submitter over a transport the test plays: what it sent (decoded) and released,
 * with its requests answered at once (`auto`) or when the test says (`answer`).
 */
import { KeyState } from '../../src/client/future.ts';
import { Submitter, type QueuedTask } from '../../src/client/submitter.ts';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import type { WireOf } from '../../src/transport/messages.ts';
import type { Transport, TransportMessage } from '../../src/transport/transport.ts';

/** A no-op task's spec, export name known (so it may go early). */
export function noopSpec(key: string, deps: string[] = []): TaskSpec {
  return {
    key, name: 'noop', module: 'file:///tasks.js', exportName: 'noop', args: new Uint8Array([0x91, 0x01]), deps,
    serializer: { id: 'msgpack', module: '' }, priority: 0, retries: 0, retryDelayMs: 0, retryBackoff: 2, timeoutMs: 0, resources: {},
  };
}

export interface SubmitterHarness {
  submitter: Submitter;
  states: Map<string, KeyState>;
  /** Requests in the order they were made, answered or not. */
  requests: WireOf<'submit'>[];
  released: string[][];
  /** Each time the submitter flushed the transport: how many requests it had made by then. */
  flushes: number[];
  /** Answers the oldest unanswered request (an error: it fails). */
  answer(error?: Error): void;
  unanswered(): number;
}

/**
 * A submitter whose requests wait until the test answers them (or, `auto`, are answered at
 * once), over a transport with the payload limit `maxPayloadBytes` (default: none).
 */
export function submitterHarness(auto: boolean, maxPayloadBytes?: number): SubmitterHarness {
  const requests: WireOf<'submit'>[] = [];
  const released: string[][] = [];
  const flushes: number[] = [];
  const states = new Map<string, KeyState>();
  const waiting: Array<{ requestId: string; resolve: (m: TransportMessage) => void; reject: (e: Error) => void }> = [];
  const reply = (requestId: string): TransportMessage => ({
    subject: 'reply', data: encodeMessage({ type: 'submitReply', requestId, error: undefined }), headers: undefined, expectsReply: false, replyTo: undefined, respond: () => {},
  });
  const transport = {
    request: (_subject: string, data: Uint8Array): Promise<TransportMessage> => {
      const msg = decodeMessage(data) as WireOf<'submit'>;
      requests.push(msg);
      if (auto) return Promise.resolve(reply(msg.requestId));
      return new Promise((resolve, reject) => waiting.push({ requestId: msg.requestId, resolve, reject }));
    },
    flush: (): Promise<void> => {
      flushes.push(requests.length);
      return Promise.resolve();
    },
    maxPayloadBytes,
  } as unknown as Transport;
  const submitter = new Submitter({
    transport, subject: 'submit', clientId: 'c1', timeoutMs: 1000,
    isSubmitted: (key) => states.get(key)?.submitted ?? false,
    lookup: (key) => states.get(key),
    unpin: () => {},
    releaseKeys: (keys) => released.push(keys),
    wantsProgress: () => false,
  });
  return {
    submitter, states, requests, released, flushes,
    answer(error) {
      const next = waiting.shift()!;
      if (error === undefined) next.resolve(reply(next.requestId));
      else next.reject(error);
    },
    unanswered: () => waiting.length,
  };
}

/** Queues a no-op task (with `args` for its encoded arguments, if given). */
export function enqueue(h: SubmitterHarness, key: string, deps: string[] = [], wanted = true, args?: Uint8Array): KeyState {
  const state = new KeyState(key);
  h.states.set(key, state);
  const spec = noopSpec(key, deps);
  if (args !== undefined) spec.args = args;
  const task: QueuedTask = { state, spec, def: undefined, moduleUrl: 'file:///tasks.js' };
  h.submitter.enqueue(task, wanted);
  return state;
}
