/**
 * The narrow interface every control-plane transport implements: NATS-style subjects
 * with publish, subscribe and request/reply. The NATS adapter (transport/nats) and the
 * in-process bus (transport/inproc) behave the same way, so the coordinator, workers
 * and clients never know which one they run on.
 */

import { FloeError } from '../errors.ts';

export type Headers = Record<string, string>;

const NO_RESPONDERS = Symbol.for('floe.noResponders');

/**
 * The failure of a request to a subject nobody listens on (NATS answers such a request at
 * once, with its no-responders status): REQUEST_TIMEOUT, as any unanswered request, but
 * told apart by isNoResponders. The coordinator's probes rely on it (coordinator/probes.ts):
 * a worker whose subscription is gone has lost its connection.
 */
export function noRespondersError(subject: string): FloeError {
  const error = new FloeError('REQUEST_TIMEOUT', `no responders on ${subject}`);
  Object.defineProperty(error, NO_RESPONDERS, { value: true });
  return error;
}

/** Whether a request failed because nobody listened on its subject (noRespondersError). */
export function isNoResponders(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[NO_RESPONDERS] === true;
}

export interface TransportMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Headers | undefined;
  /** True when the sender waits for a reply (request/reply). */
  readonly expectsReply: boolean;
  /** Answers a request; a no-op for plain publishes. */
  respond(data: Uint8Array, headers?: Headers): void;
  /** Where `respond` sends (undefined for plain publishes): what `Transport.relay` passes on. */
  readonly replyTo: string | undefined;
}

export interface Subscription {
  unsubscribe(): void;
}

export interface RequestOptions {
  timeoutMs: number;
  headers?: Headers;
  /**
   * Sends the request another way than publishing it on `subject` (a client's direct stream
   * to a worker: client/direct.ts), given the subject its answer must come to. It throws when
   * it cannot send; `fail` fails the request later, before its answer (its way broke). The
   * answer still comes over the transport.
   */
  sendVia?: (replyTo: string, data: Uint8Array, fail: (error: Error) => void) => void;
}

export interface Transport {
  /** Fire-and-forget. Delivery is asynchronous: handlers never run inside `publish`. */
  publish(subject: string, data: Uint8Array, headers?: Headers): void;
  /**
   * Passes a request on: publishes `data` to `subject` so that its handler's `respond`
   * answers `request`'s sender, not the relaying party. A plain publish when `request`
   * expects no reply.
   */
  relay(subject: string, data: Uint8Array, request: TransportMessage): void;
  /** Exact subject match. The handler must not throw; errors are its own to report. */
  subscribe(subject: string, handler: (msg: TransportMessage) => void): Subscription;
  /** Rejects with REQUEST_TIMEOUT when nobody answers in time or nobody listens (then a noRespondersError). */
  request(subject: string, data: Uint8Array, options: RequestOptions): Promise<TransportMessage>;
  /** Resolves when everything published so far has been handed to the server/bus. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /**
   * Largest message (payload plus encoded headers) the server accepts, in bytes;
   * `publish`, `request` and `respond` throw LIMIT_EXCEEDED above it. Undefined means
   * unlimited (the in-process bus).
   */
  readonly maxPayloadBytes?: number;
  /**
   * Registers a listener called each time the connection is re-established after a loss
   * (subscriptions are registered with the server again by then). Messages published
   * while disconnected may be lost (core NATS is at-most-once): use this to re-announce
   * state. The in-process bus never reconnects.
   */
  onReconnect?(listener: () => void): void;
  /**
   * Whether the server this connection is on is one of a cluster of servers: then the
   * subscriptions of clients connected elsewhere reach it through routes between servers,
   * and a route that breaks hides them for a while (coordinator/probes.ts waits longer).
   * Absent: one server, or the in-process bus.
   */
  clustered?(): boolean;
}
